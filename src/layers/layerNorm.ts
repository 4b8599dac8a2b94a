/**
 * `layerNorm`: normalisation over the last axis with a learned scale and bias.
 *
 * @since 0.1.0
 */
import { positive } from '../core/check.js';
import { ShapeError } from '../core/errors.js';
import { layer, type Layer } from '../core/layer.js';
import { tf, type Tensor } from '../core/tf.js';

/** Params of {@link layerNorm}: scale [D] (ones) and bias [D] (zeros). */
export type LayerNormParams = { readonly scale: Tensor; readonly bias: Tensor };

/**
 * Normalises over the last axis with the biased variance, as PyTorch's LayerNorm:
 * `(x - mean) / sqrt(var + eps) * scale + bias`.
 *
 * @example
 * layerNormOp(x, scale, bias, 1e-6)
 * @since 0.1.0
 */
export const layerNormOp = (x: Tensor, scale: Tensor | null, bias: Tensor | null, eps: number): Tensor =>
  tf.tidy(() => {
    const mean = tf.mean(x, -1, true);
    const xc = tf.sub(x, mean);
    const variance = tf.mean(tf.square(xc), -1, true);
    const y = tf.mul(xc, tf.rsqrt(tf.add(variance, eps)));
    const scaled = scale === null ? y : tf.mul(y, scale);
    return bias === null ? scaled : tf.add(scaled, bias);
  });

/**
 * Layer normalisation with eps 1e-6 by default (the ViT/MAE setting).
 *
 * @example
 * const ln = layerNorm()
 * @since 0.1.0
 */
export const layerNorm = (options: { readonly eps?: number } = {}, name = 'layerNorm'): Layer<LayerNormParams, Tensor, Tensor> => {
  const eps = positive(`${name}.eps`, options.eps ?? 1e-6);
  return layer<LayerNormParams, Tensor, Tensor>(
    name,
    (_key, inSpec) => {
      const d = inSpec.shape[inSpec.shape.length - 1];
      if (d === undefined || d < 1) throw new ShapeError(`${name} input`, '[..., width] with a known width', inSpec.shape);
      return { params: { scale: tf.ones([d]), bias: tf.zeros([d]) }, outSpec: inSpec };
    },
    (p, x) => layerNormOp(x, p.scale, p.bias, eps),
  );
};

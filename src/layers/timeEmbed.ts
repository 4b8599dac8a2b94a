/**
 * Timestep embedding (DiT): sinusoidal features of t, then dense -> SiLU -> dense.
 *
 * @since 0.1.0
 */
import { positiveInt, positive } from '../core/check.js';
import { ConfigError } from '../core/errors.js';
import { split } from '../core/key.js';
import { layer, type Layer } from '../core/layer.js';
import { spec, expectRank } from '../core/spec.js';
import { tf, type Tensor } from '../core/tf.js';
import { normalInit } from '../core/initializers.js';
import { applyDense, initDense, type DenseParams } from './dense.js';

/**
 * Sinusoidal features of timesteps t [B] (any numeric dtype): [cos(t f_k), sin(t f_k)] with
 * f_k = maxPeriod^(-k / (dim/2)), k < dim/2 (DiT's order: cosines first). Returns [B, dim].
 *
 * @example
 * timestepFeatures(tf.tensor1d([0, 500], 'int32'), 256)
 * @since 0.1.0
 */
export const timestepFeatures = (t: Tensor, dim: number, maxPeriod = 10000): Tensor => {
  if (dim % 2 !== 0) throw new ConfigError('timestepFeatures.dim', dim, 'must be even');
  const half = dim / 2;
  const freqs = new Float32Array(half);
  for (let k = 0; k < half; k++) freqs[k] = Math.exp((-Math.log(maxPeriod) * k) / half);
  return tf.tidy(() => {
    const args = tf.mul(tf.reshape(tf.cast(t, 'float32'), [-1, 1]), tf.tensor(freqs, [1, half]));
    return tf.concat([tf.cos(args), tf.sin(args)], 1);
  });
};

/**
 * Configuration of {@link timestepEmbedding}.
 *
 * @since 0.1.0
 */
export interface TimestepEmbeddingConfig {
  /** Output width. */
  readonly width: number;
  /** Width of the sinusoidal features (default 256, as DiT). */
  readonly freqDim?: number;
  /** Longest period of the features (default 10000). */
  readonly maxPeriod?: number;
}

/** Params of {@link timestepEmbedding}. */
export type TimestepEmbeddingParams = { readonly fc1: DenseParams; readonly fc2: DenseParams };

/**
 * t [B] (int32) -> [B, width]: sinusoidal features -> dense(width) -> SiLU -> dense(width).
 * Dense kernels start N(0, 0.02) as in DiT.
 *
 * @example
 * const temb = timestepEmbedding({ width: 192 })
 * @since 0.1.0
 */
export const timestepEmbedding = (
  cfg: TimestepEmbeddingConfig,
  name = 'timestepEmbedding',
): Layer<TimestepEmbeddingParams, Tensor, Tensor> => {
  const width = positiveInt(`${name}.width`, cfg.width);
  const freqDim = positiveInt(`${name}.freqDim`, cfg.freqDim ?? 256);
  if (freqDim % 2 !== 0) throw new ConfigError(`${name}.freqDim`, freqDim, 'must be even');
  const maxPeriod = positive(`${name}.maxPeriod`, cfg.maxPeriod ?? 10000);
  return layer<TimestepEmbeddingParams, Tensor, Tensor>(
    name,
    (key, inSpec) => {
      const s = expectRank(`${name} input`, inSpec, 1, [], 'rank 1 ([B] timesteps)');
      const [k1, k2] = split(key);
      const init = { kernelInit: normalInit(0.02) };
      return {
        params: { fc1: initDense(k1!, freqDim, width, init), fc2: initDense(k2!, width, width, init) },
        outSpec: spec([s[0]!, width]),
      };
    },
    (p, t) => {
      const h = applyDense(p.fc1, timestepFeatures(t, freqDim, maxPeriod));
      return applyDense(p.fc2, tf.mul(h, tf.sigmoid(h)));
    },
  );
};

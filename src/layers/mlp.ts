/**
 * `mlp`: the transformer feed-forward block, dense -> GELU -> dense.
 *
 * @since 0.1.0
 */
import { positiveInt } from '../core/check.js';
import { ShapeError } from '../core/errors.js';
import { split } from '../core/key.js';
import { layer, type Layer } from '../core/layer.js';
import type { Tensor } from '../core/tf.js';
import { applyDense, initDense, type DenseParams } from './dense.js';
import { gelu, geluTanh, type Activation } from './ops.js';

/** Params of {@link mlp}. */
export type MlpParams = { readonly fc1: DenseParams; readonly fc2: DenseParams };

/**
 * [..., D] -> dense(hidden) -> GELU -> dense(D): exact GELU, or its tanh approximation with
 * `activation: 'gelu-tanh'` (DiT). The width D is read from the input spec.
 *
 * @example
 * const ff = mlp({ hidden: 4 * 192 })
 * const dit = mlp({ hidden: 4 * 192, activation: 'gelu-tanh' })
 * @since 0.1.0
 */
export const mlp = (cfg: { readonly hidden: number; readonly activation?: Activation }, name = 'mlp'): Layer<MlpParams, Tensor, Tensor> => {
  positiveInt(`${name}.hidden`, cfg.hidden);
  const act = cfg.activation === 'gelu-tanh' ? geluTanh : gelu;
  return layer<MlpParams, Tensor, Tensor>(
    name,
    (key, inSpec) => {
      const d = inSpec.shape[inSpec.shape.length - 1];
      if (d === undefined || d < 1) throw new ShapeError(`${name} input`, '[..., width] with a known width', inSpec.shape);
      const [k1, k2] = split(key);
      return { params: { fc1: initDense(k1!, d, cfg.hidden), fc2: initDense(k2!, cfg.hidden, d) }, outSpec: inSpec };
    },
    (p, x) => applyDense(p.fc2, act(applyDense(p.fc1, x))),
  );
};

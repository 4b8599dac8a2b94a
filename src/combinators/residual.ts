/**
 * `residual`: x + f(x).
 *
 * @since 0.1.0
 */
import { ShapeError } from '../core/errors.js';
import type { Layer } from '../core/layer.js';
import { layer } from '../core/layer.js';
import type { Params } from '../core/params.js';
import { shapesMatch, type TensorSpec } from '../core/spec.js';
import { tf, type Tensor } from '../core/tf.js';

/**
 * Adds the input to the output of `f`; `init` throws a {@link ShapeError} if `f` changes the
 * shape. Params are `f`'s.
 *
 * @example
 * const attnBranch = residual(serial({ norm: layerNorm(), attn: selfAttention({ width: 192, heads: 3 }) }))
 * @since 0.1.0
 */
export const residual = <P extends Params>(f: Layer<P, Tensor, Tensor>, name = 'residual'): Layer<P, Tensor, Tensor> =>
  layer<P, Tensor, Tensor>(
    name,
    (key, inSpec) => {
      const r = f.init(key, inSpec);
      if (!shapesMatch(inSpec.shape, r.outSpec.shape)) {
        throw new ShapeError(`${name}(${f.name}) output`, `[${inSpec.shape.join(', ')}] (the input's shape)`, r.outSpec.shape);
      }
      return { params: r.params, outSpec: inSpec };
    },
    (params, x, c) => tf.add(x, f.apply(params, x, c)),
  );

/**
 * A residual on one field of a record: `{ ...x, [name]: x[name] + f(x) }`. The branch sees the
 * whole record (for cross-attention: the queries and the memory) and returns the update.
 *
 * @example
 * residualAt('x', preNormCross({ width: 128, heads: 4 }))
 * @since 0.1.0
 */
export const residualAt = <K extends string, P extends Params, R extends { readonly [k in K]: Tensor }>(
  name: K,
  f: Layer<P, R, Tensor>,
): Layer<P, R, R> =>
  layer<P, R, R>(
    `residual@${name}`,
    (key, inSpec) => {
      const r = f.init(key, inSpec);
      const s = (inSpec as unknown as Record<string, TensorSpec>)[name]!;
      if (!shapesMatch(s.shape, r.outSpec.shape))
        throw new ShapeError(`residualAt(${name}, ${f.name}) output`, `[${s.shape.join(', ')}]`, r.outSpec.shape);
      return { params: r.params, outSpec: inSpec };
    },
    (params, x, c) => ({ ...x, [name]: tf.add(x[name], f.apply(params, x, c)) }),
  );

/**
 * A tensor layer applied to one field of a record, returning a tensor.
 *
 * @example
 * field('x', serial({ norm: layerNorm(), mlp: mlp({ hidden: 512 }) }))
 * @since 0.1.0
 */
export const field = <K extends string, P extends Params>(
  name: K,
  f: Layer<P, Tensor, Tensor>,
): Layer<P, { readonly [k in K]: Tensor }, Tensor> =>
  layer<P, { readonly [k in K]: Tensor }, Tensor>(
    `${f.name}@${name}`,
    (key, inSpec) => f.init(key, (inSpec as unknown as Record<string, TensorSpec>)[name]!),
    (params, x, c) => f.apply(params, x[name], c),
  );

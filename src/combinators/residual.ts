/**
 * `residual`: x + f(x).
 *
 * @since 0.1.0
 */
import { ShapeError } from '../core/errors.js';
import type { Layer } from '../core/layer.js';
import { layer } from '../core/layer.js';
import type { Params } from '../core/params.js';
import { shapesMatch } from '../core/spec.js';
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

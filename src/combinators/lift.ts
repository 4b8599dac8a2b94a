/**
 * `lift`: a parameter-free function as a layer.
 *
 * @since 0.1.0
 */
import type { Ctx, Layer } from '../core/layer.js';
import { layer } from '../core/layer.js';
import { noParams, type NoParams } from '../core/params.js';
import type { SpecOf } from '../core/spec.js';

/**
 * Lifts `fn` into a layer with no params. `outSpec` maps the input spec to the output spec
 * (shape arithmetic only), so `init` runs no model math.
 *
 * @example
 * const double = lift('double', (x: Tensor) => tf.mul(x, 2), (s) => s)
 * @since 0.1.0
 */
export const lift = <I, O>(name: string, fn: (x: I, ctx: Ctx) => O, outSpec: (inSpec: SpecOf<I>) => SpecOf<O>): Layer<NoParams, I, O> =>
  layer<NoParams, I, O>(
    name,
    (_key, inSpec) => ({ params: noParams, outSpec: outSpec(inSpec) }),
    (_params, x, c) => fn(x, c),
  );

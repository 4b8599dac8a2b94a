/**
 * `serial`: sequential composition over a record of named layers, run in key order (Flax/Haiku
 * naming). Params are the record of the children's params.
 *
 * @since 0.1.0
 */
import type { Layer, SomeLayer } from '../core/layer.js';
import { layer, subCtx } from '../core/layer.js';
import { fold } from '../core/key.js';
import type { Params } from '../core/params.js';
import type { SpecOf } from '../core/spec.js';
import type { Tensor } from '../core/tf.js';
import { checkKeys } from './names.js';
import { erase, type AnyLayer, type ParamsRecord } from './types.js';

/**
 * Composes layers that map `T` to `T` in the order of the record's keys. Use {@link serial}
 * for tensors; this form is for other value types (records such as `{ x, memory }`).
 *
 * @example
 * const cfg = { width: 128, heads: 4 }
 * const block = serialOf<CrossIn>()({ cross: crossBlock(cfg), crossSelf: crossSelfBlock(cfg) })
 * @since 0.1.0
 */
export const serialOf =
  <T>() =>
  <R extends { readonly [k: string]: SomeLayer<T, T> }>(layers: R, name = 'serial'): Layer<ParamsRecord<R>, T, T> => {
    const keys = checkKeys(name, layers);
    const children = keys.map((k) => [k, erase(layers[k] as unknown as AnyLayer)] as const);
    return layer<ParamsRecord<R>, T, T>(
      name,
      (key, inSpec) => {
        let s: unknown = inSpec;
        const params: Record<string, Params> = {};
        for (const [k, l] of children) {
          const r = l.init(fold(key, k), s);
          params[k] = r.params;
          s = r.outSpec;
        }
        return { params: Object.freeze(params) as unknown as ParamsRecord<R>, outSpec: s as SpecOf<T> };
      },
      (params, x, c) => {
        let y: unknown = x;
        const ps = params as unknown as Record<string, Params>;
        for (const [k, l] of children) y = l.apply(ps[k]!, y, subCtx(c, k));
        return y as T;
      },
    );
  };

/**
 * Composes tensor-to-tensor layers in the order of the record's keys.
 *
 * @example
 * const encoder = serial({
 *   embed: patchEmbed(patches(4), { width: 192 }),
 *   blocks: stack(12, () => vitBlock({ width: 192, heads: 3 })),
 *   norm: layerNorm(),
 * })
 * // params: { embed: ...; blocks: [...]; norm: { scale, bias } }
 * @since 0.1.0
 */
export const serial = <R extends { readonly [k: string]: SomeLayer<Tensor, Tensor> }>(
  layers: R,
  name = 'serial',
): Layer<ParamsRecord<R>, Tensor, Tensor> => serialOf<Tensor>()(layers, name);

/**
 * `branch`: every layer of a record applied to the same input (fan-out).
 *
 * @since 0.1.0
 */
import type { Layer, InputOf, OutputOf } from '../core/layer.js';
import { layer, subCtx } from '../core/layer.js';
import { fold } from '../core/key.js';
import type { Params } from '../core/params.js';
import type { SpecOf } from '../core/spec.js';
import { checkKeys } from './names.js';
import { erase, type AnyLayer, type ParamsRecord, type UnionToIntersection } from './types.js';

/**
 * Input `I` (what every branch accepts), output `{ k: O_k }`, params `{ k: P_k }`.
 *
 * @example
 * const heads = branch({ x0: dense(48), eps: dense(48) })
 * heads.apply(p, tokens, c) // { x0, eps }
 * @since 0.1.0
 */
export const branch = <R extends { readonly [k: string]: AnyLayer }>(
  layers: R,
  name = 'branch',
): Layer<ParamsRecord<R>, UnionToIntersection<InputOf<R[keyof R]>>, { readonly [K in keyof R]: OutputOf<R[K]> }> => {
  type I = UnionToIntersection<InputOf<R[keyof R]>>;
  type O = { readonly [K in keyof R]: OutputOf<R[K]> };
  const keys = checkKeys(name, layers);
  const children = keys.map((k) => [k, erase(layers[k]!)] as const);
  return layer<ParamsRecord<R>, I, O>(
    name,
    (key, inSpec) => {
      const params: Record<string, Params> = {};
      const outSpec: Record<string, unknown> = {};
      for (const [k, l] of children) {
        const r = l.init(fold(key, k), inSpec);
        params[k] = r.params;
        outSpec[k] = r.outSpec;
      }
      return { params: Object.freeze(params) as unknown as ParamsRecord<R>, outSpec: outSpec as SpecOf<O> };
    },
    (params, x, c) => {
      const ps = params as unknown as Record<string, Params>;
      const out: Record<string, unknown> = {};
      for (const [k, l] of children) out[k] = l.apply(ps[k]!, x, subCtx(c, k));
      return out as O;
    },
  );
};

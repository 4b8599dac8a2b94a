/**
 * `branch`: every layer of a record applied to the same input (fan-out).
 *
 * @since 0.1.0
 */
import type { Layer, InputOf, OutputOf } from '../core/layer.js';
import { layer } from '../core/layer.js';
import type { SpecOf } from '../core/spec.js';
import { checkKeys } from './names.js';
import { applyEach, erase, initEach, type AnyLayer, type ParamsRecord, type UnionToIntersection } from './types.js';

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
      const r = initEach(children, key, () => inSpec);
      return { params: r.params as unknown as ParamsRecord<R>, outSpec: r.outSpec as SpecOf<O> };
    },
    (params, x, c) => applyEach(children, params, c, () => x) as O,
  );
};

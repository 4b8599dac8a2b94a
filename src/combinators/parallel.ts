/**
 * `parallel`: a record of layers applied field by field to a record input.
 *
 * @since 0.1.0
 */
import type { Layer, InputOf, OutputOf } from '../core/layer.js';
import { layer } from '../core/layer.js';
import type { SpecOf } from '../core/spec.js';
import { checkKeys } from './names.js';
import { applyEach, erase, initEach, type AnyLayer, type ParamsRecord } from './types.js';

/**
 * Input `{ k: I_k }`, output `{ k: O_k }`, params `{ k: P_k }`.
 *
 * @example
 * const both = parallel({ image: patchEmbed(patches(4), { width: 192 }), t: timestepEmbedding({ width: 192 }) })
 * both.apply(p, { image, t }, c) // { image: tokens, t: embedding }
 * @since 0.1.0
 */
export const parallel = <R extends { readonly [k: string]: AnyLayer }>(
  layers: R,
  name = 'parallel',
): Layer<ParamsRecord<R>, { readonly [K in keyof R]: InputOf<R[K]> }, { readonly [K in keyof R]: OutputOf<R[K]> }> => {
  type I = { readonly [K in keyof R]: InputOf<R[K]> };
  type O = { readonly [K in keyof R]: OutputOf<R[K]> };
  const keys = checkKeys(name, layers);
  const children = keys.map((k) => [k, erase(layers[k]!)] as const);
  return layer<ParamsRecord<R>, I, O>(
    name,
    (key, inSpec) => {
      const r = initEach(children, key, (k) => (inSpec as unknown as Record<string, unknown>)[k]);
      return { params: r.params as unknown as ParamsRecord<R>, outSpec: r.outSpec as SpecOf<O> };
    },
    (params, x, c) => applyEach(children, params, c, (k) => (x as unknown as Record<string, unknown>)[k]) as O,
  );
};

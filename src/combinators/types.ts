/**
 * Type helpers shared by the combinators.
 *
 * @since 0.1.0
 */
import { subCtx, type Ctx } from '../core/layer.js';
import { fold, type Key } from '../core/key.js';
import type { Params } from '../core/params.js';

/**
 * Any layer at all: what a combinator accepts before it computes precise types.
 *
 * @since 0.1.0
 */
export interface AnyLayer {
  readonly name: string;
  readonly init: (key: Key, inSpec: never) => { readonly params: Params; readonly outSpec: unknown };
  readonly apply: (params: never, x: never, ctx: Ctx) => unknown;
}

/** The params of a record of layers. */
export type ParamsRecord<R> = {
  readonly [K in keyof R]: R[K] extends { readonly init: (...args: never[]) => { readonly params: infer P extends Params } } ? P : never;
};

/** A union turned into the intersection of its members. */
export type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;

/** Flattens an intersection of records into one record type (for readable hovers). */
export type Merge<A, B> = {
  readonly [K in keyof A | keyof B]: K extends keyof B ? B[K] : K extends keyof A ? A[K] : never;
};

// Runtime helpers: apply/init of a layer whose precise types a combinator has erased.
export type ErasedLayer = {
  readonly name: string;
  readonly init: (key: Key, inSpec: unknown) => { readonly params: Params; readonly outSpec: unknown };
  readonly apply: (params: Params, x: unknown, ctx: Ctx) => unknown;
};
export const erase = (l: AnyLayer): ErasedLayer => l as unknown as ErasedLayer;

/**
 * Initialises each named child with its own folded key and input spec; returns the record of
 * params and the record of output specs (shared by `parallel` and `branch`).
 */
export const initEach = (
  children: readonly (readonly [string, ErasedLayer])[],
  key: Key,
  inSpecOf: (name: string) => unknown,
): { params: { readonly [k: string]: Params }; outSpec: Record<string, unknown> } => {
  const params: Record<string, Params> = {};
  const outSpec: Record<string, unknown> = {};
  for (const [k, l] of children) {
    const r = l.init(fold(key, k), inSpecOf(k));
    params[k] = r.params;
    outSpec[k] = r.outSpec;
  }
  return { params: Object.freeze(params), outSpec };
};

/** Applies each named child to its own input with its own sub-context; returns the record of outputs. */
export const applyEach = (
  children: readonly (readonly [string, ErasedLayer])[],
  params: unknown,
  c: Ctx,
  inputOf: (name: string) => unknown,
): Record<string, unknown> => {
  const ps = params as Record<string, Params>;
  const out: Record<string, unknown> = {};
  for (const [k, l] of children) out[k] = l.apply(ps[k]!, inputOf(k), subCtx(c, k));
  return out;
};

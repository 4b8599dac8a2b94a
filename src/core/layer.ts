/**
 * The Layer value (after Stax): a pair of pure functions.
 *
 * - `init(key, inSpec)` returns `{ params, outSpec }`: it allocates the params and computes the
 *   output spec by shape arithmetic, never by running model math.
 * - `apply(params, x, ctx)` computes, inside a named `tf.tidy` scope, so every intermediate
 *   tensor is freed and only the result survives.
 *
 * @since 0.1.0
 */
import type { Key } from './key.js';
import { fold } from './key.js';
import type { Params } from './params.js';
import type { SpecOf } from './spec.js';
import { tf } from './tf.js';

/**
 * What `apply` may need besides params and input: a key for its randomness (masks, noise,
 * dropout) and whether it is training.
 *
 * @since 0.1.0
 */
export interface Ctx {
  readonly key: Key;
  readonly training: boolean;
}

/**
 * A context from a key.
 *
 * @example
 * dense(64).apply(params, x, ctx(Key.key(0)))
 * @since 0.1.0
 */
export const ctx = (key: Key, training = false): Ctx => ({ key, training });

/**
 * The context a child named `name` sees: same training flag, key folded with the name.
 *
 * @example
 * child.apply(p.child, x, subCtx(c, 'child'))
 * @since 0.1.0
 */
export const subCtx = (c: Ctx, name: string): Ctx => ({ key: fold(c.key, name), training: c.training });

/**
 * The result of `init`.
 *
 * @since 0.1.0
 */
export interface Init<P, O> {
  readonly params: P;
  readonly outSpec: SpecOf<O>;
}

/**
 * A layer with params `P`, input `I` and output `O`. Inputs and outputs are tensors or
 * records of tensors.
 *
 * @example
 * const d = dense(64)
 * const { params, outSpec } = d.init(Key.key(0), spec([-1, 32]))
 * const y = d.apply(params, x, ctx(Key.key(1)))
 * @since 0.1.0
 */
export interface Layer<P extends Params, I, O> {
  readonly name: string;
  readonly init: (key: Key, inSpec: SpecOf<I>) => Init<P, O>;
  readonly apply: (params: P, x: I, ctx: Ctx) => O;
}

/**
 * A layer with some params: what combinators accept when they do not care which.
 *
 * @since 0.1.0
 */
export interface SomeLayer<I, O> {
  readonly name: string;
  readonly init: (key: Key, inSpec: SpecOf<I>) => { readonly params: Params; readonly outSpec: SpecOf<O> };
  readonly apply: (params: never, x: I, ctx: Ctx) => O;
}

/**
 * The params type of a layer.
 *
 * @since 0.1.0
 */
export type ParamsOf<L> = L extends { readonly init: (...args: never[]) => { readonly params: infer P } } ? P : never;

/**
 * The input type of a layer.
 *
 * @since 0.1.0
 */
export type InputOf<L> = L extends { readonly apply: (params: never, x: infer I, ctx: never) => unknown } ? I : never;

/**
 * The output type of a layer.
 *
 * @since 0.1.0
 */
export type OutputOf<L> = L extends { readonly apply: (...args: never[]) => infer O } ? O : never;

/**
 * Builds a layer; `apply` runs inside `tf.tidy(name, ...)`.
 *
 * @example
 * const double = layer<NoParams, Tensor, Tensor>('double', (_k, s) => ({ params: noParams, outSpec: s }),
 *   (_p, x) => tf.mul(x, 2))
 * @since 0.1.0
 */
export const layer = <P extends Params, I, O>(
  name: string,
  init: (key: Key, inSpec: SpecOf<I>) => Init<P, O>,
  apply: (params: P, x: I, ctx: Ctx) => O,
): Layer<P, I, O> => ({
  name,
  init,
  apply: (params, x, c) => tf.tidy(name, () => apply(params, x, c) as unknown as tf.TensorContainer) as unknown as O,
});

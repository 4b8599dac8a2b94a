/**
 * Token-sequence stages: learned prefix tokens (CLS), dropping them, keeping the visible tokens
 * of a mask, and refilling the removed slots with a mask token in the original order.
 *
 * @since 0.1.0
 */
import { positiveInt } from '../core/check.js';
import { ShapeError } from '../core/errors.js';
import { normalInit, type Initializer } from '../core/initializers.js';
import { layer, type Layer } from '../core/layer.js';
import type { NoParams } from '../core/params.js';
import { expectRank, spec, type TensorSpec } from '../core/spec.js';
import { tf, type Tensor } from '../core/tf.js';
import { lift } from '../combinators/lift.js';
import { gatherTokens, repeatTokens } from '../layers/ops.js';

/** Params of {@link prependTokens}: the tokens [1, n, D]. */
export type PrefixParams = { readonly tokens: Tensor };

/**
 * Prepends `n` learned tokens [1, n, D] to a sequence [B, N, D] -> [B, n + N, D] (MAE: one CLS
 * token drawn N(0, 0.02); UMD: four, zero-initialised).
 *
 * @example
 * const cls = prependTokens(1)
 * @since 0.1.0
 */
export const prependTokens = (
  n: number,
  init: Initializer = normalInit(0.02),
  name = 'prependTokens',
): Layer<PrefixParams, Tensor, Tensor> => {
  positiveInt(`${name}.n`, n);
  return layer<PrefixParams, Tensor, Tensor>(
    name,
    (key, inSpec) => {
      const s = expectRank(`${name} input`, inSpec, 3);
      return { params: { tokens: init(key, [1, n, s[2]!]) }, outSpec: spec([s[0]!, s[1]! === -1 ? -1 : s[1]! + n, s[2]!], inSpec.dtype) };
    },
    (p, x) => tf.concat([repeatTokens(p.tokens, x.shape[0]!), x], 1),
  );
};

/**
 * Drops the first `n` tokens of a sequence [B, n + N, D] -> [B, N, D].
 *
 * @example
 * dropTokens(1) // the decoder output without its CLS slot
 * @since 0.1.0
 */
export const dropTokens = (n: number): Layer<NoParams, Tensor, Tensor> =>
  lift<Tensor, Tensor>(
    'dropTokens',
    (x) => (n === 0 ? x : tf.slice(x, [0, n, 0], [-1, -1, -1])),
    (s) => {
      const sh = expectRank('dropTokens input', s, 3);
      return spec([sh[0]!, sh[1]! === -1 ? -1 : sh[1]! - n, sh[2]!], s.dtype);
    },
  );

/** Input of {@link keepVisible}. */
export type KeepVisibleIn = { readonly tokens: Tensor; readonly idsKeep: Tensor; readonly idsRestore: Tensor };

/**
 * The visible tokens of a mask: tokens [B, L, D] gathered by idsKeep [B, keep] in shuffle order
 * -> { visible: [B, keep, D] } (MAE's random_masking gather).
 *
 * @example
 * stage('visible', keepVisible)
 * @since 0.1.0
 */
export const keepVisible: Layer<NoParams, KeepVisibleIn, { readonly visible: Tensor }> = lift(
  'keepVisible',
  (e: KeepVisibleIn) => ({ visible: gatherTokens(e.tokens, e.idsKeep, e.idsRestore) }),
  (s) => ({ visible: spec([s.tokens.shape[0]!, s.idsKeep.shape[1]!, s.tokens.shape[2]!], s.tokens.dtype) }),
);

/** Params of {@link refillMasked}: the mask token [1, 1, D]. */
export type MaskTokenParams = { readonly maskToken: Tensor };

/** Input of {@link refillMasked}: `decoderSeq` [B, prefix + keep, D], in shuffle order after its prefix. */
export type RefillIn = { readonly decoderSeq: Tensor; readonly idsRestore: Tensor; readonly idsShuffle: Tensor };

/**
 * MAE's decoder input: the visible tokens of `decoderSeq` (after `prefix` CLS tokens), followed
 * by copies of a learned mask token for the removed slots, unshuffled into token order with
 * idsRestore; the prefix stays in front.
 * { decoderSeq [B, prefix + keep, D] } -> { decoderFull [B, prefix + L, D] }.
 *
 * @example
 * stage('refill', refillMasked(1))
 * @since 0.1.0
 */
export const refillMasked = (
  prefix: number,
  init: Initializer = normalInit(0.02),
  name = 'refillMasked',
): Layer<MaskTokenParams, RefillIn, { readonly decoderFull: Tensor }> =>
  layer<MaskTokenParams, RefillIn, { readonly decoderFull: Tensor }>(
    name,
    (key, s) => {
      const sh = expectRank(`${name} decoderSeq`, s.decoderSeq, 3);
      return { params: { maskToken: init(key, [1, 1, sh[2]!]) }, outSpec: { decoderFull: refillSpec(name, prefix, s) } };
    },
    (p, e) => {
      const [b, n, d] = e.decoderSeq.shape as [number, number, number];
      const removed = e.idsRestore.shape[1]! - (n - prefix);
      return { decoderFull: refill(name, prefix, e, removed < 0 ? null : repeatTokens(p.maskToken, b, removed), d) };
    },
  );

const refillSpec = (name: string, prefix: number, s: { readonly decoderSeq: TensorSpec; readonly idsRestore: TensorSpec }): TensorSpec => {
  const sh = expectRank(`${name} decoderSeq`, s.decoderSeq, 3);
  const l = expectRank(`${name} idsRestore`, s.idsRestore, 2)[1]!;
  return spec([sh[0]!, l === -1 ? -1 : prefix + l, sh[2]!], s.decoderSeq.dtype);
};

/** Visible tokens of `decoderSeq` (after the prefix), then `fill` for the removed slots, unshuffled; prefix in front. */
const refill = (name: string, prefix: number, e: RefillIn, fill: Tensor | null, d: number): Tensor => {
  const [b, n] = e.decoderSeq.shape as [number, number, number];
  const l = e.idsRestore.shape[1]!;
  const keep = n - prefix;
  if (keep < 0 || keep > l || fill === null)
    throw new ShapeError(`${name} decoderSeq`, `[${b}, ${prefix} + keep (<= ${l}), ${d}]`, e.decoderSeq.shape);
  if (fill.shape[1] !== l - keep || fill.shape[2] !== d) throw new ShapeError(`${name} fill`, `[${b}, ${l - keep}, ${d}]`, fill.shape);
  const visible = prefix === 0 ? e.decoderSeq : tf.slice(e.decoderSeq, [0, prefix, 0], [-1, -1, -1]);
  const shuffled = keep === l ? visible : tf.concat([visible, fill], 1);
  const ordered = gatherTokens(shuffled, e.idsRestore, e.idsShuffle);
  return prefix === 0 ? ordered : tf.concat([tf.slice(e.decoderSeq, [0, 0, 0], [-1, prefix, -1]), ordered], 1);
};

/** Input of {@link refillQueries}: as {@link RefillIn}, plus the queries for the removed slots. */
export type RefillQueriesIn = RefillIn & { readonly queries: Tensor };

/**
 * The joint decoder's input when the removed slots hold queries (DiffMAE "joint"): like
 * {@link refillMasked}, with `queries` [B, L - keep, D] in place of the mask token.
 *
 * @example
 * stage('refill', refillQueries(1))
 * @since 0.1.0
 */
export const refillQueries = (prefix: number, name = 'refillQueries'): Layer<NoParams, RefillQueriesIn, { readonly decoderFull: Tensor }> =>
  layer<NoParams, RefillQueriesIn, { readonly decoderFull: Tensor }>(
    name,
    (_key, s) => ({ params: {}, outSpec: { decoderFull: refillSpec(name, prefix, s) } }),
    (_p, e) => ({ decoderFull: refill(name, prefix, e, e.queries, e.decoderSeq.shape[2]!) }),
  );

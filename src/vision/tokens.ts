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
import { expectRank, spec } from '../core/spec.js';
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
 * then('visible', keepVisible)
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
 * then('refill', refillMasked(1))
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
      const l = expectRank(`${name} idsRestore`, s.idsRestore, 2)[1]!;
      return {
        params: { maskToken: init(key, [1, 1, sh[2]!]) },
        outSpec: { decoderFull: spec([sh[0]!, l === -1 ? -1 : prefix + l, sh[2]!], s.decoderSeq.dtype) },
      };
    },
    (p, { decoderSeq: seq, idsRestore, idsShuffle }) => {
      const [b, n, d] = seq.shape as [number, number, number];
      const l = idsRestore.shape[1]!;
      const keep = n - prefix;
      if (keep < 0 || keep > l) throw new ShapeError(`${name} decoderSeq`, `[${b}, ${prefix} + keep (<= ${l}), ${d}]`, seq.shape);
      const visible = prefix === 0 ? seq : tf.slice(seq, [0, prefix, 0], [-1, -1, -1]);
      const shuffled = keep === l ? visible : tf.concat([visible, repeatTokens(p.maskToken, b, l - keep)], 1);
      const ordered = gatherTokens(shuffled, idsRestore, idsShuffle);
      return { decoderFull: prefix === 0 ? ordered : tf.concat([tf.slice(seq, [0, 0, 0], [-1, prefix, -1]), ordered], 1) };
    },
  );

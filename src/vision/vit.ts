/**
 * The ViT encoder on visible tokens and the MAE joint decoder, as stage pipelines built from
 * the combinators. Shapes: B samples, L tokens, P = p*p*C values per patch, keep visible
 * tokens, n prefix (CLS) tokens.
 *
 * @since 0.1.0
 */
import { pipe } from 'fp-ts/lib/function.js';
import { positive, positiveInt } from '../core/check.js';
import { zeros } from '../core/initializers.js';
import type { Tensor } from '../core/tf.js';
import { serial } from '../combinators/serial.js';
import { stack } from '../combinators/stack.js';
import { on, start, stage } from '../combinators/stage.js';
import { dense } from '../layers/dense.js';
import { layerNorm } from '../layers/layerNorm.js';
import { learnedPosEmbed, sincosPosEmbed } from '../layers/posEmbed.js';
import type { TokenGrid } from './patchify.js';
import { keepVisible, prependTokens, refillMasked, dropTokens } from './tokens.js';
import { vitBlock } from './vitBlock.js';
import { layer, subCtx, type Layer } from '../core/layer.js';
import { fold } from '../core/key.js';
import type { Params } from '../core/params.js';
import type { TensorSpec } from '../core/spec.js';
import type { LayerNormParams } from '../layers/layerNorm.js';
import type { VitBlockParams } from './vitBlock.js';
import type { NoParams } from '../core/params.js';
import { normalInit } from '../core/initializers.js';

/**
 * The size of a ViT trunk.
 *
 * @since 0.1.0
 */
export interface VitSize {
  readonly width: number;
  readonly depth: number;
  readonly heads: number;
  /** MLP hidden width / width (default 4). */
  readonly mlpRatio?: number;
}

/**
 * Configuration of {@link visibleEncoder}.
 *
 * @since 0.1.0
 */
export interface EncoderConfig extends VitSize {
  /** Token grid [rows, cols] (or [times, rows, cols] for video). */
  readonly grid: TokenGrid;
  /** Prefix (CLS) tokens (default 1). */
  readonly clsTokens?: number;
  /** CLS initialisation: N(0, 0.02) as MAE (default) or zeros as UMD. */
  readonly clsInit?: 'normal' | 'zeros';
  /** Position embedding: fixed 2D sin-cos (default) or learned. */
  readonly pos?: 'sincos' | 'learned';
}

/** What the encoder reads from the environment. */
export type EncoderIn = { readonly xt: Tensor; readonly idsKeep: Tensor; readonly idsRestore: Tensor };

const trunk = (size: VitSize) => {
  positiveInt('vit.depth', size.depth);
  positive('vit.mlpRatio', size.mlpRatio ?? 4);
  return serial({
    blocks: stack(size.depth, () => vitBlock({ width: size.width, heads: size.heads, mlpRatio: size.mlpRatio ?? 4 })),
    norm: layerNorm(),
  });
};

const posOf = (grid: TokenGrid, kind: 'sincos' | 'learned'): Layer<NoParams, Tensor, Tensor> | ReturnType<typeof learnedPosEmbed> =>
  kind === 'sincos' ? sincosPosEmbed(grid) : learnedPosEmbed();

/**
 * The MAE encoder: embed every patch of `xt` [B, L, P] and add positions ({ tokens }), keep the
 * visible ones ({ visible } [B, keep, D]), prepend CLS ({ encoderSeq }), then ViT blocks and a final
 * LayerNorm: { latent } [B, n + keep, D].
 *
 * @example
 * const enc = visibleEncoder({ grid: [8, 8], width: 192, depth: 12, heads: 3 })
 * @since 0.1.0
 */
export const visibleEncoder = (cfg: EncoderConfig) => {
  const n = cfg.clsTokens ?? 1;
  return pipe(
    start<EncoderIn>(),
    stage('embed', on('xt', serial({ proj: dense(cfg.width), pos: posOf(cfg.grid, cfg.pos ?? 'sincos') }), 'tokens')),
    stage('mask', keepVisible),
    stage('cls', on('visible', prependTokens(n, cfg.clsInit === 'zeros' ? zeros : normalInit(0.02)), 'encoderSeq')),
    stage('trunk', on('encoderSeq', trunk(cfg), 'latent')),
  );
};

/** Params of {@link featureTrunk}: the same names as `trunk`, so checkpoints carry over. */
export type TrunkParams = { readonly blocks: readonly VitBlockParams[]; readonly norm: LayerNormParams };

/**
 * ViT blocks and a final LayerNorm that also return the block outputs for top-down decoders:
 * { latent, encoderFeatures: [block 0, ..., block depth-2, latent] }; the last entry is the
 * normed output itself, so the first decoder block reads what a plain decoder would.
 *
 * @example
 * featureTrunk({ width: 192, depth: 12, heads: 3 })
 * @since 0.1.0
 */
export const featureTrunk = (
  size: VitSize,
): Layer<TrunkParams, Tensor, { readonly latent: Tensor; readonly encoderFeatures: readonly Tensor[] }> => {
  const depth = positiveInt('vit.depth', size.depth);
  const blocks = Array.from({ length: depth }, () => vitBlock({ width: size.width, heads: size.heads, mlpRatio: size.mlpRatio ?? 4 }));
  const norm = layerNorm();
  return layer<TrunkParams, Tensor, { readonly latent: Tensor; readonly encoderFeatures: readonly Tensor[] }>(
    'featureTrunk',
    (key, s) => {
      const params = blocks.map((b, i) => b.init(fold(fold(key, 'blocks'), i), s).params);
      return {
        params: { blocks: params, norm: norm.init(fold(key, 'norm'), s).params },
        outSpec: { latent: s, encoderFeatures: blocks.map(() => s) },
      };
    },
    (p, x, c) => {
      const features: Tensor[] = [];
      let h = x;
      blocks.forEach((b, i) => {
        h = b.apply(p.blocks[i]!, h, subCtx(c, `blocks.${i}`));
        features.push(h);
      });
      const latent = norm.apply(p.norm, h, subCtx(c, 'norm'));
      features[features.length - 1] = latent;
      return { latent, encoderFeatures: features };
    },
  );
};

/**
 * {@link visibleEncoder} that also writes { encoderFeatures }, the output of every block.
 *
 * @example
 * const enc = visibleEncoderWithFeatures({ grid: [8, 8], width: 192, depth: 12, heads: 3 })
 * @since 0.1.0
 */
export const visibleEncoderWithFeatures = (cfg: EncoderConfig) => {
  const n = cfg.clsTokens ?? 1;
  return pipe(
    start<EncoderIn>(),
    stage('embed', on('xt', serial({ proj: dense(cfg.width), pos: posOf(cfg.grid, cfg.pos ?? 'sincos') }), 'tokens')),
    stage('mask', keepVisible),
    stage('cls', on('visible', prependTokens(n, cfg.clsInit === 'zeros' ? zeros : normalInit(0.02)), 'encoderSeq')),
    stage('trunk', fromField('encoderSeq', featureTrunk(cfg))),
  );
};

/** A record-output layer reading one field. */
const fromField = <K extends string, P extends Params, O>(name: K, f: Layer<P, Tensor, O>): Layer<P, { readonly [k in K]: Tensor }, O> =>
  layer<P, { readonly [k in K]: Tensor }, O>(
    `${f.name}@${name}`,
    (key, s) => f.init(key, (s as unknown as Record<string, TensorSpec>)[name]!),
    (p, x, c) => f.apply(p, x[name], c),
  );

/**
 * Configuration of {@link jointDecoder}.
 *
 * @since 0.1.0
 */
export interface DecoderConfig extends VitSize {
  readonly grid: TokenGrid;
  /** Prefix tokens in the encoder output (default 1). */
  readonly clsTokens?: number;
  /** Output values per token: P for one head, 2P for x0 and eps heads. */
  readonly outDim: number;
}

/** What the joint decoder reads. */
export type JointDecoderIn = { readonly latent: Tensor; readonly idsRestore: Tensor; readonly idsShuffle: Tensor };

/**
 * MAE's joint self-attention decoder: a linear map of `latent` to the decoder width
 * ({ decoderSeq }), mask tokens in the removed slots and unshuffle ({ decoderFull }
 * [B, n + L, Dd]), fixed sin-cos
 * positions (zeros on the prefix), ViT blocks, LayerNorm, drop the prefix and project to
 * `outDim`: { out } [B, L, outDim].
 *
 * @example
 * const dec = jointDecoder({ grid: [8, 8], width: 128, depth: 4, heads: 4, outDim: 48 })
 * @since 0.1.0
 */
export const jointDecoder = (cfg: DecoderConfig) => {
  const n = cfg.clsTokens ?? 1;
  positiveInt('decoder.outDim', cfg.outDim);
  return pipe(
    start<JointDecoderIn>(),
    stage('embed', on('latent', dense(cfg.width), 'decoderSeq')),
    stage('refill', refillMasked(n)),
    stage('trunk', on('decoderFull', serial({ pos: sincosPosEmbed(cfg.grid, { prefix: n }), body: trunk(cfg) }), 'decoderFull')),
    stage('head', on('decoderFull', serial({ drop: dropTokens(n), pred: dense(cfg.outDim) }), 'out')),
  );
};

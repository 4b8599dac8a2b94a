/**
 * Cross-attention decoding (DiffMAE): queries for the removed patches, built from their noisy
 * pixels, positions and the timestep, attend to the encoder's output. "cross" blocks attend only
 * to the encoder; "cross-self" blocks also attend among the queries. With `topDown`, decoder
 * block i reads encoder block (depth - 1 - i) instead of the last one.
 *
 * @since 0.1.0
 */
import { pipe } from 'fp-ts/lib/function.js';
import { positive, positiveInt } from '../core/check.js';
import { ConfigError, ShapeError } from '../core/errors.js';
import { fold } from '../core/key.js';
import { layer, subCtx, type Layer } from '../core/layer.js';
import type { Params } from '../core/params.js';
import { expectRank, spec, type TensorSpec } from '../core/spec.js';
import { tf, type Tensor } from '../core/tf.js';
import { chain } from '../combinators/chain.js';
import { parallel } from '../combinators/parallel.js';
import { field, residualAt } from '../combinators/residual.js';
import { serial, serialOf } from '../combinators/serial.js';
import { on, start, stage, type StageParams } from '../combinators/stage.js';
import { crossAttention, selfAttention, type AttentionConfig } from '../layers/attention.js';
import { applyDense, initDense, type DenseParams, dense } from '../layers/dense.js';
import { layerNorm } from '../layers/layerNorm.js';
import { mlp } from '../layers/mlp.js';
import { gatherTokens } from '../layers/ops.js';
import { sincosTable } from '../layers/posEmbed.js';
import type { TokenGrid } from './patchify.js';
import { timestepEmbedding, type TimestepEmbeddingParams } from '../layers/timeEmbed.js';
import { refillQueries } from './tokens.js';
import { dropTokens } from './tokens.js';
import { sincosPosEmbed } from '../layers/posEmbed.js';
import { stack } from '../combinators/stack.js';
import { vitBlock } from './vitBlock.js';
import type { VitSize } from './vit.js';

/** What a cross block threads through: queries `x` and the `memory` they read. */
export type CrossIn = { readonly x: Tensor; readonly memory: Tensor };

/**
 * Pre-norm cross-attention: crossAttention({ x: LN(x), memory: LN(memory) }).
 *
 * @example
 * preNormCross({ width: 128, heads: 4 })
 * @since 0.1.0
 */
export const preNormCross = (cfg: AttentionConfig) =>
  chain('norm', parallel({ x: layerNorm(), memory: layerNorm() }), 'attn', crossAttention(cfg));

/**
 * Configuration of the cross blocks.
 *
 * @since 0.1.0
 */
export interface CrossBlockConfig extends AttentionConfig {
  readonly mlpRatio?: number;
}

/** A residual update of the queries of a cross block. */
const onQueries = <P extends Params>(f: Layer<P, CrossIn, Tensor>) => residualAt<'x', P, CrossIn>('x', f);

const mlpBranch = (cfg: CrossBlockConfig) =>
  onQueries(
    field('x', serial({ norm: layerNorm(), mlp: mlp({ hidden: Math.round(cfg.width * positive('mlpRatio', cfg.mlpRatio ?? 4)) }) })),
  );

/**
 * A "cross" decoder block: x + crossAttn(LN x, LN memory), then x + mlp(LN x).
 *
 * @example
 * crossBlock({ width: 128, heads: 4 })
 * @since 0.1.0
 */
export const crossBlock = (cfg: CrossBlockConfig) =>
  serialOf<CrossIn>()({ cross: onQueries(preNormCross(cfg)), mlp: mlpBranch(cfg) }, 'crossBlock');

/**
 * A "cross-self" decoder block: x + selfAttn(LN x), x + crossAttn(LN x, LN memory), x + mlp(LN x).
 *
 * @example
 * crossSelfBlock({ width: 128, heads: 4 })
 * @since 0.1.0
 */
export const crossSelfBlock = (cfg: CrossBlockConfig) =>
  serialOf<CrossIn>()(
    {
      self: onQueries(field('x', serial({ norm: layerNorm(), attn: selfAttention(cfg) }))),
      cross: onQueries(preNormCross(cfg)),
      mlp: mlpBranch(cfg),
    },
    'crossSelfBlock',
  );

/** Params of {@link maskedQueries}. */
export type QueryParams = { readonly embed: DenseParams; readonly time: TimestepEmbeddingParams };

/** What {@link maskedQueries} reads. */
export type QueryIn = {
  readonly xt: Tensor;
  readonly idsKeep: Tensor;
  readonly idsShuffle: Tensor;
  readonly idsRestore: Tensor;
  readonly t: Tensor;
};

/**
 * Queries for the removed patches: embed the (noisy) patches of `xt` [B, L, P] to the decoder
 * width, add the fixed 2D sin-cos position (unless `positions` is false) and the timestep
 * embedding of `t`, and keep the removed tokens in shuffle order: { queries: [B, L - keep, Dd] }.
 *
 * @example
 * maskedQueries({ grid: [8, 8], width: 128 })
 * @since 0.1.0
 */
export const maskedQueries = (cfg: {
  readonly grid: TokenGrid;
  readonly width: number;
  readonly positions?: boolean;
}): Layer<QueryParams, QueryIn, { readonly queries: Tensor }> => {
  const width = positiveInt('queries.width', cfg.width);
  const tokens = cfg.grid.reduce((a, b) => a * b, 1);
  const time = timestepEmbedding({ width });
  return layer<QueryParams, QueryIn, { readonly queries: Tensor }>(
    'maskedQueries',
    (key, s) => {
      const xs = expectRank('queries xt', s.xt, 3, [null, tokens, null]);
      return {
        params: { embed: initDense(fold(key, 'embed'), xs[2]!, width), time: time.init(fold(key, 'time'), s.t).params },
        outSpec: { queries: spec([xs[0]!, s.idsKeep.shape[1]! === -1 ? -1 : tokens - s.idsKeep.shape[1]!, width]) },
      };
    },
    (p, e, c) => {
      const keep = e.idsKeep.shape[1]!;
      const l = e.idsShuffle.shape[1]!;
      let embedded = applyDense(p.embed, e.xt);
      if (cfg.positions !== false) embedded = tf.add(embedded, tf.tensor(sincosTable(cfg.grid, width), [1, l, width]));
      const removed = tf.slice(e.idsShuffle, [0, keep], [-1, -1]);
      const q = gatherTokens(embedded, removed, e.idsRestore, keep);
      return { queries: tf.add(q, tf.expandDims(time.apply(p.time, e.t, subCtx(c, 'time')), 1)) };
    },
  );
};

/** What {@link crossTrunk} reads: the queries, the encoder output and (for top-down) its block outputs. */
export type CrossTrunkIn = { readonly queries: Tensor; readonly latent: Tensor; readonly encoderFeatures?: readonly Tensor[] | undefined };

/**
 * `depth` cross (or cross-self) blocks over the queries, each reading the encoder's last output
 * or, with `topDown`, block i reading encoder block (depth_enc - 1 - i). { decoded: [B, M, Dd] }.
 *
 * @example
 * crossTrunk({ depth: 4, topDown: false, block: () => crossSelfBlock({ width: 128, heads: 4 }) })
 * @since 0.1.0
 */
export const crossTrunk = <P extends Params>(o: {
  readonly depth: number;
  readonly topDown: boolean;
  readonly block: (i: number) => Layer<P, CrossIn, CrossIn>;
}): Layer<readonly P[], CrossTrunkIn, { readonly decoded: Tensor }> => {
  const blocks = Array.from({ length: positiveInt('decoder.depth', o.depth) }, (_, i) => o.block(i));
  const memoryOf = <T>(e: { readonly latent: T; readonly encoderFeatures?: readonly T[] | undefined }, i: number): T => {
    if (!o.topDown) return e.latent;
    const f = e.encoderFeatures;
    if (!f) throw new ConfigError('decoder.topDown', true, 'needs the encoder block outputs (build the encoder with features: true)');
    if (f.length < blocks.length)
      throw new ConfigError('decoder.depth', blocks.length, `top-down decoding needs at most ${f.length} blocks (the encoder depth)`);
    return f[f.length - 1 - i]!;
  };
  return layer<readonly P[], CrossTrunkIn, { readonly decoded: Tensor }>(
    'crossTrunk',
    (key, s) => {
      let x: TensorSpec = s.queries;
      const params = blocks.map((b, i) => {
        const r = b.init(fold(key, i), {
          x,
          memory: memoryOf(s as { latent: TensorSpec; encoderFeatures?: readonly TensorSpec[] | undefined }, i),
        });
        x = r.outSpec.x;
        return r.params;
      });
      return { params, outSpec: { decoded: x } };
    },
    (params, e, c) => {
      let x = e.queries;
      blocks.forEach((b, i) => {
        x = b.apply(params[i]!, { x, memory: memoryOf(e, i) }, subCtx(c, String(i))).x;
      });
      return { decoded: x };
    },
  );
};

/** What {@link scatterMasked} reads. */
export type ScatterIn = { readonly predMasked: Tensor; readonly idsKeep: Tensor; readonly idsRestore: Tensor; readonly idsShuffle: Tensor };

/**
 * Predictions for the removed tokens [B, M, V] put back in token order: { out: [B, L, V] },
 * zeros on the visible tokens.
 *
 * @example
 * stage('scatter', scatterMasked)
 * @since 0.1.0
 */
export const scatterMasked: Layer<Readonly<Record<never, never>>, ScatterIn, { readonly out: Tensor }> = layer(
  'scatterMasked',
  (_key, s) => {
    const p = expectRank('predMasked', s.predMasked, 3);
    return { params: {}, outSpec: { out: spec([p[0]!, s.idsRestore.shape[1]!, p[2]!]) } };
  },
  (_p, e) => {
    const [b, m, v] = e.predMasked.shape as [number, number, number];
    const keep = e.idsKeep.shape[1]!;
    if (keep + m !== e.idsRestore.shape[1])
      throw new ShapeError('predMasked', `[${b}, ${e.idsRestore.shape[1]! - keep}, ${v}]`, e.predMasked.shape);
    const shuffled = keep === 0 ? e.predMasked : tf.concat([tf.zeros([b, keep, v]), e.predMasked], 1);
    return { out: gatherTokens(shuffled, e.idsRestore, e.idsShuffle) };
  },
);

/**
 * Configuration of the DiffMAE decoders.
 *
 * @since 0.1.0
 */
export interface DiffDecoderConfig extends VitSize {
  /** "cross": queries attend to the encoder only; "cross-self": and among themselves; "joint": MAE-style self-attention over visible and query tokens. */
  readonly kind: 'cross' | 'cross-self' | 'joint';
  /** Decoder block i reads encoder block (depth - 1 - i) (cross kinds only). */
  readonly topDown?: boolean;
}

/** What a DiffMAE decoder reads. */
export type DiffDecoderIn = QueryIn & { readonly latent: Tensor; readonly encoderFeatures?: readonly Tensor[] | undefined };

/**
 * A DiffMAE decoder as a stage (its params are a record keyed by its own stages).
 *
 * @since 0.1.0
 */
export type DiffDecoder = Layer<StageParams, DiffDecoderIn, { readonly out: Tensor }>;

/**
 * The DiffMAE decoder of a kind, reading { latent (and encoderFeatures), xt, t, ids } and
 * writing { out: [B, L, outDim] } in token order (cross kinds leave zeros on visible tokens).
 *
 * @example
 * diffDecoder({ kind: 'cross-self', width: 128, depth: 4, heads: 4 }, { grid: [8, 8], outDim: 48, clsTokens: 1 })
 * @since 0.1.0
 */
export const diffDecoder = (
  cfg: DiffDecoderConfig,
  o: { readonly grid: TokenGrid; readonly outDim: number; readonly clsTokens: number },
): DiffDecoder => {
  const blockCfg = { width: cfg.width, heads: cfg.heads, mlpRatio: cfg.mlpRatio ?? 4 };
  if (cfg.kind === 'joint') {
    if (cfg.topDown) throw new ConfigError('decoder.topDown', true, 'applies to the cross decoders only');
    const joint = pipe(
      start<QueryIn & { readonly latent: Tensor }>(),
      stage('queries', maskedQueries({ grid: o.grid, width: cfg.width, positions: false })),
      stage('embed', on('latent', dense(cfg.width), 'decoderSeq')),
      stage('refill', refillQueries(o.clsTokens)),
      stage(
        'trunk',
        on(
          'decoderFull',
          serial({
            pos: sincosPosEmbed(o.grid, { prefix: o.clsTokens }),
            blocks: stack(cfg.depth, () => vitBlock(blockCfg)),
            norm: layerNorm(),
          }),
          'decoderFull',
        ),
      ),
      stage('head', on('decoderFull', serial({ drop: dropTokens(o.clsTokens), pred: dense(o.outDim) }), 'out')),
    );
    return joint as unknown as DiffDecoder;
  }
  const self = cfg.kind === 'cross-self';
  const block = (): Layer<Params, CrossIn, CrossIn> =>
    (self ? crossSelfBlock(blockCfg) : crossBlock(blockCfg)) as unknown as Layer<Params, CrossIn, CrossIn>;
  const cross = pipe(
    start<QueryIn & { readonly latent: Tensor; readonly encoderFeatures?: readonly Tensor[] | undefined }>(),
    stage('queries', maskedQueries({ grid: o.grid, width: cfg.width })),
    stage('trunk', crossTrunk({ depth: cfg.depth, topDown: cfg.topDown ?? false, block })),
    stage('head', on('decoded', serial({ norm: layerNorm(), pred: dense(o.outDim) }), 'predMasked')),
    stage('scatter', scatterMasked),
  );
  return cross as unknown as DiffDecoder;
};

/**
 * A conditioned masked autoencoder: one network family for UMD, MaskDiT and DiT. A condition
 * vector c (timestep embedding, plus a class embedding when the model has classes) enters every
 * block through adaLN-Zero or as a prepended token. The encoder sees the visible (possibly noisy)
 * tokens after `clsTokens` CLS tokens, whose mean is the representation; the decoder (same or
 * another width, `depth` >= 0) puts that representation in front of the visible tokens and a
 * learned mask embedding in every removed slot. With decoder depth 0 the network is one trunk
 * (DiT): a final layer reads the encoder's tokens directly.
 *
 * @since 0.1.0
 */
import { positiveInt, int } from '../core/check.js';
import { ConfigError, ShapeError } from '../core/errors.js';
import { lecunNormal, normalInit, zeros } from '../core/initializers.js';
import { fold } from '../core/key.js';
import { layer, subCtx, type Ctx, type Layer } from '../core/layer.js';
import { spec, type SpecOf } from '../core/spec.js';
import { tf, type Tensor } from '../core/tf.js';
import type { Target } from './heads.js';
import {
  adaLnBlock,
  adaLnFinal,
  conditionMlp,
  labelEmbedding,
  type AdaLnBlockParams,
  type AdaLnFinalParams,
  type ConditionMlpParams,
  type LabelEmbeddingParams,
} from '../layers/conditioning.js';
import { applyDense, initDense, type DenseParams } from '../layers/dense.js';
import { layerNormOp, type LayerNormParams } from '../layers/layerNorm.js';
import { gatherTokens, repeatTokens } from '../layers/ops.js';
import { sincosTable } from '../layers/posEmbed.js';
import { timestepEmbedding, type TimeEmbedStyle, type TimestepEmbeddingParams } from '../layers/timeEmbed.js';
import type { Activation } from '../layers/ops.js';
import { gridOf, patchingFor, tokenGrid, type InputShape } from './patchify.js';
import type { VitSize } from './vit.js';
import { vitBlock, type VitBlockParams } from './vitBlock.js';

/**
 * Configuration of {@link condAe}.
 *
 * @since 0.1.0
 */
export interface CondAeConfig {
  /** [H, W, C], or [T, H, W, C] for video. */
  readonly image: InputShape;
  readonly patch: number;
  /** Video only: frames per tubelet token (default 2). */
  readonly tubelet?: number;
  readonly encoder: VitSize;
  /** Decoder trunk; depth 0 makes the network one trunk (DiT). */
  readonly decoder: VitSize;
  /** CLS tokens in the encoder (UMD: 4, zero-initialised); their mean is the representation. */
  readonly clsTokens?: number;
  /** Position embeddings: learned (UMD) or the fixed 2D sin-cos table. */
  readonly pos?: 'learned' | 'sincos';
  /** How c enters the blocks: adaLN-Zero (DiT, UMD) or a prepended token. */
  readonly conditioning?: 'adaln' | 'token';
  /** Number of classes for class-conditional models (a null class is added). */
  readonly classes?: number;
  /** Probability of dropping a label to the null class while training (classifier-free guidance). */
  readonly labelDropout?: number;
  /** Output heads, in order (UMD: x0 and eps). */
  readonly heads: readonly Target[];
  /**
   * How t and the class become c: `timestep-embedder` (the default: DiT's timestep embedder
   * and a width-d label trunk) or `time-emb` (UMD's reference: its `TimeEmb`, 2 x width trunks for time and label,
   * LeCun normal kernels, the label table N(0, 1 / sqrt(width)) as flax's `nn.Embed`).
   */
  readonly embedding?: TimeEmbedStyle;
  /**
   * How a class becomes a vector: `table-mlp` (the default: a table, then dense -> SiLU ->
   * dense, as UMD's `LabelEmbedder` + `label_trunk`) or `table` (DiT's `LabelEmbedder`: the table
   * row alone).
   */
  readonly labelEmbedding?: 'table' | 'table-mlp';
  /** The blocks' MLP activation: exact GELU (default) or DiT's tanh approximation. */
  readonly activation?: Activation;
  /**
   * adaLN: the LayerNorms before each modulation, `plain` (the default: no affine parameters,
   * DiT's, and a zero-initialised final projection) or `affine` (UMD's reference: flax's
   * `nn.LayerNorm()` in every block and before the final modulation, the final projection
   * N(0, 0.02)).
   */
  readonly adaNorm?: 'plain' | 'affine';
}

/** Params of a trunk's blocks (adaLN-Zero or plain ViT blocks). */
export type Blocks = readonly (AdaLnBlockParams | VitBlockParams)[];

/** Params of {@link condAe}. */
export type CondAeParams = {
  readonly time: TimestepEmbeddingParams;
  readonly label?: { readonly embed: LabelEmbeddingParams; readonly trunk?: ConditionMlpParams };
  readonly encoder: {
    readonly embed: DenseParams;
    readonly pos?: Tensor;
    readonly cls?: Tensor;
    readonly condToken?: DenseParams;
    readonly blocks: Blocks;
    readonly norm: LayerNormParams;
  };
  readonly decoder: {
    readonly embed?: DenseParams;
    readonly maskToken?: Tensor;
    readonly pos?: Tensor;
    readonly condToken?: DenseParams;
    readonly blocks: Blocks;
    readonly final: AdaLnFinalParams | { readonly norm: LayerNormParams; readonly proj: DenseParams };
  };
};

/** What the network reads. */
export type CondAeIn = {
  readonly xt: Tensor;
  readonly idsKeep: Tensor;
  readonly idsShuffle: Tensor;
  readonly idsRestore: Tensor;
  readonly t: Tensor;
  readonly labels?: Tensor | undefined;
};

/** What the network writes. */
export type CondAeOut = { readonly latent: Tensor; readonly rep: Tensor; readonly predX0?: Tensor; readonly predEps?: Tensor };

/**
 * The encoder half: the condition c [B, D], the normed latent [B, cls + keep, D], its visible
 * tokens [B, keep, D] and the representation [B, D] (mean of the CLS tokens, or of all tokens
 * without them).
 */
export type CondAeEncoded = { readonly c: Tensor; readonly latent: Tensor; readonly visible: Tensor; readonly rep: Tensor };

/**
 * The network of {@link condAe}, with its encoder half callable on its own (for probes and
 * classification fine-tuning; call it inside `tf.tidy`). `encode` reads only `time`, `label` and
 * `encoder` of the params.
 */
export type CondAe = Layer<CondAeParams, CondAeIn, CondAeOut> & {
  readonly encode: (p: Pick<CondAeParams, 'time' | 'label' | 'encoder'>, e: CondAeIn, ctx: Ctx) => CondAeEncoded;
};

/**
 * The conditioned autoencoder as a layer (see the module comment).
 *
 * @example
 * condAe({ image: [32, 32, 3], patch: 4, encoder: { width: 64, depth: 4, heads: 4 }, decoder: { width: 64, depth: 2, heads: 4 }, clsTokens: 4, heads: ['x0', 'eps'] })
 * @since 0.1.0
 */
export const condAe = (cfg: CondAeConfig): CondAe => {
  const g = gridOf(patchingFor(cfg.image, cfg.patch, cfg.tubelet), cfg.image);
  const l = g.tokens;
  const d = positiveInt('encoder.width', cfg.encoder.width);
  const dd = positiveInt('decoder.width', cfg.decoder.width);
  const decDepth = int('decoder.depth', cfg.decoder.depth, 0);
  const nCls = int('clsTokens', cfg.clsTokens ?? 0, 0);
  const pos = cfg.pos ?? 'learned';
  const adaln = (cfg.conditioning ?? 'adaln') === 'adaln';
  if (cfg.heads.length === 0 || new Set(cfg.heads).size !== cfg.heads.length)
    throw new ConfigError('heads', cfg.heads, 'needs distinct targets');
  if (decDepth === 0 && dd !== d)
    throw new ConfigError('decoder.width', dd, `a depth-0 decoder reads the encoder's tokens, so its width must be ${d}`);
  const outDim = g.patchDim * cfg.heads.length;
  const umd = cfg.embedding === 'time-emb';
  const time = timestepEmbedding({ width: d, style: umd ? 'time-emb' : 'timestep-embedder' });
  const label =
    cfg.classes === undefined
      ? null
      : {
          embed: labelEmbedding({
            classes: cfg.classes,
            width: d,
            dropout: cfg.labelDropout ?? 0,
            ...(umd ? { tableStd: 1 / Math.sqrt(d) } : {}),
          }),
          trunk:
            cfg.labelEmbedding === 'table'
              ? null
              : umd
                ? conditionMlp(d, 'conditionMlp', { hidden: 2 * d, kernelInit: lecunNormal })
                : conditionMlp(d),
        };
  const act = cfg.activation === undefined ? {} : { activation: cfg.activation };
  const block = (w: number, heads: number, ratio?: number) =>
    adaln
      ? adaLnBlock({ width: w, heads, mlpRatio: ratio ?? 4, ...act, affine: cfg.adaNorm === 'affine' })
      : vitBlock({ width: w, heads, mlpRatio: ratio ?? 4, ...act });
  const encBlocks = Array.from({ length: positiveInt('encoder.depth', cfg.encoder.depth) }, () =>
    block(d, cfg.encoder.heads, cfg.encoder.mlpRatio),
  );
  const decBlocks = Array.from({ length: decDepth }, () => block(dd, cfg.decoder.heads, cfg.decoder.mlpRatio));
  const final = adaln ? adaLnFinal({ width: dd, outDim, affine: cfg.adaNorm === 'affine' }) : null;
  const posTable = (w: number): Tensor => (pos === 'sincos' ? tf.tensor(sincosTable(tokenGrid(g), w), [1, l, w]) : tf.zeros([1, l, w]));

  /** Runs blocks on tokens with the condition: adaLN blocks read c; token mode prepends dense(c) and drops it after. */
  const trunk = (
    blocks: typeof encBlocks,
    params: Blocks,
    tokenProj: DenseParams | undefined,
    x: Tensor,
    c: Tensor,
    ctx: Ctx,
    scope: string,
  ): Tensor => {
    let h = tokenProj ? tf.concat([tf.expandDims(applyDense(tokenProj, c), 1), x], 1) : x;
    blocks.forEach((b, i) => {
      const sub = subCtx(ctx, `${scope}.${i}`);
      h = adaln
        ? (b as ReturnType<typeof adaLnBlock>).apply(params[i] as AdaLnBlockParams, { x: h, c }, sub).x
        : (b as ReturnType<typeof vitBlock>).apply(params[i] as VitBlockParams, h, sub);
    });
    return tokenProj ? tf.slice(h, [0, 1, 0], [-1, -1, -1]) : h;
  };

  /** The condition and the encoder: c, the normed latent, its visible tokens and the representation. */
  const encode = (p: Pick<CondAeParams, 'time' | 'label' | 'encoder'>, e: CondAeIn, ctx: Ctx): CondAeEncoded => {
    const b = e.xt.shape[0]!;
    // the condition: timestep embedding (+ class embedding)
    let c = time.apply(p.time, e.t, subCtx(ctx, 'time'));
    if (label && p.label) {
      const labels = e.labels ?? tf.fill([b], cfg.classes!, 'int32');
      const row = label.embed.apply(p.label.embed, labels, subCtx(ctx, 'label'));
      c = tf.add(c, label.trunk && p.label.trunk ? label.trunk.apply(p.label.trunk, row, subCtx(ctx, 'label.trunk')) : row);
    }
    // encoder: embed + positions, keep the visible tokens, CLS in front
    const tokens = tf.add(applyDense(p.encoder.embed, e.xt), p.encoder.pos ?? posTable(d));
    let x = gatherTokens(tokens, e.idsKeep, e.idsRestore);
    if (p.encoder.cls) x = tf.concat([repeatTokens(p.encoder.cls, b), x], 1);
    x = trunk(encBlocks, p.encoder.blocks, p.encoder.condToken, x, c, ctx, 'encoder');
    const latent = layerNormOp(x, p.encoder.norm.scale, p.encoder.norm.bias, 1e-6);
    const visible = nCls > 0 ? tf.slice(latent, [0, nCls, 0], [-1, -1, -1]) : latent;
    const rep = nCls > 0 ? tf.mean(tf.slice(latent, [0, 0, 0], [-1, nCls, -1]), 1) : tf.mean(latent, 1);
    return { c, latent, visible, rep };
  };

  const net = layer<CondAeParams, CondAeIn, CondAeOut>(
    'condAe',
    (key, s) => {
      const b = s.xt.shape[0]!;
      if (s.xt.shape.length !== 3 || s.xt.shape[1] !== l || s.xt.shape[2] !== g.patchDim)
        throw new ShapeError('xt', `[B, ${l}, ${g.patchDim}]`, s.xt.shape);
      const tok = spec([b, -1, d]);
      const c = spec([b, d]);
      const k = (name: string) => fold(key, name);
      const params: CondAeParams = {
        time: time.init(k('time'), spec([b], 'int32')).params,
        ...(label
          ? {
              label: {
                embed: label.embed.init(k('label.embed'), spec([b], 'int32')).params,
                ...(label.trunk ? { trunk: label.trunk.init(k('label.trunk'), c).params } : {}),
              },
            }
          : {}),
        encoder: {
          embed: initDense(k('encoder.embed'), g.patchDim, d),
          ...(pos === 'learned' ? { pos: normalInit(1 / Math.sqrt(l))(k('encoder.pos'), [1, l, d]) } : {}),
          ...(nCls > 0 ? { cls: zeros(k('encoder.cls'), [1, nCls, d]) } : {}),
          ...(adaln ? {} : { condToken: initDense(k('encoder.condToken'), d, d) }),
          blocks: encBlocks.map((bl, i) =>
            adaln
              ? (bl as ReturnType<typeof adaLnBlock>).init(fold(k('encoder.blocks'), i), { x: tok, c }).params
              : (bl as ReturnType<typeof vitBlock>).init(fold(k('encoder.blocks'), i), tok).params,
          ),
          norm: { scale: tf.ones([d]), bias: tf.zeros([d]) },
        },
        decoder: {
          ...(decDepth > 0
            ? { embed: initDense(k('decoder.embed'), d, dd), maskToken: normalInit(0.02)(k('decoder.mask'), [1, 1, dd]) }
            : {}),
          ...(decDepth > 0 && pos === 'learned' ? { pos: normalInit(1 / Math.sqrt(l))(k('decoder.pos'), [1, l, dd]) } : {}),
          ...(decDepth > 0 && !adaln ? { condToken: initDense(k('decoder.condToken'), d, dd) } : {}),
          blocks: decBlocks.map((bl, i) =>
            adaln
              ? (bl as ReturnType<typeof adaLnBlock>).init(fold(k('decoder.blocks'), i), { x: spec([b, -1, dd]), c }).params
              : (bl as ReturnType<typeof vitBlock>).init(fold(k('decoder.blocks'), i), spec([b, -1, dd])).params,
          ),
          final: final
            ? final.init(k('decoder.final'), { x: spec([b, -1, dd]), c }).params
            : {
                norm: { scale: tf.ones([dd]), bias: tf.zeros([dd]) },
                proj: initDense(k('decoder.final.proj'), dd, outDim, { kernelInit: normalInit(0.02) }),
              },
        },
      };
      const out = spec([b, l, g.patchDim]);
      return {
        params,
        outSpec: {
          latent: spec([b, -1, d]),
          rep: spec([b, d]),
          ...(cfg.heads.includes('x0') ? { predX0: out } : {}),
          ...(cfg.heads.includes('eps') ? { predEps: out } : {}),
        } as SpecOf<CondAeOut>,
      };
    },
    (p, e, ctx) => {
      const b = e.xt.shape[0]!;
      const keep = e.idsKeep.shape[1]!;
      const { c, latent, visible, rep } = encode(p, e, ctx);
      // decoder: [rep] + visible tokens and mask embeddings in token order, then the final layer
      let y: Tensor;
      if (decDepth === 0) {
        y = keep === l ? visible : tf.concat([visible, tf.zeros([b, l - keep, d])], 1);
        y = gatherTokens(y, e.idsRestore, e.idsShuffle);
      } else {
        const vis = applyDense(p.decoder.embed!, visible);
        const full = keep === l ? vis : tf.concat([vis, repeatTokens(p.decoder.maskToken!, b, l - keep)], 1);
        y = tf.add(gatherTokens(full, e.idsRestore, e.idsShuffle), p.decoder.pos ?? posTable(dd));
        const prefix = nCls > 0 ? 1 : 0;
        if (prefix) y = tf.concat([tf.expandDims(applyDense(p.decoder.embed!, rep), 1), y], 1);
        y = trunk(decBlocks, p.decoder.blocks, p.decoder.condToken, y, c, ctx, 'decoder');
        if (prefix) y = tf.slice(y, [0, 1, 0], [-1, -1, -1]);
      }
      const out = final
        ? final.apply(p.decoder.final as AdaLnFinalParams, { x: y, c }, subCtx(ctx, 'final'))
        : (() => {
            const f = p.decoder.final as { readonly norm: LayerNormParams; readonly proj: DenseParams };
            return applyDense(f.proj, layerNormOp(y, f.norm.scale, f.norm.bias, 1e-6));
          })();
      const heads = cfg.heads.length === 1 ? [out] : tf.split(out, cfg.heads.length, 2);
      const pred: { predX0?: Tensor; predEps?: Tensor } = {};
      cfg.heads.forEach((h, i) => {
        if (h === 'x0') pred.predX0 = heads[i]!;
        else pred.predEps = heads[i]!;
      });
      return { latent, rep, ...pred };
    },
  );
  return Object.assign(net, { encode });
};

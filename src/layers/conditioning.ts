/**
 * Conditioning on a vector c (timestep and class embeddings): a class-label embedding with a
 * null class for classifier-free guidance, and adaLN-Zero (DiT): per block, a zero-initialised
 * dense layer maps c to shift, scale and gate for the attention and MLP branches, so every
 * block starts as the identity.
 *
 * @since 0.1.0
 */
import { positive, positiveInt, unit } from '../core/check.js';
import { ConfigError, ShapeError } from '../core/errors.js';
import { normalInit, zeros, type Initializer } from '../core/initializers.js';
import { uniform } from '../core/key.js';
import { layer, subCtx, type Layer } from '../core/layer.js';
import { expectRank, spec } from '../core/spec.js';
import { fold } from '../core/key.js';
import { tf, type Tensor } from '../core/tf.js';
import { selfAttention, type SelfAttentionParams } from './attention.js';
import { applyDense, initDense, type DenseParams } from './dense.js';
import { layerNormOp, type LayerNormParams } from './layerNorm.js';
import { mlp, type MlpParams } from './mlp.js';
import type { Activation } from './ops.js';

/** Params of {@link labelEmbedding}: a table [classes + 1, D]; the last row is the null class. */
export type LabelEmbeddingParams = { readonly table: Tensor };

/**
 * Class labels [B] (int32, 0..classes-1, or `classes` for "no class") -> [B, width]. While
 * training, each label is replaced by the null class with probability `dropout` (drawn from
 * the context's key), which trains the unconditional model that classifier-free guidance needs.
 * The table starts N(0, `tableStd`) (default 0.02, as DiT; flax's `nn.Embed`, which UMD uses,
 * starts N(0, 1 / sqrt(width))).
 *
 * @example
 * labelEmbedding({ classes: 10, width: 192, dropout: 0.1 })
 * @since 0.1.0
 */
export const labelEmbedding = (
  cfg: { readonly classes: number; readonly width: number; readonly dropout?: number; readonly tableStd?: number },
  name = 'labelEmbedding',
): Layer<LabelEmbeddingParams, Tensor, Tensor> => {
  const classes = positiveInt(`${name}.classes`, cfg.classes);
  const width = positiveInt(`${name}.width`, cfg.width);
  const dropout = unit(`${name}.dropout`, cfg.dropout ?? 0);
  const tableStd = positive(`${name}.tableStd`, cfg.tableStd ?? 0.02);
  return layer<LabelEmbeddingParams, Tensor, Tensor>(
    name,
    (key, inSpec) => {
      const s = expectRank(`${name} labels`, inSpec, 1, [], '[B] class ids');
      return { params: { table: normalInit(tableStd)(key, [classes + 1, width]) }, outSpec: spec([s[0]!, width]) };
    },
    (p, labels, c) => {
      if (labels.dtype !== 'int32') throw new ConfigError(`${name} labels`, labels.dtype, 'must be int32');
      let ids = labels;
      if (c.training && dropout > 0) {
        const u = uniform(fold(c.key, 'labelDropout'), labels.shape[0]!);
        ids = tf.where(
          tf.tensor1d(
            Uint8Array.from(u, (v) => (v < dropout ? 1 : 0)),
            'bool',
          ),
          tf.fill(labels.shape, classes, 'int32'),
          labels,
        );
      }
      // a one-hot product, not a gather: its gradient is a plain 2D product on every backend
      return tf.matMul(tf.oneHot(ids, classes + 1), p.table);
    },
  );
};

/** Params of {@link conditionMlp}. */
export type ConditionMlpParams = { readonly fc1: DenseParams; readonly fc2: DenseParams };

/**
 * An embedding trunk for a condition vector: dense -> SiLU -> dense, input -> `hidden` (default
 * `width`) -> `width`, kernels N(0, 0.02) unless `kernelInit` says otherwise (UMD's
 * `EmbeddingTrunk`: hidden 2 x width, LeCun normal).
 *
 * @example
 * conditionMlp(192)
 * conditionMlp(192, 'labelTrunk', { hidden: 384, kernelInit: lecunNormal })
 * @since 0.1.0
 */
export const conditionMlp = (
  width: number,
  name = 'conditionMlp',
  o: { readonly hidden?: number; readonly kernelInit?: Initializer } = {},
): Layer<ConditionMlpParams, Tensor, Tensor> => {
  const hidden = positiveInt(`${name}.hidden`, o.hidden ?? width);
  const kernelInit = o.kernelInit ?? normalInit(0.02);
  return layer<ConditionMlpParams, Tensor, Tensor>(
    name,
    (key, s) => {
      const d = expectRank(`${name} input`, s, 2)[1]!;
      return {
        params: {
          fc1: initDense(fold(key, 'fc1'), d, hidden, { kernelInit }),
          fc2: initDense(fold(key, 'fc2'), hidden, width, { kernelInit }),
        },
        outSpec: spec([s.shape[0]!, width]),
      };
    },
    (p, x) => {
      const h = applyDense(p.fc1, x);
      return applyDense(p.fc2, tf.mul(h, tf.sigmoid(h)));
    },
  );
};

/** What a conditioned block threads: tokens `x` [B, N, D] and the condition `c` [B, Dc]. */
export type CondIn = { readonly x: Tensor; readonly c: Tensor };

/** Params of {@link adaLnBlock}. */
export type AdaLnBlockParams = {
  readonly ada: DenseParams;
  readonly attn: SelfAttentionParams;
  readonly mlp: MlpParams;
  /** With `affine`: the LayerNorms' own scale and bias, before the modulation. */
  readonly norm1?: LayerNormParams;
  readonly norm2?: LayerNormParams;
};

/** LN(x) (1 + scale) + shift; the LayerNorm has its own scale and bias when `norm` is given. */
const modulate = (x: Tensor, shift: Tensor, scale: Tensor, norm?: LayerNormParams): Tensor =>
  tf.add(
    tf.mul(layerNormOp(x, norm?.scale ?? null, norm?.bias ?? null, 1e-6), tf.add(tf.expandDims(scale, 1), 1)),
    tf.expandDims(shift, 1),
  );

const affineNorm = (width: number): LayerNormParams => ({ scale: tf.ones([width]), bias: tf.zeros([width]) });

/**
 * The DiT block with adaLN-Zero: (shift, scale, gate) x 2 = dense(SiLU(c)) (zero-initialised),
 * x + gate1 attn(LN(x) (1 + scale1) + shift1), then x + gate2 mlp(LN(x) (1 + scale2) + shift2),
 * LayerNorms without affine parameters (DiT's), or with their own scale and bias before the
 * modulation (`affine: true`: UMD's reference, flax `nn.LayerNorm()`).
 *
 * @example
 * adaLnBlock({ width: 192, heads: 3 })
 * adaLnBlock({ width: 192, heads: 3, affine: true })
 * @since 0.1.0
 */
export const adaLnBlock = (cfg: {
  readonly width: number;
  readonly heads: number;
  readonly mlpRatio?: number;
  /** The MLP's activation (default exact GELU; DiT: gelu-tanh). */
  readonly activation?: Activation;
  /** LayerNorms with their own scale and bias (UMD's reference; default false, DiT's). */
  readonly affine?: boolean;
}): Layer<AdaLnBlockParams, CondIn, CondIn> => {
  const width = positiveInt('adaLnBlock.width', cfg.width);
  const attn = selfAttention({ width, heads: cfg.heads });
  const ff = mlp({ hidden: Math.round(width * (cfg.mlpRatio ?? 4)), ...(cfg.activation ? { activation: cfg.activation } : {}) });
  return layer<AdaLnBlockParams, CondIn, CondIn>(
    'adaLnBlock',
    (key, s) => {
      const xs = expectRank('adaLnBlock x', s.x, 3, [null, null, width]);
      const dc = expectRank('adaLnBlock c', s.c, 2, [xs[0]!, null])[1]!;
      return {
        params: {
          ada: initDense(fold(key, 'ada'), dc, 6 * width, { kernelInit: zeros, biasInit: zeros }),
          attn: attn.init(fold(key, 'attn'), s.x).params,
          mlp: ff.init(fold(key, 'mlp'), s.x).params,
          ...(cfg.affine ? { norm1: affineNorm(width), norm2: affineNorm(width) } : {}),
        },
        outSpec: s,
      };
    },
    (p, { x, c }, ctx) => {
      if (c.shape[0] !== x.shape[0]) throw new ShapeError('adaLnBlock c', `[${x.shape[0]}, Dc]`, c.shape);
      const m = tf.split(applyDense(p.ada, tf.mul(c, tf.sigmoid(c))), 6, 1);
      const [shift1, scale1, gate1, shift2, scale2, gate2] = m as [Tensor, Tensor, Tensor, Tensor, Tensor, Tensor];
      const x1 = tf.add(x, tf.mul(tf.expandDims(gate1, 1), attn.apply(p.attn, modulate(x, shift1, scale1, p.norm1), subCtx(ctx, 'attn'))));
      const x2 = tf.add(x1, tf.mul(tf.expandDims(gate2, 1), ff.apply(p.mlp, modulate(x1, shift2, scale2, p.norm2), subCtx(ctx, 'mlp'))));
      return { x: x2, c };
    },
  );
};

/** Params of {@link adaLnFinal}. */
export type AdaLnFinalParams = { readonly ada: DenseParams; readonly proj: DenseParams; readonly norm?: LayerNormParams };

/**
 * DiT's final layer: LN(x) (1 + scale) + shift with (shift, scale) = dense(SiLU(c)), then a
 * linear map to `outDim`; both dense layers start at zero. With `affine: true` it is UMD's: the
 * LayerNorm has its own scale and bias (the decoder's `encoder_norm`), and the projection starts
 * N(0, 0.02) (its `final_conv`).
 *
 * @example
 * adaLnFinal({ width: 192, outDim: 96 })
 * adaLnFinal({ width: 192, outDim: 96, affine: true })
 * @since 0.1.0
 */
export const adaLnFinal = (cfg: {
  readonly width: number;
  readonly outDim: number;
  readonly affine?: boolean;
}): Layer<AdaLnFinalParams, CondIn, Tensor> =>
  layer<AdaLnFinalParams, CondIn, Tensor>(
    'adaLnFinal',
    (key, s) => {
      const xs = expectRank('adaLnFinal x', s.x, 3, [null, null, cfg.width]);
      const dc = expectRank('adaLnFinal c', s.c, 2)[1]!;
      return {
        params: {
          ada: initDense(fold(key, 'ada'), dc, 2 * cfg.width, { kernelInit: zeros, biasInit: zeros }),
          proj: initDense(fold(key, 'proj'), cfg.width, cfg.outDim, { kernelInit: cfg.affine ? normalInit(0.02) : zeros, biasInit: zeros }),
          ...(cfg.affine ? { norm: affineNorm(cfg.width) } : {}),
        },
        outSpec: spec([xs[0]!, xs[1]!, cfg.outDim]),
      };
    },
    (p, { x, c }) => {
      const [shift, scale] = tf.split(applyDense(p.ada, tf.mul(c, tf.sigmoid(c))), 2, 1) as [Tensor, Tensor];
      return applyDense(p.proj, modulate(x, shift, scale, p.norm));
    },
  );

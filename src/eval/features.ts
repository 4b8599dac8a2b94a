/**
 * Frozen features of any method's encoder: the encoder alone (no decoder) on every patch of a
 * clean image (no mask, t = 0, the null class for class-conditional models), pooled to one
 * vector per image. The same function is differentiable, so classification fine-tuning reuses it.
 *
 * Pooling: `auto` (the default) takes each method's own representation: the CLS token where the
 * model has one (MAE, DiffMAE), the mean of the CLS tokens (UMD's representation), else the mean
 * of the patch tokens (DiT, MaskDiT). `cls` and `mean` force one or the other. (It matters: on the
 * embedded data UMD's CLS representation probes far better than the mean of its patch tokens,
 * whose zero-initialised adaLN blocks start as the identity.)
 *
 * @since 0.1.0
 */
import { positiveInt } from '../core/check.js';
import { ConfigError, ShapeError } from '../core/errors.js';
import { type Ctx, ctx as makeCtx } from '../core/layer.js';
import { key, type Key } from '../core/key.js';
import { disposeParams, mapParams, type Params } from '../core/params.js';
import { spec } from '../core/spec.js';
import { tf, type Tensor } from '../core/tf.js';
import { batchTensor } from '../data/batches.js';
import type { LabelledImages } from '../data/synthetic.js';
import type { BuiltModel } from '../models/registry.js';
import type { CondAeParams } from '../vision/condAe.js';
import { gridOf, patchifyOp, tokenGrid, type Grid, type InputShape } from '../vision/patchify.js';
import { checkInputSpec } from '../models/model.js';
import { visibleEncoder } from '../vision/vit.js';
import type { Norm } from './heldout.js';

/**
 * How tokens become one vector: the mean of the patch tokens, or the CLS token(s).
 *
 * @since 0.1.0
 */
export type Pool = 'mean' | 'cls' | 'auto';

/**
 * A model's encoder as a function of its own params: `select` picks those params out of the
 * whole model's, `encode` maps images [B, H, W, C] (normalised as in training) to features
 * [B, width]. Call `encode` inside `tf.tidy` (or under `tf.grad`).
 *
 * @since 0.1.0
 */
export interface Encoder {
  readonly method: BuiltModel['method'];
  readonly width: number;
  /** The pooling in use (`auto` resolved). */
  readonly pool: Exclude<Pool, 'auto'>;
  readonly image: InputShape;
  /** Transformer blocks in the encoder. */
  readonly depth: number;
  /** Fresh encoder params: the whole model initialised with `k`, the encoder's part kept. */
  readonly init: (k: Key) => Params;
  readonly select: (params: Params) => Params;
  readonly encode: (encoderParams: Params, images: Tensor, c: Ctx) => Tensor;
}

/** Every patch kept, in order: idsKeep = idsRestore = idsShuffle = 0..L-1 for each image. */
const allTokens = (n: number, grid: Grid): Tensor => tf.tile(tf.expandDims(tf.range(0, grid.tokens, 1, 'int32'), 0), [n, 1]);

const pooled = (latent: Tensor, nCls: number, pool: Exclude<Pool, 'auto'>): Tensor =>
  pool === 'cls'
    ? tf.mean(tf.slice(latent, [0, 0, 0], [-1, nCls, -1]), 1)
    : tf.mean(nCls > 0 ? tf.slice(latent, [0, nCls, 0], [-1, -1, -1]) : latent, 1);

/**
 * The encoder of a built model.
 *
 * @example
 * const enc = encoderOf(buildModel(presetSpec('umd', 'micro/4')), 'cls')
 * const features = tf.tidy(() => enc.encode(enc.select(params), images, ctx(key(0))))
 * @since 0.1.0
 */
export const encoderOf = (b: BuiltModel, asked: Pool = 'auto'): Encoder => {
  if (asked !== 'mean' && asked !== 'cls' && asked !== 'auto') throw new ConfigError('pool', asked, 'must be auto, mean or cls');
  const hasCls = b.method === 'mae' || b.method === 'diffmae' || (b.model.config.clsTokens ?? 0) > 0;
  const pool: Exclude<Pool, 'auto'> = asked === 'auto' ? (hasCls ? 'cls' : 'mean') : asked;
  const cfg = b.model.config;
  const grid = gridOf(b.model.corruption.patching, cfg.image);
  const checkImages = (images: Tensor): void => checkInputSpec(spec(images.shape), cfg.image);
  const freshEncoder =
    (select: (p: Params) => Params) =>
    (k: Key): Params => {
      const full = b.model.init(k, { images: spec([-1, ...cfg.image]) }).params as Params;
      const kept = mapParams(select(full), (t) => tf.clone(t));
      disposeParams(full);
      return kept;
    };
  const base = { method: b.method, width: cfg.encoder.width, depth: cfg.encoder.depth, pool, image: cfg.image };
  if (b.method === 'mae' || b.method === 'diffmae') {
    const encoder = b.method === 'diffmae' ? b.model.parts.encoder : visibleEncoder({ ...b.model.config.encoder, grid: tokenGrid(grid) });
    const select = (p: Params): Params => (p as { readonly encoder: Params }).encoder;
    return {
      ...base,
      init: freshEncoder(select),
      select,
      encode: (p, images, c) => {
        checkImages(images);
        const n = images.shape[0]!;
        const ids = allTokens(n, grid);
        const { latent } = (encoder as unknown as { apply: (p: Params, x: unknown, c: Ctx) => { latent: Tensor } }).apply(
          p,
          { xt: patchifyOp(b.model.corruption.patching, images), idsKeep: ids, idsRestore: ids },
          c,
        );
        return pooled(latent, 1, pool);
      },
    };
  }
  const nCls = b.model.config.clsTokens ?? 0;
  if (pool === 'cls' && nCls === 0) throw new ConfigError('pool', pool, `this ${b.method} model has no CLS tokens; use mean`);
  const net = b.model.network;
  const classes = b.model.config.classes;
  const select = (p: Params): Params => {
    const q = p as CondAeParams;
    return { time: q.time, ...(q.label ? { label: q.label } : {}), encoder: q.encoder } as unknown as Params;
  };
  return {
    ...base,
    init: freshEncoder(select),
    select,
    encode: (p, images, c) => {
      checkImages(images);
      const n = images.shape[0]!;
      const ids = allTokens(n, grid);
      const e = net.encode(
        p as unknown as CondAeParams,
        {
          xt: patchifyOp(b.model.corruption.patching, images),
          idsKeep: ids,
          idsShuffle: ids,
          idsRestore: ids,
          t: tf.zeros([n], 'int32'),
          labels: classes === undefined ? undefined : tf.fill([n], classes, 'int32'),
        },
        c,
      );
      return pool === 'cls' ? e.rep : tf.mean(e.visible, 1);
    },
  };
};

/**
 * Frozen features as host data: [count, dim] row-major with the labels.
 *
 * @since 0.1.0
 */
export interface Features {
  readonly count: number;
  readonly dim: number;
  readonly data: Float32Array;
  readonly labels: Int32Array;
  readonly classes: number;
}

/**
 * Runs `fn` on a dataset in batches (images normalised per channel) and gathers its [n, width]
 * outputs as host data [count * width]; leaves no tensors behind.
 *
 * @example
 * const logits = mapBatches(data, norm, 256, 10, (images) => model(images))
 * @since 0.1.0
 */
export const mapBatches = (
  data: LabelledImages,
  norm: Norm,
  batch: number,
  width: number,
  fn: (images: Tensor) => Tensor,
): Float32Array => {
  positiveInt('batch', batch);
  const out = new Float32Array(data.count * width);
  for (let start = 0; start < data.count; start += batch) {
    const n = Math.min(batch, data.count - start);
    const f = tf.tidy(() =>
      fn(
        batchTensor(
          data,
          Int32Array.from({ length: n }, (_, i) => start + i),
          norm,
        ),
      ),
    );
    try {
      if (f.shape.length !== 2 || f.shape[0] !== n || f.shape[1] !== width)
        throw new ShapeError('batch output', `[${n}, ${width}]`, f.shape);
      out.set(f.dataSync(), start * width);
    } finally {
      f.dispose();
    }
  }
  return out;
};

/**
 * The class count of a labelled dataset: its class names, else the largest label + 1.
 *
 * @example
 * classCount(synthetic({ count: 20 })) // 10
 */
export const classCount = (data: LabelledImages): number =>
  data.classes.length > 0 ? data.classes.length : data.labels.reduce((m, v) => Math.max(m, v + 1), 0);

/**
 * Features of a whole dataset, in batches, with the model's input normalisation; leaves no
 * tensors behind.
 *
 * @example
 * const train = extractFeatures(encoderOf(built), params, data, norm)
 * @since 0.1.0
 */
export const extractFeatures = (
  enc: Encoder,
  params: Params,
  data: LabelledImages,
  norm: Norm,
  options: { readonly batch?: number } = {},
): Features => {
  if (data.height !== enc.image[0] || data.width !== enc.image[1] || data.channels !== enc.image[2])
    throw new ShapeError('data', `[N, ${enc.image.join(', ')}]`, [data.count, data.height, data.width, data.channels]);
  const p = enc.select(params);
  const c = makeCtx(key(0));
  const out = mapBatches(data, norm, options.batch ?? 256, enc.width, (images) => enc.encode(p, images, c));
  return { count: data.count, dim: enc.width, data: out, labels: Int32Array.from(data.labels), classes: classCount(data) };
};

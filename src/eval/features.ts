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
import type { LabelledImages } from '../data/labelled.js';
import type { Model } from '../models/build.js';
import { patchifyOp, type InputShape } from '../vision/patchify.js';
import { checkInputSpec } from '../models/model.js';
import type { Norm } from './heldout.js';

/**
 * How tokens become one vector: the mean of the patch tokens, or the CLS token(s).
 *
 * @since 0.1.0
 */
export type Pool = 'mean' | 'cls' | 'auto';

/**
 * A model's encoder as a feature extractor: `encode(encoderParams, images, ctx)` gives pooled
 * features [N, width] of clean images (every patch visible, t = 0, the null class); `init`
 * gives fresh random encoder params (the random-init baseline), `select` picks the encoder's
 * params out of the model's.
 *
 * @since 0.1.0
 */
export interface Encoder {
  /** The model's label (its preset, or a user's name for it). */
  readonly label: string;
  readonly width: number;
  readonly pool: Exclude<Pool, 'auto'>;
  readonly image: InputShape;
  readonly depth: number;
  readonly init: (k: Key) => Params;
  readonly select: (params: Params) => Params;
  readonly encode: (encoderParams: Params, images: Tensor, c: Ctx) => Tensor;
}

/**
 * The encoder of any model, pooled by `pool`: `auto` takes the mean of the CLS tokens when the
 * encoder has any, else the mean of the patch tokens.
 *
 * @example
 * const enc = encoderOf(buildModel(presetSpec('mae', 'micro/4')))
 * @since 0.1.0
 */
export const encoderOf = (m: Model, asked: Pool = 'auto'): Encoder => {
  if (asked !== 'mean' && asked !== 'cls' && asked !== 'auto') throw new ConfigError('pool', asked, 'must be auto, mean or cls');
  const e = m.spec.network.encoder;
  const pool: Exclude<Pool, 'auto'> = asked === 'auto' ? (e.clsTokens > 0 ? 'cls' : 'mean') : asked;
  if (pool === 'cls' && e.clsTokens === 0) throw new ConfigError('pool', pool, 'this model has no CLS tokens; use mean');
  const select = m.network.encoderParams;
  return {
    label: m.spec.label ?? 'model',
    width: e.width,
    depth: e.depth,
    pool,
    image: m.image,
    init: (k) => {
      const full = m.init(k, { images: spec([-1, ...m.image]) }).params;
      const kept = mapParams(select(full), (t) => tf.clone(t));
      disposeParams(full);
      return kept;
    },
    select,
    encode: (p, images, c) => {
      checkInputSpec(spec(images.shape), m.image);
      return m.network.encode(p, patchifyOp(m.corruption.patching, images), pool, c);
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
 * const logits = mapBatches(data, norm, 256, 10, (images) => head.apply(params, images, ctx(Key.key(0))))
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
 * const features = extractFeatures(encoderOf(model), params, data, norm)
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

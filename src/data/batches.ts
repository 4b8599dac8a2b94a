/**
 * Deterministic batching: which samples go into micro-batch i of step s is a pure function of
 * (key, s, i), so a resumed run sees exactly the batches an uninterrupted one would. Each epoch
 * is a fresh permutation drawn from the key.
 *
 * @since 0.1.0
 */
import { int, positiveInt } from '../core/check.js';
import { DataError, ShapeError } from '../core/errors.js';
import { fold, permutation, type Key } from '../core/key.js';
import { tf, type Tensor } from '../core/tf.js';
import type { LabelledImages } from './labelled.js';
import type { InputShape } from '../vision/patchify.js';

/**
 * The shape of one sample: [H, W, C] for images, [T, H, W, C] for clips.
 *
 * @example
 * sampleShape(synthetic({ count: 1 })) // [32, 32, 3]
 * @since 0.1.0
 */
export const sampleShape = (d: LabelledImages): InputShape =>
  d.frames === undefined ? [d.height, d.width, d.channels] : [d.frames, d.height, d.width, d.channels];

/**
 * Values per sample (frames x height x width x channels).
 *
 * @example
 * sampleSize(synthetic({ count: 1 })) // 3072
 * @since 0.2.0
 */
export const sampleSize = (d: LabelledImages): number => (d.frames ?? 1) * d.height * d.width * d.channels;

const perms = new Map<string, Int32Array>();
const epochPermutation = (key: Key, epoch: number, n: number): Int32Array => {
  const id = `${key[0]},${key[1]},${epoch},${n}`;
  let p = perms.get(id);
  if (!p) {
    p = permutation(fold(key, epoch), n);
    if (perms.size > 8) perms.clear();
    perms.set(id, p);
  }
  return p;
};

/**
 * The sample indices of the `index`-th batch of `size` drawn from `count` samples: batches
 * run through epoch permutations back to back (a batch may straddle two epochs).
 *
 * @example
 * batchIndices(Key.key(0), 100, 32, 3) // the 4th batch
 * @since 0.1.0
 */
export const batchIndices = (key: Key, count: number, size: number, index: number): Int32Array => {
  positiveInt('dataset size', count);
  positiveInt('batch', size);
  int('batch index', index, 0);
  const out = new Int32Array(size);
  for (let j = 0; j < size; j++) {
    const g = index * size + j;
    const epoch = Math.floor(g / count);
    out[j] = epochPermutation(key, epoch, count)[g % count]!;
  }
  return out;
};

/**
 * Per-channel input normalisation: the mean and standard deviation a model's inputs are
 * standardised with (stored in every checkpoint).
 *
 * @since 0.1.0
 */
export type Norm = { readonly mean: readonly number[]; readonly std: readonly number[] };

/**
 * Per-channel mean and standard deviation of a dataset (for input normalisation).
 *
 * @example
 * const stats = channelStats(trainSet)
 * @since 0.1.0
 */
export const channelStats = (d: LabelledImages): { readonly mean: number[]; readonly std: number[] } => {
  const c = d.channels;
  const sum = new Float64Array(c);
  const sq = new Float64Array(c);
  for (let i = 0; i < d.images.length; i++) {
    const v = d.images[i]!;
    sum[i % c]! += v;
    sq[i % c]! += v * v;
  }
  const n = d.images.length / c;
  const mean = Array.from(sum, (s) => s / n);
  return { mean, std: Array.from(sq, (s, i) => Math.sqrt(Math.max(s / n - mean[i]! ** 2, 1e-12))) };
};

/**
 * Throws a {@link DataError} naming the first non-finite value of a dataset.
 *
 * @example
 * assertFiniteImages('train.npy', data)
 * @since 0.1.0
 */
export const assertFiniteImages = (what: string, d: LabelledImages): void => {
  const expected = d.count * sampleSize(d);
  if (d.images.length !== expected)
    throw new ShapeError(`${what} images`, `[${[d.count, ...sampleShape(d)].join(', ')}]`, [d.images.length]);
  for (let i = 0; i < d.images.length; i++) {
    if (!Number.isFinite(d.images[i]!)) throw new DataError(`${what} images`, i, d.images[i], 'non-finite value');
  }
};

/** How far outside [0, 1] a float pixel may stray (rounding, resampling) before it is rejected. */
const UNIT_TOLERANCE = 0.01;

/**
 * Throws a {@link DataError} naming the first value of a dataset outside [0, 1] by more than 0.01
 * (below -0.01 or above 1.01; NaN counts as outside): loaders expect float pixels in [0, 1], or
 * uint8 pixels that they scale by 1/255. `what` names the file or folder the data came from.
 *
 * @example
 * assertUnitRange('train.npy', data)
 * @since 0.2.0
 */
export const assertUnitRange = (what: string, d: LabelledImages): void => {
  const x = d.images;
  const lo = -UNIT_TOLERANCE;
  const hi = 1 + UNIT_TOLERANCE;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (!(v >= lo && v <= hi))
      throw new DataError(
        `${what} images`,
        i,
        v,
        `outside [0, 1]: the loader expects float pixels in [0, 1] (within ${UNIT_TOLERANCE}) or uint8 pixels (scaled by 1/255)`,
      );
  }
};

/**
 * Gathers samples into an images tensor [B, H, W, C], normalised per channel:
 * (x - mean) / std.
 *
 * @example
 * const images = batchTensor(trainSet, batchIndices(k, trainSet.count, 64, i), stats)
 * @since 0.1.0
 */
export const batchTensor = (
  d: LabelledImages,
  indices: Int32Array,
  norm?: { readonly mean: readonly number[]; readonly std: readonly number[] },
): Tensor => tf.tensor(batchHost(d, indices, norm), [indices.length, ...sampleShape(d)]);

/**
 * The host data of {@link batchTensor}: row-major [B, H, W, C], normalised per channel.
 *
 * @example
 * const images = batchHost(trainSet, indices, stats)
 * @since 0.1.0
 */
export const batchHost = (
  d: LabelledImages,
  indices: Int32Array,
  norm?: { readonly mean: readonly number[]; readonly std: readonly number[] },
): Float32Array => {
  const per = sampleSize(d);
  const out = new Float32Array(indices.length * per);
  indices.forEach((idx, j) => {
    const src = d.images.subarray(idx * per, (idx + 1) * per);
    if (!norm) out.set(src, j * per);
    else for (let i = 0; i < per; i++) out[j * per + i] = (src[i]! - norm.mean[i % d.channels]!) / norm.std[i % d.channels]!;
  });
  return out;
};

/**
 * A contiguous slice of a dataset (for train / held-out splits).
 *
 * @example
 * const [train, held] = [slice(d, 0, 1800), slice(d, 1800, 2000)]
 * @since 0.1.0
 */
export const slice = (d: LabelledImages, start: number, end: number): LabelledImages => {
  int('slice start', start, 0, d.count);
  int('slice end', end, start + 1, d.count);
  const per = sampleSize(d);
  return { ...d, count: end - start, images: d.images.subarray(start * per, end * per), labels: d.labels.subarray(start, end) };
};

/**
 * Quality of class-conditional samples, measured with a reference classifier trained on the real
 * data (the small-scale stand-in for Inception-based FID and precision):
 *
 * - accuracy: how often the classifier assigns a sample to the class it was generated for;
 * - Fréchet distance between the Gaussians of the classifier's features of real images and of
 *   samples (FID's formula in a domain feature space; lower is better);
 * - diversity: the mean pairwise feature distance among a class's samples over the same among
 *   its real images (1 = as varied as the data; near 0 = mode collapse).
 *
 * @since 0.1.0
 */
import { ConfigError, DataError, ShapeError } from '../core/errors.js';
import { key as makeKey, type Key } from '../core/key.js';
import { ctx as makeCtx } from '../core/layer.js';
import type { LabelledImages } from '../data/synthetic.js';
import { classify, type Classifier, type ClassifierParams } from './classify.js';
import { mapBatches } from './features.js';
import type { Norm } from './heldout.js';

/**
 * Eigen-decomposition of a symmetric n x n matrix (cyclic Jacobi rotations, float64): the
 * eigenvalues and the eigenvectors as the columns of `vectors` (row-major n x n).
 *
 * @example
 * const { values } = symmetricEigen(Float64Array.from([2, 1, 1, 2]), 2) // [1, 3] in some order
 * @since 0.1.0
 */
export const symmetricEigen = (matrix: Float64Array, n: number): { readonly values: Float64Array; readonly vectors: Float64Array } => {
  if (matrix.length !== n * n) throw new ShapeError('matrix', `[${n}, ${n}]`, [matrix.length]);
  const a = Float64Array.from(matrix);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    let total = 0;
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        const x = a[i * n + j]! ** 2;
        total += x;
        if (i !== j) off += x;
      }
    if (off <= 1e-24 * Math.max(total, 1e-300)) break;
    for (let p = 0; p < n - 1; p++)
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q]!;
        if (apq === 0) continue;
        const theta = (a[q * n + q]! - a[p * n + p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p]!;
          const akq = a[k * n + q]!;
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k]!;
          const aqk = a[q * n + k]!;
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p]!;
          const vkq = v[k * n + q]!;
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
  }
  return { values: Float64Array.from({ length: n }, (_, i) => a[i * n + i]!), vectors: v };
};

/** Mean [d] and covariance [d, d] (divided by n - 1) of rows [n, d]. */
const moments = (x: Float32Array, n: number, d: number): { mean: Float64Array; cov: Float64Array } => {
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let a = 0; a < d; a++) mean[a]! += x[i * d + a]! / n;
  const cov = new Float64Array(d * d);
  for (let i = 0; i < n; i++)
    for (let a = 0; a < d; a++) {
      const va = x[i * d + a]! - mean[a]!;
      for (let b = 0; b <= a; b++) cov[a * d + b]! += (va * (x[i * d + b]! - mean[b]!)) / Math.max(n - 1, 1);
    }
  for (let a = 0; a < d; a++) for (let b = 0; b < a; b++) cov[b * d + a] = cov[a * d + b]!;
  return { mean, cov };
};

/**
 * Fréchet distance between Gaussians fitted to two feature sets [n, d] and [m, d]:
 * |mu1 - mu2|^2 + Tr(C1 + C2 - 2 (C1^1/2 C2 C1^1/2)^1/2).
 *
 * @example
 * frechetDistance(real, 500, fake, 200, 64)
 * @since 0.1.0
 */
export const frechetDistance = (x: Float32Array, n: number, y: Float32Array, m: number, d: number): number => {
  if (x.length !== n * d) throw new ShapeError('real features', `[${n}, ${d}]`, [x.length]);
  if (y.length !== m * d) throw new ShapeError('sample features', `[${m}, ${d}]`, [y.length]);
  if (n < 2 || m < 2) throw new ConfigError('count', Math.min(n, m), 'the Fréchet distance needs at least two samples on each side');
  const p = moments(x, n, d);
  const q = moments(y, m, d);
  const e = symmetricEigen(p.cov, d);
  // S = C1^1/2 = V diag(sqrt(max(l, 0))) V^T
  const s = new Float64Array(d * d);
  for (let i = 0; i < d; i++)
    for (let j = 0; j < d; j++) {
      let acc = 0;
      for (let k = 0; k < d; k++) acc += e.vectors[i * d + k]! * Math.sqrt(Math.max(e.values[k]!, 0)) * e.vectors[j * d + k]!;
      s[i * d + j] = acc;
    }
  const sc = new Float64Array(d * d);
  for (let i = 0; i < d; i++)
    for (let k = 0; k < d; k++) {
      const sik = s[i * d + k]!;
      for (let j = 0; j < d; j++) sc[i * d + j]! += sik * q.cov[k * d + j]!;
    }
  const msym = new Float64Array(d * d);
  for (let i = 0; i < d; i++)
    for (let k = 0; k < d; k++) {
      const v = sc[i * d + k]!;
      for (let j = 0; j < d; j++) msym[i * d + j]! += v * s[k * d + j]!;
    }
  const traceSqrt = symmetricEigen(msym, d).values.reduce((acc, l) => acc + Math.sqrt(Math.max(l, 0)), 0);
  let dist = 0;
  for (let a = 0; a < d; a++) dist += (p.mean[a]! - q.mean[a]!) ** 2 + p.cov[a * d + a]! + q.cov[a * d + a]!;
  return Math.max(dist - 2 * traceSqrt, 0);
};

/** Mean Euclidean distance over all pairs of rows in `rows` of x [., d]. */
const meanPairwise = (x: Float32Array, d: number, rows: readonly number[]): number => {
  let sum = 0;
  let pairs = 0;
  for (let i = 0; i < rows.length; i++)
    for (let j = i + 1; j < rows.length; j++) {
      let s = 0;
      for (let a = 0; a < d; a++) s += (x[rows[i]! * d + a]! - x[rows[j]! * d + a]!) ** 2;
      sum += Math.sqrt(s);
      pairs++;
    }
  return pairs === 0 ? 0 : sum / pairs;
};

/**
 * Sample quality by class.
 *
 * @since 0.1.0
 */
export interface SampleQuality {
  /** Share of samples the reference classifier puts in their intended class. */
  readonly accuracy: number;
  /** The reference classifier's accuracy on the real images (its own ceiling). */
  readonly realAccuracy: number;
  readonly frechet: number;
  /** Mean over classes of (sample pairwise distance / real pairwise distance). */
  readonly diversity: number;
  readonly perClass: readonly { readonly label: number; readonly accuracy: number; readonly diversity: number }[];
}

/**
 * Scores generated samples (labels = the classes they were generated for) against real images
 * with a reference classifier.
 *
 * @example
 * const q = sampleQuality(reference, referenceParams, samples, heldOut, norm)
 * @since 0.1.0
 */
export const sampleQuality = (
  clf: Classifier,
  params: ClassifierParams,
  samples: LabelledImages,
  real: LabelledImages,
  norm: Norm,
  options: { readonly batch?: number; readonly key?: Key } = {},
): SampleQuality => {
  for (const [what, d] of [
    ['samples', samples],
    ['real', real],
  ] as const) {
    if (d.height !== clf.encoder.image[0] || d.width !== clf.encoder.image[1] || d.channels !== clf.encoder.image[2])
      throw new ShapeError(what, `[N, ${clf.encoder.image.join(', ')}]`, [d.count, d.height, d.width, d.channels]);
    const bad = d.images.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new DataError(what, bad, d.images[bad], 'non-finite pixel');
  }
  const batch = options.batch ?? 256;
  const c = makeCtx(options.key ?? makeKey(0));
  const width = clf.encoder.width;
  const fs = mapBatches(samples, norm, batch, width, (images) => clf.features(params, images, c));
  const fr = mapBatches(real, norm, batch, width, (images) => clf.features(params, images, c));
  const onSamples = classify(clf, params, samples, norm, options);
  const onReal = classify(clf, params, real, norm, options);
  const labels = Array.from(new Set(samples.labels)).sort((a, b) => a - b);
  const perClass = labels.map((label) => {
    const mine = Array.from(samples.labels.keys()).filter((i) => samples.labels[i] === label);
    const theirs = Array.from(real.labels.keys()).filter((i) => real.labels[i] === label);
    const hit = mine.filter((i) => onSamples.predicted[i] === label).length;
    const realSpread = meanPairwise(fr, width, theirs);
    return { label, accuracy: hit / mine.length, diversity: realSpread > 0 ? meanPairwise(fs, width, mine) / realSpread : 0 };
  });
  return {
    accuracy: onSamples.accuracy,
    realAccuracy: onReal.accuracy,
    frechet: frechetDistance(fr, real.count, fs, samples.count, width),
    diversity: perClass.reduce((a, p) => a + p.diversity, 0) / Math.max(perClass.length, 1),
    perClass,
  };
};

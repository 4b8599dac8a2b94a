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
import type { LabelledImages } from '../data/labelled.js';
import { classify, type Classifier, type ClassifierParams } from './classify.js';
import { mapBatches } from './features.js';
import type { Norm } from './heldout.js';
import { matmul, meanCovariance, psdSqrt, symmetricEigen } from './linalg.js';

export { symmetricEigen } from './linalg.js';

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
  const p = meanCovariance(x, n, d);
  const q = meanCovariance(y, m, d);
  // S = C1^1/2, then S C2 S
  const s = psdSqrt(p.cov, d);
  const msym = matmul(matmul(s, q.cov, d, d, d), s, d, d, d);
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

/**
 * Class-stratified, seeded splits of a labelled data set: a held-out share in which every class
 * appears in proportion to its size (so a folder sorted by class does not hold out its last
 * class), and subsets of any size chosen the same way.
 *
 * @since 0.2.0
 */
import { int } from '../core/check.js';
import { bits, fold, key } from '../core/key.js';
import { sampleSize } from './batches.js';
import type { LabelledImages } from './labelled.js';

/**
 * How many of each class's `sizes` to take so that the takes sum to `n` and follow the class
 * sizes (largest remainder: floor of the proportional share, then one more for the classes
 * with the largest remainders, ties to the lower class). No take exceeds its class's size.
 *
 * @example
 * proportionalCounts([6, 3, 1], 5) // [3, 2, 0]
 * @since 0.2.0
 */
export const proportionalCounts = (sizes: readonly number[], n: number): number[] => {
  const total = sizes.reduce((a, b) => a + b, 0);
  int('n', n, 0, total);
  if (total === 0) return sizes.map(() => 0);
  const exact = sizes.map((s) => (s * n) / total);
  const take = exact.map(Math.floor);
  let left = n - take.reduce((a, b) => a + b, 0);
  const order = exact.map((e, c) => ({ c, r: e - Math.floor(e) })).sort((a, b) => b.r - a.r || a.c - b.c);
  for (const { c } of order) {
    if (left === 0) break;
    if (take[c]! < sizes[c]!) {
      take[c]!++;
      left--;
    }
  }
  return take;
};

/**
 * Splits sample indices into `taken` (n of them, stratified by label as
 * {@link proportionalCounts} says, chosen within each class by a permutation drawn from `seed`)
 * and `rest`, both in ascending order. The same labels, n and seed give the same split.
 *
 * @example
 * const { taken, rest } = stratifiedSplit(Int32Array.from([0, 0, 1, 1]), 2, 0) // one of each class taken
 * @since 0.2.0
 */
export const stratifiedSplit = (labels: Int32Array, n: number, seed: number): { readonly taken: Int32Array; readonly rest: Int32Array } => {
  int('n', n, 0, labels.length);
  const byClass = new Map<number, number[]>();
  labels.forEach((l, i) => {
    const list = byClass.get(l);
    if (list) list.push(i);
    else byClass.set(l, [i]);
  });
  const classes = [...byClass.keys()].sort((a, b) => a - b);
  const counts = proportionalCounts(
    classes.map((c) => byClass.get(c)!.length),
    n,
  );
  const taken = new Uint8Array(labels.length);
  const k = fold(key(seed), 'stratifiedSplit');
  classes.forEach((c, j) => {
    const members = byClass.get(c)!;
    const draw = bits(fold(k, c), members.length);
    const order = members.map((i, m) => ({ i, r: draw[m]! })).sort((a, b) => a.r - b.r || a.i - b.i);
    for (let m = 0; m < counts[j]!; m++) taken[order[m]!.i] = 1;
  });
  const pick = (v: number): Int32Array => Int32Array.from(labels.keys()).filter((i) => taken[i] === v);
  return { taken: pick(1), rest: pick(0) };
};

/**
 * The samples at `indices` of a data set, in that order (a copy).
 *
 * @example
 * const firstTwo = pickSamples(d, Int32Array.from([0, 1]))
 * @since 0.2.0
 */
export const pickSamples = (d: LabelledImages, indices: Int32Array): LabelledImages => {
  const per = sampleSize(d);
  const images = new Float32Array(indices.length * per);
  indices.forEach((i, j) => {
    int('subset index', i, 0, d.count - 1);
    images.set(d.images.subarray(i * per, (i + 1) * per), j * per);
  });
  return { ...d, count: indices.length, images, labels: Int32Array.from(indices, (i) => d.labels[i]!) };
};

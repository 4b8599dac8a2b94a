/**
 * Probes of frozen features: few-shot ridge regression in closed form (big_vision's recipe:
 * standardised features, targets 2 * onehot - 1, lambda chosen by cross-validation on the
 * training split), a linear probe (BatchNorm without affine, i.e. standardisation with the
 * training statistics, then a linear layer trained with SGD, momentum, warmup and cosine),
 * and k-NN (cosine similarity, votes weighted by exp(similarity / T)).
 *
 * They run on host arrays in plain TypeScript with float64 accumulation: the problems are small
 * (features of a few hundred dimensions), and this way the result is exact, deterministic and the
 * same on every backend.
 *
 * @since 0.1.0
 */
import { finite, int, positive, positiveInt } from '../core/check.js';
import { ConfigError, DataError, ShapeError } from '../core/errors.js';
import { fold, key as makeKey, permutation, type Key } from '../core/key.js';
import { tf } from '../core/tf.js';
import type { Features } from './features.js';
import { addDiagonal, cholesky, choleskySolve, columnGram, rowGram, selectRows, transposeTimes } from './linalg.js';

const checkFeatures = (what: string, f: Features): void => {
  if (f.data.length !== f.count * f.dim) throw new ShapeError(`${what}.data`, `[${f.count} * ${f.dim}]`, [f.data.length]);
  if (f.labels.length !== f.count) throw new ShapeError(`${what}.labels`, `[${f.count}]`, [f.labels.length]);
  for (let i = 0; i < f.data.length; i++)
    if (!Number.isFinite(f.data[i]!)) throw new DataError(`${what}.data`, i, f.data[i], 'non-finite feature');
  for (let i = 0; i < f.count; i++) {
    const y = f.labels[i]!;
    if (!(y >= 0 && y < f.classes)) throw new DataError(`${what}.labels`, i, y, `must be in 0..${f.classes - 1}`);
  }
};

const checkPair = (train: Features, test: Features): void => {
  checkFeatures('train', train);
  checkFeatures('test', test);
  if (test.dim !== train.dim) throw new ShapeError('test features', `[N, ${train.dim}] (the training width)`, [test.count, test.dim]);
  if (train.count < 2) throw new ConfigError('train.count', train.count, 'a probe needs at least two training samples');
};

/**
 * Rows of a feature set.
 *
 * @example
 * const few = subset(trainSet, fewShotIndices(trainSet.labels, trainSet.classes, 10, Key.key(0)))
 * @since 0.1.0
 */
export const subset = (f: Features, rows: ArrayLike<number>): Features => {
  const data = new Float32Array(rows.length * f.dim);
  const labels = new Int32Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    int('row', r, 0, f.count - 1);
    data.set(f.data.subarray(r * f.dim, (r + 1) * f.dim), i * f.dim);
    labels[i] = f.labels[r]!;
  }
  return { count: rows.length, dim: f.dim, data, labels, classes: f.classes };
};

/**
 * `shots` samples of every class, drawn with `key` (sorted by class, then by draw). A class with
 * fewer samples is a ConfigError naming it.
 *
 * @example
 * fewShotIndices(labels, 10, 5, Key.key(0)) // 50 indices
 * @since 0.1.0
 */
export const fewShotIndices = (labels: Int32Array, classes: number, shots: number, k: Key): Int32Array => {
  positiveInt('shots', shots);
  const out: number[] = [];
  for (let c = 0; c < classes; c++) {
    const members = Array.from(labels.keys()).filter((i) => labels[i] === c);
    if (members.length < shots) throw new ConfigError('shots', shots, `class ${c} has only ${members.length} samples`);
    const order = permutation(fold(k, c), members.length);
    for (let j = 0; j < shots; j++) out.push(members[order[j]!]!);
  }
  return Int32Array.from(out);
};

/**
 * Per-dimension mean and standard deviation of the training features (a floor of 1e-6 on the
 * deviation), and a function applying them to any feature set.
 *
 * @example
 * const s = standardizer(trainSet); const z = s.apply(testSet)
 * @since 0.1.0
 */
export const standardizer = (
  train: Features,
): { readonly mean: Float64Array; readonly std: Float64Array; readonly apply: (f: Features) => Float64Array } => {
  const { count: n, dim: d, data } = train;
  const mean = new Float64Array(d);
  const std = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j]! += data[i * d + j]!;
  for (let j = 0; j < d; j++) mean[j]! /= n;
  for (let i = 0; i < n; i++)
    for (let j = 0; j < d; j++) {
      const v = data[i * d + j]! - mean[j]!;
      std[j]! += v * v;
    }
  for (let j = 0; j < d; j++) std[j] = Math.max(Math.sqrt(std[j]! / n), 1e-6);
  const apply = (f: Features): Float64Array => {
    const z = new Float64Array(f.count * d);
    for (let i = 0; i < f.count; i++) for (let j = 0; j < d; j++) z[i * d + j] = (f.data[i * d + j]! - mean[j]!) / std[j]!;
    return z;
  };
  return { mean, std, apply };
};

/**
 * A ridge classifier: weights [dim, classes] and bias [classes] on standardised features.
 *
 * @since 0.1.0
 */
export interface RidgeModel {
  readonly weights: Float64Array;
  readonly bias: Float64Array;
  readonly dim: number;
  readonly classes: number;
}

/**
 * Closed-form ridge regression of targets 2 * onehot - 1 on rows `x` [n, d] (standardised):
 * W = (X^T X + lambda I)^-1 X^T Y, or X^T (X X^T + lambda I)^-1 Y when n < d (the same
 * solution, a smaller system); the bias is the mean target.
 *
 * @example
 * const m = ridgeFit(z, n, d, labels, 10, 1024)
 * @since 0.1.0
 */
export const ridgeFit = (x: Float64Array, n: number, d: number, labels: Int32Array, classes: number, lambda: number): RidgeModel => {
  positive('ridge.lambda', lambda);
  const c = classes;
  const y = new Float64Array(n * c);
  const bias = new Float64Array(c);
  for (let i = 0; i < n; i++) for (let k = 0; k < c; k++) y[i * c + k] = labels[i] === k ? 1 : -1;
  for (let i = 0; i < n; i++) for (let k = 0; k < c; k++) bias[k]! += y[i * c + k]! / n;
  for (let i = 0; i < n; i++) for (let k = 0; k < c; k++) y[i * c + k]! -= bias[k]!;
  const notPositive = (): Error => new ConfigError('ridge.lambda', 'too small', 'the regularised Gram matrix is not positive definite');
  const weights =
    n >= d
      ? choleskySolve(cholesky(addDiagonal(columnGram(x, n, d), d, lambda), d, notPositive), d, transposeTimes(x, n, d, y, c), c)
      : transposeTimes(x, n, d, choleskySolve(cholesky(addDiagonal(rowGram(x, n, d), n, lambda), n, notPositive), n, y, c), c);
  return { weights, bias, dim: d, classes: c };
};

/** argmax_k (x W + b)_k for every row of x [n, d]. */
const predictLinear = (x: Float64Array, n: number, d: number, w: Float64Array, b: Float64Array, c: number): Int32Array => {
  const out = new Int32Array(n);
  const s = new Float64Array(c);
  for (let i = 0; i < n; i++) {
    s.set(b);
    for (let a = 0; a < d; a++) {
      const v = x[i * d + a]!;
      for (let k = 0; k < c; k++) s[k]! += v * w[a * c + k]!;
    }
    let best = 0;
    for (let k = 1; k < c; k++) if (s[k]! > s[best]!) best = k;
    out[i] = best;
  }
  return out;
};

const accuracyOf = (pred: Int32Array, labels: Int32Array): number => {
  let hit = 0;
  for (let i = 0; i < pred.length; i++) if (pred[i] === labels[i]) hit++;
  return pred.length === 0 ? 0 : hit / pred.length;
};

/**
 * The default lambda grid of {@link ridgeProbe}: powers of 4 from 1/16 to 16384 (big_vision's
 * fixed choice, 1024, is in it).
 * @example
 * ridgeProbe(trainSet, testSet, { lambdas: RIDGE_LAMBDAS.slice(4) })
 */
export const RIDGE_LAMBDAS: readonly number[] = Array.from({ length: 10 }, (_, i) => 4 ** (i - 2));

/**
 * Result of {@link ridgeProbe}.
 *
 * @since 0.1.0
 */
export interface RidgeResult {
  readonly accuracy: number;
  readonly lambda: number;
  /** Cross-validated accuracy of every lambda tried, in grid order. */
  readonly validation: readonly { readonly lambda: number; readonly accuracy: number }[];
}

/**
 * Ridge probe: standardise with the training statistics, choose lambda by `folds`-fold
 * cross-validation on the training features (ties go to the larger lambda), refit on all of them,
 * and report test accuracy.
 *
 * @example
 * const { accuracy, lambda } = ridgeProbe(subset(trainSet, fewShotIndices(trainSet.labels, 10, 10, Key.key(0))), testSet)
 * @since 0.1.0
 */
export const ridgeProbe = (
  train: Features,
  test: Features,
  options: { readonly lambdas?: readonly number[]; readonly folds?: number; readonly key?: Key } = {},
): RidgeResult => {
  checkPair(train, test);
  const lambdas = options.lambdas ?? RIDGE_LAMBDAS;
  if (lambdas.length === 0) throw new ConfigError('lambdas', lambdas, 'needs at least one value');
  lambdas.forEach((l, i) => positive(`lambdas[${i}]`, l));
  const folds = int('folds', options.folds ?? 5, 2, train.count);
  const s = standardizer(train);
  const z = s.apply(train);
  const d = train.dim;
  const order = permutation(options.key ?? fold(makeKey(0), 'ridge'), train.count);
  const validation = lambdas.map((lambda) => {
    let hit = 0;
    for (let f = 0; f < folds; f++) {
      const held: number[] = [];
      const fit: number[] = [];
      order.forEach((r, i) => (i % folds === f ? held : fit).push(r));
      const m = ridgeFit(
        selectRows(z, d, fit),
        fit.length,
        d,
        Int32Array.from(fit, (r) => train.labels[r]!),
        train.classes,
        lambda,
      );
      const pred = predictLinear(selectRows(z, d, held), held.length, d, m.weights, m.bias, train.classes);
      held.forEach((r, i) => (hit += pred[i] === train.labels[r] ? 1 : 0));
    }
    return { lambda, accuracy: hit / train.count };
  });
  let best = validation[0]!;
  for (const v of validation) if (v.accuracy >= best.accuracy) best = v;
  const m = ridgeFit(z, train.count, d, train.labels, train.classes, best.lambda);
  const pred = predictLinear(s.apply(test), test.count, d, m.weights, m.bias, train.classes);
  return { accuracy: accuracyOf(pred, test.labels), lambda: best.lambda, validation };
};

/**
 * Options of {@link linearProbe}.
 *
 * @since 0.1.0
 */
export interface LinearProbeOptions {
  readonly epochs?: number;
  readonly batch?: number;
  /** Peak learning rate (default 0.1). */
  readonly lr?: number;
  readonly momentum?: number;
  readonly weightDecay?: number;
  /** Warmup, in epochs (default 10% of them). */
  readonly warmupEpochs?: number;
  readonly key?: Key;
}

/**
 * Result of {@link linearProbe}.
 *
 * @since 0.1.0
 */
export interface LinearProbeResult {
  readonly accuracy: number;
  readonly trainAccuracy: number;
  /** Mean training cross-entropy per epoch. */
  readonly losses: readonly number[];
}

/**
 * Linear probe: BatchNorm without affine (standardisation with the training statistics, what a
 * BatchNorm's running statistics converge to on frozen features), then a zero-initialised linear
 * layer trained with softmax cross-entropy and SGD with momentum (warmup, then cosine per step).
 *
 * @example
 * const { accuracy } = linearProbe(trainSet, testSet, { epochs: 50 })
 * @since 0.1.0
 */
export const linearProbe = (train: Features, test: Features, options: LinearProbeOptions = {}): LinearProbeResult => {
  checkPair(train, test);
  const epochs = positiveInt('epochs', options.epochs ?? 50);
  const batch = Math.min(positiveInt('batch', options.batch ?? 256), train.count);
  const lr = positive('lr', options.lr ?? 0.1);
  const momentum = finite('momentum', options.momentum ?? 0.9);
  if (momentum < 0 || momentum >= 1) throw new ConfigError('momentum', momentum, 'must be in [0, 1)');
  const wd = finite('weightDecay', options.weightDecay ?? 0);
  const warmup = finite('warmupEpochs', options.warmupEpochs ?? Math.max(1, Math.round(epochs / 10)));
  const k = options.key ?? fold(makeKey(0), 'linear');
  const s = standardizer(train);
  const z = s.apply(train);
  const { dim: d, classes: c, count: n } = train;
  const w = new Float64Array(d * c);
  const b = new Float64Array(c);
  const vw = new Float64Array(d * c);
  const vb = new Float64Array(c);
  const gw = new Float64Array(d * c);
  const gb = new Float64Array(c);
  const p = new Float64Array(c);
  const perEpoch = Math.ceil(n / batch);
  const total = epochs * perEpoch;
  const warmSteps = warmup * perEpoch;
  const losses: number[] = [];
  let step = 0;
  for (let e = 0; e < epochs; e++) {
    const order = permutation(fold(k, e), n);
    let lossSum = 0;
    for (let start = 0; start < n; start += batch) {
      const rows = order.subarray(start, Math.min(n, start + batch));
      const rate =
        step < warmSteps
          ? (lr * (step + 1)) / warmSteps
          : 0.5 * lr * (1 + Math.cos((Math.PI * (step - warmSteps)) / Math.max(1, total - warmSteps)));
      gw.fill(0);
      gb.fill(0);
      for (const r of rows) {
        const row = r * d;
        p.set(b);
        for (let a = 0; a < d; a++) {
          const v = z[row + a]!;
          for (let j = 0; j < c; j++) p[j]! += v * w[a * c + j]!;
        }
        let mx = -Infinity;
        for (let j = 0; j < c; j++) mx = Math.max(mx, p[j]!);
        let sum = 0;
        for (let j = 0; j < c; j++) sum += p[j] = Math.exp(p[j]! - mx);
        const y = train.labels[r]!;
        lossSum += -Math.log(Math.max(p[y]! / sum, 1e-300));
        for (let j = 0; j < c; j++) p[j] = p[j]! / sum - (j === y ? 1 : 0);
        for (let j = 0; j < c; j++) gb[j]! += p[j]!;
        for (let a = 0; a < d; a++) {
          const v = z[row + a]!;
          for (let j = 0; j < c; j++) gw[a * c + j]! += v * p[j]!;
        }
      }
      const inv = 1 / rows.length;
      for (let i = 0; i < w.length; i++) {
        vw[i] = momentum * vw[i]! + gw[i]! * inv + wd * w[i]!;
        w[i]! -= rate * vw[i]!;
      }
      for (let j = 0; j < c; j++) {
        vb[j] = momentum * vb[j]! + gb[j]! * inv;
        b[j]! -= rate * vb[j]!;
      }
      step++;
    }
    losses.push(lossSum / n);
  }
  const trainAccuracy = accuracyOf(predictLinear(z, n, d, w, b, c), train.labels);
  const accuracy = accuracyOf(predictLinear(s.apply(test), test.count, d, w, b, c), test.labels);
  return { accuracy, trainAccuracy, losses };
};

const unitRows = (f: Features): Float64Array => {
  const out = new Float64Array(f.count * f.dim);
  for (let i = 0; i < f.count; i++) {
    let s = 0;
    for (let a = 0; a < f.dim; a++) s += f.data[i * f.dim + a]! ** 2;
    const inv = 1 / Math.max(Math.sqrt(s), 1e-12);
    for (let a = 0; a < f.dim; a++) out[i * f.dim + a] = f.data[i * f.dim + a]! * inv;
  }
  return out;
};

/**
 * k-NN accuracy: cosine similarity to every training feature, the `k` nearest vote with weight
 * exp(similarity / temperature) (DINO's weighted k-NN), the heaviest class wins; equal
 * similarities go to the lower training index. The similarities are float32, one matrix product
 * per block of queries (at most 2^24 of them at a time), and the k nearest are kept by
 * insertion, so 10,000 queries against 60,000 rows take seconds. It runs on the active tfjs
 * backend and leaves no tensors behind.
 *
 * @example
 * knnProbe(trainSet, testSet, { k: 20 })
 * @since 0.1.0
 */
export const knnProbe = (
  train: Features,
  test: Features,
  options: { readonly k?: number; readonly temperature?: number } = {},
): { readonly accuracy: number; readonly k: number } => {
  checkPair(train, test);
  const k = int('k', options.k ?? 20, 1, train.count);
  const temperature = positive('temperature', options.temperature ?? 0.07);
  const d = train.dim;
  const n = train.count;
  const votes = new Float64Array(train.classes);
  // the k best (similarity, index) so far, best first: higher similarity, then lower index
  const topS = new Float64Array(k);
  const topI = new Int32Array(k);
  let hit = 0;
  // [d, n]: the product below is then an untransposed 2D matMul, the fast path of every backend
  const a = tf.tidy(() => tf.transpose(tf.tensor2d(Float32Array.from(unitRows(train)), [n, d])));
  try {
    const q = Float32Array.from(unitRows(test));
    // similarities of a block of queries to every training row as one matrix product
    const block = Math.max(1, Math.min(test.count, Math.floor(2 ** 24 / Math.max(1, n))));
    for (let i0 = 0; i0 < test.count; i0 += block) {
      const m = Math.min(block, test.count - i0);
      // read outside tf.tidy, which would walk every element of a returned typed array
      const simsT = tf.tidy(() => tf.matMul(tf.tensor2d(q.subarray(i0 * d, (i0 + m) * d), [m, d]), a));
      const sims = simsT.dataSync();
      simsT.dispose();
      for (let r = 0; r < m; r++) {
        let size = 0;
        const row = r * n;
        for (let j = 0; j < n; j++) {
          const s = sims[row + j]!;
          // a later index enters only with a strictly higher similarity than the worst kept
          if (size === k && s <= topS[k - 1]!) continue;
          let at = size < k ? size++ : k - 1;
          while (at > 0 && topS[at - 1]! < s) {
            topS[at] = topS[at - 1]!;
            topI[at] = topI[at - 1]!;
            at--;
          }
          topS[at] = s;
          topI[at] = j;
        }
        votes.fill(0);
        for (let j = 0; j < size; j++) votes[train.labels[topI[j]!]!]! += Math.exp(topS[j]! / temperature);
        let best = 0;
        for (let c = 1; c < train.classes; c++) if (votes[c]! > votes[best]!) best = c;
        if (best === test.labels[i0 + r]) hit++;
      }
    }
  } finally {
    a.dispose();
  }
  return { accuracy: test.count === 0 ? 0 : hit / test.count, k };
};

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  Key,
  ConfigError,
  DataError,
  ShapeError,
  fewShotIndices,
  knnProbe,
  linearProbe,
  ridgeFit,
  ridgeProbe,
  standardizer,
  subset,
  type Features,
} from '../../src/index.js';
import { noLeak, onCpu } from '../helpers.js';

// k-NN computes its similarities on the active tfjs backend
onCpu();

/** Gaussian clusters: class c centred at 3 * e_c (plus noise) in `dim` dimensions; `noise` scales the spread. */
const clusters = (seed: number, perClass: number, classes: number, dim: number, spread = 1, shuffleLabels = false): Features => {
  const n = perClass * classes;
  const z = Key.normal(Key.key(seed), n * dim);
  const labels = Int32Array.from({ length: n }, (_, i) => i % classes);
  const data = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) for (let a = 0; a < dim; a++) data[i * dim + a] = spread * z[i * dim + a]! + (a === labels[i]! % dim ? 3 : 0);
  const out = shuffleLabels ? Int32Array.from(Key.permutation(Key.key(seed + 99), n), (j) => labels[j]!) : labels;
  return { count: n, dim, data, labels: out, classes };
};

/** Reference ridge weights by normal equations with Gauss-Jordan elimination (primal form). */
const primalRidge = (x: Float64Array, n: number, d: number, labels: Int32Array, c: number, lambda: number): Float64Array => {
  const y = Array.from({ length: n }, (_, i) => Array.from({ length: c }, (_, k) => (labels[i] === k ? 1 : -1)));
  const mean = Array.from({ length: c }, (_, k) => y.reduce((s, r) => s + r[k]!, 0) / n);
  const a = Array.from({ length: d }, (_, i) => [
    ...Array.from({ length: d }, (_, j) => {
      let s = i === j ? lambda : 0;
      for (let r = 0; r < n; r++) s += x[r * d + i]! * x[r * d + j]!;
      return s;
    }),
    ...Array.from({ length: c }, (_, k) => {
      let s = 0;
      for (let r = 0; r < n; r++) s += x[r * d + i]! * (y[r]![k]! - mean[k]!);
      return s;
    }),
  ]);
  for (let p = 0; p < d; p++) {
    const piv = a[p]![p]!;
    for (let j = 0; j < d + c; j++) a[p]![j]! /= piv;
    for (let i = 0; i < d; i++) {
      if (i === p) continue;
      const f = a[i]![p]!;
      for (let j = 0; j < d + c; j++) a[i]![j]! -= f * a[p]![j]!;
    }
  }
  return Float64Array.from({ length: d * c }, (_, i) => a[Math.floor(i / c)]![d + (i % c)]!);
};

describe('ridge regression in closed form', () => {
  it('matches the normal equations, in the primal (n >= d) and the dual (n < d) form', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 12 }),
        fc.integer({ min: 2, max: 12 }),
        fc.double({ min: 0.01, max: 100, noNaN: true }),
        (n, d, lambda) => {
          const x = Float64Array.from(Key.normal(Key.key(n * 100 + d), n * d));
          const labels = Int32Array.from({ length: n }, (_, i) => i % 3);
          const got = ridgeFit(x, n, d, labels, 3, lambda).weights;
          const want = primalRidge(x, n, d, labels, 3, lambda);
          got.forEach((v, i) =>
            assert.ok(Math.abs(v - want[i]!) < 1e-8 * (1 + Math.abs(want[i]!)), `n=${n} d=${d} w[${i}] ${v} vs ${want[i]}`),
          );
        },
      ),
      { numRuns: 40 },
    );
  });

  it('separates clusters, and stays near chance on shuffled labels', () => {
    const train = clusters(1, 40, 5, 8);
    const test = clusters(2, 40, 5, 8);
    const good = ridgeProbe(train, test);
    assert.ok(good.accuracy > 0.9, `accuracy ${good.accuracy}`);
    assert.equal(good.validation.length, 10);
    assert.ok(good.validation.some((v) => v.lambda === good.lambda));
    const noise = ridgeProbe(clusters(1, 40, 5, 8, 1, true), test);
    assert.ok(noise.accuracy < 0.45, `accuracy on shuffled labels ${noise.accuracy}`);
  });

  it('chooses lambda by cross-validation: a large lambda wins when the features are mostly noise', () => {
    const train = clusters(3, 4, 5, 60, 3);
    const r = ridgeProbe(train, clusters(4, 20, 5, 60, 3));
    const small = r.validation[0]!.accuracy;
    const best = Math.max(...r.validation.map((v) => v.accuracy));
    assert.equal(r.validation.find((v) => v.lambda === r.lambda)!.accuracy, best);
    assert.ok(best >= small);
  });

  it('gives typed errors for bad features', () => {
    const f = clusters(1, 5, 2, 3);
    const nan = { ...f, data: Float32Array.from(f.data, (v, i) => (i === 7 ? NaN : v)) };
    assert.throws(
      () => ridgeProbe(nan, f),
      (e: unknown) => e instanceof DataError && /train.data\[7\] = NaN/.test(e.message),
    );
    assert.throws(() => ridgeProbe(f, { ...f, dim: 4, data: new Float32Array(f.count * 4) }), ShapeError);
    assert.throws(() => ridgeProbe({ ...f, labels: Int32Array.from(f.labels, (v, i) => (i === 0 ? 9 : v)) }, f), /train.labels\[0\] = 9/);
    assert.throws(() => ridgeProbe(f, f, { lambdas: [0] }), ConfigError);
    assert.throws(() => ridgeProbe(f, f, { lambdas: [] }), ConfigError);
  });
});

describe('few-shot subsets', () => {
  it('draws exactly `shots` per class, deterministically by key, and names a class that is too small', () => {
    const labels = Int32Array.from({ length: 100 }, (_, i) => i % 4);
    const a = fewShotIndices(labels, 4, 5, Key.key(0));
    assert.equal(a.length, 20);
    for (let c = 0; c < 4; c++) assert.equal(Array.from(a).filter((i) => labels[i] === c).length, 5);
    assert.equal(new Set(a).size, 20);
    assert.deepEqual(a, fewShotIndices(labels, 4, 5, Key.key(0)));
    assert.notDeepEqual(a, fewShotIndices(labels, 4, 5, Key.key(1)));
    assert.throws(() => fewShotIndices(labels, 5, 1, Key.key(0)), /class 4 has only 0 samples/);
    const f = clusters(0, 10, 4, 3);
    const s = subset(f, [3, 1]);
    assert.deepEqual(Array.from(s.labels), [3, 1]);
    assert.deepEqual(Array.from(s.data.subarray(0, 3)), Array.from(f.data.subarray(9, 12)));
  });

  it('standardises with the training statistics', () => {
    const f = clusters(5, 30, 3, 4);
    const z = standardizer(f).apply(f);
    for (let a = 0; a < 4; a++) {
      let m = 0;
      let v = 0;
      for (let i = 0; i < f.count; i++) m += z[i * 4 + a]! / f.count;
      for (let i = 0; i < f.count; i++) v += (z[i * 4 + a]! - m) ** 2 / f.count;
      assert.ok(Math.abs(m) < 1e-9 && Math.abs(v - 1) < 1e-9, `dim ${a}: mean ${m} var ${v}`);
    }
  });
});

describe('linear probe', () => {
  it('learns separable clusters (loss falls), deterministically by key', () => {
    const train = clusters(6, 50, 4, 6);
    const test = clusters(7, 50, 4, 6);
    const r = linearProbe(train, test, { epochs: 30, batch: 32, key: Key.key(3) });
    assert.ok(r.accuracy > 0.9 && r.trainAccuracy > 0.9, JSON.stringify(r.accuracy));
    assert.ok(r.losses.at(-1)! < r.losses[0]! * 0.5, `losses ${r.losses[0]} -> ${r.losses.at(-1)}`);
    assert.deepEqual(linearProbe(train, test, { epochs: 30, batch: 32, key: Key.key(3) }), r);
    assert.throws(() => linearProbe(train, test, { momentum: 1 }), ConfigError);
  });
});

describe('k-NN', () => {
  it('k = 1 on the training set itself is exact; clusters are found', () => {
    const train = clusters(8, 20, 3, 5, 0.3);
    assert.equal(knnProbe(train, train, { k: 1 }).accuracy, 1);
    assert.ok(knnProbe(train, clusters(9, 20, 3, 5, 0.3), { k: 5 }).accuracy > 0.9);
    assert.throws(() => knnProbe(train, train, { k: 0 }), ConfigError);
    assert.throws(() => knnProbe(train, train, { k: train.count + 1 }), ConfigError);
  });

  it('equals a brute-force float64 k-NN (full sort, ties to the lower index) on features with ties', () => {
    /** The reference: every similarity in float64, all rows sorted, the k best vote. */
    const reference = (train: Features, test: Features, k: number, t = 0.07): number => {
      const unit = (f: Features, i: number) => {
        const row = Array.from(f.data.subarray(i * f.dim, (i + 1) * f.dim));
        const n = Math.max(Math.hypot(...row), 1e-12);
        return row.map((v) => v / n);
      };
      let hit = 0;
      for (let i = 0; i < test.count; i++) {
        const q = unit(test, i);
        const sims = Array.from({ length: train.count }, (_, j) => unit(train, j).reduce((s, v, a) => s + v * q[a]!, 0));
        const idx = sims.map((_, j) => j).sort((u, v) => sims[v]! - sims[u]! || u - v);
        const votes = new Array<number>(train.classes).fill(0);
        for (const j of idx.slice(0, k)) votes[train.labels[j]!]! += Math.exp(sims[j]! / t);
        if (votes.indexOf(Math.max(...votes)) === test.labels[i]) hit++;
      }
      return hit / test.count;
    };
    // small integer features: many exact ties, which float32 and float64 agree on
    const arbF = (n: number) =>
      fc.record({
        data: fc.array(fc.integer({ min: -2, max: 2 }), { minLength: n * 3, maxLength: n * 3 }),
        labels: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: n, maxLength: n }),
      });
    fc.assert(
      fc.property(arbF(12), arbF(5), fc.integer({ min: 1, max: 12 }), (a, b, k) => {
        const f = (x: { data: number[]; labels: number[] }, n: number): Features => ({
          count: n,
          dim: 3,
          data: Float32Array.from(x.data),
          labels: Int32Array.from(x.labels),
          classes: 3,
        });
        const train = f(a, 12);
        const test = f(b, 5);
        assert.equal(noLeak(() => knnProbe(train, test, { k })).accuracy, reference(train, test, k));
      }),
      { numRuns: 60 },
    );
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  Key,
  spec,
  synthetic,
  buildModel,
  fromLegacy,
  disposeParams,
  encoderOf,
  classifier,
  channelStats,
  symmetricEigen,
  frechetDistance,
  sampleQuality,
  DataError,
  ShapeError,
  type ModelSpec,
} from '../../src/index.js';
import { noLeak, onWasm } from '../helpers.js';

onWasm();

describe('symmetric eigen-decomposition', () => {
  it('law: A V = V diag(values) and V^T V = I for random symmetric matrices', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 0, max: 1000 }), (n, seed) => {
        const r = Key.normal(Key.key(seed), n * n);
        const a = Float64Array.from({ length: n * n }, (_, k) => r[k]! + r[(k % n) * n + Math.floor(k / n)]!);
        const { values, vectors: v } = symmetricEigen(a, n);
        for (let i = 0; i < n; i++)
          for (let j = 0; j < n; j++) {
            let av = 0;
            let vtv = 0;
            for (let k = 0; k < n; k++) {
              av += a[i * n + k]! * v[k * n + j]!;
              vtv += v[k * n + i]! * v[k * n + j]!;
            }
            assert.ok(Math.abs(av - v[i * n + j]! * values[j]!) < 1e-9, `AV at ${i},${j}`);
            assert.ok(Math.abs(vtv - (i === j ? 1 : 0)) < 1e-9, `VtV at ${i},${j}`);
          }
      }),
      { numRuns: 60 },
    );
  });
});

describe('Fréchet distance', () => {
  it('is 0 for the same set and (1 - k)^2 (|mu|^2 + Tr C) for the set scaled by k', () => {
    const n = 200;
    const d = 5;
    const z = Key.normal(Key.key(3), n * d);
    const x = Float32Array.from(z, (v, i) => v * (1 + (i % d)) + (i % d));
    assert.ok(frechetDistance(x, n, x, n, d) < 1e-6);
    const k = 1.5;
    const y = Float32Array.from(x, (v) => v * k);
    let mu2 = 0;
    let tr = 0;
    for (let a = 0; a < d; a++) {
      let m = 0;
      for (let i = 0; i < n; i++) m += x[i * d + a]! / n;
      let v = 0;
      for (let i = 0; i < n; i++) v += (x[i * d + a]! - m) ** 2 / (n - 1);
      mu2 += m * m;
      tr += v;
    }
    const want = (1 - k) ** 2 * (mu2 + tr);
    const got = frechetDistance(x, n, y, n, d);
    assert.ok(Math.abs(got - want) < 1e-3 * want, `${got} vs ${want}`);
    assert.throws(() => frechetDistance(x, n, y, n - 1, d), ShapeError);
  });
});

describe('sample quality with a reference classifier', () => {
  const small: ModelSpec = fromLegacy({
    method: 'mae',
    config: { image: [16, 16, 3], patch: 4, encoder: { width: 16, depth: 1, heads: 2 }, decoder: { width: 16, depth: 1, heads: 2 } },
  });
  const real = synthetic({ count: 60, size: 16 });
  const norm = channelStats(real);

  it('real images scored as samples: accuracy = the real accuracy, diversity 1, distance 0; collapsed samples have diversity 0', () => {
    const clf = classifier(encoderOf(buildModel(small)), 10);
    const { params } = clf.init(Key.key(0), { images: spec([-1, 16, 16, 3]) });
    const q = noLeak(() => sampleQuality(clf, params, real, real, norm, { batch: 16 }));
    assert.equal(q.accuracy, q.realAccuracy);
    assert.ok(Math.abs(q.diversity - 1) < 1e-9);
    assert.ok(q.frechet < 1e-3, `frechet ${q.frechet}`);
    assert.equal(q.perClass.length, 10);
    const per = 16 * 16 * 3;
    const collapsed = {
      ...real,
      images: Float32Array.from(real.images, (_, i) => real.images[(i % per) + per * (real.labels[Math.floor(i / per)]! % 10)]!),
    };
    const c = sampleQuality(clf, params, collapsed, real, norm);
    assert.ok(c.diversity < 1e-6, `diversity ${c.diversity}`);
    assert.ok(c.frechet > q.frechet);
    const nan = { ...real, images: Float32Array.from(real.images, (v, i) => (i === 5 ? NaN : v)) };
    assert.throws(
      () => sampleQuality(clf, params, nan, real, norm),
      (e: unknown) => e instanceof DataError && /samples\[5\]/.test(e.message),
    );
    disposeParams(params);
  });
});

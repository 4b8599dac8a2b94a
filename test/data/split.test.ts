// Stratified seeded splits: every class in proportion, nothing lost or duplicated, the same
// split for the same seed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { pickSamples, proportionalCounts, stratifiedSplit } from '../../src/data/split.js';
import { synthetic } from '../../src/data/synthetic.js';

const arbLabels = fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 80 }).map((a) => Int32Array.from(a));

describe('proportionalCounts', () => {
  it('sums to n, never exceeds a class, and is within one of each exact share', () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 50 }), { minLength: 1, maxLength: 8 }), fc.nat(), (sizes, r) => {
        const total = sizes.reduce((a, b) => a + b, 0);
        const n = total === 0 ? 0 : r % (total + 1);
        const take = proportionalCounts(sizes, n);
        assert.equal(
          take.reduce((a, b) => a + b, 0),
          n,
        );
        take.forEach((t, c) => {
          assert.ok(t <= sizes[c]!);
          if (total > 0) assert.ok(Math.abs(t - (sizes[c]! * n) / total) < 1 + 1e-9, `class ${c}: ${t} vs ${(sizes[c]! * n) / total}`);
        });
      }),
    );
  });

  it('gives the example of its documentation', () => assert.deepEqual(proportionalCounts([6, 3, 1], 5), [3, 2, 0]));
});

describe('stratifiedSplit', () => {
  it('partitions the indices, takes n, in proportion per class, and depends only on the seed', () => {
    fc.assert(
      fc.property(arbLabels, fc.nat(), fc.nat({ max: 3 }), (labels, r, seed) => {
        const n = r % (labels.length + 1);
        const { taken, rest } = stratifiedSplit(labels, n, seed);
        assert.equal(taken.length, n);
        assert.deepEqual(
          [...taken, ...rest].sort((a, b) => a - b),
          Array.from(labels.keys()),
        );
        assert.deepEqual(
          Array.from(taken),
          [...taken].sort((a, b) => a - b),
        );
        const sizes = new Map<number, number>();
        for (const l of labels) sizes.set(l, (sizes.get(l) ?? 0) + 1);
        const classes = [...sizes.keys()].sort((a, b) => a - b);
        const want = proportionalCounts(
          classes.map((c) => sizes.get(c)!),
          n,
        );
        classes.forEach((c, j) => assert.equal(Array.from(taken).filter((i) => labels[i] === c).length, want[j]));
        assert.deepEqual(stratifiedSplit(labels, n, seed), { taken, rest });
      }),
    );
  });

  it('holds out every class of a data set sorted by class (the folder case), not its last class', () => {
    const labels = Int32Array.from({ length: 90 }, (_, i) => Math.floor(i / 30));
    const { taken } = stratifiedSplit(labels, 30, 0);
    assert.deepEqual(
      [0, 1, 2].map((c) => Array.from(taken).filter((i) => labels[i] === c).length),
      [10, 10, 10],
    );
    assert.notDeepEqual(Array.from(stratifiedSplit(labels, 30, 1).taken), Array.from(taken));
  });
});

describe('pickSamples', () => {
  it('copies the samples and labels at the indices, in order', () => {
    const d = synthetic({ count: 5, seed: 0, size: 8 });
    const s = pickSamples(d, Int32Array.from([4, 1]));
    const per = 8 * 8 * 3;
    assert.equal(s.count, 2);
    assert.deepEqual(Array.from(s.labels), [d.labels[4], d.labels[1]]);
    assert.deepEqual(Array.from(s.images.subarray(0, per)), Array.from(d.images.subarray(4 * per, 5 * per)));
    assert.deepEqual(Array.from(s.images.subarray(per)), Array.from(d.images.subarray(per, 2 * per)));
  });
});

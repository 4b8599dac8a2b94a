import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Key, Mask, maskFromNoise, drawMask, keepCount, removedIds, maskTensors, ConfigError, tf } from '../../src/index.js';
import { arbKey, arbRatio, arbMask } from '../../src/testing/index.js';
import { argsort } from '../reference/oracles.js';
import { onCpu } from '../helpers.js';

const arbGrid = fc.record({ rows: fc.integer({ min: 1, max: 8 }), cols: fc.integer({ min: 1, max: 8 }) });

const checkDraw = (d: ReturnType<typeof drawMask>): void => {
  for (let n = 0; n < d.batch; n++) {
    const o = n * d.length;
    const shuffle = Array.from(d.idsShuffle.subarray(o, o + d.length));
    assert.deepEqual(
      [...shuffle].sort((a, b) => a - b),
      Array.from({ length: d.length }, (_, i) => i),
      'idsShuffle is a permutation',
    );
    for (let j = 0; j < d.length; j++) {
      assert.equal(d.idsRestore[o + shuffle[j]!], j, 'idsRestore inverts idsShuffle');
      assert.equal(d.mask[o + shuffle[j]!], j < d.keep ? 0 : 1, 'mask is 0 on kept, 1 on removed');
    }
    let removed = 0;
    for (let j = 0; j < d.length; j++) removed += d.mask[o + j]!;
    assert.equal(removed, d.length - d.keep);
  }
};

describe('masks', () => {
  onCpu();

  it('law: a random mask keeps exactly floor(L (1 - r)) tokens and idsRestore inverts idsShuffle', () => {
    fc.assert(
      fc.property(arbRatio(), arbKey(), fc.integer({ min: 1, max: 6 }), arbGrid, (r, k, batch, grid) => {
        const d = drawMask(Mask.random(r), k, batch, grid);
        const l = grid.rows * grid.cols;
        assert.equal(d.keep, Math.floor(l * (1 - r)));
        checkDraw(d);
      }),
      { numRuns: 200 },
    );
  });

  it('law: the same key gives the same mask, different keys differ', () => {
    fc.assert(
      fc.property(arbKey(), arbKey(), (k1, k2) => {
        fc.pre(k1[0] !== k2[0] || k1[1] !== k2[1]);
        const grid = { rows: 8, cols: 8 };
        const a = drawMask(Mask.random(0.75), k1, 4, grid);
        const b = drawMask(Mask.random(0.75), k1, 4, grid);
        const c = drawMask(Mask.random(0.75), k2, 4, grid);
        assert.deepEqual(a.idsShuffle, b.idsShuffle);
        assert.notDeepEqual(a.mask, c.mask);
      }),
      { numRuns: 100 },
    );
  });

  it('maskFromNoise follows the reference argsort convention', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 20 }), fc.nat(), (batch, len, seed) => {
        const noise = Key.uniform(Key.key(seed), batch * len);
        const keep = seed % (len + 1);
        const d = maskFromNoise(noise, batch, len, keep);
        for (let n = 0; n < batch; n++) {
          const order = argsort(noise.subarray(n * len, (n + 1) * len));
          assert.deepEqual(Array.from(d.idsShuffle.subarray(n * len, (n + 1) * len)), order);
        }
        checkDraw(d);
      }),
    );
    const d = maskFromNoise([0.9, 0.1, 0.5, 0.3], 1, 4, 1);
    assert.deepEqual(Array.from(d.mask), [1, 0, 1, 1]);
    assert.deepEqual(Array.from(d.idsRestore), [3, 0, 2, 1]);
  });

  it('every mask kind yields a valid draw on its grid', () => {
    fc.assert(
      fc.property(
        arbGrid.chain((g) => fc.tuple(fc.constant(g), arbMask(g.rows, g.cols))),
        arbKey(),
        ([grid, m], k) => {
          checkDraw(drawMask(m, k, 2, grid));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('center, block and explicit masks remove the cells they name', () => {
    assert.deepEqual(removedIds(Mask.center(0.25), 4, 4), [5, 6, 9, 10]);
    assert.equal(removedIds(Mask.center(0.25), 8, 8).length, 16);
    assert.deepEqual(removedIds(Mask.block({ top: 1, left: 2, height: 2, width: 1 }), 3, 4), [6, 10]);
    const d = drawMask(Mask.explicit([3, 0]), Key.key(0), 2, { rows: 2, cols: 2 });
    assert.deepEqual(Array.from(d.mask), [1, 0, 0, 1, 1, 0, 0, 1]);
    assert.deepEqual(Array.from(d.idsShuffle.subarray(0, 4)), [1, 2, 0, 3]);
    assert.equal(drawMask(Mask.none(), Key.key(0), 1, { rows: 3, cols: 3 }).keep, 9);
  });

  it('bad masks get a ConfigError that names the field and the value', () => {
    for (const r of [1, 1.5, -0.1, NaN, Infinity]) {
      assert.throws(
        () => Mask.random(r),
        (e: unknown) => e instanceof ConfigError && e.field === 'mask.ratio' && Object.is(e.value, r),
      );
    }
    assert.throws(() => Mask.explicit([1, 1]), /distinct/);
    assert.throws(() => drawMask(Mask.explicit([9]), Key.key(0), 1, { rows: 3, cols: 3 }), /mask\.removed\[0\] = 9/);
    assert.throws(
      () => drawMask(Mask.block({ top: 2, left: 0, height: 2, width: 1 }), Key.key(0), 1, { rows: 3, cols: 3 }),
      /mask\.height = 2/,
    );
    assert.throws(() => maskFromNoise([NaN, 0], 1, 2, 1), /NaN/);
  });

  it('maskTensors uploads the draw without leaking', () => {
    const d = drawMask(Mask.random(0.5), Key.key(1), 3, { rows: 2, cols: 4 });
    const before = tf.memory().numTensors;
    const m = maskTensors(d);
    assert.equal(tf.memory().numTensors, before + 4);
    assert.deepEqual(m.idsKeep.shape, [3, keepCount(8, 0.5)]);
    assert.deepEqual(Array.from(m.idsKeep.dataSync().subarray(0, 4)), Array.from(d.idsShuffle.subarray(0, 4)));
    tf.dispose([m.mask, m.idsKeep, m.idsShuffle, m.idsRestore]);
    assert.equal(tf.memory().numTensors, before);
  });
});

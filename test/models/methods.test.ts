import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tf, Key, Method, corrupt, disposeCorrupted, ConfigError } from '../../src/index.js';
import { onCpu } from '../helpers.js';

describe('MAE, DiffMAE, UMD, MaskDiT and DiT are values of one algebra', () => {
  onCpu();
  const images = (): tf.Tensor => tf.tensor(Key.uniform(Key.key(0), 4 * 16 * 16 * 3), [4, 16, 16, 3]);

  it('MAE: one clean branch at 75%, x0 on masked patches', () => {
    const m = Method.mae({ patch: 4 });
    assert.equal(m.branches.length, 1);
    const [g] = corrupt(m, Key.key(1), images());
    assert.equal(g!.keep, 4);
    assert.equal(g!.eps, null);
    assert.deepEqual(g!.xt.dataSync(), g!.x0.dataSync());
    assert.deepEqual(m.branches[0]!.branch.objective, [{ target: 'x0', region: 'masked', weight: 1, normPix: false }]);
    disposeCorrupted([g!]);
  });

  it('DiffMAE: noise on masked patches only, visible ones stay clean', () => {
    const [g] = corrupt(Method.diffmae({ patch: 4 }), Key.key(1), images());
    const [x0, xt, mask] = [g!.x0.dataSync(), g!.xt.dataSync(), g!.draw.mask];
    let changed = 0;
    for (let i = 0; i < x0.length; i++) {
      const tok = Math.floor(i / 48);
      if (mask[tok] === 0) assert.equal(xt[i], x0[i]);
      else if (xt[i] !== x0[i]) changed++;
    }
    assert.ok(changed > 0.9 * 12 * 4 * 48);
    assert.ok(Array.from(g!.tHost).every((t) => t >= 1));
    disposeCorrupted([g!]);
  });

  it('UMD: half clean at 0.75 (t = 0), half noised everywhere at 0.375 (t >= 1)', () => {
    const groups = corrupt(Method.umd({ patch: 4 }), Key.key(1), images());
    assert.deepEqual(
      groups.map((g) => [g.name, g.keep, g.weight]),
      [
        ['clean', 4, 0.5],
        ['noised', 10, 0.5],
      ],
    );
    assert.deepEqual(Array.from(groups[0]!.tHost), [0, 0]);
    assert.ok(Array.from(groups[1]!.tHost).every((t) => t >= 1));
    disposeCorrupted(groups);
  });

  it('DiT keeps every token and MaskDiT half; both noise the whole image', () => {
    const [dit] = corrupt(Method.dit({ patch: 4 }), Key.key(1), images());
    const [maskdit] = corrupt(Method.maskdit({ patch: 4 }), Key.key(1), images());
    assert.equal(dit!.keep, 16);
    assert.deepEqual(
      Array.from(dit!.draw.idsShuffle.subarray(0, 16)),
      Array.from({ length: 16 }, (_, i) => i),
    );
    assert.equal(maskdit!.keep, 8);
    assert.equal(maskdit!.branch.objective[1]!.weight, 0.1);
    disposeCorrupted([dit!, maskdit!]);
  });

  it('method options are validated', () => {
    assert.throws(
      () => Method.mae({ patch: 4, maskRatio: 1 }),
      (e: unknown) => e instanceof ConfigError && e.field === 'mask.ratio',
    );
    assert.throws(() => Method.umd({ patch: 4, cleanShare: 1.2 }), /umd\.cleanShare = 1\.2/);
    assert.throws(() => corrupt(Method.mae({ patch: 5 }), Key.key(0), tf.zeros([1, 16, 16, 3])), /patch = 5/);
  });
});

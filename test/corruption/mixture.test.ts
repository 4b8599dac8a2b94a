import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  tf,
  Key,
  Mask,
  Noise,
  Time,
  Schedule,
  term,
  mixture,
  corruption,
  corrupt,
  assignBranches,
  disposeCorrupted,
  patches,
  Method,
  ConfigError,
  type Branch,
} from '../../src/index.js';
import { arbKey } from '../../src/testing/index.js';
import { onCpu } from '../helpers.js';

const clean: Branch = { mask: Mask.random(0.75), noise: Noise.none(), time: Time.zero(), objective: [term('x0', 'masked')] };
const noised: Branch = {
  mask: Mask.random(0.375),
  noise: Noise.all(Schedule.cosine()),
  time: Time.uniform(),
  objective: [term('eps', 'visible', 0.5), term('x0', 'masked', 0.5)],
};
const arbWeights = fc.array(fc.double({ min: 0.01, max: 10, noNaN: true }), { minLength: 1, maxLength: 5 });
const mix = (ws: number[], split: 'exact' | 'sample') =>
  mixture(
    patches(2),
    ws.map((w, i) => ({ name: `b${i}`, weight: w, branch: i % 2 ? noised : clean })),
    split,
  );

describe('mixtures', () => {
  onCpu();

  it('law: weights sum to 1 and every sample gets exactly one branch', () => {
    fc.assert(
      fc.property(
        arbWeights,
        fc.integer({ min: 1, max: 64 }),
        arbKey(),
        fc.constantFrom('exact' as const, 'sample' as const),
        (ws, batch, k, split) => {
          const c = mix(ws, split);
          const sum = c.branches.reduce((s, b) => s + b.weight, 0);
          assert.ok(Math.abs(sum - 1) < 1e-12, `weights sum to ${sum}`);
          const a = assignBranches(c, k, batch);
          assert.equal(a.length, batch);
          for (const i of a) assert.ok(Number.isInteger(i) && i >= 0 && i < ws.length);
          if (split === 'exact') {
            c.branches.forEach((b, i) => {
              const count = a.filter((x) => x === i).length;
              assert.ok(Math.abs(count - b.weight * batch) < ws.length, `branch ${i}: ${count} vs ${b.weight * batch}`);
            });
            assert.deepEqual(a, assignBranches(c, Key.key(123), batch), 'the exact split does not depend on the key');
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('the exact split of UMD puts floor(B r0) rows in the clean branch, contiguously', () => {
    const umd = Method.umd({ patch: 4, cleanShare: 0.25 });
    assert.deepEqual(Array.from(assignBranches(umd, Key.key(0), 10)), [0, 0, 1, 1, 1, 1, 1, 1, 1, 1]);
  });

  it('corrupt: same key, same groups, masks, timesteps and noise; another key differs', () => {
    const umd = Method.umd({ patch: 4 });
    const images = tf.tensor(Key.uniform(Key.key(9), 6 * 8 * 8 * 3), [6, 8, 8, 3]);
    const before = tf.memory().numTensors;
    const a = corrupt(umd, Key.key(1), images);
    const b = corrupt(umd, Key.key(1), images);
    const c = corrupt(umd, Key.key(2), images);
    assert.deepEqual(
      a.map((g) => [g.name, Array.from(g.rows), g.weight, g.keep]),
      [
        ['clean', [0, 1, 2], 0.5, 1],
        ['noised', [3, 4, 5], 0.5, 2],
      ],
    );
    for (let i = 0; i < 2; i++) {
      assert.deepEqual(a[i]!.xt.dataSync(), b[i]!.xt.dataSync());
      assert.deepEqual(a[i]!.draw.idsShuffle, b[i]!.draw.idsShuffle);
      assert.deepEqual(a[i]!.tHost, b[i]!.tHost);
    }
    assert.notDeepEqual(a[1]!.xt.dataSync(), c[1]!.xt.dataSync());
    assert.equal(a[0]!.eps, null);
    assert.deepEqual(Array.from(a[0]!.tHost), [0, 0, 0]);
    assert.ok(Array.from(a[1]!.tHost).every((t) => t >= 1 && t <= 1000));
    assert.deepEqual(a[0]!.xt.dataSync(), a[0]!.x0.dataSync(), 'the clean branch is not noised');
    for (const g of [a, b, c]) disposeCorrupted(g);
    assert.equal(tf.memory().numTensors, before, 'corrupt + disposeCorrupted leaks nothing');
    images.dispose();
  });

  it('branches are validated: noise and time agree, targets and regions make sense', () => {
    const bad = (b: Partial<Branch>, field: RegExp) =>
      assert.throws(
        () => corruption(patches(2), { ...clean, ...b }),
        (e: unknown) => e instanceof ConfigError && field.test(e.field),
      );
    bad({ time: Time.uniform() }, /branch\.time/);
    bad({ noise: Noise.all(Schedule.cosine()) }, /branch\.time/);
    bad({ objective: [term('eps', 'masked')] }, /objective\[0\]\.target/);
    bad({ mask: Mask.none() }, /objective\[0\]\.region/);
    bad({ objective: [] }, /branch\.objective/);
    assert.throws(() => mixture(patches(2), [{ name: 'a', weight: 0, branch: clean }]), /weight = 0/);
    assert.throws(
      () =>
        mixture(patches(2), [
          { name: 'a', weight: 1, branch: clean },
          { name: 'a', weight: 1, branch: clean },
        ]),
      /distinct/,
    );
    assert.throws(() => mixture(patches(2), [{ name: 'a', weight: NaN, branch: clean }]), /weight = NaN/);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Key, ConfigError } from '../../src/index.js';
import { arbKey } from '../../src/testing/index.js';

const hex = (xs: readonly number[]): string[] => xs.map((x) => (x >>> 0).toString(16).padStart(8, '0'));

describe('Key', () => {
  it('threefry2x32 matches the Random123 known-answer vectors', () => {
    assert.deepEqual(hex(Key.threefry2x32(0, 0, 0, 0)), ['6b200159', '99ba4efe']);
    assert.deepEqual(hex(Key.threefry2x32(0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff)), ['1cb996fc', 'bb002be7']);
    assert.deepEqual(hex(Key.threefry2x32(0x13198a2e, 0x03707344, 0x243f6a88, 0x85a308d3)), ['c4923a9c', '483df7a0']);
  });

  it('the same key gives the same draws; split and fold are deterministic', () => {
    fc.assert(
      fc.property(arbKey(), (k) => {
        assert.deepEqual(Key.uniform(k, 16), Key.uniform(k, 16));
        assert.deepEqual(Key.normal(k, 15), Key.normal(k, 15));
        assert.deepEqual(Key.split(k, 3), Key.split(k, 3));
        assert.deepEqual(Key.fold(k, 'encoder'), Key.fold(k, 'encoder'));
      }),
      { numRuns: 50 },
    );
  });

  it('derived keys differ from each other and from their parent', () => {
    fc.assert(
      fc.property(arbKey(), fc.integer({ min: 2, max: 16 }), (k, n) => {
        const ks = [...Key.split(k, n), k, Key.fold(k, 0), Key.fold(k, 1), Key.fold(k, 'a'), Key.fold(k, 'b')];
        assert.equal(new Set(ks.map((x) => `${x[0]},${x[1]}`)).size, ks.length);
      }),
      { numRuns: 100 },
    );
  });

  it('fold separates strings that share a hash prefix and numbers from strings', () => {
    const k = Key.key(7);
    assert.notDeepEqual(Key.fold(k, '0'), Key.fold(k, 0));
    assert.notDeepEqual(Key.fold(k, ''), Key.fold(k, 0));
  });

  it('uniform is in [0, 1) with mean 1/2 and normal has mean 0 and variance 1', () => {
    const n = 200_000;
    const u = Key.uniform(Key.key(1), n);
    let su = 0;
    for (const x of u) {
      assert.ok(x >= 0 && x < 1);
      su += x;
    }
    assert.ok(Math.abs(su / n - 0.5) < 0.005, `uniform mean ${su / n}`);
    const z = Key.normal(Key.key(2), n);
    let s = 0;
    let s2 = 0;
    for (const x of z) {
      s += x;
      s2 += x * x;
    }
    assert.ok(Math.abs(s / n) < 0.01, `normal mean ${s / n}`);
    assert.ok(Math.abs(s2 / n - 1) < 0.02, `normal variance ${s2 / n}`);
  });

  it('randint stays in range and covers it; permutation is a permutation', () => {
    const r = Key.randint(Key.key(3), 20_000, 1, 11);
    const seen = new Set(r);
    assert.deepEqual(
      [...seen].sort((a, b) => a - b),
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    );
    fc.assert(
      fc.property(arbKey(), fc.integer({ min: 0, max: 64 }), (k, n) => {
        const p = Key.permutation(k, n);
        assert.deepEqual(
          [...p].sort((a, b) => a - b),
          Array.from({ length: n }, (_, i) => i),
        );
      }),
    );
  });

  it('rejects bad seeds and words with a ConfigError naming the value', () => {
    assert.throws(
      () => Key.key(-1),
      (e: unknown) => e instanceof ConfigError && e.field === 'seed' && e.value === -1,
    );
    assert.throws(() => Key.key(1.5), ConfigError);
    assert.throws(() => Key.fromWords([1, 2 ** 32]), /key = \[1, 4294967296\]/);
    assert.deepEqual(Key.fromWords([...Key.key(5)]), Key.key(5));
  });
});

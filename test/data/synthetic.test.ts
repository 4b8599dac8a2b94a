import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { synthetic, SYNTHETIC_CLASSES, ConfigError } from '../../src/index.js';

describe('synthetic dataset', () => {
  it('is deterministic, balanced, in [0, 1], and any slice can be generated on its own', () => {
    const a = synthetic({ count: 30, seed: 3 });
    const b = synthetic({ count: 30, seed: 3 });
    assert.deepEqual(a.images, b.images);
    assert.deepEqual(Array.from(a.labels.subarray(0, 12)), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]);
    assert.equal(a.classes.length, SYNTHETIC_CLASSES.length);
    assert.ok(a.images.every((v) => v >= 0 && v <= 1));
    const tail = synthetic({ count: 10, seed: 3, start: 20 });
    assert.deepEqual(tail.images, a.images.subarray(20 * 32 * 32 * 3));
    assert.notDeepEqual(synthetic({ count: 2, seed: 4 }).images, a.images.subarray(0, 2 * 32 * 32 * 3));
  });

  it('classes differ in structure, not only in colour: per-class mean images are not all alike', () => {
    const d = synthetic({ count: 200, seed: 0, size: 16 });
    const n = 16 * 16;
    // spatial variance of the grey level, averaged per class: textures vary more than flat shapes
    const varOf = (i: number): number => {
      let s = 0,
        s2 = 0;
      for (let p = 0; p < n; p++) {
        const g = (d.images[(i * n + p) * 3]! + d.images[(i * n + p) * 3 + 1]! + d.images[(i * n + p) * 3 + 2]!) / 3;
        s += g;
        s2 += g * g;
      }
      return s2 / n - (s / n) ** 2;
    };
    const perClass = Array.from({ length: 10 }, (_, c) => {
      const idx = Array.from({ length: 200 }, (_, i) => i).filter((i) => d.labels[i] === c);
      return idx.reduce((acc, i) => acc + varOf(i), 0) / idx.length;
    });
    assert.ok(Math.max(...perClass) > 1.5 * Math.min(...perClass), `per-class variance ${perClass.map((v) => v.toFixed(3))}`);
  });

  it('rejects bad sizes', () => {
    assert.throws(() => synthetic({ count: 0 }), ConfigError);
    assert.throws(() => synthetic({ count: 1, size: 4 }), /synthetic\.size = 4/);
  });
});

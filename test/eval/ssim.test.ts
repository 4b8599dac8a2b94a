import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Key, ssim, ConfigError, ShapeError } from '../../src/index.js';

/** An independent SSIM map: separable Gaussian filtering of the five moment planes ("valid" region). */
const ssimMap = (a: Float32Array, b: Float32Array, h: number, w: number, c: number, size: number): number[][] => {
  const r = (size - 1) / 2;
  const g = Array.from({ length: size }, (_, i) => Math.exp(-((i - r) ** 2) / 4.5));
  const gs = g.reduce((x, y) => x + y, 0);
  const k = g.map((v) => v / gs);
  const filter = (plane: number[]): number[] => {
    const rows = new Array<number>(h * w).fill(0);
    for (let y = 0; y < h; y++)
      for (let x = r; x < w - r; x++) for (let d = -r; d <= r; d++) rows[y * w + x]! += k[d + r]! * plane[y * w + x + d]!;
    const out = new Array<number>(h * w).fill(0);
    for (let y = r; y < h - r; y++)
      for (let x = r; x < w - r; x++) for (let d = -r; d <= r; d++) out[y * w + x]! += k[d + r]! * rows[(y + d) * w + x]!;
    return out;
  };
  const maps: number[][] = [];
  for (let ch = 0; ch < c; ch++) {
    const pa = Array.from({ length: h * w }, (_, i) => a[i * c + ch]!);
    const pb = Array.from({ length: h * w }, (_, i) => b[i * c + ch]!);
    const [ma, mb, aa, bb, ab] = [pa, pb, pa.map((v) => v * v), pb.map((v) => v * v), pa.map((v, i) => v * pb[i]!)].map(filter);
    const m: number[] = [];
    for (let y = r; y < h - r; y++)
      for (let x = r; x < w - r; x++) {
        const i = y * w + x;
        const [u, v] = [ma![i]!, mb![i]!];
        m.push(
          ((2 * u * v + 1e-4) * (2 * (ab![i]! - u * v) + 9e-4)) / ((u * u + v * v + 1e-4) * (aa![i]! - u * u + bb![i]! - v * v + 9e-4)),
        );
      }
    maps.push(m);
  }
  return maps;
};

describe('SSIM', () => {
  it('law: equals the mean of an independently computed SSIM map, is symmetric, and is 1 on identical images', () => {
    fc.assert(
      fc.property(fc.integer({ min: 12, max: 20 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 999 }), (n, c, seed) => {
        const a = Float32Array.from(Key.uniform(Key.key(seed), n * n * c));
        const b = Float32Array.from(a, (v, i) => Math.min(1, Math.max(0, v + 0.2 * (Key.uniform(Key.key(seed + 1), n * n * c)[i]! - 0.5))));
        const maps = ssimMap(a, b, n, n, c, 7);
        const all = maps.flat();
        const want = all.reduce((x, y) => x + y, 0) / all.length;
        assert.ok(Math.abs(ssim(a, b, n, n, c) - want) < 1e-9);
        assert.ok(Math.abs(ssim(a, b, n, n, c) - ssim(b, a, n, n, c)) < 1e-12);
        assert.ok(Math.abs(ssim(a, a, n, n, c) - 1) < 1e-9);
      }),
      { numRuns: 25 },
    );
  });

  it('a mask restricts the mean to the window centres it marks', () => {
    const n = 16;
    const a = Float32Array.from(Key.uniform(Key.key(1), n * n));
    const b = Float32Array.from(Key.uniform(Key.key(2), n * n));
    const mask = new Float32Array(n * n);
    mask[5 * n + 7] = 1; // centre (5, 7); the valid centres run 3..12
    const map = ssimMap(a, b, n, n, 1, 7)[0]!;
    assert.ok(Math.abs(ssim(a, b, n, n, 1, { mask }) - map[(5 - 3) * 10 + (7 - 3)]!) < 1e-9);
    assert.ok(Number.isNaN(ssim(a, b, n, n, 1, { mask: new Float32Array(n * n) })));
    assert.ok(ssim(a, b, n, n, 1) < 0.5, 'independent noise images are dissimilar');
  });

  it('names bad input', () => {
    const a = new Float32Array(48);
    assert.throws(() => ssim(a, new Float32Array(47), 4, 4, 3), ShapeError);
    assert.throws(() => ssim(a, a, 4, 4, 3, { mask: new Float32Array(3) }), ShapeError);
    assert.throws(() => ssim(a, a, 4, 4, 3), ConfigError); // a 7 x 7 window does not fit
    assert.throws(() => ssim(a, a, 4, 4, 3, { window: 2 }), ConfigError);
  });
});

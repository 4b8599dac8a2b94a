// Half precision: floatToHalf inverts halfToFloat on every half value and rounds every float to
// the nearest half (ties to even).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { floatToHalf, halfToFloat } from '../../src/io/dtypes.js';

describe('floatToHalf', () => {
  it('gives back the bits of every half value (NaN stays NaN)', () => {
    for (let h = 0; h < 65536; h++) {
      const v = halfToFloat(h);
      const back = floatToHalf(v);
      if (Number.isNaN(v)) assert.ok(Number.isNaN(halfToFloat(back)), `h ${h}`);
      else assert.equal(back, h, `h 0x${h.toString(16)} (${v})`);
    }
  });

  it('rounds a float to the nearest half, ties to the even one', () => {
    fc.assert(
      fc.property(fc.float({ noNaN: true, min: -70000, max: 70000 }), (v) => {
        const h = floatToHalf(v);
        const got = halfToFloat(h);
        if (!Number.isFinite(got)) return assert.ok(Math.abs(v) >= 65520, `${v} -> ${got}`);
        const f = Math.fround(v);
        // neighbours of the result in magnitude
        for (const n of [h - 1, h + 1]) {
          if ((n & 0x7fff) === 0x7fff || n < 0 || (n & 0x7c00) === 0x7c00) continue;
          if (((n ^ h) & 0x8000) !== 0) continue;
          const other = halfToFloat(n);
          const d0 = Math.abs(f - got);
          const d1 = Math.abs(f - other);
          assert.ok(d0 < d1 || (d0 === d1 && (h & 1) === 0), `${v}: ${got} (0x${h.toString(16)}) vs ${other}`);
        }
      }),
    );
    assert.equal(floatToHalf(1 + 2 ** -11), 0x3c00); // a tie between 1 and 1 + 2^-10: to even
    assert.equal(floatToHalf(1 + 3 * 2 ** -11), 0x3c02);
    assert.equal(floatToHalf(2 ** -25), 0); // a tie between 0 and the smallest subnormal
    assert.equal(floatToHalf(1e6), 0x7c00);
  });
});

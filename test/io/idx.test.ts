// The IDX decoder: exact on any view of the bytes, and a FormatError naming the file for every
// file that is not exactly what its header says (fuzzed with truncations, paddings and noise).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { FormatError } from '../../src/core/errors.js';
import { decodeIdx } from '../../src/io/idx.js';
import { encodeIdx } from './arbitraries.js';

const arbIdx = fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 4 }).chain((dims) =>
  fc.record({
    dims: fc.constant(dims),
    data: fc.uint8Array({ minLength: dims.reduce((a, b) => a * b, 1), maxLength: dims.reduce((a, b) => a * b, 1) }),
  }),
);

const formatError = (file: string) => (e: unknown) => {
  assert.ok(e instanceof FormatError, `expected a FormatError, got ${String(e)}`);
  assert.equal(e.file, file);
  return true;
};

describe('decodeIdx', () => {
  it('reads back what was written, from a view at any byte offset', () => {
    fc.assert(
      fc.property(arbIdx, fc.integer({ min: 0, max: 9 }), ({ dims, data }, offset) => {
        const file = encodeIdx(dims, data);
        const big = new Uint8Array(offset + file.length + 3).fill(0xee);
        big.set(file, offset);
        const got = decodeIdx(big.subarray(offset, offset + file.length), 'f.idx');
        assert.deepEqual(got.dims, dims);
        assert.deepEqual(Array.from(got.data), Array.from(data));
      }),
    );
  });

  it('reads a zero dimension after dimensions that alone exceed the file (found by the property above)', () => {
    const got = decodeIdx(encodeIdx([4, 5, 0], new Uint8Array(0)), 'z.idx');
    assert.deepEqual([got.dims, got.data.length], [[4, 5, 0], 0]);
  });

  it('refuses a truncated or padded file, naming the file and the sizes', () => {
    const file = encodeIdx([2, 3], new Uint8Array(6).fill(7));
    assert.throws(() => decodeIdx(file.subarray(0, file.length - 1), 'a.idx'), formatError('a.idx'));
    assert.throws(
      () => decodeIdx(file.subarray(0, file.length - 1), 'a.idx'),
      /truncated: dimensions \[2, 3\] need 6 data bytes, the file has 5/,
    );
    const padded = new Uint8Array(file.length + 2);
    padded.set(file);
    assert.throws(() => decodeIdx(padded, 'a.idx'), /need 6 data bytes, the file has 8 \(2 too many\)/);
  });

  it('refuses other types, bad magic and headers that claim more than the file holds', () => {
    const f = encodeIdx([4], new Uint8Array(4));
    const int32 = f.slice();
    int32[2] = 0x0c;
    assert.throws(() => decodeIdx(int32, 'i.idx'), /type 0xc \(int32\) is not read/);
    const magic = f.slice();
    magic[0] = 1;
    assert.throws(() => decodeIdx(magic, 'm.idx'), /not an IDX file/);
    // 4 billion x 4 billion bytes claimed by a 12-byte file: refused without allocating
    const huge = encodeIdx([0xffffffff, 0xffffffff], new Uint8Array(0));
    assert.throws(() => decodeIdx(huge, 'h.idx'), formatError('h.idx'));
    assert.throws(() => decodeIdx(new Uint8Array([0, 0, 8]), 's.idx'), /too short/);
    const noDims = f.slice();
    noDims[3] = 0;
    assert.throws(() => decodeIdx(noDims, 'z.idx'), /declares 0 dimensions/);
  });

  it('any bytes either decode exactly or fail with a FormatError (fuzz)', () => {
    fc.assert(
      fc.property(arbIdx, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), fc.nat(), (x, flips, cut) => {
        const file = encodeIdx(x.dims, x.data);
        for (const [i, v] of flips) file[i % file.length] = v;
        const bytes = file.subarray(0, file.length - (cut % 3));
        try {
          const got = decodeIdx(bytes, 'fuzz.idx');
          assert.equal(
            got.data.length,
            got.dims.reduce((a, b) => a * b, 1),
          );
          assert.equal(got.data.length, bytes.length - 4 - 4 * got.dims.length);
        } catch (e) {
          formatError('fuzz.idx')(e);
        }
      }),
    );
  });
});

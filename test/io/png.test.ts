import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inflateSync, deflateSync } from 'node:zlib';
import fc from 'fast-check';
import { encodePng, crc32, storedZlib, toImage8, tileImages, ConfigError, ShapeError, type Image8 } from '../../src/index.js';

/** A minimal PNG reader for the tests: checks signature, chunk CRCs, and un-filters filter-0 rows. */
const readPng = (bytes: Uint8Array): Image8 => {
  assert.deepEqual(Array.from(bytes.subarray(0, 8)), [137, 80, 78, 71, 13, 10, 26, 10]);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let o = 8;
  let width = 0,
    height = 0,
    channels = 0;
  const idat: Uint8Array[] = [];
  for (;;) {
    const len = view.getUint32(o);
    const type = String.fromCharCode(...bytes.subarray(o + 4, o + 8));
    const data = bytes.subarray(o + 8, o + 8 + len);
    assert.equal(view.getUint32(o + 8 + len), crc32(bytes.subarray(o + 4, o + 8 + len)), `${type} CRC`);
    if (type === 'IHDR') {
      width = view.getUint32(o + 8);
      height = view.getUint32(o + 12);
      channels = ({ 0: 1, 2: 3, 6: 4 } as Record<number, number>)[data[9]!]!;
    } else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') break;
    o += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const out = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    assert.equal(raw[y * (stride + 1)], 0, 'filter type 0');
    out.set(raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1)), y * stride);
  }
  return { width, height, channels: channels as 1 | 3 | 4, data: out };
};

describe('PNG', () => {
  it('crc32 matches the IEND chunk CRC every PNG ends with', () => {
    assert.equal(crc32(new TextEncoder().encode('IEND')), 0xae426082);
  });

  it('round-trips through a standard inflate, with stored blocks and with zlib', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 40 }),
        fc.constantFrom(1 as const, 3 as const, 4 as const),
        fc.nat(),
        (w, h, c, seed) => {
          const data = Uint8Array.from({ length: w * h * c }, (_, i) => (i * 31 + seed) & 255);
          const img = { width: w, height: h, channels: c, data };
          assert.deepEqual(readPng(encodePng(img)), img);
          assert.deepEqual(readPng(encodePng(img, (raw) => deflateSync(raw))), img);
        },
      ),
      { numRuns: 40 },
    );
    const big = new Uint8Array(300 * 300 * 3).fill(7);
    assert.equal(inflateSync(storedZlib(big)).length, big.length, 'several stored blocks');
  });

  it('rejects inconsistent images with typed errors', () => {
    assert.throws(() => encodePng({ width: 2, height: 2, channels: 3, data: new Uint8Array(11) }), ShapeError);
    assert.throws(() => encodePng({ width: 0, height: 2, channels: 3, data: new Uint8Array(0) }), ConfigError);
  });

  it('toImage8 clips to the range, and tileImages places cells with padding', () => {
    const img = toImage8([-1, 0.5, 2], 1, 1, 3);
    assert.deepEqual(Array.from(img.data), [0, 128, 255]);
    const grey = toImage8([0.2], 1, 1, 1);
    assert.deepEqual(Array.from(grey.data), [51, 51, 51]);
    const t = tileImages([[img, grey]], { pad: 1, scale: 2, background: [9, 9, 9] });
    assert.equal(t.width, 1 + 2 * (2 + 1));
    assert.equal(t.height, 1 + 2 + 1);
    assert.deepEqual(Array.from(t.data.subarray((1 * t.width + 1) * 3, (1 * t.width + 1) * 3 + 3)), [0, 128, 255]);
    assert.deepEqual(Array.from(t.data.subarray(0, 3)), [9, 9, 9]);
    assert.throws(() => tileImages([[img, toImage8([0, 0, 0, 0, 0, 0], 1, 2, 3)]]), ShapeError);
  });
});

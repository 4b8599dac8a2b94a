import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deflateSync, inflateSync } from 'node:zlib';
import fc from 'fast-check';
import { FormatError } from '../../src/core/errors.js';
import { crc32, encodePng, type Image8 } from '../../src/io/png.js';
import { decodePng } from '../../src/io/pngDecode.js';

const inflate = (z: Uint8Array): Uint8Array => inflateSync(z);
const decode = (bytes: Uint8Array): Image8 => decodePng(bytes, 't.png', inflate);

const concat = (parts: readonly Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};

const chunk = (type: string, data: Uint8Array): Uint8Array => {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
};

const ihdr = (w: number, h: number, depth: number, color: number, interlace = 0): Uint8Array => {
  const d = new Uint8Array(13);
  const v = new DataView(d.buffer);
  v.setUint32(0, w);
  v.setUint32(4, h);
  d.set([depth, color, 0, 0, interlace], 8);
  return chunk('IHDR', d);
};

/** A whole PNG file: signature, the given chunks, IEND. */
const pngOf = (...chunks: Uint8Array[]): Uint8Array =>
  concat([new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10]), ...chunks, chunk('IEND', new Uint8Array(0))]);

const paeth = (a: number, b: number, c: number): number => {
  const p = a + b - c;
  const [pa, pb, pc] = [Math.abs(p - a), Math.abs(p - b), Math.abs(p - c)];
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
};

/** Filters packed rows (each `rowBytes` long) with the given filter type per row, as an encoder would. */
const filterRows = (rows: readonly Uint8Array[], bpp: number, types: (y: number) => number): Uint8Array =>
  concat(
    rows.map((row, y) => {
      const up = y > 0 ? rows[y - 1]! : new Uint8Array(row.length);
      const f = types(y);
      const out = new Uint8Array(row.length + 1);
      out[0] = f;
      for (let i = 0; i < row.length; i++) {
        const a = i >= bpp ? row[i - bpp]! : 0;
        const b = up[i]!;
        const c = i >= bpp ? up[i - bpp]! : 0;
        const pred = [0, a, b, (a + b) >>> 1, paeth(a, b, c)][f]!;
        out[i + 1] = (row[i]! - pred) & 255;
      }
      return out;
    }),
  );

/** Packs samples (values below 2^depth) MSB first, one row per entry. */
const pack = (samples: readonly number[], depth: number): Uint8Array => {
  const out = new Uint8Array(Math.ceil((samples.length * depth) / 8));
  samples.forEach((s, i) => {
    if (depth === 16) out.set([s >>> 8, s & 255], 2 * i);
    else if (depth === 8) out[i] = s;
    else out[(i * depth) >>> 3]! |= s << (8 - depth - ((i * depth) & 7));
  });
  return out;
};

/** The zlib-compressed scanlines of a w x h image whose pixel (x, y) has samples `px(x, y)`. */
const scanlines = (
  w: number,
  h: number,
  depth: number,
  spp: number,
  px: (x: number, y: number) => number[],
  interlace = false,
): Uint8Array => {
  const passes = interlace
    ? [
        [0, 0, 8, 8],
        [4, 0, 8, 8],
        [0, 4, 4, 8],
        [2, 0, 4, 4],
        [0, 2, 2, 4],
        [1, 0, 2, 2],
        [0, 1, 1, 2],
      ]
    : [[0, 0, 1, 1]];
  const parts = passes.map(([x0, y0, dx, dy]) => {
    const pw = Math.ceil((w - x0!) / dx!);
    const ph = Math.ceil((h - y0!) / dy!);
    if (pw <= 0 || ph <= 0) return new Uint8Array(0);
    const rows = Array.from({ length: ph }, (_, j) =>
      pack(Array.from({ length: pw }, (_, i) => px(x0! + i * dx!, y0! + j * dy!)).flat(), depth),
    );
    return filterRows(rows, Math.max(1, (spp * depth) >>> 3), (y) => (y * 3 + x0!) % 5);
  });
  return deflateSync(concat(parts));
};

const hash = (x: number, y: number, s: number, seed: number): number => ((x * 73 + y * 151 + s * 29 + seed) * 2654435761) >>> 0;

describe('PNG decoding', () => {
  it('round-trips encodePng output (grey, RGB, RGBA; stored and zlib deflate)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 24 }),
        fc.integer({ min: 1, max: 24 }),
        fc.constantFrom(1 as const, 3 as const, 4 as const),
        fc.uint8Array({ minLength: 24 * 24 * 4, maxLength: 24 * 24 * 4 }),
        (width, height, channels, bytes) => {
          const img: Image8 = { width, height, channels, data: bytes.slice(0, width * height * channels) };
          assert.deepEqual(decode(encodePng(img)), img);
          assert.deepEqual(decode(encodePng(img, (raw) => deflateSync(raw))), img);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('undoes each scanline filter: hand-computed rows for None, Sub, Up, Average and Paeth', () => {
    // A 3x2 grey image [[10, 20, 30], [15, 25, 40]], row 0 filtered with None, row 1 with f.
    const row1: Record<number, number[]> = {
      0: [15, 25, 40],
      1: [15, 10, 15], // minus the left neighbour
      2: [5, 5, 10], // minus the byte above
      3: [10, 8, 13], // minus floor((left + up) / 2): 15-5, 25-17, 40-27
      4: [5, 5, 10], // Paeth picks up for all three here
    };
    for (const [f, r] of Object.entries(row1)) {
      const raw = new Uint8Array([0, 10, 20, 30, Number(f), ...r]);
      const img = decode(pngOf(ihdr(3, 2, 8, 0), chunk('IDAT', deflateSync(raw))));
      assert.deepEqual(Array.from(img.data), [10, 20, 30, 15, 25, 40], `filter ${f}`);
    }
    // [[100, 90, 10], [60, 200, 120]]: Sub on row 0; Paeth on row 1 picks up, then left, then upper-left.
    const raw = new Uint8Array([1, 100, (90 - 100) & 255, (10 - 90) & 255, 4, (60 - 100) & 255, 200 - 60, 120 - 90]);
    assert.deepEqual(Array.from(decode(pngOf(ihdr(3, 2, 8, 0), chunk('IDAT', deflateSync(raw)))).data), [100, 90, 10, 60, 200, 120]);
  });

  it('undoes every filter on random RGB, RGBA and 16-bit images', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 12 }),
        fc.constantFrom([2, 3], [6, 4], [0, 1]),
        fc.constantFrom(8, 16),
        fc.nat(),
        (w, h, [color, spp], depth, seed) => {
          const px = (x: number, y: number): number[] => Array.from({ length: spp! }, (_, s) => hash(x, y, s, seed) % (1 << depth));
          const img = decode(pngOf(ihdr(w, h, depth, color!), chunk('IDAT', scanlines(w, h, depth, spp!, px))));
          assert.equal(img.channels, spp);
          const want = Array.from({ length: w * h }, (_, i) =>
            px(i % w, Math.floor(i / w)).map((v) => (depth === 16 ? v >>> 8 : v)),
          ).flat();
          assert.deepEqual(Array.from(img.data), want);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('decodes a palette image with tRNS to RGBA, and without tRNS to RGB (8- and 2-bit indices)', () => {
    const plte = chunk('PLTE', new Uint8Array([255, 0, 0, 0, 255, 0, 0, 0, 255]));
    const trns = chunk('tRNS', new Uint8Array([0, 128])); // the third entry stays opaque
    const idx = [0, 1, 2, 1];
    const rgba = decode(
      pngOf(
        ihdr(2, 2, 8, 3),
        plte,
        trns,
        chunk(
          'IDAT',
          scanlines(2, 2, 8, 1, (x, y) => [idx[y * 2 + x]!]),
        ),
      ),
    );
    assert.equal(rgba.channels, 4);
    assert.deepEqual(Array.from(rgba.data), [255, 0, 0, 0, 0, 255, 0, 128, 0, 0, 255, 255, 0, 255, 0, 128]);
    const rgb = decode(
      pngOf(
        ihdr(5, 1, 2, 3),
        plte,
        chunk(
          'IDAT',
          scanlines(5, 1, 2, 1, (x) => [x % 3]),
        ),
      ),
    );
    assert.equal(rgb.channels, 3);
    assert.deepEqual(Array.from(rgb.data), [255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 0, 0, 0, 255, 0]);
  });

  it('takes the high byte of 16-bit samples, scales 1/2/4-bit grey, and expands grey+alpha to RGBA', () => {
    const wide = decode(
      pngOf(
        ihdr(2, 1, 16, 0),
        chunk(
          'IDAT',
          scanlines(2, 1, 16, 1, (x) => [x === 0 ? 0x12ff : 0xab01]),
        ),
      ),
    );
    assert.deepEqual(Array.from(wide.data), [0x12, 0xab]);
    for (const depth of [1, 2, 4]) {
      const max = (1 << depth) - 1;
      const img = decode(
        pngOf(
          ihdr(11, 2, depth, 0),
          chunk(
            'IDAT',
            scanlines(11, 2, depth, 1, (x, y) => [(x + y) % (max + 1)]),
          ),
        ),
      );
      const want = Array.from({ length: 22 }, (_, i) => Math.round((((i % 11) + Math.floor(i / 11)) % (max + 1)) * (255 / max)));
      assert.deepEqual(Array.from(img.data), want, `${depth}-bit`);
    }
    const ga = decode(
      pngOf(
        ihdr(2, 1, 8, 4),
        chunk(
          'IDAT',
          scanlines(2, 1, 8, 2, (x) => [x ? 200 : 50, x ? 7 : 255]),
        ),
      ),
    );
    assert.equal(ga.channels, 4);
    assert.deepEqual(Array.from(ga.data), [50, 50, 50, 255, 200, 200, 200, 7]);
  });

  it('reads image data split over several IDAT chunks', () => {
    const img: Image8 = { width: 9, height: 7, channels: 3, data: Uint8Array.from({ length: 189 }, (_, i) => (i * 37) & 255) };
    const z = scanlines(9, 7, 8, 3, (x, y) => [0, 1, 2].map((c) => img.data[(y * 9 + x) * 3 + c]!));
    const parts = [z.subarray(0, 1), z.subarray(1, 10), z.subarray(10, 10), z.subarray(10)].map((p) => chunk('IDAT', p));
    assert.deepEqual(decode(pngOf(ihdr(9, 7, 8, 2), ...parts)), img);
  });

  it('decodes Adam7-interlaced images to the same pixels as sequential ones', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 19 }),
        fc.integer({ min: 1, max: 19 }),
        fc.constantFrom(1, 8),
        fc.nat(),
        (w, h, depth, seed) => {
          const spp = depth === 1 ? 1 : 3;
          const color = depth === 1 ? 0 : 2;
          const px = (x: number, y: number): number[] => Array.from({ length: spp }, (_, s) => hash(x, y, s, seed) % (1 << depth));
          const seq = decode(pngOf(ihdr(w, h, depth, color), chunk('IDAT', scanlines(w, h, depth, spp, px))));
          const adam7 = decode(pngOf(ihdr(w, h, depth, color, 1), chunk('IDAT', scanlines(w, h, depth, spp, px, true))));
          assert.deepEqual(adam7, seq);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('rejects malformed files with a FormatError that names the file and the problem', () => {
    const good = encodePng({ width: 2, height: 2, channels: 3, data: new Uint8Array(12).fill(9) }, (raw) => deflateSync(raw));
    const idat = chunk('IDAT', deflateSync(new Uint8Array([0, 1, 2, 3, 4, 5, 6, 0, 1, 2, 3, 4, 5, 6])));
    const cases: [string, Uint8Array, RegExp][] = [
      ['signature', new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]), /bad signature/],
      ['CRC', Uint8Array.from(good, (b, i) => (i === 20 ? b ^ 1 : b)), /CRC mismatch in IHDR/],
      ['truncated', good.subarray(0, 50), /truncated IDAT chunk/],
      ['no IEND', good.subarray(0, good.length - 12), /no IEND/],
      ['IHDR first', pngOf(idat), /missing IHDR/],
      ['no IDAT', pngOf(ihdr(2, 2, 8, 2)), /missing IDAT/],
      ['color type', pngOf(ihdr(2, 2, 8, 5), idat), /unsupported color type 5/],
      ['bit depth', pngOf(ihdr(2, 2, 4, 2), idat), /unsupported bit depth 4 for RGB/],
      ['huge', pngOf(ihdr(20000, 2, 8, 2), idat), /20000x2 exceeds the limit of 16384/],
      ['empty', pngOf(ihdr(0, 2, 8, 2), idat), /empty/],
      ['data size', pngOf(ihdr(3, 2, 8, 2), idat), /decompressed image data has 14 bytes, expected 20/],
      ['filter', pngOf(ihdr(2, 2, 8, 0), chunk('IDAT', deflateSync(new Uint8Array([0, 1, 2, 9, 1, 2])))), /unknown filter type 9/],
      ['no PLTE', pngOf(ihdr(2, 2, 8, 3), chunk('IDAT', deflateSync(new Uint8Array(6)))), /missing PLTE/],
      [
        'index',
        pngOf(ihdr(1, 1, 8, 3), chunk('PLTE', new Uint8Array(3)), chunk('IDAT', deflateSync(new Uint8Array([0, 1])))),
        /palette index 1 out of range/,
      ],
      ['critical', pngOf(ihdr(2, 2, 8, 2), chunk('ABCD', new Uint8Array(0)), idat), /unknown critical chunk ABCD/],
      ['inflate', pngOf(ihdr(2, 2, 8, 2), chunk('IDAT', new Uint8Array([1, 2, 3]))), /inflate failed/],
    ];
    for (const [name, bytes, problem] of cases) {
      assert.throws(
        () => decodePng(bytes, 'bad.png', inflate),
        (e: unknown) => e instanceof FormatError && e.file === 'bad.png' && problem.test(e.problem) && e.message.startsWith('bad.png: '),
        name,
      );
    }
  });

  it('never throws anything but FormatError on random, truncated or corrupted input', () => {
    const isFormatError = (bytes: Uint8Array): boolean => {
      try {
        decode(bytes);
        return true;
      } catch (e) {
        if (e instanceof FormatError) return true;
        throw e;
      }
    };
    const valid = fc
      .tuple(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 8 }), fc.constantFrom(1 as const, 3 as const, 4 as const), fc.nat())
      .map(([width, height, channels, seed]) => {
        const data = Uint8Array.from({ length: width * height * channels }, (_, i) => hash(i, 0, 0, seed) & 255);
        return encodePng({ width, height, channels, data }, (raw) => deflateSync(raw));
      });
    const sig = new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10]);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => isFormatError(b) && isFormatError(concat([sig, b]))),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(valid, fc.nat(), (png, cut) => isFormatError(png.subarray(0, cut % png.length))),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(valid, fc.nat(), fc.integer({ min: 1, max: 255 }), (png, at, x) =>
        isFormatError(Uint8Array.from(png, (b, i) => (i === at % png.length ? b ^ x : b))),
      ),
      { numRuns: 300 },
    );
    // Corrupt a byte inside a chunk and fix its CRC, so the damage reaches IHDR parsing and inflate.
    fc.assert(
      fc.property(valid, fc.nat(), fc.integer({ min: 1, max: 255 }), (png, at, x) => {
        const bytes = png.slice();
        const view = new DataView(bytes.buffer);
        let o = 8;
        const target = 8 + (at % (png.length - 8));
        while (o + 12 + view.getUint32(o) <= target) o += 12 + view.getUint32(o);
        const len = view.getUint32(o);
        const i = o + 8 + (len === 0 ? 0 : (target - o) % len);
        if (len > 0) bytes[i]! ^= x;
        view.setUint32(o + 8 + len, crc32(bytes.subarray(o + 4, o + 8 + len)));
        return isFormatError(bytes);
      }),
      { numRuns: 300 },
    );
  });
});

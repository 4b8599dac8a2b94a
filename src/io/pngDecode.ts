/**
 * PNG decoding in plain TypeScript (no DOM, no Node APIs). Decompression is injected, as for
 * the encoder: pass zlib's inflate in Node. Every malformed input throws a {@link FormatError}
 * naming the file and the problem; nothing else escapes.
 *
 * Supported: every standard colour type and bit depth (grey 1/2/4/8/16, RGB 8/16, palette
 * 1/2/4/8, grey+alpha 8/16, RGBA 8/16), all five scanline filters, IDAT data split over any
 * number of chunks, and Adam7 interlacing. 16-bit samples keep their high byte; grey samples
 * of 1, 2 or 4 bits are scaled to 0..255. Ancillary chunks are skipped after their CRC is
 * checked, except tRNS on palette images, which yields an alpha channel. tRNS colour keys on
 * grey or RGB images are ignored (no alpha is synthesised).
 *
 * @since 0.1.0
 */
import { FormatError } from '../core/errors.js';
import { crc32, type Image8 } from './png.js';

/** The largest width or height accepted, so a hostile header cannot demand gigabytes. */
const MAX_SIDE = 16384;
const SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10] as const;
/** Samples per pixel, and the bit depths the PNG spec allows, by colour type. */
const COLOR_TYPES: Readonly<Record<number, { readonly samples: number; readonly depths: readonly number[]; readonly name: string }>> = {
  0: { samples: 1, depths: [1, 2, 4, 8, 16], name: 'grey' },
  2: { samples: 3, depths: [8, 16], name: 'RGB' },
  3: { samples: 1, depths: [1, 2, 4, 8], name: 'palette' },
  4: { samples: 2, depths: [8, 16], name: 'grey+alpha' },
  6: { samples: 4, depths: [8, 16], name: 'RGBA' },
};
/** Adam7 passes: [x0, y0, dx, dy]. A non-interlaced image is the single pass [0, 0, 1, 1]. */
const ADAM7: readonly (readonly [number, number, number, number])[] = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
];
const SEQUENTIAL: readonly (readonly [number, number, number, number])[] = [[0, 0, 1, 1]];

interface Header {
  readonly width: number;
  readonly height: number;
  readonly depth: number;
  readonly colorType: number;
  readonly interlaced: boolean;
}

const chunkName = (bytes: Uint8Array, o: number): string => String.fromCharCode(...bytes.subarray(o, o + 4));
const isLetter = (b: number): boolean => (b >= 65 && b <= 90) || (b >= 97 && b <= 122);

const parseHeader = (file: string, data: Uint8Array): Header => {
  if (data.length !== 13) throw new FormatError(file, `IHDR chunk has ${data.length} bytes, expected 13`);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const width = view.getUint32(0);
  const height = view.getUint32(4);
  const [depth, colorType, compression, filter, interlace] = [data[8]!, data[9]!, data[10]!, data[11]!, data[12]!];
  if (width === 0 || height === 0) throw new FormatError(file, `image size ${width}x${height} is empty`);
  if (width > MAX_SIDE || height > MAX_SIDE)
    throw new FormatError(file, `image size ${width}x${height} exceeds the limit of ${MAX_SIDE} pixels per side`);
  const type = COLOR_TYPES[colorType];
  if (type === undefined) throw new FormatError(file, `unsupported color type ${colorType} (expected 0, 2, 3, 4 or 6)`);
  if (!type.depths.includes(depth))
    throw new FormatError(file, `unsupported bit depth ${depth} for ${type.name} images (allowed: ${type.depths.join(', ')})`);
  if (compression !== 0) throw new FormatError(file, `unknown compression method ${compression}`);
  if (filter !== 0) throw new FormatError(file, `unknown filter method ${filter}`);
  if (interlace > 1) throw new FormatError(file, `unknown interlace method ${interlace}`);
  return { width, height, depth, colorType, interlaced: interlace === 1 };
};

type Pass = readonly [x0: number, y0: number, dx: number, dy: number, width: number, height: number];

/** The sub-images that carry the pixels, empty passes dropped. */
const passesOf = (h: Header): Pass[] =>
  (h.interlaced ? ADAM7 : SEQUENTIAL)
    .map(([x0, y0, dx, dy]): Pass => [x0, y0, dx, dy, Math.ceil((h.width - x0) / dx), Math.ceil((h.height - y0) / dy)])
    .filter((p) => p[4] > 0 && p[5] > 0);

const paeth = (a: number, b: number, c: number): number => {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
};

/**
 * Undoes the scanline filters in place: `raw[o..]` holds `rows` lines of 1 filter byte plus
 * `rowBytes` data bytes; `bpp` is the filter's byte distance to the left neighbour.
 */
const unfilter = (file: string, raw: Uint8Array, o: number, rows: number, rowBytes: number, bpp: number): void => {
  for (let y = 0; y < rows; y++) {
    const line = o + y * (rowBytes + 1);
    const f = raw[line]!;
    const cur = line + 1;
    const prev = cur - (rowBytes + 1);
    const hasPrev = y > 0;
    switch (f) {
      case 0:
        break;
      case 1:
        for (let i = bpp; i < rowBytes; i++) raw[cur + i] = (raw[cur + i]! + raw[cur + i - bpp]!) & 255;
        break;
      case 2:
        if (hasPrev) for (let i = 0; i < rowBytes; i++) raw[cur + i] = (raw[cur + i]! + raw[prev + i]!) & 255;
        break;
      case 3:
        for (let i = 0; i < rowBytes; i++) {
          const left = i >= bpp ? raw[cur + i - bpp]! : 0;
          const up = hasPrev ? raw[prev + i]! : 0;
          raw[cur + i] = (raw[cur + i]! + ((left + up) >>> 1)) & 255;
        }
        break;
      case 4:
        for (let i = 0; i < rowBytes; i++) {
          const left = i >= bpp ? raw[cur + i - bpp]! : 0;
          const up = hasPrev ? raw[prev + i]! : 0;
          const upLeft = hasPrev && i >= bpp ? raw[prev + i - bpp]! : 0;
          raw[cur + i] = (raw[cur + i]! + paeth(left, up, upLeft)) & 255;
        }
        break;
      default:
        throw new FormatError(file, `scanline ${y} has unknown filter type ${f} (expected 0-4)`);
    }
  }
};

/**
 * Decodes PNG bytes to an 8-bit image. Output channels: grey 1, RGB 3, palette 3 (4 when a
 * tRNS chunk gives alpha), grey+alpha 4 (the grey replicated to RGB, then alpha), RGBA 4.
 * `inflate` decompresses the concatenated IDAT data (a zlib stream); it also receives the
 * exact decompressed length expected, which it may use to bound its output. Chunk CRCs are
 * verified; any malformation throws a {@link FormatError} naming `file`.
 *
 * @example
 * import { inflateSync } from 'node:zlib'
 * const img = decodePng(bytes, 'cat.png', (z, n) => inflateSync(z, { maxOutputLength: n }))
 * @since 0.1.0
 */
export const decodePng = (bytes: Uint8Array, file: string, inflate: (zlib: Uint8Array, expectedLength: number) => Uint8Array): Image8 => {
  if (bytes.length < 8 || SIGNATURE.some((b, i) => bytes[i] !== b)) throw new FormatError(file, 'bad signature: not a PNG file');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let header: Header | null = null;
  let palette: Uint8Array | null = null;
  let alpha: Uint8Array | null = null;
  const idat: Uint8Array[] = [];
  let ended = false;
  let o = 8;
  while (o < bytes.length) {
    if (bytes.length - o < 12)
      throw new FormatError(file, `truncated chunk at byte ${o}: ${bytes.length - o} bytes left, a chunk needs 12`);
    const len = view.getUint32(o);
    if (len > 0x7fffffff) throw new FormatError(file, `chunk at byte ${o} declares length ${len} (max 2^31-1)`);
    const type = chunkName(bytes, o + 4);
    if (!bytes.subarray(o + 4, o + 8).every(isLetter))
      throw new FormatError(file, `invalid chunk type ${JSON.stringify(type)} at byte ${o}`);
    if (len > bytes.length - o - 12)
      throw new FormatError(
        file,
        `truncated ${type} chunk at byte ${o}: declares ${len} data bytes, ${Math.max(0, bytes.length - o - 12)} present`,
      );
    const data = bytes.subarray(o + 8, o + 8 + len);
    const stored = view.getUint32(o + 8 + len);
    const actual = crc32(bytes.subarray(o + 4, o + 8 + len));
    if (stored !== actual)
      throw new FormatError(
        file,
        `CRC mismatch in ${type} chunk at byte ${o}: stored 0x${stored.toString(16)}, computed 0x${actual.toString(16)}`,
      );
    o += 12 + len;
    if (header === null && type !== 'IHDR') throw new FormatError(file, `missing IHDR: the first chunk is ${type}`);
    if (type === 'IHDR') {
      if (header !== null) throw new FormatError(file, 'more than one IHDR chunk');
      header = parseHeader(file, data);
    } else if (type === 'PLTE') {
      if (idat.length > 0) throw new FormatError(file, 'PLTE chunk after IDAT');
      if (len === 0 || len % 3 !== 0 || len > 768)
        throw new FormatError(file, `PLTE chunk has ${len} bytes, expected 3 to 768 in steps of 3`);
      palette = data;
    } else if (type === 'tRNS') {
      if (header?.colorType === 3) {
        if (palette === null) throw new FormatError(file, 'tRNS chunk before PLTE');
        if (len > palette.length / 3) throw new FormatError(file, `tRNS chunk has ${len} entries, the palette only ${palette.length / 3}`);
        alpha = data;
      }
    } else if (type === 'IDAT') {
      idat.push(data);
    } else if (type === 'IEND') {
      ended = true;
      break;
    } else if (type.charCodeAt(0) < 97) {
      throw new FormatError(file, `unknown critical chunk ${type}`);
    }
  }
  if (header === null) throw new FormatError(file, 'missing IHDR chunk');
  if (!ended) throw new FormatError(file, 'truncated: no IEND chunk');
  if (idat.length === 0) throw new FormatError(file, 'missing IDAT chunk: no image data');
  if (header.colorType === 3 && palette === null) throw new FormatError(file, 'missing PLTE chunk for a palette image');
  return pixels(file, header, idat, palette, alpha, inflate);
};

/** Decompresses, unfilters and converts the IDAT data to interleaved 8-bit samples. */
const pixels = (
  file: string,
  h: Header,
  idat: readonly Uint8Array[],
  palette: Uint8Array | null,
  alpha: Uint8Array | null,
  inflate: (zlib: Uint8Array, expectedLength: number) => Uint8Array,
): Image8 => {
  const samples = COLOR_TYPES[h.colorType]!.samples;
  const bits = samples * h.depth;
  const bpp = Math.max(1, bits >>> 3);
  const passes = passesOf(h);
  const expected = passes.reduce((n, p) => n + p[5] * (1 + Math.ceil((p[4] * bits) / 8)), 0);
  const zlib = new Uint8Array(idat.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of idat) {
    zlib.set(c, at);
    at += c.length;
  }
  let raw: Uint8Array;
  try {
    raw = inflate(zlib, expected);
  } catch (e) {
    throw new FormatError(file, `corrupt image data: inflate failed: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!(raw instanceof Uint8Array)) throw new FormatError(file, 'corrupt image data: inflate did not return bytes');
  if (raw.length !== expected)
    throw new FormatError(
      file,
      `decompressed image data has ${raw.length} bytes, expected ${expected} for ${h.width}x${h.height} at ${bits} bits per pixel`,
    );
  raw = raw.slice(); // unfiltering works in place; never write into the caller's buffer
  const channels: 1 | 3 | 4 = h.colorType === 0 ? 1 : h.colorType === 2 ? 3 : h.colorType === 3 && alpha === null ? 3 : 4;
  const out = new Uint8Array(h.width * h.height * channels);
  const pal = palette ?? new Uint8Array(0);
  const entries = pal.length / 3;
  const scale = h.depth < 8 ? 255 / ((1 << h.depth) - 1) : 1;
  const mask = (1 << h.depth) - 1;
  const line = new Uint8Array(h.width * samples);
  let o = 0;
  for (const [x0, y0, dx, dy, pw, ph] of passes) {
    const rowBytes = Math.ceil((pw * bits) / 8);
    unfilter(file, raw, o, ph, rowBytes, bpp);
    for (let j = 0; j < ph; j++) {
      // The row's samples as 8-bit values (palette indices for palette images).
      const row = o + j * (rowBytes + 1) + 1;
      for (let s = 0; s < pw * samples; s++) {
        if (h.depth === 8) line[s] = raw[row + s]!;
        else if (h.depth === 16) line[s] = raw[row + 2 * s]!;
        else {
          const v = (raw[row + ((s * h.depth) >>> 3)]! >>> (8 - h.depth - ((s * h.depth) & 7))) & mask;
          line[s] = h.colorType === 0 ? Math.round(v * scale) : v;
        }
      }
      for (let i = 0; i < pw; i++) {
        const p = ((y0 + j * dy) * h.width + x0 + i * dx) * channels;
        if (h.colorType === 3) {
          const k = line[i]!;
          if (k >= entries) throw new FormatError(file, `palette index ${k} out of range (the palette has ${entries} entries)`);
          out[p] = pal[k * 3]!;
          out[p + 1] = pal[k * 3 + 1]!;
          out[p + 2] = pal[k * 3 + 2]!;
          if (alpha !== null) out[p + 3] = k < alpha.length ? alpha[k]! : 255;
        } else if (h.colorType === 4) {
          out[p] = out[p + 1] = out[p + 2] = line[2 * i]!;
          out[p + 3] = line[2 * i + 1]!;
        } else for (let c = 0; c < channels; c++) out[p + c] = line[i * channels + c]!;
      }
    }
    o += ph * (rowBytes + 1);
  }
  return { width: h.width, height: h.height, channels, data: out };
};

/**
 * PNG encoding in plain TypeScript (no DOM, no Node APIs), so images come out the same in Node
 * and in browsers. Compression is pluggable: pass zlib's deflate in Node for small files; the
 * default writes stored (uncompressed) deflate blocks, valid everywhere.
 *
 * @since 0.1.0
 */
import { ConfigError, ShapeError } from '../core/errors.js';
import { positiveInt } from '../core/check.js';

let crcTable: Uint32Array | null = null;

/**
 * CRC-32 (ISO-HDLC), as PNG chunks use.
 *
 * @example
 * crc32(new TextEncoder().encode('IEND')) // 0xae426082
 * @since 0.1.0
 */
export const crc32 = (bytes: Uint8Array, crc = 0): number => {
  if (crcTable === null) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i++) c = crcTable[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
};

const adler32 = (bytes: Uint8Array): number => {
  let a = 1;
  let b = 0;
  for (let i = 0; i < bytes.length; i++) {
    a = (a + bytes[i]!) % 65521;
    b = (b + a) % 65521;
  }
  return ((b << 16) | a) >>> 0;
};

/**
 * A zlib stream of stored (uncompressed) deflate blocks.
 *
 * @example
 * storedZlib(new Uint8Array([1, 2, 3]))
 * @since 0.1.0
 */
export const storedZlib = (raw: Uint8Array): Uint8Array => {
  const blocks = Math.max(1, Math.ceil(raw.length / 65535));
  const out = new Uint8Array(2 + raw.length + blocks * 5 + 4);
  out[0] = 0x78;
  out[1] = 0x01;
  let o = 2;
  for (let b = 0; b < blocks; b++) {
    const start = b * 65535;
    const len = Math.min(65535, raw.length - start);
    out[o++] = b === blocks - 1 ? 1 : 0;
    out[o++] = len & 0xff;
    out[o++] = len >>> 8;
    out[o++] = ~len & 0xff;
    out[o++] = (~len >>> 8) & 0xff;
    out.set(raw.subarray(start, start + len), o);
    o += len;
  }
  const ad = adler32(raw);
  out[o++] = ad >>> 24;
  out[o++] = (ad >>> 16) & 0xff;
  out[o++] = (ad >>> 8) & 0xff;
  out[o++] = ad & 0xff;
  return out;
};

/**
 * An 8-bit image: `channels` interleaved values per pixel, rows top to bottom.
 *
 * @since 0.1.0
 */
export interface Image8 {
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 3 | 4;
  readonly data: Uint8Array;
}

const chunk = (type: string, data: Uint8Array): Uint8Array => {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
};

/**
 * Encodes an 8-bit grey, RGB or RGBA image as PNG bytes. `deflate` compresses the filtered
 * scanlines into a zlib stream (default: stored blocks).
 *
 * @example
 * import { deflateSync } from 'node:zlib'
 * const bytes = encodePng(img, (raw) => deflateSync(raw))
 * @since 0.1.0
 */
export const encodePng = (img: Image8, deflate: (raw: Uint8Array) => Uint8Array = storedZlib): Uint8Array =>
  concat([SIGNATURE, chunk('IHDR', ihdrOf(img)), chunk('IDAT', deflate(scanlines(img))), chunk('IEND', new Uint8Array(0))]);

const SIGNATURE = new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10]);

const concat = (parts: readonly Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};

/** Validated filter-0 scanlines of an image. */
const scanlines = (img: Image8): Uint8Array => {
  positiveInt('png width', img.width);
  positiveInt('png height', img.height);
  if (![1, 3, 4].includes(img.channels)) throw new ConfigError('png channels', img.channels, 'must be 1, 3 or 4');
  const stride = img.width * img.channels;
  if (img.data.length !== stride * img.height)
    throw new ShapeError('png data', `[${img.height}, ${img.width}, ${img.channels}]`, [img.data.length]);
  const raw = new Uint8Array((stride + 1) * img.height);
  for (let y = 0; y < img.height; y++) raw.set(img.data.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  return raw;
};

const ihdrOf = (img: Image8): Uint8Array => {
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, img.width);
  v.setUint32(4, img.height);
  ihdr[8] = 8;
  ihdr[9] = img.channels === 1 ? 0 : img.channels === 3 ? 2 : 6;
  return ihdr;
};

/**
 * Encodes equal-sized frames as an animated PNG (APNG: every browser and most image viewers
 * play it; others show the first frame), looping forever, each frame shown `delayMs`.
 *
 * @example
 * import { deflateSync } from 'node:zlib'
 * const bytes = encodeApng([frame0, frame1, frame2], 200, (raw) => deflateSync(raw))
 * @since 0.1.0
 */
export const encodeApng = (
  frames: readonly Image8[],
  delayMs: number,
  deflate: (raw: Uint8Array) => Uint8Array = storedZlib,
): Uint8Array => {
  const first = frames[0];
  if (!first) throw new ShapeError('apng frames', 'at least one frame', [0]);
  positiveInt('apng delay (ms)', delayMs);
  frames.forEach((f, i) => {
    if (f.width !== first.width || f.height !== first.height || f.channels !== first.channels)
      throw new ShapeError(`apng frame ${i}`, `[${first.height}, ${first.width}, ${first.channels}]`, [f.height, f.width, f.channels]);
  });
  const u32 = (...vs: number[]): Uint8Array => {
    const b = new Uint8Array(4 * vs.length);
    const v = new DataView(b.buffer);
    vs.forEach((x, i) => v.setUint32(4 * i, x));
    return b;
  };
  let seq = 0;
  const fctl = (): Uint8Array => {
    // sequence, width, height, x, y, delay num/den (u16), dispose none, blend source
    const b = new Uint8Array(26);
    const v = new DataView(b.buffer);
    v.setUint32(0, seq++);
    v.setUint32(4, first.width);
    v.setUint32(8, first.height);
    v.setUint16(20, delayMs);
    v.setUint16(22, 1000);
    return chunk('fcTL', b);
  };
  const parts: Uint8Array[] = [SIGNATURE, chunk('IHDR', ihdrOf(first)), chunk('acTL', u32(frames.length, 0))];
  frames.forEach((f, i) => {
    parts.push(fctl());
    const z = deflate(scanlines(f));
    if (i === 0) parts.push(chunk('IDAT', z));
    else parts.push(chunk('fdAT', concat([u32(seq++), z])));
  });
  parts.push(chunk('IEND', new Uint8Array(0)));
  return concat(parts);
};

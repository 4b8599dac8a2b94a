/**
 * NumPy `.npy` files in plain TypeScript (no Node APIs): a strict reader for format versions 1.0,
 * 2.0 and 3.0 and a writer whose output is byte-identical to `np.save` for C-order arrays.
 *
 * The header is parsed by a small Python-literal parser (never `eval`). Big-endian data and
 * `fortran_order: True` are converted to host order and C order. Every malformed input throws a
 * {@link FormatError}; nothing is allocated before the shape has been checked against the bytes
 * that are actually present.
 *
 * @since 0.1.0
 */
import { ConfigError, FormatError } from '../core/errors.js';
import { ELEMENT_TYPES, halfToFloat, HOST_LE } from './dtypes.js';

/** In-memory representation of each dtype: float16 widens to float32, int64 narrows (checked) to int32. */
export interface NpyDataMap {
  float16: Float32Array;
  float32: Float32Array;
  float64: Float64Array;
  int8: Int8Array;
  int16: Int16Array;
  int32: Int32Array;
  int64: Int32Array;
  uint8: Uint8Array;
  uint16: Uint16Array;
  uint32: Uint32Array;
  bool: Uint8Array;
}

/**
 * A dtype `.npy` files may hold here, named as NumPy names it.
 *
 * @example
 * const d: NpyDType = 'float32'
 * @since 0.1.0
 */
export type NpyDType = keyof NpyDataMap;

/**
 * An array read from a `.npy` file: `dtype` is the file's dtype, `data` its values in C order.
 * `float16` data comes as a Float32Array, `int64` as an Int32Array (only if every value fits),
 * `bool` as a Uint8Array of 0/1.
 *
 * @example
 * const { dtype, shape, data } = readNpy(bytes, 'x.npy')
 * @since 0.1.0
 */
export type NpyArray = {
  [D in NpyDType]: { readonly dtype: D; readonly shape: readonly number[]; readonly data: NpyDataMap[D] };
}[NpyDType];

/**
 * What {@link writeNpy} accepts: `dtype` defaults to the natural dtype of `data`; it may also be
 * `'float16'` (Float32Array, rounded to nearest even), `'int64'` (Int32Array) or `'bool'` (Uint8Array of 0/1).
 *
 * @example
 * const a: NpyInput = { shape: [2, 3], data: new Float32Array(6) }
 * @since 0.1.0
 */
export interface NpyInput {
  readonly shape: readonly number[];
  readonly data: Float32Array | Float64Array | Int8Array | Int16Array | Int32Array | Uint8Array | Uint16Array | Uint32Array;
  readonly dtype?: NpyDType;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
/** NumPy's NPY_MAXDIMS (2.x). */
const MAX_DIMS = 64;

/** dtype by kind + itemsize of a `descr` such as `<f4` (the itemsize is the element type's size). */
const DTYPES: Record<string, NpyDType> = {
  f2: 'float16',
  f4: 'float32',
  f8: 'float64',
  i1: 'int8',
  i2: 'int16',
  i4: 'int32',
  i8: 'int64',
  u1: 'uint8',
  u2: 'uint16',
  u4: 'uint32',
  b1: 'bool',
};
const DESCR: Record<NpyDType, string> = Object.fromEntries(
  Object.entries(DTYPES).map(([k, d]) => [d, `${k.endsWith('1') ? '|' : '<'}${k}`]),
) as Record<NpyDType, string>;

/** Typed array of each dtype whose bytes are used as they are. */
const VIEWS = {
  float32: ELEMENT_TYPES.float32.array,
  float64: ELEMENT_TYPES.float64.array,
  int8: ELEMENT_TYPES.int8.array,
  int16: ELEMENT_TYPES.int16.array,
  int32: ELEMENT_TYPES.int32.array,
  uint16: ELEMENT_TYPES.uint16.array,
  uint32: ELEMENT_TYPES.uint32.array,
} as const;

// ---------------------------------------------------------------- Python literal parser

interface PyTuple {
  readonly tuple: readonly PyValue[];
}
type PyValue = string | bigint | number | boolean | null | PyTuple | PyValue[] | Map<string, PyValue>;

const isTuple = (v: PyValue): v is PyTuple => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Map);

const pyRepr = (v: PyValue): string => {
  if (typeof v === 'string') return `'${v}'`;
  if (v === null) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'bigint' || typeof v === 'number') return String(v);
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(', ')}]`;
  if (v instanceof Map) return `{${[...v].map(([k, x]) => `'${k}': ${pyRepr(x)}`).join(', ')}}`;
  return v.tuple.length === 1 ? `(${pyRepr(v.tuple[0]!)},)` : `(${v.tuple.map(pyRepr).join(', ')})`;
};

/** Parses the header's Python literal: dicts, tuples, lists, strings, integers, floats, True/False/None. */
const parseLiteral = (text: string, file: string): PyValue => {
  let i = 0;
  const fail = (what: string): never => {
    throw new FormatError(file, `unparsable header: ${what} at character ${i} (near ${JSON.stringify(text.slice(i, i + 24))})`);
  };
  const ws = (): void => {
    while (i < text.length && ' \t\r\n'.includes(text[i]!)) i++;
  };
  const seq = (close: string, item: () => void): { n: number; trailing: boolean } => {
    i++;
    let n = 0;
    let comma = true;
    for (;;) {
      ws();
      if (text[i] === close) {
        i++;
        return { n, trailing: n > 0 && comma };
      }
      if (!comma) fail(`expected ',' or '${close}'`);
      item();
      n++;
      ws();
      comma = text[i] === ',';
      if (comma) i++;
    }
  };
  const value = (depth: number): PyValue => {
    if (depth > 16) fail('nesting too deep');
    ws();
    const c = text[i];
    if (c === undefined) return fail('unexpected end');
    if (c === "'" || c === '"') {
      let s = '';
      for (i++; text[i] !== c; i++) {
        if (i >= text.length) fail('unterminated string');
        if (text[i] === '\\') i++;
        s += text[i] ?? '';
      }
      i++;
      return s;
    }
    if (c === '{') {
      const dict = new Map<string, PyValue>();
      seq('}', () => {
        const k = value(depth + 1);
        if (typeof k !== 'string') fail('dictionary keys must be strings');
        if (dict.has(k as string)) fail(`duplicate key '${String(k)}'`);
        ws();
        if (text[i] !== ':') fail("expected ':'");
        i++;
        dict.set(k as string, value(depth + 1));
      });
      return dict;
    }
    if (c === '(' || c === '[') {
      const items: PyValue[] = [];
      const { n, trailing } = seq(c === '(' ? ')' : ']', () => void items.push(value(depth + 1)));
      if (c === '[') return items;
      return n === 1 && !trailing ? items[0]! : { tuple: items };
    }
    const m = /^(-?\d+)(\.\d*)?([eE][+-]?\d+)?(L?)/.exec(text.slice(i, i + 64)) ?? /^(True|False|None)\b/.exec(text.slice(i, i + 6));
    if (m === null) return fail(`unexpected character ${JSON.stringify(c)}`);
    i += m[0].length;
    if (m[1] === 'True' || m[1] === 'False') return m[1] === 'True';
    if (m[1] === 'None') return null;
    if (m[2] !== undefined || m[3] !== undefined) return Number(m[0]);
    if (m[1]!.length > 40) fail('integer literal too long');
    return BigInt(m[1]!);
  };
  const v = value(0);
  ws();
  if (i !== text.length) fail('trailing characters');
  return v;
};

// ---------------------------------------------------------------- byte helpers

/** Reverses each `size`-byte group in place (byte-order swap). */
const swapBytes = (b: Uint8Array, size: number): void => {
  if (size === 1) return;
  for (let o = 0; o < b.length; o += size)
    for (let j = 0; j < size >> 1; j++) {
      const t = b[o + j]!;
      b[o + j] = b[o + size - 1 - j]!;
      b[o + size - 1 - j] = t;
    }
};

/** Copies Fortran-order elements of `size` bytes into C order. */
const fortranToC = (src: Uint8Array, size: number, shape: readonly number[]): Uint8Array<ArrayBuffer> => {
  const out = new Uint8Array(src.length);
  const nd = shape.length;
  const stride: number[] = [];
  for (let k = 0, s = 1; k < nd; s *= shape[k]!, k++) stride.push(s);
  const idx = new Array<number>(nd).fill(0);
  let off = 0;
  for (let o = 0; o < out.length; o += size) {
    out.set(src.subarray(off * size, off * size + size), o);
    for (let k = nd - 1; k >= 0; k--) {
      off += stride[k]!;
      if (++idx[k]! < shape[k]!) break;
      off -= stride[k]! * shape[k]!;
      idx[k] = 0;
    }
  }
  return out;
};

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
/** float32 → IEEE half bits, round to nearest even. */
const floatToHalf = (x: number): number => {
  f32[0] = x;
  const b = u32[0]!;
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 112;
  if (e >= 31) return sign | 0x7c00;
  let shift = 13;
  let half = (e << 10) | (mant >> 13);
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    shift = 14 - e;
    half = mant >> shift;
  }
  const rem = mant & ((1 << shift) - 1);
  const mid = 1 << (shift - 1);
  if (rem > mid || (rem === mid && half & 1)) half++;
  return sign | half;
};

const shapeRepr = (shape: readonly number[]): string => (shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`);

// ---------------------------------------------------------------- reader

/**
 * What a `.npy` header says, checked against the file's length: `dataOffset` is where the data
 * starts, and the `count` items of `itemSize` bytes after it are exactly the rest of the file.
 * `littleEndian` is the byte order of the stored items (true for one-byte types), `fortranOrder`
 * whether they are stored in Fortran (column-major) order. `file` names the file in messages.
 *
 * @example
 * const h: NpyHeader = readNpyHeader((o, n) => bytes.subarray(o, o + n), bytes.length, 'x.npy')
 * @since 0.2.0
 */
export interface NpyHeader {
  readonly file: string;
  readonly dtype: NpyDType;
  readonly shape: readonly number[];
  readonly fortranOrder: boolean;
  readonly littleEndian: boolean;
  readonly itemSize: number;
  readonly dataOffset: number;
  readonly count: number;
}

/**
 * Reads and checks a `.npy` preamble and header without touching the data: `read(offset, length)`
 * returns that many bytes of the file starting at `offset` (it is only asked for ranges inside
 * `fileLength`), so a caller can read the header of a large file first and the data later, in
 * chunks. Throws {@link FormatError} for everything {@link readNpy} rejects in a header, and when
 * the bytes after the header are not exactly shape × item size; nothing is allocated beyond the
 * preamble and the header's own bytes.
 *
 * @example
 * const h = readNpyHeader((o, n) => bytes.subarray(o, o + n), bytes.length, 'x.npy')
 * @since 0.2.0
 */
export const readNpyHeader = (read: (offset: number, length: number) => Uint8Array, fileLength: number, file: string): NpyHeader => {
  const bad = (problem: string): never => {
    throw new FormatError(file, problem);
  };
  const take = (offset: number, length: number): Uint8Array => {
    const b = read(offset, length);
    if (b.length !== length) bad(`truncated: could read only ${b.length} of ${length} bytes at offset ${offset}`);
    return b;
  };
  const pre = take(0, Math.min(fileLength, 12));
  for (let k = 0; k < MAGIC.length; k++)
    if (k >= pre.length || pre[k] !== MAGIC[k])
      bad(
        k >= pre.length
          ? `truncated: ${fileLength} bytes is too short for the npy magic`
          : `bad magic: expected \\x93NUMPY, got ${JSON.stringify(String.fromCharCode(...pre.subarray(0, 6)))}`,
      );
  if (fileLength < 10) bad(`truncated header: ${fileLength} bytes is too short for an npy preamble`);
  const [major, minor] = [pre[6]!, pre[7]!];
  if (major < 1 || major > 3 || minor !== 0) bad(`unsupported npy format version ${major}.${minor} (expected 1.0, 2.0 or 3.0)`);
  const lenSize = major === 1 ? 2 : 4;
  if (fileLength < 8 + lenSize) bad(`truncated header: ${fileLength} bytes is too short for a version ${major}.0 preamble`);
  const view = new DataView(pre.buffer, pre.byteOffset, pre.byteLength);
  const hlen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = 8 + lenSize + hlen;
  if (start > fileLength) bad(`header length ${hlen} extends beyond the file (${fileLength - 8 - lenSize} bytes follow the preamble)`);
  const raw = take(8 + lenSize, hlen);
  let text = '';
  if (major === 3)
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
    } catch {
      bad('header is not valid UTF-8');
    }
  else for (let k = 0; k < raw.length; k += 4096) text += String.fromCharCode(...raw.subarray(k, k + 4096));

  const header = parseLiteral(text, file);
  if (!(header instanceof Map)) return bad(`header is not a dictionary: ${pyRepr(header).slice(0, 80)}`);
  for (const key of ['descr', 'fortran_order', 'shape']) if (!header.has(key)) bad(`header is missing key '${key}'`);
  for (const key of header.keys()) if (!['descr', 'fortran_order', 'shape'].includes(key)) bad(`header has unexpected key '${key}'`);
  const descr = header.get('descr')!;
  const fortran = header.get('fortran_order')!;
  const shapeV = header.get('shape')!;

  if (typeof descr !== 'string') return bad(`unsupported dtype: descr ${pyRepr(descr).slice(0, 80)} is not a simple type string`);
  const dm = /^([<>|=])([a-zA-Z]\d+)$/.exec(descr);
  const dtype = dm === null ? undefined : DTYPES[dm[2]!];
  if (dm === null || dtype === undefined) return bad(`unsupported dtype '${descr}'`);
  const size = ELEMENT_TYPES[dtype].size;
  if (size > 1 && dm[1] !== '<' && dm[1] !== '>') bad(`unsupported dtype '${descr}': a ${size}-byte type needs byte order '<' or '>'`);
  if (typeof fortran !== 'boolean') return bad(`fortran_order must be True or False, got ${pyRepr(fortran)}`);

  if (!isTuple(shapeV)) return bad(`shape must be a tuple, got ${pyRepr(shapeV).slice(0, 80)}`);
  if (shapeV.tuple.length > MAX_DIMS) bad(`shape has ${shapeV.tuple.length} dimensions (at most ${MAX_DIMS})`);
  const shape = shapeV.tuple.map((d) => {
    if (typeof d !== 'bigint') return bad(`shape entry ${pyRepr(d).slice(0, 40)} is not an integer`);
    if (d < 0n) bad(`shape entry ${d} is negative`);
    if (d > BigInt(Number.MAX_SAFE_INTEGER)) bad(`shape entry ${d} is absurdly large`);
    return Number(d);
  });
  // Exact (BigInt) product: a shape whose element count overflows can never match the bytes present.
  const expected = shape.reduce((n, d) => n * BigInt(d), BigInt(size));
  const actual = fileLength - start;
  if (expected !== BigInt(actual))
    bad(
      `data is ${actual} bytes but shape ${shapeRepr(shape)} of ${dtype} needs ${expected} bytes (${actual < expected ? 'truncated' : 'trailing bytes'})`,
    );
  return {
    file,
    dtype,
    shape,
    fortranOrder: fortran,
    littleEndian: dm[1] !== '>',
    itemSize: size,
    dataOffset: start,
    count: actual / size,
  };
};

/** A fresh copy of a byte range: never a view of the caller's memory (a Buffer's `slice` would be one). */
const copyBytes = (src: Uint8Array): Uint8Array<ArrayBuffer> => {
  const out = new Uint8Array(src.length);
  out.set(src);
  return out;
};

/**
 * Reads a `.npy` file. `file` names it in error messages. Throws {@link FormatError} on bad
 * magic, unsupported versions, truncated or unparsable headers, missing or unexpected keys, bad
 * shapes, unsupported dtypes (complex, structured, strings, uint64, ...), int64 values outside
 * int32, bool bytes other than 0/1, and data sizes that disagree with the shape.
 *
 * `bytes` may be any view (a Node Buffer, a `subarray` at any byte offset): only its own bytes are
 * read, they are never written, and the returned data is a fresh array that shares no memory
 * with them.
 *
 * @example
 * import { readFileSync } from 'node:fs'
 * const { shape, data } = readNpy(readFileSync('x.npy'), 'x.npy')
 * @since 0.1.0
 */
export const readNpy = (bytes: Uint8Array, file: string): NpyArray => {
  const bad = (problem: string): never => {
    throw new FormatError(file, problem);
  };
  const h = readNpyHeader((o, n) => bytes.subarray(o, o + n), bytes.length, file);
  const { dtype, shape, itemSize: size, count: n } = h;
  const src = bytes.subarray(h.dataOffset);
  const body = h.fortranOrder && shape.length > 1 ? fortranToC(src, size, shape) : copyBytes(src);
  if (h.littleEndian !== HOST_LE) swapBytes(body, size);
  const buf = body.buffer;
  switch (dtype) {
    case 'float16': {
      const bits = new Uint16Array(buf, 0, n);
      const data = new Float32Array(n);
      for (let k = 0; k < n; k++) data[k] = halfToFloat(bits[k]!);
      return { dtype, shape, data };
    }
    case 'int64': {
      const words = new Int32Array(buf, 0, 2 * n);
      const [lo, hi] = HOST_LE ? [0, 1] : [1, 0];
      const data = new Int32Array(n);
      for (let k = 0; k < n; k++) {
        const v = words[2 * k + lo]!;
        if (words[2 * k + hi] !== v >> 31) bad(`int64 value ${new BigInt64Array(buf, 8 * k, 1)[0]} at index ${k} does not fit in int32`);
        data[k] = v;
      }
      return { dtype, shape, data };
    }
    case 'bool': {
      for (let k = 0; k < n; k++) if (body[k]! > 1) bad(`bool value ${body[k]} at index ${k} is not 0 or 1`);
      return { dtype, shape, data: body };
    }
    case 'uint8':
      return { dtype, shape, data: body };
    default:
      return { dtype, shape, data: new VIEWS[dtype](buf, 0, n) } as NpyArray;
  }
};

/**
 * Converts a run of a `.npy` file's data to float32, in place in the whole array `out` (length
 * `header.count`, C order): `bytes` holds whole items in the file's own order (C or Fortran) and
 * byte order, starting at item `first`, so a large file can be converted chunk by chunk as it is
 * read. `bytes` may be any view; it is only read. Values round to the nearest float32 (float16
 * widens exactly); int64 values outside int32 and bool bytes other than 0/1 throw a
 * {@link FormatError} naming `header.file` and the C-order index, as {@link readNpy} does. A
 * chunk that is not whole items or runs past the array throws a {@link ConfigError}.
 *
 * @example
 * const out = new Float32Array(h.count)
 * decodeNpyFloat32(h, bytes.subarray(h.dataOffset), 0, out)
 * @since 0.2.0
 */
export const decodeNpyFloat32 = (header: NpyHeader, bytes: Uint8Array, first: number, out: Float32Array): void => {
  const { itemSize: size, shape, littleEndian: le, file } = header;
  if (out.length !== header.count)
    throw new ConfigError('decodeNpyFloat32 out.length', out.length, `must be the header's count ${header.count}`);
  if (bytes.length % size !== 0)
    throw new ConfigError('decodeNpyFloat32 bytes.length', bytes.length, `must be a whole number of ${size}-byte items`);
  const n = bytes.length / size;
  if (!Number.isSafeInteger(first) || first < 0 || first + n > header.count)
    throw new ConfigError('decodeNpyFloat32 first', first, `items [${first}, ${first + n}) must lie in [0, ${header.count}]`);
  if (n === 0) return;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const value = ((): ((o: number, at: number) => number) => {
    switch (header.dtype) {
      case 'float16':
        return (o) => halfToFloat(v.getUint16(o, le));
      case 'float32':
        return (o) => v.getFloat32(o, le);
      case 'float64':
        return (o) => v.getFloat64(o, le);
      case 'int8':
        return (o) => v.getInt8(o);
      case 'int16':
        return (o) => v.getInt16(o, le);
      case 'int32':
        return (o) => v.getInt32(o, le);
      case 'uint8':
        return (o) => bytes[o]!;
      case 'uint16':
        return (o) => v.getUint16(o, le);
      case 'uint32':
        return (o) => v.getUint32(o, le);
      case 'int64':
        return (o, at) => {
          const x = v.getBigInt64(o, le);
          if (x < -2147483648n || x > 2147483647n) throw new FormatError(file, `int64 value ${x} at index ${at} does not fit in int32`);
          return Number(x);
        };
      case 'bool':
        return (o, at) => {
          const b = bytes[o]!;
          if (b > 1) throw new FormatError(file, `bool value ${b} at index ${at} is not 0 or 1`);
          return b;
        };
    }
  })();
  if (!header.fortranOrder || shape.length < 2) {
    if (header.dtype === 'uint8') for (let k = 0; k < n; k++) out[first + k] = bytes[k]!;
    else if (header.dtype === 'float32' && le === HOST_LE && bytes.byteOffset % 4 === 0)
      out.set(new Float32Array(bytes.buffer, bytes.byteOffset, n), first);
    else for (let k = 0; k < n; k++) out[first + k] = value(k * size, first + k);
    return;
  }
  // Fortran order: the first axis varies fastest in the file. Walk the multi-index like an odometer.
  const nd = shape.length;
  const cStride = new Array<number>(nd);
  for (let k = nd - 1, s = 1; k >= 0; s *= shape[k]!, k--) cStride[k] = s;
  const idx = new Array<number>(nd);
  let c = 0;
  for (let k = 0, rest = first; k < nd; k++) {
    idx[k] = rest % shape[k]!;
    rest = Math.floor(rest / shape[k]!);
    c += idx[k]! * cStride[k]!;
  }
  for (let k = 0; k < n; k++) {
    out[c] = value(k * size, c);
    for (let a = 0; a < nd; a++) {
      c += cStride[a]!;
      if (++idx[a]! < shape[a]!) break;
      c -= cStride[a]! * shape[a]!;
      idx[a] = 0;
    }
  }
};

/**
 * Reads a `.npy` file of any supported numeric dtype and converts its values to float32, straight
 * from the file's bytes (no intermediate copy). `bytes` may be any view; it is only read, and the
 * result never shares memory with it.
 *
 * @example
 * const { shape, data } = readNpyFloat32(bytes, 'weights.npy')
 * @since 0.1.0
 */
export const readNpyFloat32 = (bytes: Uint8Array, file: string): { readonly shape: readonly number[]; readonly data: Float32Array } => {
  const h = readNpyHeader((o, n) => bytes.subarray(o, o + n), bytes.length, file);
  const data = new Float32Array(h.count);
  decodeNpyFloat32(h, bytes.subarray(h.dataOffset), 0, data);
  return { shape: h.shape, data };
};

// ---------------------------------------------------------------- writer

const naturalDType = (data: NpyInput['data']): NpyDType =>
  (Object.keys(VIEWS) as (keyof typeof VIEWS)[]).find((d) => data instanceof VIEWS[d]) ?? 'uint8';

const WIDENED: Partial<Record<NpyDType, NpyDType>> = { float16: 'float32', int64: 'int32', bool: 'uint8' };

/**
 * Writes an array as `.npy` bytes exactly as `np.save` does for a C-order little-endian array:
 * version 1.0 (2.0 if the header outgrows a u16), NumPy's growth-axis spare spaces, and a header
 * padded with spaces and a final `'\n'` so that the preamble is a multiple of 64 bytes. Throws
 * {@link ConfigError} when the shape disagrees with the data or `dtype` with the array type.
 *
 * @example
 * writeNpy({ shape: [2, 3], data: Float32Array.from([0, 1, 2, 3, 4, 5]) })
 * @since 0.1.0
 */
export const writeNpy = (arr: NpyInput): Uint8Array => {
  const { shape, data } = arr;
  const natural = naturalDType(data);
  const dtype = arr.dtype ?? natural;
  if (dtype !== natural && WIDENED[dtype] !== natural)
    throw new ConfigError('npy dtype', dtype, `does not match data of type ${data.constructor.name}`);
  if (!Array.isArray(shape) || shape.length > MAX_DIMS || !shape.every((d) => Number.isSafeInteger(d) && d >= 0))
    throw new ConfigError('npy shape', shape, `must be at most ${MAX_DIMS} non-negative integers`);
  const count = shape.reduce((n, d) => n * d, 1);
  if (count !== data.length) throw new ConfigError('npy shape', shape, `holds ${count} elements but data has ${data.length}`);
  const size = ELEMENT_TYPES[dtype].size;

  let body: Uint8Array;
  if (dtype === 'float16') {
    body = new Uint8Array(Uint16Array.from(data, floatToHalf).buffer);
  } else if (dtype === 'int64') {
    body = new Uint8Array(8 * count);
    const v = new DataView(body.buffer);
    for (let k = 0; k < count; k++) {
      v.setInt32(8 * k, data[k]!, true);
      v.setInt32(8 * k + 4, data[k]! < 0 ? -1 : 0, true);
    }
  } else {
    if (dtype === 'bool')
      for (let k = 0; k < count; k++)
        if (data[k] !== 0 && data[k] !== 1) throw new ConfigError(`npy data[${k}]`, data[k], 'bool values must be 0 or 1');
    body = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }
  if (!HOST_LE && size > 1 && dtype !== 'int64') {
    body = body.slice();
    swapBytes(body, size);
  }

  const dict = `{'descr': '${DESCR[dtype]}', 'fortran_order': False, 'shape': ${shapeRepr(shape)}, }`;
  const header = dict + ' '.repeat(shape.length > 0 ? Math.max(0, 21 - String(shape[0]).length) : 0);
  const hlen = header.length + 1;
  // Like numpy: pad to a multiple of 64 (a full 64 when already aligned); version 2.0 only if a u16 cannot hold it.
  const major = hlen + 64 - ((10 + hlen) % 64) > 0xffff ? 2 : 1;
  const pre = 8 + (major === 1 ? 2 : 4);
  const padded = hlen + 64 - ((pre + hlen) % 64);
  const out = new Uint8Array(pre + padded + body.length);
  out.set(MAGIC);
  out[6] = major;
  const view = new DataView(out.buffer);
  if (major === 1) view.setUint16(8, padded, true);
  else view.setUint32(8, padded, true);
  for (let k = 0; k < header.length; k++) out[pre + k] = header.charCodeAt(k);
  out.fill(0x20, pre + header.length, pre + padded - 1);
  out[pre + padded - 1] = 0x0a;
  out.set(body, pre + padded);
  return out;
};

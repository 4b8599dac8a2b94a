/**
 * safetensors files in plain TypeScript (no Node APIs): a strict reader and a writer that lays
 * tensors out in the given order, as the reference implementation's format describes.
 *
 * Layout: an 8-byte little-endian u64 header length N, N bytes of UTF-8 JSON mapping tensor names
 * to `{ dtype, shape, data_offsets: [begin, end] }` (offsets relative to the byte buffer) plus an
 * optional `__metadata__` string map, then the byte buffer, which tensors must cover exactly.
 *
 * @since 0.1.0
 */
import { ConfigError, FormatError } from '../core/errors.js';
import { ELEMENT_TYPES, halfToFloat, HOST_LE, type ElementType } from './dtypes.js';

/** In-memory representation of each dtype; F16 and BF16 keep their raw 16-bit patterns. */
export interface SafeDataMap {
  F64: Float64Array;
  F32: Float32Array;
  F16: Uint16Array;
  BF16: Uint16Array;
  I64: BigInt64Array;
  I32: Int32Array;
  I16: Int16Array;
  I8: Int8Array;
  U64: BigUint64Array;
  U32: Uint32Array;
  U16: Uint16Array;
  U8: Uint8Array;
  BOOL: Uint8Array;
}

/**
 * A safetensors dtype supported here (the FP8 types are rejected).
 *
 * @example
 * const d: SafeDType = 'BF16'
 * @since 0.1.0
 */
export type SafeDType = keyof SafeDataMap;

/**
 * One tensor: `data` holds its values in C order, in the typed array of its dtype (F16/BF16 as
 * raw bits in a Uint16Array, I64/U64 as BigInt arrays, BOOL as a Uint8Array of 0/1).
 *
 * @example
 * const t: SafeTensor = { dtype: 'F32', shape: [2], data: Float32Array.of(1, 2) }
 * @since 0.1.0
 */
export type SafeTensor = {
  [D in SafeDType]: { readonly dtype: D; readonly shape: readonly number[]; readonly data: SafeDataMap[D] };
}[SafeDType];

/**
 * A parsed safetensors file: tensors in buffer order, and the `__metadata__` string map.
 *
 * @example
 * const { tensors, metadata } = readSafetensors(bytes, 'model.safetensors')
 * @since 0.1.0
 */
export interface Safetensors {
  readonly tensors: Map<string, SafeTensor>;
  readonly metadata: Record<string, string>;
}

/** The element type each dtype name stands for, in the order error messages list them. */
const ELEMENTS = {
  F64: 'float64',
  F32: 'float32',
  F16: 'float16',
  BF16: 'bfloat16',
  I64: 'int64',
  I32: 'int32',
  I16: 'int16',
  I8: 'int8',
  U64: 'uint64',
  U32: 'uint32',
  U16: 'uint16',
  U8: 'uint8',
  BOOL: 'bool',
} as const satisfies Record<SafeDType, ElementType>;
/** Item size in bytes of a dtype. */
const sizeOf = (dtype: SafeDType): number => ELEMENT_TYPES[ELEMENTS[dtype]].size;
/** The reference implementation's limit on the header size. */
const MAX_HEADER = 100_000_000;

const isDType = (d: unknown): d is SafeDType => typeof d === 'string' && Object.prototype.hasOwnProperty.call(ELEMENTS, d);

/**
 * Copies little-endian bytes into a fresh aligned buffer in host order. (Not `src.slice()`: on a
 * Node Buffer that is a view sharing the caller's memory, not a copy.)
 */
const hostCopy = (src: Uint8Array, size: number): Uint8Array<ArrayBuffer> => {
  const b = new Uint8Array(src.length);
  b.set(src);
  if (!HOST_LE && size > 1) for (let o = 0; o < b.length; o += size) b.subarray(o, o + size).reverse();
  return b;
};

const makeTensor = (dtype: SafeDType, shape: number[], bytes: Uint8Array): SafeTensor => {
  const buf = hostCopy(bytes, sizeOf(dtype)).buffer;
  switch (dtype) {
    case 'F64':
      return { dtype, shape, data: new Float64Array(buf) };
    case 'F32':
      return { dtype, shape, data: new Float32Array(buf) };
    case 'F16':
    case 'BF16':
    case 'U16':
      return { dtype, shape, data: new Uint16Array(buf) };
    case 'I64':
      return { dtype, shape, data: new BigInt64Array(buf) };
    case 'I32':
      return { dtype, shape, data: new Int32Array(buf) };
    case 'I16':
      return { dtype, shape, data: new Int16Array(buf) };
    case 'I8':
      return { dtype, shape, data: new Int8Array(buf) };
    case 'U64':
      return { dtype, shape, data: new BigUint64Array(buf) };
    case 'U32':
      return { dtype, shape, data: new Uint32Array(buf) };
    case 'U8':
    case 'BOOL':
      return { dtype, shape, data: new Uint8Array(buf) };
  }
};

/** Element count, or Infinity once it exceeds `cap` (no huge intermediate values). */
const countUpTo = (shape: readonly number[], cap: number): number => {
  if (shape.includes(0)) return 0;
  let n = 1;
  for (const d of shape) if ((n *= d) > cap) return Infinity;
  return n;
};

/** A tensor name for messages, cut short if a hostile file made it huge. */
const label = (name: string): string => JSON.stringify(name.length > 80 ? `${name.slice(0, 80)}...` : name);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Reads a safetensors file. `file` names it in error messages. Throws {@link FormatError} (naming
 * the tensor where one is at fault) for: a file under 8 bytes; a header length beyond the file or
 * over 100 MB ("oversized header"); a header that is not UTF-8 JSON of an object; entries missing
 * or mistyping `dtype`/`shape`/`data_offsets`; unknown dtypes; shapes that are not non-negative
 * integers; offsets outside `0 <= begin <= end <= buffer length`; byte sizes that disagree with
 * shape × dtype size; overlapping offsets; buffer bytes no tensor covers; non-string metadata;
 * BOOL bytes other than 0/1. Unknown keys inside an entry are ignored, as the reference does.
 *
 * `bytes` may be any view (a Node Buffer, a `subarray` at any byte offset): only its own bytes are
 * read, they are never written, and every tensor's data is a fresh array sharing no memory with them.
 *
 * @example
 * const { tensors } = readSafetensors(bytes, 'model.safetensors')
 * @since 0.1.0
 */
export const readSafetensors = (bytes: Uint8Array, file: string): Safetensors => {
  const bad = (problem: string): never => {
    throw new FormatError(file, problem);
  };
  if (bytes.length < 8) bad(`file is ${bytes.length} bytes, shorter than the 8-byte header length`);
  const n = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER)) bad(`oversized header: header length ${n} exceeds the ${MAX_HEADER}-byte limit`);
  if (n > BigInt(bytes.length - 8)) bad(`header length ${n} extends beyond the file (${bytes.length - 8} bytes follow the length)`);
  const start = 8 + Number(n);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, start)));
  } catch (e) {
    bad(`header is not valid UTF-8 JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!isObject(header)) return bad('header is not a JSON object');
  const size = bytes.length - start;

  const metadata: Record<string, string> = {};
  const entries: { name: string; dtype: SafeDType; dims: number[]; begin: number; end: number }[] = [];
  for (const [name, e] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (e === null) continue;
      if (!isObject(e)) return bad('__metadata__ is not an object');
      for (const [k, v] of Object.entries(e)) {
        if (typeof v !== 'string') bad(`metadata value for key ${label(k)} is not a string`);
        Object.defineProperty(metadata, k, { value: v, enumerable: true, writable: true, configurable: true });
      }
      continue;
    }
    const at = `tensor ${label(name)}`;
    if (!isObject(e)) return bad(`${at}: entry is not an object`);
    const { dtype, shape, data_offsets: offsets } = e;
    if (dtype === undefined || shape === undefined || offsets === undefined)
      bad(`${at}: entry is missing ${dtype === undefined ? 'dtype' : shape === undefined ? 'shape' : 'data_offsets'}`);
    if (typeof dtype !== 'string') return bad(`${at}: dtype is not a string`);
    if (!isDType(dtype)) return bad(`${at}: unknown or unsupported dtype ${JSON.stringify(dtype)}`);
    if (!Array.isArray(shape)) return bad(`${at}: shape is not an array`);
    const dims: number[] = shape.map((d: unknown) =>
      typeof d === 'number' && Number.isSafeInteger(d) && d >= 0
        ? d
        : bad(`${at}: shape entry ${String(JSON.stringify(d)).slice(0, 40)} is not a non-negative integer`),
    );
    if (!Array.isArray(offsets) || offsets.length !== 2) return bad(`${at}: data_offsets is not a [begin, end] pair`);
    const [begin, end]: unknown[] = offsets;
    if (!Number.isSafeInteger(begin) || !Number.isSafeInteger(end))
      return bad(`${at}: data_offsets ${JSON.stringify(offsets).slice(0, 80)} are not safe integers`);
    const [b, en] = [begin as number, end as number];
    if (!(0 <= b && b <= en && en <= size))
      bad(`${at}: data_offsets [${b}, ${en}] do not satisfy 0 <= begin <= end <= ${size} (the buffer length)`);
    const count = countUpTo(dims, size);
    const need = count * sizeOf(dtype);
    if (need !== en - b)
      bad(
        `${at}: data_offsets span ${en - b} bytes but shape [${dims.join(', ')}] of ${dtype} needs ${count === Infinity ? `more than ${size}` : need}`,
      );
    entries.push({ name, dtype, dims, begin: b, end: en });
  }

  entries.sort((x, y) => x.begin - y.begin || x.end - y.end);
  let pos = 0;
  let prev = '';
  for (const { name, begin, end } of entries) {
    if (begin < pos) bad(`tensors ${label(prev)} and ${label(name)} have overlapping offsets`);
    if (begin > pos) bad(`buffer bytes [${pos}, ${begin}) are not covered by any tensor (holes are not allowed)`);
    pos = end;
    prev = name;
  }
  if (pos !== size) bad(`buffer bytes [${pos}, ${size}) are not covered by any tensor (holes are not allowed)`);
  // Only now, with the ranges known to tile the buffer, is anything copied.
  const tensors = new Map<string, SafeTensor>();
  for (const { name, dtype, dims, begin, end } of entries) {
    const t = makeTensor(dtype, dims, bytes.subarray(start + begin, start + end));
    if (t.dtype === 'BOOL') {
      const k = t.data.findIndex((x) => x > 1);
      if (k >= 0) bad(`tensor ${label(name)}: BOOL value ${t.data[k]} at index ${k} is not 0 or 1`);
    }
    tensors.set(name, t);
  }
  return { tensors, metadata };
};

/**
 * Converts a tensor's values to float32: F16 and BF16 decode their bits, the other types round
 * to the nearest float32 (F32 data is returned as is, not copied).
 *
 * @example
 * toFloat32({ dtype: 'BF16', shape: [1], data: Uint16Array.of(0x3f80) }) // Float32Array [1]
 * @since 0.1.0
 */
export const toFloat32 = (t: SafeTensor): Float32Array => {
  if (t.dtype === 'F32') return t.data;
  const n = t.data.length;
  const out = new Float32Array(n);
  switch (t.dtype) {
    case 'F16':
      for (let k = 0; k < n; k++) out[k] = halfToFloat(t.data[k]!);
      break;
    case 'BF16': {
      const bits = new Uint32Array(out.buffer);
      for (let k = 0; k < n; k++) bits[k] = t.data[k]! << 16;
      break;
    }
    case 'I64':
    case 'U64':
      for (let k = 0; k < n; k++) out[k] = Number(t.data[k]!);
      break;
    default:
      out.set(t.data);
  }
  return out;
};

/**
 * Writes tensors (a Map or `[name, tensor]` pairs, laid out in that order) and optional string
 * metadata as safetensors bytes, the JSON header padded with spaces to a multiple of 8 bytes.
 * Throws {@link ConfigError} for duplicate or reserved names, unknown dtypes, data arrays of the
 * wrong type or length, bad shapes, BOOL values other than 0/1, and non-string metadata.
 *
 * @example
 * writeSafetensors([['w', { dtype: 'F32', shape: [2], data: Float32Array.of(1, 2) }]], { format: 'pt' })
 * @since 0.1.0
 */
export const writeSafetensors = (
  tensors: ReadonlyMap<string, SafeTensor> | readonly (readonly [string, SafeTensor])[],
  metadata?: Record<string, string>,
): Uint8Array => {
  const parts: string[] = [];
  if (metadata !== undefined && Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata))
      if (typeof v !== 'string') throw new ConfigError(`metadata[${JSON.stringify(k)}]`, v, 'metadata values must be strings');
    parts.push(`"__metadata__":${JSON.stringify(metadata)}`);
  }
  const seen = new Set<string>();
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of tensors) {
    if (seen.has(name)) throw new ConfigError('tensor name', name, 'duplicate tensor name');
    if (name === '__metadata__') throw new ConfigError('tensor name', name, 'is reserved for metadata');
    seen.add(name);
    const { dtype, shape, data } = t;
    if (!isDType(dtype)) throw new ConfigError(`${name}.dtype`, dtype, `must be one of ${Object.keys(ELEMENTS).join(', ')}`);
    const array = ELEMENT_TYPES[ELEMENTS[dtype]].array;
    if (!(data instanceof array))
      throw new ConfigError(`${name}.data`, Object.prototype.toString.call(data), `${dtype} needs a ${array.name}`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0))
      throw new ConfigError(`${name}.shape`, shape, 'entries must be non-negative integers');
    const count = countUpTo(shape, Number.MAX_SAFE_INTEGER);
    if (count !== data.length) throw new ConfigError(`${name}.data.length`, data.length, `shape [${shape.join(', ')}] needs ${count}`);
    const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (dtype === 'BOOL' && raw.some((x) => x > 1)) throw new ConfigError(`${name}.data`, 'BOOL', 'values must be 0 or 1');
    chunks.push(HOST_LE ? raw : hostCopy(raw, sizeOf(dtype)));
    parts.push(`${JSON.stringify(name)}:${JSON.stringify({ dtype, shape, data_offsets: [offset, offset + raw.length] })}`);
    offset += raw.length;
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const n = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + n + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(n), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + n);
  let o = 8 + n;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
};

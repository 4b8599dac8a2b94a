// Random arrays and tensors of every dtype, from random bytes (every float bit pattern, NaNs
// included): what the .npy and safetensors readers are property-tested on.
import fc from 'fast-check';
import type { NpyDType, NpyInput } from '../../src/io/npy.js';
import type { SafeDType, SafeTensor } from '../../src/io/safetensors.js';

/** The product of a shape's dimensions. */
export const product = (shape: readonly number[]): number => shape.reduce((n, d) => n * d, 1);

/** The bytes a typed array views, as numbers. */
export const bytesOf = (a: ArrayBufferView): number[] => Array.from(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));

/** Bytes per item of each .npy dtype on disk. */
export const NPY_SIZE: Record<NpyDType, number> = {
  float16: 2,
  float32: 4,
  float64: 8,
  int8: 1,
  int16: 2,
  int32: 4,
  int64: 8,
  uint8: 1,
  uint16: 2,
  uint32: 4,
  bool: 1,
};

const half = (h: number): number => {
  const e = (h >> 10) & 31;
  const s = h & 0x8000 ? -1 : 1;
  if (e === 0) return s * (h & 1023) * 2 ** -24;
  if (e === 31) return h & 1023 ? NaN : s * Infinity;
  return s * (1 + (h & 1023) / 1024) * 2 ** (e - 15);
};

/** Random arrays of every dtype from random bytes (every float bit pattern, NaNs included). */
export const arbNpy: fc.Arbitrary<NpyInput & { dtype: NpyDType }> = fc
  .record({
    dtype: fc.constantFrom(...(Object.keys(NPY_SIZE) as NpyDType[])),
    shape: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 4 }),
  })
  .chain(({ dtype, shape }) => {
    const n = product(shape);
    const item = dtype === 'int64' ? 4 : NPY_SIZE[dtype];
    return fc.uint8Array({ minLength: n * item, maxLength: n * item }).map((b) => {
      const buf = b.slice().buffer;
      const data: NpyInput['data'] =
        dtype === 'float16'
          ? Float32Array.from(new Uint16Array(buf), half)
          : dtype === 'float32'
            ? new Float32Array(buf)
            : dtype === 'float64'
              ? new Float64Array(buf)
              : dtype === 'int8'
                ? new Int8Array(buf)
                : dtype === 'int16'
                  ? new Int16Array(buf)
                  : dtype === 'int32' || dtype === 'int64'
                    ? new Int32Array(buf)
                    : dtype === 'uint16'
                      ? new Uint16Array(buf)
                      : dtype === 'uint32'
                        ? new Uint32Array(buf)
                        : dtype === 'bool'
                          ? b.map((x) => x & 1)
                          : b;
      return { dtype, shape, data };
    });
  });

/**
 * The same array as writeNpy writes it, but stored big-endian and/or in Fortran order: the header
 * is edited in place (same length) and the items are reordered and byte-swapped.
 */

/** Bytes per item of each safetensors dtype. */
export const ST_SIZE: Record<SafeDType, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U64: 8,
  U32: 4,
  U16: 2,
  U8: 1,
  BOOL: 1,
};
/** A tensor's data of a dtype from raw bytes. */
export const stData = (dtype: SafeDType, b: Uint8Array): SafeTensor['data'] => {
  const buf = b.slice().buffer;
  switch (dtype) {
    case 'F64':
      return new Float64Array(buf);
    case 'F32':
      return new Float32Array(buf);
    case 'F16':
    case 'BF16':
    case 'U16':
      return new Uint16Array(buf);
    case 'I64':
      return new BigInt64Array(buf);
    case 'I32':
      return new Int32Array(buf);
    case 'I16':
      return new Int16Array(buf);
    case 'I8':
      return new Int8Array(buf);
    case 'U64':
      return new BigUint64Array(buf);
    case 'U32':
      return new Uint32Array(buf);
    case 'U8':
      return new Uint8Array(buf);
    case 'BOOL':
      return b.map((x) => x & 1);
  }
};
/** A random tensor of any dtype. */
export const arbTensor: fc.Arbitrary<SafeTensor> = fc
  .record({
    dtype: fc.constantFrom(...(Object.keys(ST_SIZE) as SafeDType[])),
    shape: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 }),
  })
  .chain(({ dtype, shape }) => {
    const n = product(shape) * ST_SIZE[dtype];
    return fc.uint8Array({ minLength: n, maxLength: n }).map((b) => ({ dtype, shape, data: stData(dtype, b) }) as SafeTensor);
  });
/** Up to five uniquely named random tensors. */
export const arbTensors = fc.uniqueArray(fc.tuple(fc.string({ maxLength: 8 }), arbTensor), { selector: ([name]) => name, maxLength: 5 });

/** An IDX file of unsigned bytes, as the format writes it. */
export const encodeIdx = (dims: readonly number[], data: Uint8Array): Uint8Array => {
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  out[2] = 8;
  out[3] = dims.length;
  const view = new DataView(out.buffer);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(data, 4 + 4 * dims.length);
  return out;
};

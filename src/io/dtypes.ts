/**
 * The element types that tensor files store, in one table shared by the `.npy` and safetensors
 * readers and writers: each type's item size in bytes and the typed array that holds its raw
 * values in host byte order. Each format keeps its own names as a mapping onto this table (npy
 * `'<f4'` and safetensors `'F32'` are both `float32`); what a format then makes of the raw
 * values (npy widens float16 to float32 and narrows int64 to int32) stays with that format.
 *
 * @since 0.2.0
 */

/**
 * Each stored element type: `size` in bytes and the typed array of its raw values. float16 and
 * bfloat16 are their 16-bit patterns in a Uint16Array, 64-bit integers BigInt arrays, bool one
 * byte of 0/1 in a Uint8Array.
 */
export const ELEMENT_TYPES = {
  float64: { size: 8, array: Float64Array },
  float32: { size: 4, array: Float32Array },
  float16: { size: 2, array: Uint16Array },
  bfloat16: { size: 2, array: Uint16Array },
  int64: { size: 8, array: BigInt64Array },
  int32: { size: 4, array: Int32Array },
  int16: { size: 2, array: Int16Array },
  int8: { size: 1, array: Int8Array },
  uint64: { size: 8, array: BigUint64Array },
  uint32: { size: 4, array: Uint32Array },
  uint16: { size: 2, array: Uint16Array },
  uint8: { size: 1, array: Uint8Array },
  bool: { size: 1, array: Uint8Array },
} as const;

/** The name of an element type in {@link ELEMENT_TYPES}. */
export type ElementType = keyof typeof ELEMENT_TYPES;

/** Whether this machine stores multi-byte numbers little-endian (both formats store them so). */
export const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The value of IEEE 754 half-precision bits `h` (subnormals, infinities and NaN included). */
export const halfToFloat = (h: number): number => {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
};

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);

/**
 * The IEEE 754 half-precision bits nearest to `v` (rounded to float32 first; ties to even;
 * overflow to infinity, NaN kept NaN): the inverse of {@link halfToFloat} on every half value.
 *
 * @example
 * floatToHalf(1) // 0x3c00
 * @since 0.2.0
 */
export const floatToHalf = (v: number): number => {
  F32[0] = v;
  const x = U32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 112; // the half-precision exponent field
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++; // a carry into the exponent is right (up to infinity)
  return sign | h;
};

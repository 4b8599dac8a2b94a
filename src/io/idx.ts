/**
 * The IDX format of MNIST and Fashion-MNIST: two zero bytes, a type byte (0x08: unsigned byte),
 * the number of dimensions, each dimension as a big-endian uint32, then the data, row-major.
 * Only unsigned-byte files exist in those data sets, so only they are read; every other type is
 * a {@link FormatError}. The decoder is exact about length: the data must be exactly the bytes
 * the dimensions say, so a truncated or padded file is refused, naming the file.
 *
 * @since 0.2.0
 */
import { FormatError } from '../core/errors.js';

/**
 * A decoded IDX file: its dimensions and its bytes (a view of the input, not a copy).
 *
 * @since 0.2.0
 */
export interface Idx {
  readonly dims: readonly number[];
  readonly data: Uint8Array;
}

/** Dimensions an IDX header may declare (MNIST's images have 3). */
const MAX_DIMS = 8;
const TYPE_NAMES: Readonly<Record<number, string>> = { 8: 'ubyte', 9: 'sbyte', 11: 'int16', 12: 'int32', 13: 'float32', 14: 'float64' };

/**
 * Decodes an IDX file of unsigned bytes from its bytes (any `Uint8Array` view, at any offset).
 * `file` names the file in errors.
 *
 * @example
 * decodeIdx(new Uint8Array([0, 0, 8, 1, 0, 0, 0, 2, 7, 9]), 'labels.idx').dims // [2]
 * @since 0.2.0
 */
export const decodeIdx = (bytes: Uint8Array, file: string): Idx => {
  if (bytes.length < 4) throw new FormatError(file, `${bytes.length} bytes is too short for an IDX header (4 bytes at least)`);
  if (bytes[0] !== 0 || bytes[1] !== 0)
    throw new FormatError(file, `not an IDX file: it starts with bytes ${bytes[0]}, ${bytes[1]} where IDX has 0, 0`);
  const type = bytes[2]!;
  if (type !== 8)
    throw new FormatError(
      file,
      `IDX type 0x${type.toString(16)} (${TYPE_NAMES[type] ?? 'unknown'}) is not read; only unsigned bytes (0x08) are`,
    );
  const n = bytes[3]!;
  if (n < 1 || n > MAX_DIMS) throw new FormatError(file, `IDX header declares ${n} dimensions; 1 to ${MAX_DIMS} are read`);
  const start = 4 + 4 * n;
  if (bytes.length < start) throw new FormatError(file, `truncated: ${bytes.length} bytes, but a header of ${n} dimensions takes ${start}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims = Array.from({ length: n }, (_, i) => view.getUint32(4 + 4 * i, false));
  // the product is checked against the bytes present, dimension by dimension, so it never overflows
  // (a zero dimension anywhere makes it 0, even after a prefix that already exceeds the file)
  let size = dims.includes(0) ? 0 : 1;
  for (const d of size === 0 ? [] : dims) {
    size *= d;
    if (size > bytes.length) break;
  }
  const have = bytes.length - start;
  if (size !== have)
    throw new FormatError(
      file,
      size > have
        ? `truncated: dimensions [${dims.join(', ')}] need ${dims.reduce((a, b) => a * b, 1)} data bytes, the file has ${have}`
        : `dimensions [${dims.join(', ')}] need ${size} data bytes, the file has ${have} (${have - size} too many)`,
    );
  return { dims, data: bytes.subarray(start) };
};

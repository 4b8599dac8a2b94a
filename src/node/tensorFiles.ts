/**
 * Node file wrappers for `.npy` and safetensors: reads that report unreadable files as
 * {@link FormatError}s naming the path, and atomic writes.
 *
 * @since 0.1.0
 */
import { readFileSync } from 'node:fs';
import { FormatError } from '../core/errors.js';
import { readNpy, writeNpy, type NpyArray, type NpyInput } from '../io/npy.js';
import { readSafetensors, writeSafetensors, type SafeTensor, type Safetensors } from '../io/safetensors.js';
import { writeFileAtomic } from './files.js';

const readBytes = (path: string): Uint8Array => {
  try {
    const b = readFileSync(path);
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  } catch (e) {
    const code = e instanceof Error && 'code' in e ? String(e.code) : '';
    if (code === 'ENOENT') throw new FormatError(path, 'no such file');
    throw new FormatError(path, `cannot read file (${code || (e instanceof Error ? e.message : String(e))})`);
  }
};

/**
 * Reads a `.npy` file; a missing or malformed file throws a {@link FormatError} naming the path.
 *
 * @example
 * const { shape, data } = readNpyFile('runs/a/embeddings.npy')
 * @since 0.1.0
 */
export const readNpyFile = (path: string): NpyArray => readNpy(readBytes(path), path);

/**
 * Writes an array as a `.npy` file, atomically (temporary sibling, then rename).
 *
 * @example
 * writeNpyFile('runs/a/embeddings.npy', { shape: [2, 3], data: new Float32Array(6) })
 * @since 0.1.0
 */
export const writeNpyFile = (path: string, arr: NpyInput): void => writeFileAtomic(path, writeNpy(arr));

/**
 * Reads a safetensors file; a missing or malformed file throws a {@link FormatError} naming the path.
 *
 * @example
 * const { tensors, metadata } = readSafetensorsFile('runs/a/latest.safetensors')
 * @since 0.1.0
 */
export const readSafetensorsFile = (path: string): Safetensors => readSafetensors(readBytes(path), path);

/**
 * Writes tensors and optional string metadata as a safetensors file, atomically.
 *
 * @example
 * writeSafetensorsFile('runs/a/latest.safetensors', [['w', { dtype: 'F32', shape: [1], data: Float32Array.of(1) }]])
 * @since 0.1.0
 */
export const writeSafetensorsFile = (
  path: string,
  tensors: ReadonlyMap<string, SafeTensor> | readonly (readonly [string, SafeTensor])[],
  metadata?: Record<string, string>,
): void => writeFileAtomic(path, writeSafetensors(tensors, metadata));

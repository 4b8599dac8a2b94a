/**
 * Node file wrappers for `.npy` and safetensors: reads that report a missing, unreadable or
 * non-file path as an `IoError` and malformed content as a `FormatError`, both naming
 * the path; and atomic writes.
 *
 * @since 0.1.0
 */
import { readNpy, writeNpy, type NpyArray, type NpyInput } from '../io/npy.js';
import { readSafetensors, writeSafetensors, type SafeTensor, type Safetensors } from '../io/safetensors.js';
import { writeFileAtomic } from './files.js';
import { readFileBytes } from './fsErrors.js';

/**
 * Reads a `.npy` file: a missing path, a folder or an unreadable file throws an `IoError`,
 * a malformed file a `FormatError`, each naming the path.
 *
 * @example
 * const { shape, data } = readNpyFile('runs/a/embeddings.npy')
 * @since 0.1.0
 */
export const readNpyFile = (path: string): NpyArray => readNpy(readFileBytes(path), path);

/**
 * Writes an array as a `.npy` file, atomically (temporary sibling, then rename).
 *
 * @example
 * writeNpyFile('runs/a/embeddings.npy', { shape: [2, 3], data: new Float32Array(6) })
 * @since 0.1.0
 */
export const writeNpyFile = (path: string, arr: NpyInput): void => writeFileAtomic(path, writeNpy(arr));

/**
 * Reads a safetensors file: a missing path, a folder or an unreadable file throws an
 * `IoError`, a malformed file a `FormatError`, each naming the path.
 *
 * @example
 * const { tensors, metadata } = readSafetensorsFile('runs/a/latest.safetensors')
 * @since 0.1.0
 */
export const readSafetensorsFile = (path: string): Safetensors => readSafetensors(readFileBytes(path), path);

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

/**
 * Checkpoint files: `<dir>/step-000123.safetensors` and `<dir>/latest.safetensors`, each written
 * atomically (a temporary sibling renamed into place), so a crash mid-write never leaves a
 * corrupt latest checkpoint and never touches the previous one.
 *
 * @since 0.1.0
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FormatError } from '../core/errors.js';
import type { Params } from '../core/params.js';
import { openModelBytes, type OpenedModel } from '../models/open.js';
import { readSafetensors } from '../io/safetensors.js';
import type { ModelSpec } from '../models/registry.js';
import { checkpointSpec } from '../models/specSchema.js';
import { checkpointMetadata, decodeCheckpoint, encodeCheckpoint, tensorValues } from '../train/checkpoint.js';
import type { TrainState } from '../train/step.js';
import { writeFileAtomic } from './files.js';

/**
 * Saves a state as `<dir>/step-<step>.safetensors` and `<dir>/latest.safetensors`; returns the
 * step file's path.
 *
 * @example
 * saveCheckpoint('runs/a/checkpoints', state, { model: JSON.stringify(cfg) })
 * @since 0.1.0
 */
export const saveCheckpoint = <P extends Params>(dir: string, state: TrainState<P>, metadata: Record<string, string> = {}): string => {
  const bytes = encodeCheckpoint(state, metadata);
  const path = join(dir, `step-${String(state.step).padStart(6, '0')}.safetensors`);
  writeFileAtomic(path, bytes);
  writeFileAtomic(join(dir, 'latest.safetensors'), bytes);
  return path;
};

const readBytes = (path: string): Uint8Array => {
  if (!existsSync(path)) throw new FormatError(path, 'no such file');
  return new Uint8Array(readFileSync(path));
};

/**
 * Reads a checkpoint's metadata (to rebuild its model before loading the tensors).
 *
 * @example
 * const meta = readCheckpointMetadata('runs/a/checkpoints/latest.safetensors')
 * @since 0.1.0
 */
export const readCheckpointMetadata = (path: string): Record<string, string> => checkpointMetadata(readBytes(path), path);

/**
 * Reads a checkpoint's model spec, checked (by {@link checkpointSpec}) against the tensors the
 * file holds, so that a hostile description is refused before any model is built.
 *
 * @example
 * const { spec, metadata } = readCheckpointSpec('runs/umd/checkpoints/latest.safetensors')
 * @since 0.2.0
 */
export const readCheckpointSpec = (path: string): { readonly spec: ModelSpec; readonly metadata: Record<string, string> } => {
  const parsed = readSafetensors(readBytes(path), path);
  const metadata = checkpointMetadata(parsed, path);
  return { spec: checkpointSpec(metadata, tensorValues(parsed, 'params'), path), metadata };
};

/**
 * Loads a checkpoint into a state shaped like `template`.
 *
 * @example
 * const { state } = loadCheckpoint(path, params)
 * @since 0.1.0
 */
export const loadCheckpoint = <P extends Params>(path: string, template: P): { state: TrainState<P>; metadata: Record<string, string> } =>
  decodeCheckpoint(readBytes(path), path, template);

/**
 * Opens a checkpoint file as a model with its weights (see {@link openModelBytes}).
 *
 * @example
 * const { built, params, norm } = openModel('runs/mae-micro/checkpoints/latest.safetensors')
 * @since 0.1.0
 */
export const openModel = (path: string, options: { readonly weights?: 'auto' | 'ema' | 'params' } = {}): OpenedModel =>
  openModelBytes(readBytes(path), path, options);

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
import { key } from '../core/key.js';
import { disposeParams, type Params } from '../core/params.js';
import { spec as tensorSpec } from '../core/spec.js';
import type { Norm } from '../eval/heldout.js';
import { buildModel, specFromMetadata, type BuiltModel, type ModelSpec } from '../models/registry.js';
import { checkpointMetadata, decodeCheckpoint, encodeCheckpoint } from '../train/checkpoint.js';
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
 * Loads a checkpoint into a state shaped like `template`.
 *
 * @example
 * const { state } = loadCheckpoint(path, params)
 * @since 0.1.0
 */
export const loadCheckpoint = <P extends Params>(path: string, template: P): { state: TrainState<P>; metadata: Record<string, string> } =>
  decodeCheckpoint(readBytes(path), path, template);

/**
 * A checkpoint opened for use: its model, the weights to use (the EMA when the checkpoint has
 * one and `weights` is `auto` or `ema`), the input normalisation and the metadata. The optimiser
 * state and the weights not chosen are freed; dispose `params` when done.
 *
 * @since 0.1.0
 */
export interface OpenedModel {
  readonly path: string;
  readonly spec: ModelSpec;
  readonly built: BuiltModel;
  readonly params: Params;
  readonly norm: Norm;
  readonly step: number;
  /** Which weights `params` are. */
  readonly weights: 'params' | 'ema';
  readonly metadata: Record<string, string>;
}

/**
 * Opens a training checkpoint as a model with its weights (see {@link OpenedModel}). Checks the
 * metadata (method, model configuration, normalisation) and names the file in every error.
 *
 * @example
 * const { built, params, norm } = openModel('runs/mae-micro/checkpoints/latest.safetensors')
 * @since 0.1.0
 */
export const openModel = (path: string, options: { readonly weights?: 'auto' | 'ema' | 'params' } = {}): OpenedModel => {
  const metadata = readCheckpointMetadata(path);
  const spec = specFromMetadata(metadata, path);
  const built = buildModel(spec);
  let norm: Norm;
  try {
    norm = JSON.parse(metadata['norm'] ?? 'null') as Norm;
    const ok = (v: unknown): boolean =>
      Array.isArray(v) && v.length === built.model.config.image[2] && v.every((x) => typeof x === 'number' && Number.isFinite(x));
    if (!norm || !ok(norm.mean) || !ok(norm.std) || norm.std.some((s) => !(s > 0))) throw new Error('norm');
  } catch {
    throw new FormatError(path, 'metadata norm (per-channel mean and std) is missing or malformed');
  }
  const [h, w, c] = built.model.config.image;
  const template = built.model.init(key(0), { images: tensorSpec([-1, h, w, c]) }).params as Params;
  let state: TrainState<Params>;
  try {
    state = loadCheckpoint(path, template).state;
  } finally {
    disposeParams(template);
  }
  const want = options.weights ?? 'auto';
  if (want === 'ema' && !state.ema) {
    for (const s of [state.params, state.opt.m, state.opt.v]) disposeParams(s);
    throw new FormatError(path, 'has no EMA weights (train with --ema)');
  }
  const useEma = want !== 'params' && state.ema !== undefined;
  for (const s of [state.opt.m, state.opt.v, useEma ? state.params : state.ema]) if (s) disposeParams(s);
  return {
    path,
    spec,
    built,
    params: useEma ? state.ema! : state.params,
    norm,
    step: state.step,
    weights: useEma ? 'ema' : 'params',
    metadata,
  };
};

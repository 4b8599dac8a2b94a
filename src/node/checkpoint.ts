/**
 * Checkpoint files: `<dir>/step-000123.safetensors` and `<dir>/latest.safetensors`, each written
 * atomically and durably (a temporary sibling synced and renamed into place), so a crash or a
 * power cut mid-write never leaves a corrupt latest checkpoint and never touches the previous
 * one; and the newest complete checkpoint of a folder, for resuming.
 *
 * @since 0.1.0
 */
import { checkpointFile } from './pretrained.js';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, FormatError, IoError, TesseraeError } from '../core/errors.js';
import type { Params } from '../core/params.js';
import { openModelBytes, type OpenedModel } from '../checkpoints/open.js';
import { readSafetensors } from '../io/safetensors.js';
import type { Norm } from '../data/batches.js';
import type { Model } from '../models/build.js';
import type { ModelSpec } from '../models/spec.js';
import { checkpointSpec } from '../models/specSchema.js';
import { checkpointMetadata, decodeCheckpoint, encodeCheckpoint, tensorValues } from '../train/checkpoint.js';
import { disposeState, type TrainState } from '../train/step.js';
import { toIoError, writeFileAtomic } from './files.js';

/**
 * The file name of the checkpoint of a step: `step-000123.safetensors`.
 *
 * @example
 * checkpointName(123) // 'step-000123.safetensors'
 * @since 0.2.0
 */
export const checkpointName = (step: number): string => `step-${String(step).padStart(6, '0')}.safetensors`;

/**
 * Saves a state as `<dir>/step-<step>.safetensors` and `<dir>/latest.safetensors` with exactly
 * the metadata given; returns the step file's path. {@link openModel} needs the model's `spec`
 * and the input `norm` in that metadata: {@link saveModelCheckpoint} writes them for you.
 *
 * @example
 * saveCheckpoint('runs/a/checkpoints', state, { spec: JSON.stringify(model.spec), norm: JSON.stringify(norm) })
 * @since 0.1.0
 */
export const saveCheckpoint = <P extends Params>(dir: string, state: TrainState<P>, metadata: Record<string, string> = {}): string => {
  const bytes = encodeCheckpoint(state, metadata);
  const path = join(dir, checkpointName(state.step));
  writeFileAtomic(path, bytes);
  writeFileAtomic(join(dir, 'latest.safetensors'), bytes);
  return path;
};

/**
 * Saves a state trained with `train()` as a checkpoint that {@link openModel} opens (and the
 * CLI's `inpaint`, `sample`, `eval`, `export` read): like {@link saveCheckpoint}, with the
 * model's spec and the input normalisation written into the metadata for you. `norm` (one
 * finite mean and one positive finite std per input channel: what `channelStats` returns) is
 * checked here, so a file that would not open is never written. Other `metadata` entries are
 * kept; `spec` and `norm` are this function's. Returns the step file's path.
 *
 * @example
 * const model = buildModel(presetSpec('mae', 'micro/4'))
 * const norm = channelStats(data)
 * const path = saveModelCheckpoint('runs/mine/checkpoints', state, { model, norm })
 * const { params } = openModel(path)
 * @since 0.2.0
 */
export const saveModelCheckpoint = <P extends Params>(
  dir: string,
  state: TrainState<P>,
  o: { readonly model: Model | ModelSpec; readonly norm: Norm; readonly metadata?: Readonly<Record<string, string>> },
): string => {
  const spec: ModelSpec = 'spec' in o.model ? o.model.spec : o.model;
  const channels = spec.image[spec.image.length - 1]!;
  for (const field of ['mean', 'std'] as const) {
    const v = o.norm[field];
    if (v.length !== channels)
      throw new ConfigError(
        `norm.${field}`,
        v,
        `needs one value per input channel: ${channels} for images of shape [${spec.image.join(', ')}]`,
      );
    const bad = v.findIndex((x) => !Number.isFinite(x) || (field === 'std' && x <= 0));
    if (bad >= 0)
      throw new ConfigError(`norm.${field}[${bad}]`, v[bad], field === 'std' ? 'must be positive and finite' : 'must be finite');
  }
  const norm = { mean: [...o.norm.mean], std: [...o.norm.std] };
  return saveCheckpoint(dir, state, { ...o.metadata, spec: JSON.stringify(spec), norm: JSON.stringify(norm) });
};

/** The checkpoint inside a folder given where a file was expected, to suggest it. */
const inside = (dir: string): string | undefined =>
  [join(dir, 'checkpoints', 'latest.safetensors'), join(dir, 'latest.safetensors')].find((p) => existsSync(p));

const readBytes = (arg: string): Uint8Array => {
  // `pretrained:NAME` is a packaged checkpoint, looked up by name
  const path = checkpointFile(arg);
  try {
    const b = readFileSync(path);
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  } catch (e) {
    const err = toIoError(e, path, 'read checkpoint');
    if (err instanceof IoError && err.errno === 'ENOENT') throw new FormatError(path, 'no such file');
    if (err instanceof IoError && err.errno === 'EISDIR') {
      const hint = inside(path);
      throw new IoError(path, 'read checkpoint', `it is a folder, not a file${hint ? ` (did you mean ${hint}?)` : ''}`, 'EISDIR');
    }
    throw err;
  }
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
 * const { model, params, norm } = openModel('runs/mae-micro/checkpoints/latest.safetensors')
 * @since 0.1.0
 */
export const openModel = (path: string, options: { readonly weights?: 'auto' | 'ema' | 'params' } = {}): OpenedModel =>
  openModelBytes(readBytes(path), path, options);

/**
 * The steps of the `step-<N>.safetensors` files in a folder, ascending (none for a missing
 * folder).
 *
 * @example
 * checkpointSteps('runs/a/checkpoints') // [0, 50, 100]
 * @since 0.2.0
 */
export const checkpointSteps = (dir: string): number[] => {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    if (e instanceof Error && 'code' in e && (e.code === 'ENOENT' || e.code === 'ENOTDIR')) return [];
    throw toIoError(e, dir, 'list folder');
  }
  return names
    .map((n) => /^step-(\d+)\.safetensors$/.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .filter((n) => Number.isSafeInteger(n))
    .sort((a, b) => a - b);
};

/**
 * A checkpoint chosen to resume from: its path, its state and metadata, and the files that were
 * tried first and could not be read (torn or corrupt), with why.
 *
 * @since 0.2.0
 */
export interface ResumePoint<P extends Params> {
  readonly path: string;
  readonly state: TrainState<P>;
  readonly metadata: Record<string, string>;
  readonly skipped: readonly { readonly path: string; readonly problem: string }[];
}

/**
 * The newest complete checkpoint of a folder: `latest.safetensors` when it reads, unless a
 * `step-<N>.safetensors` of a later step reads too (a run killed between the two writes);
 * otherwise the highest step file that reads. A file that does not read (torn, truncated,
 * corrupt, a folder) is skipped and reported to `warn`; `check` sees each candidate's metadata
 * before its tensors are loaded and may throw (a configuration that does not match is not a
 * reason to fall back to an older file). Undefined when the folder holds no checkpoint; a
 * {@link FormatError} naming the folder when it holds some and none reads.
 *
 * @example
 * const point = newestCheckpoint('runs/a/checkpoints', template, { warn: console.warn })
 * @since 0.2.0
 */
export const newestCheckpoint = <P extends Params>(
  dir: string,
  template: P,
  options: { readonly check?: (metadata: Record<string, string>, path: string) => void; readonly warn?: (line: string) => void } = {},
): ResumePoint<P> | undefined => {
  const latest = join(dir, 'latest.safetensors');
  const steps = checkpointSteps(dir).reverse();
  const skipped: { path: string; problem: string }[] = [];
  const attempt = (path: string, step?: number): { state: TrainState<P>; metadata: Record<string, string> } | undefined => {
    let bytes: Uint8Array;
    let metadata: Record<string, string>;
    try {
      bytes = readBytes(path);
      metadata = checkpointMetadata(bytes, path);
    } catch (e) {
      if (!(e instanceof TesseraeError)) throw e;
      skipped.push({ path, problem: e.message });
      options.warn?.(`warning: skipping ${path}, which does not read: ${e.message}`);
      return undefined;
    }
    options.check?.(metadata, path);
    try {
      const got = decodeCheckpoint(bytes, path, template);
      if (step !== undefined && got.state.step !== step) {
        disposeState(got.state);
        throw new FormatError(path, `holds step ${got.state.step}, not the step ${step} of its name`);
      }
      return got;
    } catch (e) {
      if (!(e instanceof TesseraeError)) throw e;
      skipped.push({ path, problem: e.message });
      options.warn?.(`warning: skipping ${path}, which does not read: ${e.message}`);
      return undefined;
    }
  };
  const hasLatest = existsSync(latest);
  if (!hasLatest && steps.length === 0) return undefined;
  const fromLatest = hasLatest ? attempt(latest) : undefined;
  for (const step of steps) {
    if (fromLatest && step <= fromLatest.state.step) break;
    const got = attempt(join(dir, checkpointName(step)), step);
    if (got) {
      if (fromLatest) disposeState(fromLatest.state);
      return { path: join(dir, checkpointName(step)), ...got, skipped };
    }
  }
  if (fromLatest) return { path: latest, ...fromLatest, skipped };
  throw new FormatError(dir, `holds checkpoints but none reads (${skipped.map((s) => s.path).join(', ')})`);
};

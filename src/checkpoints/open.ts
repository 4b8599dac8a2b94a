/**
 * Checkpoints as usable models, in Node and in browsers: the model rebuilt from the metadata,
 * the chosen weights loaded, the input normalisation checked; and weights-only exports.
 *
 * @since 0.1.0
 */
import { inFile } from '../core/decode.js';
import { FormatError } from '../core/errors.js';
import { key } from '../core/key.js';
import { disposeParams, type Params } from '../core/params.js';
import { spec as tensorSpec } from '../core/spec.js';
import type { Norm } from '../data/batches.js';
import { readSafetensors } from '../io/safetensors.js';
import { assertFiniteWeights, checkpointMetadata, decodeCheckpointTensors, encodeWeights, tensorValues } from '../train/checkpoint.js';
import type { TrainState } from '../train/step.js';
import { buildModel, type Model } from '../models/build.js';
import type { ModelSpec } from '../models/spec.js';
import { checkpointSpec } from '../models/specSchema.js';

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
  readonly model: Model;
  readonly params: Params;
  readonly norm: Norm;
  readonly step: number;
  /** Which weights `params` are. */
  readonly weights: 'params' | 'ema';
  readonly metadata: Record<string, string>;
}

/**
 * Opens checkpoint bytes (a training checkpoint or exported weights) as a model with its
 * weights (see {@link OpenedModel}); works in Node and in browsers. Checks the metadata (the
 * model spec against the file's tensors, the normalisation, finite weights) and names `path` in every error.
 *
 * @example
 * const { model, params, norm } = openModelBytes(new Uint8Array(await (await fetch(url)).arrayBuffer()), url)
 * @since 0.1.0
 */
export const openModelBytes = (
  bytes: Uint8Array,
  path: string,
  options: { readonly weights?: 'auto' | 'ema' | 'params' } = {},
): OpenedModel => {
  const parsed = readSafetensors(bytes, path);
  const metadata = checkpointMetadata(parsed, path);
  // The description is checked against the file's own tensors before anything is built.
  const spec = checkpointSpec(metadata, tensorValues(parsed, 'params'), path);
  const norm = normFromMetadata(metadata, spec.image[spec.image.length - 1]!, path);
  const want = options.weights ?? 'auto';
  const hasEma = tensorValues(parsed, 'ema') > 0;
  if (want === 'ema' && !hasEma) throw new FormatError(path, 'has no EMA weights (train with --ema)');
  const useEma = want !== 'params' && hasEma;
  assertFiniteWeights(parsed, useEma ? 'ema' : 'params', path);
  const model = inFile(path, 'metadata spec', () => buildModel(spec));
  const template = model.init(key(0), { images: tensorSpec([-1, ...spec.image]) }).params;
  let state: TrainState<Params>;
  try {
    state = decodeCheckpointTensors(parsed, path, template).state;
  } finally {
    disposeParams(template);
  }
  for (const s of [state.opt.m, state.opt.v, useEma ? state.params : state.ema]) if (s) disposeParams(s);
  return {
    path,
    spec,
    model,
    params: useEma ? state.ema! : state.params,
    norm,
    step: state.step,
    weights: useEma ? 'ema' : 'params',
    metadata,
  };
};

/** The per-channel input normalisation a checkpoint stores, checked: `channels` finite means and positive finite stds. */
const normFromMetadata = (metadata: Readonly<Record<string, string>>, channels: number, path: string): Norm => {
  const bad = (): never => {
    throw new FormatError(path, `metadata norm (per-channel mean and std, ${channels} each) is missing or malformed`);
  };
  let v: unknown;
  try {
    v = JSON.parse(metadata['norm'] ?? 'null');
  } catch {
    return bad();
  }
  const list = (x: unknown, positive: boolean): number[] => {
    if (!Array.isArray(x) || x.length !== channels) return bad();
    return (x as unknown[]).map((e) => (typeof e === 'number' && Number.isFinite(e) && (!positive || e > 0) ? e : bad()));
  };
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return bad();
  const o = v as Readonly<Record<string, unknown>>;
  return { mean: list(o['mean'], false), std: list(o['std'], true) };
};

/**
 * The weights of an opened model as a weights-only checkpoint (no optimiser state, a third of
 * the size): what the browser demo loads, and what is published. The metadata keeps the model,
 * the normalisation and the training settings, and records which weights were exported; it
 * names no path: neither the file it was exported from nor a data folder or file (a built-in
 * data source such as `synthetic` is kept).
 *
 * @example
 * const weights = exportWeights(openModelBytes(bytes, file))
 * @since 0.1.0
 */
export const exportWeights = (m: OpenedModel, options: { readonly dtype?: 'float32' | 'float16' } = {}): Uint8Array => {
  const keep = ['norm', 'train'];
  const meta = Object.fromEntries(Object.entries(m.metadata).filter(([k]) => keep.includes(k)));
  const data = builtInData(m.metadata['data']);
  return encodeWeights(m.params, m.step, { ...meta, spec: JSON.stringify(m.spec), ...(data ? { data } : {}), weights: m.weights }, options);
};

/** The `data` metadata entry when it names a built-in source (no path in it), re-serialised; undefined otherwise. */
const builtInData = (entry: string | undefined): string | undefined => {
  try {
    const v: unknown = JSON.parse(entry ?? 'null');
    if (typeof v === 'object' && v !== null && 'kind' in v && (v.kind === 'synthetic' || v.kind === 'synthetic-video'))
      return JSON.stringify({ kind: v.kind });
    // Fashion-MNIST where Debian installs it (no folder named)
    if (typeof v === 'object' && v !== null && 'kind' in v && v.kind === 'fashion-mnist' && !('dir' in v))
      return JSON.stringify({ kind: v.kind });
  } catch {
    // not JSON: left out
  }
  return undefined;
};

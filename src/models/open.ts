/**
 * Checkpoints as usable models, in Node and in browsers: the model rebuilt from the metadata,
 * the chosen weights loaded, the input normalisation checked; and weights-only exports.
 *
 * @since 0.1.0
 */
import { FormatError } from '../core/errors.js';
import { key } from '../core/key.js';
import { disposeParams, type Params } from '../core/params.js';
import { spec as tensorSpec } from '../core/spec.js';
import type { Norm } from '../eval/heldout.js';
import { checkpointMetadata, decodeCheckpoint, encodeWeights } from '../train/checkpoint.js';
import type { TrainState } from '../train/step.js';
import { buildModel, specFromMetadata, type BuiltModel, type ModelSpec } from './registry.js';

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
 * Opens checkpoint bytes (a training checkpoint or exported weights) as a model with its
 * weights (see {@link OpenedModel}); works in Node and in browsers. Checks the metadata (method,
 * model configuration, normalisation) and names `path` in every error.
 *
 * @example
 * const { built, params, norm } = openModelBytes(new Uint8Array(await (await fetch(url)).arrayBuffer()), url)
 * @since 0.1.0
 */
export const openModelBytes = (
  bytes: Uint8Array,
  path: string,
  options: { readonly weights?: 'auto' | 'ema' | 'params' } = {},
): OpenedModel => {
  const metadata = checkpointMetadata(bytes, path);
  const spec = specFromMetadata(metadata, path);
  const built = buildModel(spec);
  let norm: Norm;
  try {
    norm = JSON.parse(metadata['norm'] ?? 'null') as Norm;
    const ok = (v: unknown): boolean =>
      Array.isArray(v) &&
      v.length === built.model.config.image[built.model.config.image.length - 1] &&
      v.every((x) => typeof x === 'number' && Number.isFinite(x));
    if (!norm || !ok(norm.mean) || !ok(norm.std) || norm.std.some((s) => !(s > 0))) throw new Error('norm');
  } catch {
    throw new FormatError(path, 'metadata norm (per-channel mean and std) is missing or malformed');
  }
  const template = built.model.init(key(0), { images: tensorSpec([-1, ...built.model.config.image]) }).params as Params;
  let state: TrainState<Params>;
  try {
    state = decodeCheckpoint(bytes, path, template).state;
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

/**
 * The weights of an opened model as a weights-only checkpoint (no optimiser state, a third of
 * the size): what the browser demo loads. The metadata keeps the model, the normalisation and
 * the data, and records which weights were exported.
 *
 * @example
 * const bytes = exportWeights(openModelBytes(bytes, file))
 * @since 0.1.0
 */
export const exportWeights = (m: OpenedModel): Uint8Array => {
  const keep = ['method', 'model', 'norm', 'data', 'train', 'finetunedFrom'];
  const meta = Object.fromEntries(Object.entries(m.metadata).filter(([k]) => keep.includes(k)));
  return encodeWeights(m.params, m.step, { ...meta, exportedFrom: m.path, weights: m.weights });
};

/**
 * Checkpoint metadata is untrusted input. This module is the one place that turns a
 * checkpoint's metadata into a {@link ModelSpec}: the `spec` entry (0.2.0 and later) or the
 * `method` and `model` entries of a 0.1.0 checkpoint are decoded against a schema (types,
 * ranges, no unknown keys), and then the size of the model they describe is checked against the
 * tensors the file really holds, before anything is built or allocated. A file can only
 * describe a model as large as its own bytes.
 *
 * @since 0.2.0
 */
import { bool, choice, has, inFile, integer, number, optional, parseJson, record } from '../core/decode.js';
import { FormatError } from '../core/errors.js';
import { decodeMask, decodeSchedule } from '../corruption/codec.js';
import type { VitSize } from '../vision/vit.js';
import type { CondConfig } from './cond.js';
import type { DiffMaeConfig } from './diffmae.js';
import type { MaeConfig } from './mae.js';
import { fromLegacy, METHODS } from './presets.js';
import { decodeInputShape, decodeModelSpec, decodeVitSize, SPEC_LIMITS, type ModelSpec } from './spec.js';

const LIMITS = SPEC_LIMITS;

const vitSize = (path: string, v: unknown, minDepth: number, extra: readonly string[] = []): VitSize =>
  decodeVitSize(path, record(path, v, ['width', 'depth', 'heads', 'mlpRatio', ...extra]), minDepth);

const unit = (p: string, v: unknown) => number(p, v, 0, 1);

const common = (path: string, o: Readonly<Record<string, unknown>>) => ({
  image: decodeInputShape(`${path}.image`, o['image']),
  patch: integer(`${path}.patch`, o['patch'], 1, LIMITS.side),
  ...optional(o, path, 'tubelet', (p, v) => integer(p, v, 1, LIMITS.frames)),
  encoder: vitSize(`${path}.encoder`, o['encoder'], 1),
});

const maeConfig = (path: string, v: unknown): MaeConfig => {
  const o = record(path, v, ['image', 'patch', 'tubelet', 'encoder', 'decoder', 'maskRatio', 'mask', 'normPix']);
  return {
    ...common(path, o),
    decoder: vitSize(`${path}.decoder`, o['decoder'], 1),
    ...optional(o, path, 'maskRatio', unit),
    ...optional(o, path, 'mask', decodeMask),
    ...optional(o, path, 'normPix', bool),
  };
};

const diffMaeConfig = (path: string, v: unknown): DiffMaeConfig => {
  const o = record(path, v, ['image', 'patch', 'tubelet', 'encoder', 'decoder', 'maskRatio', 'mask', 'schedule', 'target']);
  const d = record(`${path}.decoder`, o['decoder'], ['width', 'depth', 'heads', 'mlpRatio', 'kind', 'topDown']);
  return {
    ...common(path, o),
    decoder: {
      ...vitSize(`${path}.decoder`, d, 1, ['kind', 'topDown']),
      kind: choice(`${path}.decoder.kind`, d['kind'], ['cross', 'cross-self', 'joint'] as const),
      ...optional(d, `${path}.decoder`, 'topDown', bool),
    },
    ...optional(o, path, 'maskRatio', unit),
    ...optional(o, path, 'mask', decodeMask),
    ...optional(o, path, 'schedule', decodeSchedule),
    ...optional(o, path, 'target', (p, x) => choice(p, x, ['x0', 'eps'] as const)),
  };
};

const condConfig = (path: string, v: unknown): CondConfig => {
  const o = record(path, v, [
    ...['image', 'patch', 'tubelet', 'encoder', 'decoder', 'clsTokens', 'pos', 'conditioning', 'classes', 'labelDropout', 'schedule'],
    ...['cleanShare', 'cleanRatio', 'noisedRatio', 'cleanMask', 'noisedMask', 'maskRatio', 'mask'],
  ]);
  return {
    ...common(path, o),
    decoder: vitSize(`${path}.decoder`, o['decoder'], 0),
    ...optional(o, path, 'clsTokens', (p, x) => integer(p, x, 0, LIMITS.tokens)),
    ...optional(o, path, 'pos', (p, x) => choice(p, x, ['learned', 'sincos'] as const)),
    ...optional(o, path, 'conditioning', (p, x) => choice(p, x, ['adaln', 'token'] as const)),
    ...optional(o, path, 'classes', (p, x) => integer(p, x, 1, LIMITS.classes)),
    ...optional(o, path, 'labelDropout', unit),
    ...optional(o, path, 'schedule', decodeSchedule),
    ...optional(o, path, 'cleanShare', unit),
    ...optional(o, path, 'cleanRatio', unit),
    ...optional(o, path, 'noisedRatio', unit),
    ...optional(o, path, 'cleanMask', decodeMask),
    ...optional(o, path, 'noisedMask', decodeMask),
    ...optional(o, path, 'maskRatio', unit),
    ...optional(o, path, 'mask', decodeMask),
  };
};

/**
 * Decodes a 0.1.0 model description (a method name and its configuration object) from
 * untrusted JSON values into a {@link ModelSpec} (by {@link fromLegacy}).
 *
 * @example
 * decodeLegacySpec('mae', JSON.parse(meta['model']))
 * @since 0.2.0
 */
export const decodeLegacySpec = (method: unknown, config: unknown): ModelSpec => {
  const m = choice('method', method, METHODS);
  return LEGACY[m]('model', config);
};

/** Each 0.1.0 method's configuration decoder, then its spec. */
const LEGACY: Readonly<Record<(typeof METHODS)[number], (path: string, v: unknown) => ModelSpec>> = {
  mae: (p, v) => fromLegacy({ method: 'mae', config: maeConfig(p, v) }),
  diffmae: (p, v) => fromLegacy({ method: 'diffmae', config: diffMaeConfig(p, v) }),
  umd: (p, v) => fromLegacy({ method: 'umd', config: condConfig(p, v) }),
  maskdit: (p, v) => fromLegacy({ method: 'maskdit', config: condConfig(p, v) }),
  dit: (p, v) => fromLegacy({ method: 'dit', config: condConfig(p, v) }),
};

/**
 * The spec a checkpoint's metadata stores: the `spec` entry, or for a 0.1.0 checkpoint the
 * `method` and `model` entries; a {@link FormatError} naming the file and the bad field. To
 * open a file's weights, use {@link checkpointSpec}, which also checks the spec against the
 * file's tensors.
 *
 * @example
 * specFromMetadata(meta, 'runs/a/checkpoints/latest.safetensors')
 * @since 0.1.0
 */
export const specFromMetadata = (meta: Readonly<Record<string, string>>, file: string): ModelSpec =>
  inFile(file, 'metadata', () => {
    if (has(meta, 'spec')) return decodeModelSpec('spec', parseJson(meta['spec']!, file, 'metadata spec'));
    if (!has(meta, 'method'))
      throw new FormatError(file, 'metadata has neither a spec nor a 0.1.0 method and model: not a model checkpoint');
    return decodeLegacySpec(meta['method'], parseJson(meta['model'] ?? 'null', file, 'metadata model'));
  });

/**
 * An upper bound on the number of float values that building and initialising the model a spec
 * describes allocates (its parameters and its fixed tables): every block is counted as if it had
 * self-attention, cross-attention, an MLP and adaLN modulation, every stage with its own position
 * table, both heads present. The bound is within about 2.5x of the real parameter count of every
 * preset, so comparing it with the values a file holds tells a file that describes its own model
 * from one that claims a far larger one.
 *
 * @example
 * modelSizeBound(presetSpec('mae', 'micro/4')) // about twice the model's parameter count
 * @since 0.2.0
 */
export const modelSizeBound = (spec: ModelSpec): number => {
  const image = spec.image;
  const p = spec.corruption.patching;
  const frames = image.length === 4 ? image[0] : 1;
  const [h, w, ch] = image.length === 4 ? [image[1], image[2], image[3]] : [image[0], image[1], image[2]];
  const tubelet = p.kind === 'tubelet' ? p.frames : 1;
  const patchDim = p.size * p.size * ch * tubelet;
  const tokens = Math.ceil(frames / tubelet) * Math.ceil(h / p.size) * Math.ceil(w / p.size) + LIMITS.tokens;
  const stage = (s: { readonly width: number; readonly depth: number; readonly mlpRatio?: number }): number => {
    const d = s.width;
    const block = (14 + 2 * (s.mlpRatio ?? 4)) * (d + 1) * (d + 1);
    return s.depth * block + 2 * tokens * d + 2 * patchDim * d + 512 * d + 4 * d * d;
  };
  const e = spec.network.encoder;
  const classes = e.classes !== undefined ? e.classes + 1 : 0;
  return stage(e) + stage(spec.network.decoder) + classes * e.width + tokens * patchDim;
};

/**
 * The spec a checkpoint's metadata describes ({@link specFromMetadata}), checked against the
 * file: the model must fit in the float values of the file's `params.*` tensors (by
 * {@link modelSizeBound}, with a factor of 4 and a small allowance) before anything is built.
 * `paramValues` is the number of values in those tensors, read from the header.
 *
 * @example
 * const spec = checkpointSpec(meta, paramValues, file)
 * @since 0.2.0
 */
export const checkpointSpec = (meta: Readonly<Record<string, string>>, paramValues: number, file: string): ModelSpec => {
  const spec = specFromMetadata(meta, file);
  const bound = modelSizeBound(spec);
  if (bound > 4 * paramValues + 1_000_000)
    throw new FormatError(
      file,
      `metadata describes a model of up to ${bound.toExponential(2)} values, but the file holds ${paramValues} parameter values: the description does not match the weights`,
    );
  return spec;
};

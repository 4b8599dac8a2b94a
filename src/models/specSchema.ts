/**
 * Checkpoint metadata is untrusted input. This module is the one place that turns a
 * checkpoint's `method` and `model` entries into a {@link ModelSpec}: every field is checked
 * against a schema (types, ranges, no unknown keys), and then the size of the model the spec
 * describes is checked against the tensors the file really holds, before anything is built or
 * allocated. A file can only describe a model as large as its own bytes.
 *
 * @since 0.2.0
 */
import { ConfigError, FormatError, show } from '../core/errors.js';
import { Mask } from '../corruption/mask.js';
import { Schedule } from '../corruption/schedule.js';
import type { InputShape } from '../vision/patchify.js';
import type { CondConfig } from './cond.js';
import type { DiffMaeConfig } from './diffmae.js';
import type { MaeConfig } from './mae.js';
import { METHODS, type ModelSpec } from './registry.js';

/** A decoding failure at a path inside the metadata; turned into a FormatError naming the file. */
class Bad extends Error {
  constructor(
    readonly path: string,
    readonly value: unknown,
    readonly reason: string,
  ) {
    super(`${path} = ${show(value)}: ${reason}`);
  }
}

type Obj = Readonly<Record<string, unknown>>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** An object whose keys are all among `allowed` (own keys only; `__proto__` and friends are unknown keys). */
const record = (path: string, v: unknown, allowed: readonly string[]): Obj => {
  if (!isObj(v)) throw new Bad(path, v, 'must be an object');
  for (const k of Object.keys(v))
    if (!allowed.includes(k)) throw new Bad(`${path}.${k}`, v[k], `is not a known field (known: ${allowed.join(', ')})`);
  return v;
};

const has = (o: Obj, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k) && o[k] !== undefined;

const integer = (path: string, v: unknown, min: number, max: number): number => {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new Bad(path, v, 'must be an integer');
  if (v < min || v > max) throw new Bad(path, v, `must be in [${min}, ${max}]`);
  return v;
};

const number = (path: string, v: unknown, min: number, max: number): number => {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Bad(path, v, 'must be a finite number');
  if (v < min || v > max) throw new Bad(path, v, `must be in [${min}, ${max}]`);
  return v;
};

const bool = (path: string, v: unknown): boolean => {
  if (typeof v !== 'boolean') throw new Bad(path, v, 'must be true or false');
  return v;
};

const choice = <T extends string>(path: string, v: unknown, options: readonly T[]): T => {
  if (typeof v !== 'string' || !(options as readonly string[]).includes(v)) throw new Bad(path, v, `must be one of ${options.join(', ')}`);
  return v as T;
};

/** Runs a smart constructor on decoded fields; its ConfigError becomes a decoding failure at `path`. */
const via = <T>(path: string, v: unknown, make: () => T): T => {
  try {
    return make();
  } catch (e) {
    if (e instanceof ConfigError) throw new Bad(path, v, `${e.field} = ${show(e.value)}: ${e.reason}`);
    throw e;
  }
};

/** Largest image side, width, depth and head count a checkpoint may describe (far above any model that fits in memory here). */
const LIMITS = { side: 16384, frames: 4096, channels: 64, width: 16384, depth: 1024, heads: 1024, classes: 1_000_000, tokens: 64 } as const;

const imageShape = (path: string, v: unknown): InputShape => {
  if (!Array.isArray(v) || (v.length !== 3 && v.length !== 4)) throw new Bad(path, v, 'must be [H, W, C] or [T, H, W, C]');
  const a: unknown[] = v;
  const dims = a.map((d, i) =>
    integer(`${path}[${i}]`, d, 1, i === a.length - 1 ? LIMITS.channels : a.length === 4 && i === 0 ? LIMITS.frames : LIMITS.side),
  );
  return dims.length === 3 ? [dims[0]!, dims[1]!, dims[2]!] : [dims[0]!, dims[1]!, dims[2]!, dims[3]!];
};

const vitSize = (path: string, v: unknown, minDepth: number, extra: readonly string[] = []) => {
  const o = record(path, v, ['width', 'depth', 'heads', 'mlpRatio', ...extra]);
  const width = integer(`${path}.width`, o['width'], 1, LIMITS.width);
  const depth = integer(`${path}.depth`, o['depth'], minDepth, LIMITS.depth);
  const heads = integer(`${path}.heads`, o['heads'], 1, LIMITS.heads);
  if (width % heads !== 0) throw new Bad(`${path}.heads`, heads, `must divide the width ${width}`);
  return {
    width,
    depth,
    heads,
    ...(has(o, 'mlpRatio') ? { mlpRatio: number(`${path}.mlpRatio`, o['mlpRatio'], 1 / 64, 64) } : {}),
  };
};

const ratioOf = (path: string, o: Obj): number => number(`${path}.ratio`, o['ratio'], 0, 1);

const mask = (path: string, v: unknown): Mask => {
  if (!isObj(v)) throw new Bad(path, v, 'must be a mask object');
  const kind = choice(`${path}.kind`, v['kind'], ['none', 'random', 'center', 'block', 'tube', 'frame', 'explicit'] as const);
  switch (kind) {
    case 'none':
      record(path, v, ['kind']);
      return Mask.none();
    case 'random':
    case 'center':
    case 'tube':
    case 'frame': {
      const r = ratioOf(path, record(path, v, ['kind', 'ratio']));
      return via(path, v, () => Mask[kind](r));
    }
    case 'block': {
      const o = record(path, v, ['kind', 'top', 'left', 'height', 'width']);
      const [top, left, height, width] = (['top', 'left', 'height', 'width'] as const).map((k) =>
        integer(`${path}.${k}`, o[k], 0, LIMITS.side),
      ) as [number, number, number, number];
      return via(path, v, () => Mask.block({ top, left, height, width }));
    }
    case 'explicit': {
      const o = record(path, v, ['kind', 'removed']);
      const removed = o['removed'];
      if (!Array.isArray(removed)) throw new Bad(`${path}.removed`, removed, 'must be an array of patch indices');
      const ids = (removed as unknown[]).map((d, i) => integer(`${path}.removed[${i}]`, d, 0, Number.MAX_SAFE_INTEGER));
      return via(path, v, () => Mask.explicit(ids));
    }
  }
};

const schedule = (path: string, v: unknown): Schedule => {
  if (!isObj(v)) throw new Bad(path, v, 'must be a schedule object');
  const kind = choice(`${path}.kind`, v['kind'], ['cosine', 'linear'] as const);
  const steps = (o: Obj) => integer(`${path}.steps`, o['steps'], 1, 100_000);
  const rho = (o: Obj) => number(`${path}.rho`, o['rho'], 0, 100);
  if (kind === 'cosine') {
    const o = record(path, v, ['kind', 'steps', 's', 'maxBeta', 'rho']);
    const fields = {
      steps: steps(o),
      s: number(`${path}.s`, o['s'], 0, 10),
      maxBeta: number(`${path}.maxBeta`, o['maxBeta'], 0, 1),
      rho: rho(o),
    };
    return via(path, v, () => Schedule.cosine(fields));
  }
  const o = record(path, v, ['kind', 'steps', 'betaStart', 'betaEnd', 'rho']);
  const fields = {
    steps: steps(o),
    betaStart: number(`${path}.betaStart`, o['betaStart'], 0, 1),
    betaEnd: number(`${path}.betaEnd`, o['betaEnd'], 0, 1),
    rho: rho(o),
  };
  return via(path, v, () => Schedule.linear(fields));
};

/** Optional fields: each present key decoded, absent keys left out (exact optional properties). */
const optional = <K extends string, T>(o: Obj, path: string, k: K, decode: (path: string, v: unknown) => T): { readonly [P in K]?: T } =>
  has(o, k) ? ({ [k]: decode(`${path}.${k}`, o[k]) } as { readonly [P in K]: T }) : {};

const common = (path: string, o: Obj) => ({
  image: imageShape(`${path}.image`, o['image']),
  patch: integer(`${path}.patch`, o['patch'], 1, LIMITS.side),
  ...optional(o, path, 'tubelet', (p, v) => integer(p, v, 1, LIMITS.frames)),
  encoder: vitSize(`${path}.encoder`, o['encoder'], 1),
});

const unitNumber = (p: string, v: unknown) => number(p, v, 0, 1);

const maeConfig = (path: string, v: unknown): MaeConfig => {
  const o = record(path, v, ['image', 'patch', 'tubelet', 'encoder', 'decoder', 'maskRatio', 'mask', 'normPix']);
  return {
    ...common(path, o),
    decoder: vitSize(`${path}.decoder`, o['decoder'], 1),
    ...optional(o, path, 'maskRatio', unitNumber),
    ...optional(o, path, 'mask', mask),
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
    ...optional(o, path, 'maskRatio', unitNumber),
    ...optional(o, path, 'mask', mask),
    ...optional(o, path, 'schedule', schedule),
    ...optional(o, path, 'target', (p, x) => choice(p, x, ['x0', 'eps'] as const)),
  };
};

const condConfig = (path: string, v: unknown): CondConfig => {
  const o = record(path, v, [
    'image',
    'patch',
    'tubelet',
    'encoder',
    'decoder',
    'clsTokens',
    'pos',
    'conditioning',
    'classes',
    'labelDropout',
    'schedule',
    'cleanShare',
    'cleanRatio',
    'noisedRatio',
    'cleanMask',
    'noisedMask',
    'maskRatio',
    'mask',
  ]);
  return {
    ...common(path, o),
    decoder: vitSize(`${path}.decoder`, o['decoder'], 0),
    ...optional(o, path, 'clsTokens', (p, x) => integer(p, x, 0, LIMITS.tokens)),
    ...optional(o, path, 'pos', (p, x) => choice(p, x, ['learned', 'sincos'] as const)),
    ...optional(o, path, 'conditioning', (p, x) => choice(p, x, ['adaln', 'token'] as const)),
    ...optional(o, path, 'classes', (p, x) => integer(p, x, 1, LIMITS.classes)),
    ...optional(o, path, 'labelDropout', unitNumber),
    ...optional(o, path, 'schedule', schedule),
    ...optional(o, path, 'cleanShare', unitNumber),
    ...optional(o, path, 'cleanRatio', unitNumber),
    ...optional(o, path, 'noisedRatio', unitNumber),
    ...optional(o, path, 'cleanMask', mask),
    ...optional(o, path, 'noisedMask', mask),
    ...optional(o, path, 'maskRatio', unitNumber),
    ...optional(o, path, 'mask', mask),
  };
};

/**
 * Decodes a spec from untrusted JSON values (a method name and a configuration object): every
 * field is type- and range-checked, unknown fields are refused, masks and schedules go through
 * their smart constructors. Throws a {@link FormatError} naming `file` and the bad field.
 *
 * @example
 * decodeModelSpec('mae', JSON.parse(meta['model']), 'runs/a/checkpoints/latest.safetensors')
 * @since 0.2.0
 */
export const decodeModelSpec = (method: unknown, config: unknown, file: string): ModelSpec => {
  try {
    const m = choice('method', method, METHODS);
    switch (m) {
      case 'mae':
        return { method: m, config: maeConfig('model', config) };
      case 'diffmae':
        return { method: m, config: diffMaeConfig('model', config) };
      case 'umd':
      case 'maskdit':
      case 'dit':
        return { method: m, config: condConfig('model', config) };
    }
  } catch (e) {
    if (e instanceof Bad) throw new FormatError(file, `metadata ${e.message}`);
    throw e;
  }
};

/**
 * The spec stored in a checkpoint's metadata (`method`, `model`), decoded by
 * {@link decodeModelSpec}. To open a file's weights, prefer {@link checkpointSpec}, which also
 * checks the description against the file's tensors.
 *
 * @example
 * specFromMetadata(meta, 'runs/a/checkpoints/latest.safetensors')
 * @since 0.1.0
 */
export const specFromMetadata = (meta: Readonly<Record<string, string>>, file: string): ModelSpec => {
  let config: unknown;
  try {
    config = JSON.parse(meta['model'] ?? 'null');
  } catch {
    throw new FormatError(file, 'metadata model is not valid JSON');
  }
  return decodeModelSpec(meta['method'], config, file);
};

/**
 * An upper bound on the number of float values that building and initialising the model a spec
 * describes allocates (its parameters and its fixed tables), whatever the method: every block
 * is counted as if it had self-attention, cross-attention, an MLP and adaLN modulation, every
 * stage with its own position table, both heads present. The bound is within about 2x of the
 * real parameter count of every preset, so comparing it with the values a file holds tells a
 * file that describes its own model from one that claims a far larger one.
 *
 * @example
 * modelSizeBound(presetSpec('mae', 'micro/4')) // about twice the model's parameter count
 * @since 0.2.0
 */
export const modelSizeBound = (spec: ModelSpec): number => {
  const c = spec.config;
  const image = c.image;
  const frames = image.length === 4 ? image[0] : 1;
  const [h, w, ch] = image.length === 4 ? [image[1], image[2], image[3]] : [image[0], image[1], image[2]];
  const tubelet = 'tubelet' in c && c.tubelet !== undefined ? c.tubelet : image.length === 4 ? 2 : 1;
  const patchDim = c.patch * c.patch * ch * tubelet;
  const tokens = Math.ceil(frames / tubelet) * Math.ceil(h / c.patch) * Math.ceil(w / c.patch) + LIMITS.tokens;
  const stage = (s: { readonly width: number; readonly depth: number; readonly mlpRatio?: number }): number => {
    const d = s.width;
    const block = (14 + 2 * (s.mlpRatio ?? 4)) * (d + 1) * (d + 1);
    return s.depth * block + 2 * tokens * d + 2 * patchDim * d + 512 * d + 4 * d * d;
  };
  const classes = 'classes' in c && c.classes !== undefined ? c.classes + 1 : 0;
  return stage(c.encoder) + stage(c.decoder) + classes * c.encoder.width + tokens * patchDim;
};

/**
 * The spec a checkpoint's metadata describes, checked against the file: the `method` and
 * `model` entries are decoded by {@link decodeModelSpec}, and the model they describe must fit
 * in the float values of the file's `params.*` tensors (by {@link modelSizeBound}, with a
 * factor of 4 and a small allowance) before anything is built. `paramValues` is the number of
 * values in those tensors, read from the header.
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
      `metadata describes a ${spec.method} model of up to ${bound.toExponential(2)} values, but the file holds ${paramValues} parameter values: the description does not match the weights`,
    );
  return spec;
};

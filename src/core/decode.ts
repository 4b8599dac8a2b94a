/**
 * Decoders for untrusted JSON values (checkpoint metadata, spec files): each takes the value
 * and the path it sits at, and returns it typed or throws a {@link ConfigError} whose field is
 * that path. Records accept only their own listed keys, so `__proto__` or a misspelt field is
 * refused rather than ignored. Callers that read a file turn the error into a `FormatError`
 * naming the file (see {@link inFile}).
 *
 * @since 0.2.0
 */
import { ConfigError, FormatError } from './errors.js';

/** A JSON object, read-only. */
export type JsonRecord = Readonly<Record<string, unknown>>;

/**
 * Whether a value is a plain JSON object (not null, not an array).
 *
 * @example
 * Decode.isRecord({ a: 1 }) // true
 * @since 0.2.0
 */
export const isRecord = (v: unknown): v is JsonRecord => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * An object whose own keys are all among `allowed`.
 *
 * @example
 * Decode.record('model.encoder', { width: 64 }, ['width', 'depth'])
 * @since 0.2.0
 */
export const record = (path: string, v: unknown, allowed: readonly string[]): JsonRecord => {
  if (!isRecord(v)) throw new ConfigError(path, v, 'must be an object');
  for (const k of Object.keys(v))
    if (!allowed.includes(k)) throw new ConfigError(`${path}.${k}`, v[k], `is not a known field (known: ${allowed.join(', ')})`);
  return v;
};

/**
 * Whether an object has its own, defined key `k`.
 *
 * @example
 * Decode.has({ a: 1 }, 'a') // true
 * @since 0.2.0
 */
export const has = (o: JsonRecord, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k) && o[k] !== undefined;

/**
 * A safe integer in [min, max].
 *
 * @example
 * Decode.integer('model.patch', 4, 1, 1024) // 4
 * @since 0.2.0
 */
export const integer = (path: string, v: unknown, min: number, max: number): number => {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new ConfigError(path, v, 'must be an integer');
  if (v < min || v > max) throw new ConfigError(path, v, `must be in [${min}, ${max}]`);
  return v;
};

/**
 * A finite number in [min, max].
 *
 * @example
 * Decode.number('mask.ratio', 0.75, 0, 1) // 0.75
 * @since 0.2.0
 */
export const number = (path: string, v: unknown, min: number, max: number): number => {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ConfigError(path, v, 'must be a finite number');
  if (v < min || v > max) throw new ConfigError(path, v, `must be in [${min}, ${max}]`);
  return v;
};

/**
 * A boolean.
 *
 * @example
 * Decode.bool('normPix', true) // true
 * @since 0.2.0
 */
export const bool = (path: string, v: unknown): boolean => {
  if (typeof v !== 'boolean') throw new ConfigError(path, v, 'must be true or false');
  return v;
};

/**
 * A string.
 *
 * @example
 * Decode.text('branch.name', 'clean') // 'clean'
 * @since 0.2.0
 */
export const text = (path: string, v: unknown, maxLength = 200): string => {
  if (typeof v !== 'string') throw new ConfigError(path, v, 'must be a string');
  if (v.length > maxLength) throw new ConfigError(path, v.slice(0, 40), `must be at most ${maxLength} characters`);
  return v;
};

/**
 * One of some strings.
 *
 * @example
 * Decode.choice('pos', 'learned', ['learned', 'sincos'] as const) // 'learned'
 * @since 0.2.0
 */
export const choice = <T extends string>(path: string, v: unknown, options: readonly T[]): T => {
  if (typeof v !== 'string' || !(options as readonly string[]).includes(v))
    throw new ConfigError(path, v, `must be one of ${options.join(', ')}`);
  return v as T;
};

/**
 * An array, each element decoded at `path[i]`.
 *
 * @example
 * Decode.list('removed', [1, 2], (p, x) => Decode.integer(p, x, 0, 100)) // [1, 2]
 * @since 0.2.0
 */
export const list = <T>(path: string, v: unknown, each: (path: string, v: unknown) => T, maxLength = 1_000_000): T[] => {
  if (!Array.isArray(v)) throw new ConfigError(path, v, 'must be an array');
  if (v.length > maxLength) throw new ConfigError(path, v.length, `must have at most ${maxLength} entries`);
  return (v as unknown[]).map((x, i) => each(`${path}[${i}]`, x));
};

/**
 * An optional field: `{ [k]: decoded }` when present, `{}` when absent (for exact optional
 * properties, spread into the result).
 *
 * @example
 * ({ ...Decode.optional({ a: 1 }, 'x', 'a', (p, v) => Decode.integer(p, v, 0, 9)) }) // { a: 1 }
 * @since 0.2.0
 */
export const optional = <K extends string, T>(
  o: JsonRecord,
  path: string,
  k: K,
  decode: (path: string, v: unknown) => T,
): { readonly [P in K]?: T } => (has(o, k) ? ({ [k]: decode(`${path}.${k}`, o[k]) } as { readonly [P in K]: T }) : {});

/**
 * Runs a smart constructor on decoded fields: its ConfigError is re-raised at `path`.
 *
 * @example
 * Decode.via('mask', v, () => Mask.random(r))
 * @since 0.2.0
 */
export const via = <T>(path: string, v: unknown, make: () => T): T => {
  try {
    return make();
  } catch (e) {
    if (e instanceof ConfigError && !e.field.startsWith(path))
      throw new ConfigError(path, v, `${e.field} = ${JSON.stringify(e.value) ?? String(e.value)}: ${e.reason}`);
    throw e;
  }
};

/**
 * Runs a decoder on the contents of a file: its ConfigError becomes a {@link FormatError}
 * naming the file (`what` says which part of the file, such as `metadata`).
 *
 * @example
 * Decode.inFile('spec.json', 'spec', () => decodeModelSpec('spec', JSON.parse(text)))
 * @since 0.2.0
 */
export const inFile = <T>(file: string, what: string, decode: () => T): T => {
  try {
    return decode();
  } catch (e) {
    if (e instanceof ConfigError) throw new FormatError(file, `${what} ${e.message}`);
    throw e;
  }
};

/**
 * Parses JSON text, a {@link FormatError} naming the file and the entry when it is not JSON.
 *
 * @example
 * Decode.parseJson('{"a":1}', 'spec.json', 'spec') // { a: 1 }
 * @since 0.2.0
 */
export const parseJson = (textValue: string, file: string, what: string): unknown => {
  try {
    return JSON.parse(textValue) as unknown;
  } catch {
    throw new FormatError(file, `${what} is not valid JSON`);
  }
};

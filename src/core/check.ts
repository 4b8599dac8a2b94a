/**
 * Validation helpers for smart constructors. Each returns the value when it is valid and
 * throws a {@link ConfigError} that names the field and the value otherwise.
 *
 * @since 0.1.0
 */
import { ConfigError } from './errors.js';

/**
 * A finite number.
 *
 * @example
 * Check.finite('lr', 1e-3) // 1e-3
 * @since 0.1.0
 */
export const finite = (field: string, v: number): number => {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ConfigError(field, v, 'must be a finite number');
  return v;
};

/**
 * An integer in [min, max].
 *
 * @example
 * Check.int('depth', 12, 1) // 12
 * @since 0.1.0
 */
export const int = (field: string, v: number, min = -Infinity, max = Infinity): number => {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new ConfigError(field, v, 'must be an integer');
  if (v < min || v > max) {
    const range = max === Infinity ? `>= ${min}` : min === -Infinity ? `<= ${max}` : `in [${min}, ${max}]`;
    throw new ConfigError(field, v, `must be ${range}`);
  }
  return v;
};

/**
 * A positive integer.
 *
 * @example
 * Check.positiveInt('width', 192) // 192
 * @since 0.1.0
 */
export const positiveInt = (field: string, v: number): number => int(field, v, 1);

/**
 * A number in (0, Infinity).
 *
 * @example
 * Check.positive('eps', 1e-6)
 * @since 0.1.0
 */
export const positive = (field: string, v: number): number => {
  finite(field, v);
  if (!(v > 0)) throw new ConfigError(field, v, 'must be > 0');
  return v;
};

/**
 * A mask ratio: a number in [0, 1).
 *
 * @example
 * Check.ratio('mask.ratio', 0.75) // 0.75
 * @since 0.1.0
 */
export const ratio = (field: string, v: number): number => {
  finite(field, v);
  if (!(v >= 0 && v < 1)) throw new ConfigError(field, v, 'must be in [0, 1)');
  return v;
};

/**
 * A probability-like number in [0, 1].
 *
 * @example
 * Check.unit('cleanShare', 0.5)
 * @since 0.1.0
 */
export const unit = (field: string, v: number): number => {
  finite(field, v);
  if (!(v >= 0 && v <= 1)) throw new ConfigError(field, v, 'must be in [0, 1]');
  return v;
};

/**
 * `n` must be a multiple of `by`; `field` names `by` (the value that does not divide).
 *
 * @example
 * Check.divides('patch', 4, 32, 'image height') // 4
 * @since 0.1.0
 */
export const divides = (field: string, by: number, n: number, what: string): number => {
  if (n % by !== 0) throw new ConfigError(field, by, `must divide ${what} ${n}`);
  return by;
};

/**
 * One of a fixed set of strings.
 *
 * @example
 * Check.oneOf('placement', 'masked', ['none', 'masked', 'all'] as const)
 * @since 0.1.0
 */
export const oneOf = <T extends string>(field: string, v: string, options: readonly T[]): T => {
  if (!(options as readonly string[]).includes(v)) {
    throw new ConfigError(field, v, `must be one of ${options.map((o) => JSON.stringify(o)).join(', ')}`);
  }
  return v as T;
};

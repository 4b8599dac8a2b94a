/**
 * Typed errors. Every error the library throws on bad input is one of these, so callers can
 * branch on `instanceof` or on `code`, and every message names the offending field and value.
 *
 * @since 0.1.0
 */

/**
 * Renders a value for an error message: NaN, Infinity and arrays stay readable.
 *
 * @example
 * show([1, 2]) // '[1,2]'
 */
export const show = (value: unknown): string => {
  if (typeof value === 'number') return Number.isNaN(value) ? 'NaN' : String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (Array.isArray(value)) return `[${value.map(show).join(', ')}]`;
  if (value === undefined) return 'undefined';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
};

/** What kind of problem an error reports. */
export type ErrorCode = 'config' | 'shape' | 'data' | 'format' | 'io' | 'backend';

/**
 * Base class of every error tesserae throws on purpose.
 *
 * @example
 * try { Mask.random(1.5) } catch (e) { if (e instanceof TesseraeError) console.log(e.code) }
 * @since 0.1.0
 */
export abstract class TesseraeError extends Error {
  abstract readonly code: ErrorCode;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/**
 * A configuration value is out of its domain: `field` names it, `value` is what was given.
 *
 * @example
 * new ConfigError('mask.ratio', 1.5, 'must be in [0, 1)').message
 * // 'mask.ratio = 1.5: must be in [0, 1)'
 * @since 0.1.0
 */
export class ConfigError extends TesseraeError {
  readonly code = 'config' as const;
  constructor(
    readonly field: string,
    readonly value: unknown,
    readonly reason: string,
  ) {
    super(`${field} = ${show(value)}: ${reason}`);
  }
}

/**
 * A tensor (or a tensor spec) has the wrong shape: `what` names it.
 *
 * @example
 * new ShapeError('images', '[N, H, W, C]', [32, 32]).message
 * // 'images: expected shape [N, H, W, C], got [32, 32]'
 * @since 0.1.0
 */
export class ShapeError extends TesseraeError {
  readonly code = 'shape' as const;
  constructor(
    readonly what: string,
    readonly expected: string,
    readonly actual: readonly number[],
  ) {
    super(`${what}: expected shape ${expected}, got [${actual.join(', ')}]`);
  }
}

/**
 * Data values are unusable (NaN, infinities, out-of-range labels): `what` names the data,
 * `index` the first bad flat index, `value` the bad value.
 *
 * @example
 * new DataError('images', 7, NaN, 'non-finite value').message
 * // 'images[7] = NaN: non-finite value'
 * @since 0.1.0
 */
export class DataError extends TesseraeError {
  readonly code = 'data' as const;
  constructor(
    readonly what: string,
    readonly index: number,
    readonly value: unknown,
    readonly reason: string,
  ) {
    super(`${what}[${index}] = ${show(value)}: ${reason}`);
  }
}

/**
 * A file is malformed (truncated, hostile header, wrong dtype): `file` names it.
 *
 * @example
 * new FormatError('w.safetensors', 'header length 9e15 exceeds file size 120').message
 * @since 0.1.0
 */
export class FormatError extends TesseraeError {
  readonly code = 'format' as const;
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    super(`${file}: ${problem}`);
  }
}

/**
 * A backend was requested that this environment cannot provide; the message names the
 * package to install.
 *
 * @example
 * new BackendError('node-gpu', 'cannot import the tfjs-node-gpu package').message
 * @since 0.1.0
 */
export class BackendError extends TesseraeError {
  readonly code = 'backend' as const;
  constructor(
    readonly backend: string,
    readonly problem: string,
  ) {
    super(`backend ${show(backend)}: ${problem}`);
  }
}

/**
 * A file-system operation failed: `path` names the file or folder, `operation` what was being
 * done (`read`, `write`, `create folder`, ...), `reason` what went wrong in words (the system's
 * code, such as EISDIR or ENOSPC, is kept in `errno` when there is one).
 *
 * @example
 * new IoError('runs/a', 'create folder', 'a file of that name exists', 'EEXIST').message
 * // 'runs/a: cannot create folder: a file of that name exists (EEXIST)'
 * @since 0.2.0
 */
export class IoError extends TesseraeError {
  readonly code = 'io' as const;
  constructor(
    readonly path: string,
    readonly operation: string,
    readonly reason: string,
    readonly errno?: string,
  ) {
    super(`${path}: cannot ${operation}: ${reason}${errno ? ` (${errno})` : ''}`);
  }
}

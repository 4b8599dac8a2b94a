/**
 * Command-line flags: `node:util`'s parseArgs for tokens, then typed accessors that throw a
 * {@link ConfigError} naming the flag and the value.
 *
 * @since 0.1.0
 */
import { parseArgs } from 'node:util';
import { ConfigError } from '../core/errors.js';
import { BACKEND_NAMES } from '../backends/index.js';

/** Flag definitions: string-valued or boolean. */
export type FlagSpec = Record<string, { readonly type: 'string' | 'boolean'; readonly default?: string | boolean; readonly help: string }>;

/** Parsed flags. */
export type Flags = Record<string, string | boolean | undefined>;

/**
 * Parses `argv` against the flag specs; unknown flags and stray positionals are errors.
 *
 * @example
 * parseFlags(['--steps', '10'], { steps: { type: 'string', help: 'steps' } })
 * @since 0.1.0
 */
export const parseFlags = (argv: readonly string[], spec: FlagSpec): Flags => {
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      options: Object.fromEntries(
        Object.entries(spec).map(([k, v]) => [k, { type: v.type, ...(v.default === undefined ? {} : { default: v.default }) }]),
      ),
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length) throw new ConfigError('arguments', positionals, 'unexpected positional arguments');
    return values as Flags;
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    const m = /'(-{1,2}[^']+)'/.exec((e as Error).message);
    throw new ConfigError(m ? m[1]! : 'arguments', argv, (e as Error).message);
  }
};

const raw = (flags: Flags, name: string): string => {
  const v = flags[name];
  if (typeof v !== 'string') throw new ConfigError(`--${name}`, v, 'is required');
  return v;
};

/**
 * A string flag.
 *
 * @since 0.1.0
 */
export const str = (flags: Flags, name: string): string => raw(flags, name);

/**
 * A number flag.
 *
 * @since 0.1.0
 */
export const num = (flags: Flags, name: string): number => {
  const s = raw(flags, name);
  const v = Number(s);
  if (s.trim() === '' || !Number.isFinite(v)) throw new ConfigError(`--${name}`, s, 'must be a finite number');
  return v;
};

/**
 * An integer flag, at least `min`.
 *
 * @since 0.1.0
 */
export const integer = (flags: Flags, name: string, min = 0): number => {
  const v = num(flags, name);
  if (!Number.isInteger(v) || v < min) throw new ConfigError(`--${name}`, raw(flags, name), `must be an integer >= ${min}`);
  return v;
};

/**
 * A flag restricted to some strings.
 *
 * @since 0.1.0
 */
export const choice = <T extends string>(flags: Flags, name: string, options: readonly T[]): T => {
  const s = raw(flags, name);
  if (!(options as readonly string[]).includes(s)) throw new ConfigError(`--${name}`, s, `must be one of ${options.join(', ')}`);
  return s as T;
};

/**
 * The help text of a command.
 *
 * @since 0.1.0
 */
export const usage = (command: string, summary: string, spec: FlagSpec): string =>
  [
    `tesserae ${command}: ${summary}`,
    '',
    ...Object.entries(spec).map(
      ([k, v]) =>
        `  --${k}${v.type === 'string' ? ' <value>' : ''}`.padEnd(28) +
        v.help +
        (v.default !== undefined ? ` (default ${String(v.default)})` : ''),
    ),
  ].join('\n');

/**
 * A command: its one-line summary, its flags, and what it runs.
 *
 * @since 0.1.0
 */
export interface Command {
  readonly summary: string;
  readonly flags: FlagSpec;
  readonly run: (argv: readonly string[]) => Promise<void>;
}

/**
 * An optional flag read with `read`, or undefined when absent.
 *
 * @example
 * const clip = optional(flags, 'clip', num)
 * @since 0.1.0
 */
export const optional = <T>(f: Flags, name: string, read: (f: Flags, name: string) => T): T | undefined =>
  f[name] === undefined ? undefined : read(f, name);

/** The backend choices every command takes. */
export const BACKENDS = [...BACKEND_NAMES, 'auto'] as const;

/** The help text of every `--backend` flag. */
export const BACKEND_HELP =
  'auto (node-gpu, hardware webgpu, wasm, cpu: the first that works) | wasm | cpu | webgpu | node-gpu (the last two are optional packages)';

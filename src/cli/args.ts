/**
 * Command-line flags: a small strict tokenizer, then typed accessors that throw a
 * {@link ConfigError} naming the flag and the value.
 *
 * The tokenizer reads `--name value`, `--name=value` and boolean `--name`. The token after a
 * string-valued flag is its value whatever it looks like (`--weight-decay -5`, `--out -`), except a
 * token that starts with `--`, which is taken for a forgotten value (`--out --steps 5`); write
 * `--out=--odd` for such a value. A flag given twice, an unknown flag (with the nearest known flag
 * suggested) and a stray argument are errors naming that one token.
 *
 * Every number goes through one grammar ({@link parseNumber}): decimal only, with an optional
 * sign, fraction and exponent.
 *
 * @since 0.1.0
 */
import { ConfigError } from '../core/errors.js';
import { BACKEND_NAMES } from '../backends/index.js';

/** One flag: string-valued or boolean; a repeatable string flag collects every value it is given. */
export interface FlagDef {
  readonly type: 'string' | 'boolean';
  readonly default?: string | boolean;
  readonly help: string;
  /** May be given more than once (string flags only): its value is then the list of values. */
  readonly repeatable?: boolean;
}

/** Flag definitions by name (without the dashes). */
export type FlagSpec = Record<string, FlagDef>;

/** Parsed flags: a string, a boolean, the list of a repeatable flag's values, or undefined when absent. */
export type Flags = Record<string, string | boolean | readonly string[] | undefined>;

const own = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

/**
 * The optimal-string-alignment edit distance (insertions, deletions, substitutions and swaps of
 * two neighbours, each 1).
 */
const editDistance = (a: string, b: string): number => {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  return d[a.length]![b.length]!;
};

/**
 * The known names nearest to `name`: those at the least edit distance when it is at most 2 (and at
 * most half the longer name, so that `--zz` suggests nothing); else the one name that `name` is a
 * prefix of; else none.
 *
 * @example
 * nearest('step', ['steps', 'seed']) // ['steps']
 * nearest('check', ['checkpoint-every', 'count']) // ['checkpoint-every']
 * @since 0.2.0
 */
export const nearest = (name: string, known: readonly string[]): string[] => {
  if (name.length > 64) return [];
  const scored = known.map((k) => ({ k, d: editDistance(name.toLowerCase(), k.toLowerCase()) }));
  const close = scored.filter(({ k, d }) => d <= 2 && 2 * d <= Math.max(name.length, k.length));
  if (close.length) {
    const best = Math.min(...close.map((c) => c.d));
    return close.filter((c) => c.d === best).map((c) => c.k);
  }
  const prefixed = name.length ? known.filter((k) => k.startsWith(name)) : [];
  return prefixed.length === 1 ? prefixed : [];
};

const didYouMean = (names: readonly string[]): string =>
  names.length === 0 ? '' : `; did you mean ${names.map((n) => `--${n}`).join(' or ')}?`;

/**
 * Parses `argv` against the flag specs. Values are strings (booleans for switches, lists for
 * repeatable flags), defaults filled in; every problem is a {@link ConfigError} naming the one
 * token at fault: an unknown flag (field `flag`, with the nearest known flag suggested), a stray
 * argument (field `argument`), a flag given twice, a string flag with no value, a switch given a
 * value.
 *
 * @example
 * parseFlags(['--steps', '10', '--weight-decay', '-5'], { steps: { type: 'string', help: 'steps' }, 'weight-decay': { type: 'string', help: 'wd' } })
 * // { steps: '10', 'weight-decay': '-5' }
 * @since 0.1.0
 */
export const parseFlags = (argv: readonly string[], spec: FlagSpec): Flags => {
  const names = Object.keys(spec);
  const out: Flags = {};
  const given = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const tok = argv[i]!;
    if (tok === '--') {
      // the end of the flags: nothing may follow, as no command takes arguments
      if (i + 1 < argv.length) throw new ConfigError('argument', argv[i + 1], 'is not a flag (no command takes arguments after --)');
      break;
    }
    if (!tok.startsWith('--')) {
      const single = /^-([A-Za-z][\w-]*)(=.*)?$/.exec(tok);
      if (single) {
        const near = own(spec, single[1]!) ? [single[1]!] : nearest(single[1]!, names);
        throw new ConfigError('flag', tok, `is not a flag: flags start with two dashes${didYouMean(near)}`);
      }
      throw new ConfigError('argument', tok, 'is not a flag or the value of one (values follow their flag: --name VALUE or --name=VALUE)');
    }
    const eq = tok.indexOf('=');
    const name = eq < 0 ? tok.slice(2) : tok.slice(2, eq);
    if (!own(spec, name)) throw new ConfigError('flag', `--${name}`, `is not a flag of this command${didYouMean(nearest(name, names))}`);
    const def = spec[name]!;
    let value: string | boolean;
    if (def.type === 'boolean') {
      if (eq >= 0) throw new ConfigError(`--${name}`, tok.slice(eq + 1), `is a switch and takes no value (give --${name} alone)`);
      value = true;
    } else if (eq >= 0) {
      value = tok.slice(eq + 1);
    } else {
      const next = argv[i + 1];
      if (next === undefined) throw new ConfigError(`--${name}`, undefined, 'needs a value');
      if (next.startsWith('--'))
        throw new ConfigError(
          `--${name}`,
          undefined,
          `needs a value, and ${JSON.stringify(next)} is a flag (write --${name}=VALUE for a value that starts with --)`,
        );
      value = next;
      i++;
    }
    if (given.has(name)) {
      if (def.repeatable && typeof value === 'string') {
        const prev = out[name];
        out[name] = [...(typeof prev === 'object' ? prev : []), value];
        continue;
      }
      const prev = out[name];
      throw new ConfigError(`--${name}`, value, `is given twice (first ${JSON.stringify(prev)}); give it once`);
    }
    given.add(name);
    out[name] = def.repeatable && typeof value === 'string' ? [value] : value;
  }
  for (const name of names) {
    const def = spec[name]!;
    if (!given.has(name) && def.default !== undefined)
      out[name] = def.repeatable && typeof def.default === 'string' ? [def.default] : def.default;
  }
  return out;
};

const raw = (flags: Flags, name: string): string => {
  const v = own(flags, name) ? flags[name] : undefined;
  if (typeof v === 'object') throw new ConfigError(`--${name}`, v, 'is repeatable: read it as a list');
  if (typeof v !== 'string') throw new ConfigError(`--${name}`, v, 'is required');
  return v;
};

/**
 * A decimal number: an optional sign, digits with an optional fraction (or a fraction alone), an
 * optional exponent. No hex, octal or binary prefixes, no `Infinity` or `NaN`, no spaces, no
 * digit separators, nothing after the number.
 *
 * @example
 * DECIMAL.test('-1.5e-3') // true
 * DECIMAL.test('0x10') // false
 * @since 0.2.0
 */
export const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * Reads `text` as a decimal number ({@link DECIMAL}), finite; anything else is a
 * {@link ConfigError} naming `field` and the text. -0 reads as 0.
 *
 * @example
 * parseNumber('--weight-decay', '-5') // -5
 * parseNumber('--steps', '0x10') // throws: --steps = "0x10": must be a finite number ...
 * @since 0.2.0
 */
export const parseNumber = (field: string, text: string): number => {
  if (!DECIMAL.test(text))
    throw new ConfigError(field, text, 'must be a finite number written in decimal (such as 10, -5, 0.75, .5, 1e-3)');
  const v = Number(text);
  if (!Number.isFinite(v)) throw new ConfigError(field, text, 'must be a finite number (this one is beyond the float64 range)');
  return v === 0 ? 0 : v;
};

/**
 * A string flag.
 *
 * @example
 * const out = str(flags, 'out')
 * @since 0.1.0
 */
export const str = (flags: Flags, name: string): string => raw(flags, name);

/**
 * The values of a repeatable flag, in the order given (empty when absent).
 *
 * @example
 * const logs = strs(flags, 'log')
 * @since 0.2.0
 */
export const strs = (flags: Flags, name: string): string[] => {
  const v = own(flags, name) ? flags[name] : undefined;
  if (v === undefined) return [];
  if (typeof v === 'string') return [v];
  if (typeof v === 'boolean') throw new ConfigError(`--${name}`, v, 'is a switch, not a list of values');
  return [...v];
};

/**
 * A number flag, in the one grammar of {@link parseNumber}.
 *
 * @example
 * const lr = num(flags, 'base-lr')
 * @since 0.1.0
 */
export const num = (flags: Flags, name: string): number => parseNumber(`--${name}`, raw(flags, name));

/**
 * An integer flag in [`min`, `max`]. It is read as a number first, so `1e3` is the integer 1000 and
 * `1.0` is 1; `1.5` is an error. `max` defaults to the largest integer a float64 holds exactly.
 *
 * @example
 * const steps = integer(flags, 'steps', 1)
 * @since 0.1.0
 */
export const integer = (flags: Flags, name: string, min = 0, max = Number.MAX_SAFE_INTEGER): number => {
  const s = raw(flags, name);
  const v = parseNumber(`--${name}`, s);
  const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in [${min}, ${max}]`;
  if (!Number.isInteger(v) || v < min) throw new ConfigError(`--${name}`, s, `must be an integer ${range}`);
  if (v > max)
    throw new ConfigError(`--${name}`, s, `must be an integer ${range}${max === Number.MAX_SAFE_INTEGER ? ' and at most 2^53 - 1' : ''}`);
  return v;
};

/** The most bytes one batch of float32 images may take: 2 GiB. */
export const BATCH_BYTES_LIMIT = 2 ** 31;

/**
 * A batch-size flag: an integer >= 1 such that one batch of float32 samples of shape `sample`
 * (batch x H x W x C, or x T for clips, x 4 bytes) stays within {@link BATCH_BYTES_LIMIT}, so
 * that `--batch 1e9` is refused before any work rather than stalling.
 *
 * @example
 * const batch = batchSize(flags, 'batch', [32, 32, 3])
 * @since 0.2.0
 */
export const batchSize = (flags: Flags, name: string, sample: readonly number[]): number => {
  const per = sample.reduce((a, b) => a * b, 4);
  const most = Math.max(1, Math.floor(BATCH_BYTES_LIMIT / per));
  const v = integer(flags, name, 1);
  if (v > most) {
    const gib = (v * per) / 2 ** 30;
    const size = gib >= 1024 ? `${(gib / 1024).toFixed(1)} TiB` : `${gib.toFixed(1)} GiB`;
    throw new ConfigError(
      `--${name}`,
      raw(flags, name),
      `one batch of ${v} float32 samples of ${sample.join('x')} would take ${size}, over the 2 GiB limit of a batch: at most ${most} (use --accum for more samples per step)`,
    );
  }
  return v;
};

/**
 * A flag restricted to some strings.
 *
 * @example
 * const backend = choice(flags, 'backend', BACKENDS)
 * @since 0.1.0
 */
export const choice = <T extends string>(flags: Flags, name: string, options: readonly T[]): T => {
  const s = raw(flags, name);
  const found = options.find((o) => o === s);
  if (found === undefined) throw new ConfigError(`--${name}`, s, `must be one of ${options.join(', ')}`);
  return found;
};

/**
 * The help text of a command.
 *
 * @example
 * console.log(usage('train', trainCommand.summary, trainFlags))
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
        (v.repeatable ? ' (repeatable)' : '') +
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
  (own(f, name) ? f[name] : undefined) === undefined ? undefined : read(f, name);

/** The backend choices every command takes. */
export const BACKENDS = [...BACKEND_NAMES, 'auto'] as const;

/** The help text of every `--backend` flag. */
export const BACKEND_HELP =
  'auto (node-gpu, hardware webgpu, wasm, cpu: the first that works) | wasm | cpu | webgpu | node-gpu (the last two are optional packages)';

/**
 * The `--threads` flag, checked against the micro-batches of a step: threads split the
 * `accum` micro-batches between them, so more threads than micro-batches would leave some idle
 * (with `--accum 1`, all but one). That is a {@link ConfigError} naming `--threads` rather than
 * a silent single thread.
 *
 * @example
 * const threads = threadsFlag(flags, integer(flags, 'accum', 1))
 * @since 0.2.0
 */
export const threadsFlag = (flags: Flags, accum: number): number => {
  const threads = integer(flags, 'threads', 1);
  if (threads > accum)
    throw new ConfigError(
      '--threads',
      raw(flags, 'threads'),
      `splits the ${accum} micro-batch${accum === 1 ? '' : 'es'} of a step between threads, so ${threads} threads need --accum >= ${threads} (use --accum ${threads} or more, or --threads ${accum})`,
    );
  return threads;
};

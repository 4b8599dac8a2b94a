/**
 * The run-folder policy of `tesserae train` and `finetune`: a folder that holds a run is never
 * written over by accident. Without flags such a folder is refused; `--resume` continues it from
 * its newest complete checkpoint, after checking that the flags describe the same run; `--force`
 * deletes the previous run's files (only the files a run writes: log.jsonl, config.json,
 * curves.png, checkpoints/ and reconstructions/ images, and their temporary files) and starts
 * over. Also the log rewrite of a resume: a torn last line and the entries past the resumed step
 * are dropped, so the log matches the checkpoint.
 *
 * @since 0.2.0
 */
import type { ModelSpec } from '../models/spec.js';
import { specFromMetadata } from '../models/specSchema.js';
import { readdirSync, readFileSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError, FormatError, show } from '../core/errors.js';
import { removeStaleTempFiles, toIoError, writeFileAtomic } from './files.js';
import type { TrainConfig } from '../train/trainer.js';
import { parseTrainLog, type LogEntry } from './trainLog.js';

/** The files of a run at the top of its folder. */
const TOP = ['log.jsonl', 'config.json', 'curves.png'];
/** The files of a run in its sub-folders. */
const SUB: readonly (readonly [string, RegExp])[] = [
  ['checkpoints', /^(step-\d+|latest)\.safetensors(\.tmp-\d+)?$/],
  ['reconstructions', /^(step-\d+|latest)\.png(\.tmp-\d+)?$/],
];

const list = (dir: string): string[] => {
  try {
    return readdirSync(dir).sort();
  } catch (e) {
    if (e instanceof Error && 'code' in e && (e.code === 'ENOENT' || e.code === 'ENOTDIR')) return [];
    throw toIoError(e, dir, 'list folder');
  }
};

/**
 * The files of a previous run in `out` (relative paths: log.jsonl, config.json,
 * checkpoints/step-000050.safetensors, ...); empty when it holds no run.
 *
 * @example
 * runFiles('runs/a') // ['config.json', 'log.jsonl', 'checkpoints/latest.safetensors', ...]
 * @since 0.2.0
 */
export const runFiles = (out: string): string[] => {
  const top = list(out);
  const found = top.filter((n) => TOP.includes(n) || TOP.some((t) => new RegExp(`^${t.replace('.', '\\.')}\\.tmp-\\d+$`).test(n)));
  for (const [sub, pattern] of SUB) for (const n of list(join(out, sub))) if (pattern.test(n)) found.push(`${sub}/${n}`);
  return found;
};

/** What a list of run files says, short: `log.jsonl, config.json and 5 checkpoint files`. */
const describe = (files: readonly string[]): string => {
  const ck = files.filter((f) => f.startsWith('checkpoints/')).length;
  const parts = [
    ...files.filter((f) => !f.includes('/') && !f.includes('.tmp-')),
    ...(ck ? [`${ck} checkpoint file${ck === 1 ? '' : 's'}`] : []),
  ];
  return parts.length ? parts.join(', ') : `${files.length} files`;
};

/**
 * Applies the run-folder policy before any work: a folder holding a run is refused unless
 * `--resume` or `--force` says what to do with it, and the two together are refused.
 *
 * @example
 * checkRunFolder('runs/a', { resume: false, force: false })
 * @since 0.2.0
 */
export const checkRunFolder = (out: string, o: { readonly resume: boolean; readonly force: boolean }): void => {
  if (o.resume && o.force) throw new ConfigError('--force', true, 'starts the run over, and --resume continues it: pass one of them');
  if (o.resume || o.force) return;
  const files = runFiles(out);
  if (files.length > 0)
    throw new ConfigError(
      '--out',
      out,
      `holds a run (${describe(files)}); pass --resume to continue it, or --force to delete it and start over (or choose another --out)`,
    );
};

/**
 * Deletes the files of a previous run in `out` (see {@link runFiles}) and the sub-folders
 * left empty; other files are kept. Returns the number of files removed and their size.
 *
 * @example
 * clearRun('runs/a') // { files: 12, bytes: 40123456 }
 * @since 0.2.0
 */
export const clearRun = (out: string): { files: number; bytes: number } => {
  let bytes = 0;
  const files = runFiles(out);
  for (const f of files) {
    const p = join(out, f);
    try {
      bytes += statSync(p).size;
      rmSync(p, { force: true });
    } catch (e) {
      throw toIoError(e, p, 'remove');
    }
  }
  for (const [sub] of SUB) {
    const d = join(out, sub);
    try {
      if (list(d).length === 0) rmdirSync(d);
    } catch {
      // not there, or not empty: kept
    }
  }
  return { files: files.length, bytes };
};

/**
 * Removes the temporary files of killed writes in a run folder and its checkpoint and picture
 * folders (all of them: a run's folder has one writer, and it is starting). Returns a line
 * saying what was removed, or undefined when nothing was.
 *
 * @example
 * const line = removeRunTempFiles('runs/a')
 * @since 0.2.0
 */
export const removeRunTempFiles = (out: string): string | undefined => {
  let n = 0;
  let bytes = 0;
  for (const d of [out, ...SUB.map(([sub]) => join(out, sub))]) {
    const r = removeStaleTempFiles(d, { all: true });
    n += r.removed.length;
    bytes += r.bytes;
  }
  return n
    ? `removed ${n} temporary file${n === 1 ? '' : 's'} (${(bytes / 2 ** 20).toFixed(1)} MiB) left by an interrupted run`
    : undefined;
};

const readLogText = (path: string): string | undefined => {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    if (e instanceof Error && 'code' in e && e.code === 'ENOENT') return undefined;
    throw toIoError(e, path, 'read log');
  }
};

/**
 * Rewrites a run's log for a resume at `step`: a torn last line and every entry past the step
 * are dropped (so appending goes on from a whole line, and the log matches the checkpoint).
 * Returns the entries kept; warnings (the torn line) go to `warn`.
 *
 * @example
 * const kept = trimLog('runs/a/log.jsonl', 50, console.log)
 * @since 0.2.0
 */
export const trimLog = (path: string, step: number, warn: (line: string) => void): LogEntry[] => {
  const text = readLogText(path);
  if (text === undefined) return [];
  const { entries, lines, torn } = parseTrainLog(text, path);
  if (torn !== undefined) warn(`warning: ${path}: line ${torn}, the last, is cut short (a write that did not finish); dropped`);
  const keep = entries.map((e, i) => [e, lines[i]!] as const).filter(([e]) => e.step <= step);
  const rewritten = keep.map(([, l]) => `${l}\n`).join('');
  if (rewritten !== text) writeFileAtomic(path, rewritten);
  return keep.map(([e]) => e);
};

/** The flag that sets each training setting. */
/** The flag of each training setting (`weightDecay` is `--weight-decay`). */
export const TRAIN_FLAGS: Readonly<Record<string, string>> = {
  batch: '--batch',
  accum: '--accum',
  baseLr: '--base-lr',
  minLr: '--min-lr',
  warmup: '--warmup',
  weightDecay: '--weight-decay',
  clip: '--clip',
  seed: '--seed',
  ema: '--ema',
};

/** The first place two JSON values differ: its path (`a.b[2]`) and both values; undefined when equal. */
export const jsonDiff = (a: unknown, b: unknown, path = ''): { path: string; old: unknown; now: unknown } | undefined => {
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null && Array.isArray(a) === Array.isArray(b)) {
    if (Array.isArray(a) && Array.isArray(b)) {
      if (a.length !== b.length) return { path: path || '(value)', old: a, now: b };
      for (let i = 0; i < a.length; i++) {
        const d = jsonDiff(a[i], b[i], `${path}[${i}]`);
        if (d) return d;
      }
      return undefined;
    }
    const ra = a as Record<string, unknown>;
    const rb = b as Record<string, unknown>;
    for (const k of [...new Set([...Object.keys(ra), ...Object.keys(rb)])].sort()) {
      const d = jsonDiff(ra[k], rb[k], path ? `${path}.${k}` : k);
      if (d) return d;
    }
    return undefined;
  }
  return JSON.stringify(a) === JSON.stringify(b) ? undefined : { path: path || '(value)', old: a, now: b };
};

const parsed = (meta: Record<string, string>, key: string, file: string): unknown => {
  const s = meta[key];
  if (s === undefined) return undefined;
  try {
    return JSON.parse(s) as unknown;
  } catch {
    throw new FormatError(file, `metadata ${key} is not JSON`);
  }
};

/** What a resumed run is compared on: what the checkpoint metadata records. */
export interface RunIdentity {
  readonly spec: ModelSpec;
  readonly data: unknown;
  /** count, held, size, frames, test: which images the data source gives. */
  readonly split: {
    readonly count?: number;
    readonly held: number;
    readonly size?: number;
    readonly fit?: string;
    readonly frames?: number;
    readonly test?: unknown;
  };
  readonly train: TrainConfig;
}

/** The metadata entries that record a run's identity (see {@link checkResume}). */
export const identityMetadata = (id: RunIdentity): Record<string, string> => ({
  spec: JSON.stringify(id.spec),
  train: JSON.stringify(id.train),
  data: JSON.stringify(id.data),
  split: JSON.stringify(id.split),
});

/** Two data sources name the same data: equal, or equal once their paths are resolved. */
const sameData = (a: unknown, b: unknown): boolean => {
  if (jsonDiff(a, b) === undefined) return true;
  const norm = (x: unknown): unknown =>
    typeof x === 'object' && x !== null && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x).map(([k, v]) => [k, k !== 'kind' && typeof v === 'string' ? resolve(v) : v]))
      : x;
  return jsonDiff(norm(a), norm(b)) === undefined;
};

/**
 * Refuses to resume a checkpoint with flags that describe another run: a ConfigError naming
 * the field (the flag where there is one), the value given and the value the run was trained
 * with. Compared: the model spec, the data source, which images it gives (count, held, size,
 * frames), every model setting, and every training setting but the steps, which may grow.
 *
 * @example
 * checkResume(readCheckpointMetadata(latest), identity, latest)
 * @since 0.2.0
 */
export const checkResume = (meta: Record<string, string>, now: RunIdentity, file: string): void => {
  const refuse = (field: string, value: unknown, old: unknown, hint = ''): never => {
    throw new ConfigError(
      field,
      value,
      `the run being resumed (${file}) was trained with ${show(old)}; resuming with another value would change the run${hint} (pass --force to start over, or choose another --out)`,
    );
  };
  const data = parsed(meta, 'data', file);
  if (data !== undefined && !sameData(data, now.data)) refuse('--data', now.data, data);
  const split = parsed(meta, 'split', file);
  if (split !== undefined && typeof split === 'object' && split !== null) {
    const s = split as Record<string, unknown>;
    for (const k of ['count', 'held', 'size', 'fit', 'frames'] as const)
      if (jsonDiff(s[k], now.split[k]) !== undefined) refuse(`--${k}`, now.split[k], s[k] ?? 'none');
    if (!sameData(s['test'] ?? null, now.split.test ?? null)) refuse('--test-data', now.split.test ?? 'none', s['test'] ?? 'none');
  }
  // the model: the spec stored (or a 0.1.0 checkpoint's method and model, read as one), its label aside
  const { label: _oldLabel, ...old } = specFromMetadata(meta, file);
  const { label: _label, ...spec } = now.spec;
  const dm = jsonDiff(JSON.parse(JSON.stringify(old)) as unknown, JSON.parse(JSON.stringify(spec)) as unknown, 'spec');
  if (dm) refuse(dm.path, dm.now, dm.old);
  const train = parsed(meta, 'train', file);
  if (typeof train === 'object' && train !== null) {
    const t = train as Record<string, unknown>;
    const nt = JSON.parse(JSON.stringify(now.train)) as Record<string, unknown>;
    for (const k of [...new Set([...Object.keys(t), ...Object.keys(nt)])].sort()) {
      if (k === 'steps') continue;
      const d = jsonDiff(t[k], nt[k]);
      if (d)
        refuse(
          TRAIN_FLAGS[k] ?? `train.${k}`,
          nt[k],
          t[k],
          k === 'warmup' ? `; the warmup defaults to 5% of --steps: give --warmup ${show(t[k])} to keep it` : '',
        );
    }
    if (typeof t['steps'] === 'number' && now.train.steps < t['steps'])
      throw new ConfigError(
        '--steps',
        now.train.steps,
        `the run being resumed (${file}) was set to ${t['steps']} steps; steps may grow on a resume, not shrink (evaluate an earlier checkpoint instead)`,
      );
  }
};

/**
 * Refuses to resume on data whose channel statistics differ from the run's (the files behind
 * the same data source changed).
 *
 * @example
 * checkNorm(meta, norm, '--data', latest)
 * @since 0.2.0
 */
export const checkNorm = (meta: Record<string, string>, norm: unknown, data: unknown, file: string): void => {
  const old = parsed(meta, 'norm', file);
  if (old !== undefined && jsonDiff(old, JSON.parse(JSON.stringify(norm)) as unknown) !== undefined)
    throw new ConfigError(
      '--data',
      data,
      `its images have channel statistics ${JSON.stringify(norm)}, not the ${JSON.stringify(old)} of the run being resumed (${file}): the data changed (pass --force to start over)`,
    );
};

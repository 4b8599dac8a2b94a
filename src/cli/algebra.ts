/**
 * The corruption algebra from the command line: a mask, a noise, a time and an objective, each
 * a short string, make one branch; `--clean-share` adds a clean branch beside it (UMD's
 * structure, for any mask and noise); a JSON file holds any corruption or any whole model spec.
 * Every parse error is a ConfigError naming the flag and the value.
 *
 * @since 0.2.0
 */
import { readFileSync } from 'node:fs';
import { inFile, parseJson } from '../core/decode.js';
import { ConfigError } from '../core/errors.js';
import { decodeCorruption } from '../corruption/codec.js';
import { mixture, type Branch, type Corruption } from '../corruption/corruption.js';
import { Mask } from '../corruption/mask.js';
import { Noise } from '../corruption/noise.js';
import { term, type Objective } from '../corruption/objective.js';
import type { Schedule } from '../corruption/schedule.js';
import { Time } from '../corruption/time.js';
import { decodeModelSpec, type ModelSpec } from '../models/spec.js';
import { toIoError } from '../node/files.js';
import type { Patching } from '../vision/patchify.js';
import { DECIMAL } from './args.js';

const numberOf = (flag: string, s: string, text: string, why: string): number => {
  if (!DECIMAL.test(text)) throw new ConfigError(flag, s, why);
  return Number(text);
};

/**
 * A mask: `random:RATIO`, `center:RATIO`, `block:TOP,LEFT,HEIGHT,WIDTH` (in patches),
 * `tube:RATIO`, `frame:RATIO` or `none`.
 *
 * @example
 * parseMask('center:0.25', '--mask') // Mask.center(0.25)
 * @since 0.1.0
 */
export const parseMask = (s: string, flag = '--mask'): Mask => {
  const why = 'must be random:RATIO, center:RATIO, block:TOP,LEFT,HEIGHT,WIDTH, tube:RATIO, frame:RATIO or none';
  if (s === 'none') return Mask.none();
  const [kind, arg, ...extra] = s.split(':');
  if (arg === undefined || extra.length) throw new ConfigError(flag, s, why);
  if (kind === 'random' || kind === 'center' || kind === 'tube' || kind === 'frame') return Mask[kind](numberOf(flag, s, arg, why));
  if (kind === 'block') {
    const v = arg.split(',').map((x) => numberOf(flag, s, x, why));
    if (v.length !== 4 || v.some((x) => !Number.isInteger(x))) throw new ConfigError(flag, s, why);
    return Mask.block({ top: v[0]!, left: v[1]!, height: v[2]!, width: v[3]! });
  }
  throw new ConfigError(flag, s, why);
};

/**
 * Where noise goes: `none`, `masked` (the removed patches) or `all` (the whole image), on the
 * schedule given.
 *
 * @example
 * parseNoise('all', Schedule.cosine()) // Noise.all(Schedule.cosine())
 * @since 0.2.0
 */
export const parseNoise = (s: string, schedule: Schedule, flag = '--noise'): Noise => {
  if (s === 'none') return Noise.none();
  if (s === 'masked' || s === 'all') return Noise[s](schedule);
  throw new ConfigError(flag, s, 'must be none, masked or all');
};

/**
 * Timesteps: `zero` (t = 0), `uniform` (1..T), `T` (a fixed t) or `LO-HI` (uniform over LO..HI,
 * both included).
 *
 * @example
 * parseTime('1-100') // Time.range(1, 100)
 * @since 0.2.0
 */
export const parseTime = (s: string, flag = '--time'): Time => {
  const why = 'must be zero, uniform, a timestep T or a range LO-HI';
  if (s === 'zero' || s === 'uniform') return Time[s]();
  const range = /^([0-9]+)-([0-9]+)$/.exec(s);
  if (range) return Time.range(Number(range[1]), Number(range[2]));
  if (/^[0-9]+$/.test(s)) return Time.fixed(Number(s));
  throw new ConfigError(flag, s, why);
};

/**
 * An objective: comma-separated terms `TARGET:REGION[:WEIGHT][:normpix]`, TARGET x0 or eps,
 * REGION masked, visible or all.
 *
 * @example
 * parseObjective('eps:visible:0.5,x0:masked:0.5')
 * @since 0.2.0
 */
export const parseObjective = (s: string, flag = '--objective'): Objective => {
  const why = 'must be comma-separated TARGET:REGION[:WEIGHT][:normpix] terms (TARGET x0 or eps, REGION masked, visible or all)';
  return s.split(',').map((part) => {
    const [target, region, ...rest] = part.split(':');
    if ((target !== 'x0' && target !== 'eps') || (region !== 'masked' && region !== 'visible' && region !== 'all'))
      throw new ConfigError(flag, s, why);
    const normPix = rest[rest.length - 1] === 'normpix';
    const w = normPix ? rest.slice(0, -1) : rest;
    if (w.length > 1) throw new ConfigError(flag, s, why);
    return term(target, region, w.length ? numberOf(flag, s, w[0]!, why) : 1, { normPix });
  });
};

/**
 * The corruption the algebra flags describe: one branch (`mask`, `noise`, `time`, `objective`),
 * and, with `cleanShare`, a clean branch (the same mask or `cleanMask`, no noise, t = 0, x0 on
 * the removed patches) taking that share of each batch.
 *
 * @example
 * corruptionFromParts(patches(4), { mask: Mask.block({ top: 2, left: 2, height: 4, width: 4 }), noise: Noise.all(Schedule.cosine()), time: Time.range(1, 100), objective: parseObjective('eps:all') }, 0.25)
 * @since 0.2.0
 */
export const corruptionFromParts = (patching: Patching, branch: Branch, cleanShare?: number, cleanMask?: Mask): Corruption => {
  if (cleanShare === undefined || cleanShare === 0) return mixture(patching, [{ name: 'main', weight: 1, branch }]);
  if (!(cleanShare > 0 && cleanShare < 1)) throw new ConfigError('--clean-share', cleanShare, 'must be in [0, 1)');
  const clean: Branch = { mask: cleanMask ?? branch.mask, noise: Noise.none(), time: Time.zero(), objective: [term('x0', 'masked')] };
  return mixture(patching, [
    { name: 'clean', weight: cleanShare, branch: clean },
    { name: 'noised', weight: 1 - cleanShare, branch },
  ]);
};

const readJson = (path: string, what: string): unknown => {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw toIoError(e, path, 'read');
  }
  return parseJson(text, path, what);
};

/**
 * A whole model spec from a JSON file (as `tesserae train --spec FILE`), validated field by
 * field; a FormatError names the file and the field.
 *
 * @example
 * specFile('hybrid.json')
 * @since 0.2.0
 */
export const specFile = (path: string): ModelSpec => inFile(path, 'spec', () => decodeModelSpec('spec', readJson(path, 'spec')));

/**
 * A corruption from a JSON file (as `tesserae train --corruption FILE`).
 *
 * @example
 * corruptionFile('hybrid-corruption.json')
 * @since 0.2.0
 */
export const corruptionFile = (path: string): Corruption =>
  inFile(path, 'corruption', () => decodeCorruption('corruption', readJson(path, 'corruption')));

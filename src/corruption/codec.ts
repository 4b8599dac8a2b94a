/**
 * Corruption values as JSON. Every value of the algebra (patching, mask, schedule, noise, time,
 * objective, branch, mixture) is plain data, so `JSON.stringify` serialises it; the decoders
 * here read it back from untrusted JSON, checking every field and running the smart
 * constructors, so that `decodeCorruption(JSON.parse(JSON.stringify(c)))` deep-equals `c` (the
 * round-trip law, a property test) and anything else is a {@link ConfigError} naming the field.
 *
 * @since 0.2.0
 */
import { bool, choice, has, integer, isRecord, list, number, record, text, via } from '../core/decode.js';
import { ConfigError } from '../core/errors.js';
import { patches, tubelets, type Patching } from '../vision/patchify.js';
import { mixture, type Branch, type Corruption, type Split, type WeightedBranch } from './corruption.js';
import { Mask } from './mask.js';
import { Noise } from './noise.js';
import { term, type LossTerm, type Objective } from './objective.js';
import { RHO_ON, Schedule, type RhoOn } from './schedule.js';
import { Time } from './time.js';

/** The largest side, step count and index a decoded value may name (far above any model here). */
const MAX = { side: 16384, steps: 100_000, index: 2 ** 31 - 1 } as const;

/**
 * Reads a {@link Mask}.
 *
 * @example
 * decodeMask('mask', { kind: 'random', ratio: 0.75 }) // Mask.random(0.75)
 * @since 0.2.0
 */
export const decodeMask = (path: string, v: unknown): Mask => {
  if (!isRecord(v)) throw new ConfigError(path, v, 'must be a mask object');
  const kind = choice(`${path}.kind`, v['kind'], ['none', 'random', 'center', 'block', 'tube', 'frame', 'explicit'] as const);
  switch (kind) {
    case 'none':
      record(path, v, ['kind']);
      return Mask.none();
    case 'random':
    case 'center':
    case 'tube':
    case 'frame': {
      const r = number(`${path}.ratio`, record(path, v, ['kind', 'ratio'])['ratio'], 0, 1);
      return via(path, v, () => Mask[kind](r));
    }
    case 'block': {
      const o = record(path, v, ['kind', 'top', 'left', 'height', 'width']);
      const [top, left, height, width] = (['top', 'left', 'height', 'width'] as const).map((k) =>
        integer(`${path}.${k}`, o[k], 0, MAX.side),
      ) as [number, number, number, number];
      return via(path, v, () => Mask.block({ top, left, height, width }));
    }
    case 'explicit': {
      const ids = list(`${path}.removed`, record(path, v, ['kind', 'removed'])['removed'], (p, x) => integer(p, x, 0, MAX.index));
      return via(path, v, () => Mask.explicit(ids));
    }
  }
};

/**
 * Reads a noise {@link Schedule}.
 *
 * @example
 * decodeSchedule('schedule', Schedule.cosine())
 * @since 0.2.0
 */
export const decodeSchedule = (path: string, v: unknown): Schedule => {
  if (!isRecord(v)) throw new ConfigError(path, v, 'must be a schedule object');
  const kind = choice(`${path}.kind`, v['kind'], ['cosine', 'linear'] as const);
  const steps = (o: Readonly<Record<string, unknown>>) => integer(`${path}.steps`, o['steps'], 1, MAX.steps);
  const rho = (o: Readonly<Record<string, unknown>>) => number(`${path}.rho`, o['rho'], 0, 100);
  // absent in specs and checkpoints written before 0.2.0: the reading they were trained with
  const rhoOn = (o: Readonly<Record<string, unknown>>): RhoOn =>
    has(o, 'rhoOn') ? choice(`${path}.rhoOn`, o['rhoOn'], RHO_ON) : 'alphaBar';
  if (kind === 'cosine') {
    const o = record(path, v, ['kind', 'steps', 's', 'maxBeta', 'rho', 'rhoOn']);
    const f = {
      steps: steps(o),
      s: number(`${path}.s`, o['s'], 0, 10),
      maxBeta: number(`${path}.maxBeta`, o['maxBeta'], 0, 1),
      rho: rho(o),
      rhoOn: rhoOn(o),
    };
    return via(path, v, () => Schedule.cosine(f));
  }
  const o = record(path, v, ['kind', 'steps', 'betaStart', 'betaEnd', 'rho', 'rhoOn']);
  const f = {
    steps: steps(o),
    betaStart: number(`${path}.betaStart`, o['betaStart'], 0, 1),
    betaEnd: number(`${path}.betaEnd`, o['betaEnd'], 0, 1),
    rho: rho(o),
    rhoOn: rhoOn(o),
  };
  return via(path, v, () => Schedule.linear(f));
};

/**
 * Reads a {@link Noise}.
 *
 * @example
 * decodeNoise('noise', { placement: 'none' }) // Noise.none()
 * @since 0.2.0
 */
export const decodeNoise = (path: string, v: unknown): Noise => {
  if (!isRecord(v)) throw new ConfigError(path, v, 'must be a noise object');
  const placement = choice(`${path}.placement`, v['placement'], ['none', 'masked', 'all'] as const);
  if (placement === 'none') {
    record(path, v, ['placement']);
    return Noise.none();
  }
  const o = record(path, v, ['placement', 'schedule']);
  return Noise[placement](decodeSchedule(`${path}.schedule`, o['schedule']));
};

/**
 * Reads a {@link Time}.
 *
 * @example
 * decodeTime('time', { kind: 'range', lo: 1, hi: 100 }) // Time.range(1, 100)
 * @since 0.2.0
 */
export const decodeTime = (path: string, v: unknown): Time => {
  if (!isRecord(v)) throw new ConfigError(path, v, 'must be a time object');
  const kind = choice(`${path}.kind`, v['kind'], ['zero', 'uniform', 'range', 'fixed'] as const);
  switch (kind) {
    case 'zero':
    case 'uniform':
      record(path, v, ['kind']);
      return Time[kind]();
    case 'range': {
      const o = record(path, v, ['kind', 'lo', 'hi']);
      const lo = integer(`${path}.lo`, o['lo'], 0, MAX.steps);
      const hi = integer(`${path}.hi`, o['hi'], 0, MAX.steps);
      return via(path, v, () => Time.range(lo, hi));
    }
    case 'fixed':
      return Time.fixed(integer(`${path}.t`, record(path, v, ['kind', 't'])['t'], 0, MAX.steps));
  }
};

/**
 * Reads an {@link Objective}: a non-empty list of loss terms.
 *
 * @example
 * decodeObjective('objective', [{ target: 'x0', region: 'masked', weight: 1, normPix: false }])
 * @since 0.2.0
 */
export const decodeObjective = (path: string, v: unknown): Objective =>
  list(
    path,
    v,
    (p, x): LossTerm => {
      const o = record(p, x, ['target', 'region', 'weight', 'normPix']);
      const target = choice(`${p}.target`, o['target'], ['x0', 'eps'] as const);
      const region = choice(`${p}.region`, o['region'], ['masked', 'visible', 'all'] as const);
      const weight = has(o, 'weight') ? number(`${p}.weight`, o['weight'], 0, 1e6) : 1;
      const normPix = has(o, 'normPix') ? bool(`${p}.normPix`, o['normPix']) : false;
      return via(p, x, () => term(target, region, weight, { normPix }));
    },
    64,
  );

/**
 * Reads a {@link Patching}.
 *
 * @example
 * decodePatching('patching', { kind: 'image', size: 4 }) // patches(4)
 * @since 0.2.0
 */
export const decodePatching = (path: string, v: unknown): Patching => {
  if (!isRecord(v)) throw new ConfigError(path, v, 'must be a patching object');
  const kind = choice(`${path}.kind`, v['kind'], ['image', 'tubelet'] as const);
  if (kind === 'image') return patches(integer(`${path}.size`, record(path, v, ['kind', 'size'])['size'], 1, MAX.side));
  const o = record(path, v, ['kind', 'size', 'frames']);
  return tubelets(integer(`${path}.frames`, o['frames'], 1, MAX.side), integer(`${path}.size`, o['size'], 1, MAX.side));
};

/**
 * Reads a {@link Branch} (and validates it, as {@link corruption} does).
 *
 * @example
 * decodeBranch('branch', { mask: { kind: 'random', ratio: 0.75 }, noise: { placement: 'none' }, time: { kind: 'zero' }, objective: [{ target: 'x0', region: 'masked' }] })
 * @since 0.2.0
 */
export const decodeBranch = (path: string, v: unknown): Branch => {
  const o = record(path, v, ['mask', 'noise', 'time', 'objective', 'condition']);
  return {
    mask: decodeMask(`${path}.mask`, o['mask']),
    noise: decodeNoise(`${path}.noise`, o['noise']),
    time: decodeTime(`${path}.time`, o['time']),
    objective: decodeObjective(`${path}.objective`, o['objective']),
    ...(has(o, 'condition') ? { condition: choice(`${path}.condition`, o['condition'], ['label', 'null'] as const) } : {}),
  };
};

/**
 * Reads a {@link Corruption}: patching, weighted named branches and the split. Branches are
 * validated (noise and time agree, an eps target has noise, a masked region has a mask) and the
 * weights normalised, exactly as {@link mixture} does.
 *
 * @example
 * decodeCorruption('corruption', JSON.parse(JSON.stringify(Method.umd({ patch: 4 })))) // deep-equals Method.umd({ patch: 4 })
 * @since 0.2.0
 */
export const decodeCorruption = (path: string, v: unknown): Corruption => {
  const o = record(path, v, ['patching', 'branches', 'split']);
  const patching = decodePatching(`${path}.patching`, o['patching']);
  const split: Split = has(o, 'split') ? choice(`${path}.split`, o['split'], ['exact', 'sample'] as const) : 'exact';
  const branches = list(
    `${path}.branches`,
    o['branches'],
    (p, x): WeightedBranch => {
      const b = record(p, x, ['name', 'weight', 'branch']);
      return {
        name: text(`${p}.name`, b['name'], 64),
        weight: has(b, 'weight') ? number(`${p}.weight`, b['weight'], 0, 1e6) : 1,
        branch: decodeBranch(`${p}.branch`, b['branch']),
      };
    },
    64,
  );
  if (branches.length === 0) throw new ConfigError(`${path}.branches`, [], 'needs at least one branch');
  const c = via(path, v, () => mixture(patching, branches, split));
  // weights that already sum to 1 (as every serialised corruption's do) come back bit for bit, not re-divided by their float sum
  const total = branches.reduce((s, b) => s + b.weight, 0);
  if (Math.abs(total - 1) > 1e-9) return c;
  return Object.freeze({ ...c, branches: Object.freeze(c.branches.map((b, i) => Object.freeze({ ...b, weight: branches[i]!.weight }))) });
};

/**
 * Diffusion noise schedules, as data, and their tables.
 *
 * Convention: t = 0 is clean (alphaBar[0] = 1) and t = 1..T are the noised steps, so the
 * tables have T + 1 entries. (Codebases that count noised steps from 0, such as DiT, UMD and
 * guided-diffusion, use their t + 1 = our t; UMD's "condition on t + 1, reserve 0 for clean" is
 * this convention.)
 *
 * @since 0.1.0
 */
import { finite, positive, positiveInt } from '../core/check.js';
import { ConfigError } from '../core/errors.js';

/**
 * A noise schedule.
 *
 * - `cosine` (Nichol & Dhariwal; UMD's pixel schedule): alphaBar follows
 *   cos^2(((t/T + s) / (1 + s)) pi/2), each beta capped at `maxBeta`.
 * - `linear` (DDPM): beta rises linearly from `betaStart` at t = 1 to `betaEnd` at t = T.
 *
 * `rho` is DiffMAE's exponent on the schedule. DiffMAE's paper varies it without publishing code,
 * so both readings are options, named by `rhoOn` (see {@link RhoOn}); rho = 1 leaves the schedule
 * unchanged under either (with `'betas'`, up to the 0.999 cap on a linear beta above it).
 *
 * @since 0.1.0
 */
export type Schedule =
  | {
      readonly kind: 'cosine';
      readonly steps: number;
      readonly s: number;
      readonly maxBeta: number;
      readonly rho: number;
      readonly rhoOn: RhoOn;
    }
  | {
      readonly kind: 'linear';
      readonly steps: number;
      readonly betaStart: number;
      readonly betaEnd: number;
      readonly rho: number;
      readonly rhoOn: RhoOn;
    };

/**
 * What DiffMAE's exponent rho applies to.
 *
 * - `'alphaBar'` (the default, tesserae 0.1.0's reading, kept so that existing models and losses
 *   are unchanged): alphaBar_t -> alphaBar_t ^ rho (rho > 1: noisier at every t, rho < 1: cleaner).
 * - `'betas'`: each beta_t -> beta_t ^ rho, then capped again at the schedule's cap (`maxBeta` for
 *   cosine, 0.999 for linear), and alphaBar the product of (1 - beta); this is how the one public
 *   DiffMAE reproduction reads it (linear betas, rho = 0.8), as reported in issue 16. rho < 1 makes
 *   every beta larger (noisier), rho > 1 smaller.
 *
 * @since 0.2.0
 */
export type RhoOn = 'alphaBar' | 'betas';

/**
 * The readings of rho, for parsing and listing.
 *
 * @example
 * RHO_ON.includes('betas') // true
 * @since 0.2.0
 */
export const RHO_ON: readonly RhoOn[] = ['alphaBar', 'betas'];

const rhoOnOf = (v: RhoOn | undefined): RhoOn => {
  const r = v ?? 'alphaBar';
  if (!RHO_ON.includes(r)) throw new ConfigError('schedule.rhoOn', r, `must be one of ${RHO_ON.join(', ')}`);
  return r;
};

/** The cap on a linear schedule's betas after rho (the cosine schedule's default cap). */
const LINEAR_MAX_BETA = 0.999;

/**
 * Smart constructors for {@link Schedule} (T = 1000 by default).
 *
 * @example
 * Schedule.cosine()                       // s = 0.008, maxBeta = 0.999
 * Schedule.linear({ betaStart: 1e-4, betaEnd: 0.02 })
 * Schedule.cosine({ rho: 0.8 })                      // alphaBar^0.8
 * Schedule.linear({ rho: 0.8, rhoOn: 'betas' })      // beta^0.8, as the DiffMAE reproduction
 * @since 0.1.0
 */
export const Schedule = {
  cosine: (
    o: { readonly steps?: number; readonly s?: number; readonly maxBeta?: number; readonly rho?: number; readonly rhoOn?: RhoOn } = {},
  ): Schedule => {
    const maxBeta = positive('schedule.maxBeta', o.maxBeta ?? 0.999);
    if (maxBeta >= 1) throw new ConfigError('schedule.maxBeta', maxBeta, 'must be < 1');
    const s = finite('schedule.s', o.s ?? 0.008);
    if (s < 0) throw new ConfigError('schedule.s', s, 'must be >= 0');
    return {
      kind: 'cosine',
      steps: positiveInt('schedule.steps', o.steps ?? 1000),
      s,
      maxBeta,
      rho: positive('schedule.rho', o.rho ?? 1),
      rhoOn: rhoOnOf(o.rhoOn),
    };
  },
  linear: (
    o: {
      readonly steps?: number;
      readonly betaStart?: number;
      readonly betaEnd?: number;
      readonly rho?: number;
      readonly rhoOn?: RhoOn;
    } = {},
  ): Schedule => {
    const betaStart = positive('schedule.betaStart', o.betaStart ?? 1e-4);
    const betaEnd = positive('schedule.betaEnd', o.betaEnd ?? 0.02);
    if (betaEnd >= 1) throw new ConfigError('schedule.betaEnd', betaEnd, 'must be < 1');
    if (betaStart > betaEnd) throw new ConfigError('schedule.betaStart', betaStart, `must be <= betaEnd ${betaEnd}`);
    return {
      kind: 'linear',
      steps: positiveInt('schedule.steps', o.steps ?? 1000),
      betaStart,
      betaEnd,
      rho: positive('schedule.rho', o.rho ?? 1),
      rhoOn: rhoOnOf(o.rhoOn),
    };
  },
} as const;

/**
 * A schedule's values for t = 0..T, in double precision.
 *
 * @since 0.1.0
 */
export interface ScheduleTable {
  readonly steps: number;
  /** beta_t; beta_0 = 0. */
  readonly betas: Float64Array;
  /** alphaBar_t = prod_{i <= t} (1 - beta_i); alphaBar_0 = 1. */
  readonly alphaBar: Float64Array;
  readonly sqrtAlphaBar: Float64Array;
  readonly sqrtOneMinusAlphaBar: Float64Array;
}

const tables = new Map<string, ScheduleTable>();

/**
 * The table of a schedule (memoised).
 *
 * @example
 * const tab = tableOf(Schedule.cosine())
 * tab.alphaBar[0] // 1
 * @since 0.1.0
 */
export const tableOf = (schedule: Schedule): ScheduleTable => {
  const id = JSON.stringify(schedule);
  const hit = tables.get(id);
  if (hit) return hit;
  const T = schedule.steps;
  const onBetas = schedule.rhoOn === 'betas';
  const cap = schedule.kind === 'cosine' ? schedule.maxBeta : LINEAR_MAX_BETA;
  // rho on the betas: beta -> min(beta ^ rho, cap); on alphaBar it applies after the product
  const reshape = (beta: number): number => (onBetas ? Math.min(beta ** schedule.rho, cap) : beta);
  const base = new Float64Array(T + 1);
  base[0] = 1;
  if (schedule.kind === 'cosine') {
    const f = (u: number): number => Math.cos(((u + schedule.s) / (1 + schedule.s)) * (Math.PI / 2)) ** 2;
    for (let t = 1; t <= T; t++) {
      const beta = Math.min(1 - f(t / T) / f((t - 1) / T), schedule.maxBeta);
      base[t] = base[t - 1]! * (1 - reshape(beta));
    }
  } else {
    for (let t = 1; t <= T; t++) {
      const beta = T === 1 ? schedule.betaStart : schedule.betaStart + ((schedule.betaEnd - schedule.betaStart) * (t - 1)) / (T - 1);
      base[t] = base[t - 1]! * (1 - reshape(beta));
    }
  }
  const alphaBar = onBetas ? base : base.map((a) => a ** schedule.rho);
  const betas = new Float64Array(T + 1);
  const sqrtAlphaBar = new Float64Array(T + 1);
  const sqrtOneMinusAlphaBar = new Float64Array(T + 1);
  for (let t = 0; t <= T; t++) {
    betas[t] = t === 0 ? 0 : 1 - alphaBar[t]! / alphaBar[t - 1]!;
    sqrtAlphaBar[t] = Math.sqrt(alphaBar[t]!);
    sqrtOneMinusAlphaBar[t] = Math.sqrt(1 - alphaBar[t]!);
  }
  const table = { steps: T, betas, alphaBar, sqrtAlphaBar, sqrtOneMinusAlphaBar };
  tables.set(id, table);
  return table;
};

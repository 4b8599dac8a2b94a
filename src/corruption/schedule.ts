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
 * `rho` reshapes either one as alphaBar_t -> alphaBar_t ^ rho (rho > 1: noisier at every t,
 * rho < 1: cleaner). DiffMAE varies an exponent on its schedule without publishing code; this
 * is our explicit reading of it, and rho = 1 leaves the schedule unchanged.
 *
 * @since 0.1.0
 */
export type Schedule =
  | { readonly kind: 'cosine'; readonly steps: number; readonly s: number; readonly maxBeta: number; readonly rho: number }
  | { readonly kind: 'linear'; readonly steps: number; readonly betaStart: number; readonly betaEnd: number; readonly rho: number };

/**
 * Smart constructors for {@link Schedule} (T = 1000 by default).
 *
 * @example
 * Schedule.cosine()                       // s = 0.008, maxBeta = 0.999
 * Schedule.linear({ betaStart: 1e-4, betaEnd: 0.02 })
 * Schedule.cosine({ rho: 0.8 })
 * @since 0.1.0
 */
export const Schedule = {
  cosine: (o: { readonly steps?: number; readonly s?: number; readonly maxBeta?: number; readonly rho?: number } = {}): Schedule => {
    const maxBeta = positive('schedule.maxBeta', o.maxBeta ?? 0.999);
    if (maxBeta >= 1) throw new ConfigError('schedule.maxBeta', maxBeta, 'must be < 1');
    const s = finite('schedule.s', o.s ?? 0.008);
    if (s < 0) throw new ConfigError('schedule.s', s, 'must be >= 0');
    return { kind: 'cosine', steps: positiveInt('schedule.steps', o.steps ?? 1000), s, maxBeta, rho: positive('schedule.rho', o.rho ?? 1) };
  },
  linear: (
    o: { readonly steps?: number; readonly betaStart?: number; readonly betaEnd?: number; readonly rho?: number } = {},
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
  const base = new Float64Array(T + 1);
  base[0] = 1;
  if (schedule.kind === 'cosine') {
    const f = (u: number): number => Math.cos(((u + schedule.s) / (1 + schedule.s)) * (Math.PI / 2)) ** 2;
    for (let t = 1; t <= T; t++) {
      const beta = Math.min(1 - f(t / T) / f((t - 1) / T), schedule.maxBeta);
      base[t] = base[t - 1]! * (1 - beta);
    }
  } else {
    for (let t = 1; t <= T; t++) {
      const beta = T === 1 ? schedule.betaStart : schedule.betaStart + ((schedule.betaEnd - schedule.betaStart) * (t - 1)) / (T - 1);
      base[t] = base[t - 1]! * (1 - beta);
    }
  }
  const alphaBar = base.map((a) => a ** schedule.rho);
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

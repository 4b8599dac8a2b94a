/**
 * Axis ticks and their labels: "nice" linear steps of 1, 2 or 5 x 10^k, whole-decade log ticks,
 * and compact number formatting (2.5e3, 1e-4).
 *
 * @since 0.2.0
 */
import { ConfigError } from '../core/errors.js';

/**
 * "Nice" tick values covering [lo, hi]: multiples of a step of 1, 2 or 5 x 10^k chosen so that
 * about `count` steps span the range; the first tick is <= lo and the last >= hi (a bound within
 * rounding error of a tick counts as on it). Values are
 * computed from integers so they print cleanly (0.6, not 0.6000000000000001). A zero-width
 * range gets a single tick; bounds in the wrong order are swapped; ticks that would overflow to
 * +-Infinity are left out.
 *
 * @example
 * niceTicks(0, 1) // [0, 0.2, 0.4, 0.6, 0.8, 1]
 * niceTicks(3, 97, 4) // [0, 50, 100]
 * @since 0.1.0
 */
export const niceTicks = (lo: number, hi: number, count = 5): number[] => {
  if (!Number.isFinite(lo)) throw new ConfigError('niceTicks lo', lo, 'must be finite');
  if (!Number.isFinite(hi)) throw new ConfigError('niceTicks hi', hi, 'must be finite');
  if (!Number.isInteger(count) || count < 1 || count > 1000)
    throw new ConfigError('niceTicks count', count, 'must be an integer in [1, 1000]');
  if (lo > hi) [lo, hi] = [hi, lo];
  if (lo === hi) return [lo];
  const step = niceStep(lo, hi, count);
  if (step === null) return [lo, hi];
  const k0 = Math.floor(lo / step.value + 1e-9);
  const k1 = Math.ceil(hi / step.value - 1e-9);
  const out: number[] = [];
  for (let k = k0; k <= k1; k++) {
    const v = step.at(k);
    if (Number.isFinite(v)) out.push(v); // ranges near +-MAX_VALUE: the outermost ticks would overflow
  }
  return out;
};

interface Step {
  readonly value: number;
  /** log10 of the step's power of ten */
  readonly exp: number;
  readonly at: (k: number) => number;
}

const niceStep = (lo: number, hi: number, count: number): Step | null => {
  const raw = hi / count - lo / count; // no overflow for ranges near +-MAX_VALUE
  if (!(raw > 0) || !Number.isFinite(raw)) return null;
  let exp = Math.floor(Math.log10(raw));
  const mant = raw / 10 ** exp;
  if (!Number.isFinite(mant) || mant <= 0) return null;
  let unit = mant <= 1 + 1e-9 ? 1 : mant <= 2 + 1e-9 ? 2 : mant <= 5 + 1e-9 ? 5 : 10;
  if (unit === 10) {
    unit = 1;
    exp += 1;
  }
  const pow = 10 ** Math.abs(exp);
  if (!Number.isFinite(pow) || pow === 0) return null;
  // k * unit is an exact integer, and dividing by an exact power of ten rounds once.
  const at = exp < 0 ? (k: number) => (k * unit) / pow : (k: number) => k * unit * pow;
  const value = at(1);
  return value > 0 && Number.isFinite(value) ? { value, exp, at } : null;
};

const stripZeros = (s: string): string => (s.includes('.') ? s.replace(/\.?0+$/, '') : s);

/** Exponent form without '+' and trailing zeros: 2.5e3, 1e-4. */
const expForm = (v: number, digits: number): string => {
  const [m, e] = v.toExponential(Math.max(0, Math.min(6, digits))).split('e') as [string, string];
  return `${stripZeros(m)}e${e.replace('+', '')}`;
};

/** A tick label: decimals follow the tick step; very large or small values use exponent form. */
const formatTick = (v: number, step: Step): string => {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e4 || a < 1e-3) {
    const e = Math.floor(Math.log10(a));
    return expForm(v, e - step.exp);
  }
  return stripZeros(v.toFixed(Math.max(0, Math.min(12, -step.exp))));
};

/** A standalone value (log-axis decades): integers as is, otherwise 4 significant digits. */
const formatValue = (v: number): string => {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e4 || a < 1e-3) return expForm(v, 3);
  return Number.isInteger(v) ? String(v) : stripZeros(v.toPrecision(4));
};

/** An axis tick: where it sits and what it reads. */
export interface Tick {
  readonly at: number; // position in axis space (log10 for log axes)
  readonly label: string;
}

/** Linear ticks inside [lo, hi], about `count` of them. */
export const linearTicks = (lo: number, hi: number, count: number): Tick[] => {
  const step = niceStep(lo, hi, count);
  if (step === null) return [{ at: lo, label: formatValue(lo) }];
  const eps = (hi - lo) * 1e-9;
  return niceTicks(lo, hi, count)
    .filter((v) => v >= lo - eps && v <= hi + eps)
    .map((v) => ({ at: v, label: formatTick(v, step) }));
};

/** Log-axis ticks; [lo, hi] are log10 values. Whole decades when two or more fit. */
export const logTicks = (lo: number, hi: number, count: number): Tick[] => {
  const k0 = Math.ceil(lo - 1e-9);
  const k1 = Math.floor(hi + 1e-9);
  if (k1 - k0 >= 1) {
    const every = Math.max(1, Math.ceil((k1 - k0 + 1) / count));
    const out: Tick[] = [];
    for (let k = Math.ceil(k0 / every) * every; k <= k1; k += every) out.push({ at: k, label: formatValue(10 ** k) });
    return out;
  }
  const a = 10 ** lo;
  const b = 10 ** hi;
  const step = niceStep(a, b, count);
  if (step === null) return [];
  return niceTicks(a, b, count)
    .filter((v) => v > 0 && v >= a * (1 - 1e-9) && v <= b * (1 + 1e-9))
    .map((v) => ({ at: Math.log10(v), label: formatTick(v, step) }));
};

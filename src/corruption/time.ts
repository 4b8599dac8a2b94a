/**
 * Timestep sampling, as data.
 *
 * @since 0.1.0
 */
import { int } from '../core/check.js';
import { randint, type Key } from '../core/key.js';
import { ConfigError } from '../core/errors.js';

/**
 * How each sample's timestep is chosen: `zero` (clean, t = 0), `uniform` over 1..T, uniform
 * over a `range` lo..hi (both included; a low-t hybrid is one branch), or a `fixed` t.
 *
 * @since 0.1.0
 */
export type Time =
  | { readonly kind: 'zero' }
  | { readonly kind: 'uniform' }
  | { readonly kind: 'range'; readonly lo: number; readonly hi: number }
  | { readonly kind: 'fixed'; readonly t: number };

/**
 * Smart constructors for {@link Time}.
 *
 * @example
 * Time.uniform()
 * Time.fixed(500)
 * Time.range(1, 100) // t ~ U{1..100}
 * @since 0.1.0
 */
export const Time = {
  zero: (): Time => ({ kind: 'zero' }),
  uniform: (): Time => ({ kind: 'uniform' }),
  range: (lo: number, hi: number): Time => {
    int('time.lo', lo, 0);
    return { kind: 'range', lo, hi: int('time.hi', hi, lo) };
  },
  fixed: (t: number): Time => ({ kind: 'fixed', t: int('time.t', t, 0) }),
} as const;

/**
 * `n` timesteps for a schedule of `steps` steps.
 *
 * @example
 * sampleTime(Time.uniform(), Key.key(0), 4, 1000) // Int32Array of 4 values in 1..1000
 * @since 0.1.0
 */
export const sampleTime = (time: Time, key: Key, n: number, steps: number): Int32Array => {
  switch (time.kind) {
    case 'zero':
      return new Int32Array(n);
    case 'uniform':
      return randint(key, n, 1, steps + 1);
    case 'range':
      if (time.hi > steps) throw new ConfigError('time.hi', time.hi, `must be <= the schedule's ${steps} steps`);
      return randint(key, n, time.lo, time.hi + 1);
    case 'fixed':
      if (time.t > steps) throw new ConfigError('time.t', time.t, `must be <= the schedule's ${steps} steps`);
      return new Int32Array(n).fill(time.t);
  }
};

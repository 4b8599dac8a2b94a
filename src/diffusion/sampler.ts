/**
 * Reverse diffusion as pure functions of a schedule table: DDPM ancestral sampling and DDIM
 * (eta, step count). t = 0 is clean, so the last step of every sampler lands on x0.
 *
 * @since 0.1.0
 */
import { finite, int, positiveInt } from '../core/check.js';
import { ConfigError, ShapeError } from '../core/errors.js';
import { fold, normal, type Key } from '../core/key.js';
import { tf, type Tensor } from '../core/tf.js';
import type { ScheduleTable } from '../corruption/schedule.js';

/**
 * A sampler: DDPM (every step T..1, ancestral) or DDIM (`steps` steps, `eta` = 0 deterministic,
 * 1 DDPM-like; UMD samples with DDIM, eta 1, 125 steps).
 *
 * @since 0.1.0
 */
export type Sampler = { readonly kind: 'ddpm' } | { readonly kind: 'ddim'; readonly steps: number; readonly eta: number };

/**
 * Smart constructors for {@link Sampler}.
 *
 * @example
 * Sampler.ddim({ steps: 50, eta: 0 })
 * @since 0.1.0
 */
export const Sampler = {
  ddpm: (): Sampler => ({ kind: 'ddpm' }),
  ddim: (o: { readonly steps?: number; readonly eta?: number } = {}): Sampler => {
    const eta = finite('sampler.eta', o.eta ?? 0);
    if (eta < 0) throw new ConfigError('sampler.eta', eta, 'must be >= 0');
    return { kind: 'ddim', steps: positiveInt('sampler.steps', o.steps ?? 50), eta };
  },
} as const;

/**
 * The (t, tPrev) pairs a sampler visits, from t = T down to tPrev = 0. DDIM spaces its steps
 * evenly: t_i = round(T i / steps), so it starts from pure noise at t = T.
 *
 * @example
 * samplerSteps(Sampler.ddim({ steps: 4 }), 1000) // [[1000, 750], [750, 500], [500, 250], [250, 0]]
 * @since 0.1.0
 */
export const samplerSteps = (s: Sampler, steps: number): [number, number][] => {
  positiveInt('schedule steps', steps);
  if (s.kind === 'ddpm') return Array.from({ length: steps }, (_, i) => [steps - i, steps - i - 1]);
  if (s.steps > steps) throw new ConfigError('sampler.steps', s.steps, `must be <= the schedule's ${steps} steps`);
  const ts = Array.from({ length: s.steps + 1 }, (_, i) => Math.round((steps * (s.steps - i)) / s.steps));
  return ts.slice(0, -1).map((t, i) => [t, ts[i + 1]!]);
};

const scalars = (...xs: number[]): Tensor[] => xs.map((x) => tf.scalar(x));

/**
 * x0 from a noise prediction: (x_t - sqrt(1 - abar_t) eps) / sqrt(abar_t).
 *
 * @example
 * x0FromEps(table, xt, eps, 500)
 * @since 0.1.0
 */
export const x0FromEps = (table: ScheduleTable, xt: Tensor, eps: Tensor, t: number): Tensor =>
  tf.tidy(() => tf.div(tf.sub(xt, tf.mul(eps, table.sqrtOneMinusAlphaBar[int('t', t, 1, table.steps)]!)), table.sqrtAlphaBar[t]!));

/**
 * One reverse step from x_t to x_tPrev given the model's x0 estimate `x0` (already clipped as
 * wanted) and standard normal noise `z` (used when the step is stochastic).
 *
 * - DDPM (tPrev = t - 1): the posterior q(x_{t-1} | x_t, x0): mean
 *   sqrt(abar_{t-1}) beta_t / (1 - abar_t) x0 + sqrt(alpha_t) (1 - abar_{t-1}) / (1 - abar_t) x_t,
 *   variance beta_t (1 - abar_{t-1}) / (1 - abar_t).
 * - DDIM: x_prev = sqrt(abar_prev) x0 + sqrt(1 - abar_prev - sigma^2) eps + sigma z, with
 *   eps = (x_t - sqrt(abar_t) x0) / sqrt(1 - abar_t) and
 *   sigma = eta sqrt((1 - abar_prev) / (1 - abar_t)) sqrt(1 - abar_t / abar_prev).
 *
 * At tPrev = 0 both return x0.
 *
 * @example
 * const xPrev = reverseStep(table, Sampler.ddim(), xt, x0, 500, 480, z)
 * @since 0.1.0
 */
export const reverseStep = (
  table: ScheduleTable,
  s: Sampler,
  xt: Tensor,
  x0: Tensor,
  t: number,
  tPrev: number,
  z: Tensor | null,
): Tensor => {
  int('t', t, 1, table.steps);
  int('tPrev', tPrev, 0, t - 1);
  if (xt.shape.join() !== x0.shape.join()) throw new ShapeError('x0', `[${xt.shape.join(', ')}]`, x0.shape);
  const ab = table.alphaBar[t]!;
  const abPrev = table.alphaBar[tPrev]!;
  if (tPrev === 0) return tf.clone(x0);
  return tf.tidy(() => {
    if (s.kind === 'ddpm') {
      if (tPrev !== t - 1) throw new ConfigError('tPrev', tPrev, 'DDPM steps one at a time');
      const beta = 1 - ab / abPrev;
      const c0 = (Math.sqrt(abPrev) * beta) / (1 - ab);
      const ct = (Math.sqrt(1 - beta) * (1 - abPrev)) / (1 - ab);
      const sd = Math.sqrt((beta * (1 - abPrev)) / (1 - ab));
      const [a, b, c] = scalars(c0, ct, sd);
      return tf.add(tf.add(tf.mul(x0, a!), tf.mul(xt, b!)), tf.mul(needNoise(z), c!));
    }
    const eps = tf.div(tf.sub(xt, tf.mul(x0, Math.sqrt(ab))), Math.sqrt(1 - ab));
    const sigma = s.eta * Math.sqrt((1 - abPrev) / (1 - ab)) * Math.sqrt(1 - ab / abPrev);
    const dir = Math.sqrt(Math.max(0, 1 - abPrev - sigma * sigma));
    const out = tf.add(tf.mul(x0, Math.sqrt(abPrev)), tf.mul(eps, dir));
    return sigma > 0 ? tf.add(out, tf.mul(needNoise(z), sigma)) : out;
  });
};

const needNoise = (z: Tensor | null): Tensor => {
  if (z === null) throw new ConfigError('z', null, 'this step adds noise (DDPM, or DDIM with eta > 0): pass it');
  return z;
};

/**
 * The fresh noise z that step `i` (from t to `tPrev`) of a sampler adds, drawn from
 * `fold(key, i)`, or null where the step adds none: every step of DDIM with eta = 0, and the last
 * step (tPrev = 0) of any sampler. Drawing it only where it is used keeps deterministic sampling
 * from paying for noise it throws away.
 *
 * @example
 * const z = stepNoise(Sampler.ddpm(), Key.fold(Key.key(0), 'z'), 0, 999, [n, l, p])
 * @since 0.2.0
 */
export const stepNoise = (s: Sampler, key: Key, i: number, tPrev: number, shape: readonly number[]): Tensor | null =>
  tPrev === 0 || (s.kind === 'ddim' && s.eta === 0)
    ? null
    : tf.tensor(
        normal(
          fold(key, i),
          shape.reduce((a, b) => a * b, 1),
        ),
        [...shape],
      );

/**
 * Per-value clipping bounds for patches [N, L, P] from per-channel data bounds (channels fastest
 * in a patch): [lo, hi] tensors [1, 1, P], or null without bounds.
 *
 * @example
 * const bounds = clipBounds(dataRange(norm), 3, 48)
 * @since 0.1.0
 */
export const clipBounds = (
  clip: { readonly lo: readonly number[]; readonly hi: readonly number[] } | null,
  channels: number,
  patchDim: number,
): readonly [Tensor, Tensor] | null =>
  clip
    ? tf.tidy(() => {
        const at = (v: readonly number[]) =>
          tf.tensor(
            Float32Array.from({ length: patchDim }, (_, i) => v[i % channels]!),
            [1, 1, patchDim],
          );
        return [at(clip.lo), at(clip.hi)] as const;
      })
    : null;

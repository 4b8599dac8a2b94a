/**
 * Reverse diffusion as pure functions of a schedule table: DDPM ancestral sampling (respaced or
 * over every step) and DDIM (eta, step count), on the timestep grids of the reference code.
 * t = 0 is clean, so the last step of every sampler lands on x0.
 *
 * @since 0.1.0
 */
import { finite, int, positiveInt } from '../core/check.js';
import { ConfigError, ShapeError } from '../core/errors.js';
import { fold, normal, type Key } from '../core/key.js';
import { tf, type Tensor } from '../core/tf.js';
import type { ScheduleTable } from '../corruption/schedule.js';

/**
 * Where a sampler's timesteps lie on the schedule's 1..T (our t = the references' t + 1, see
 * `corruption/schedule.ts`). Every grid starts from pure noise near t = T and its last step goes
 * from some t >= 1 to tPrev = 0, which returns the x0 estimate made at that t.
 *
 * - `'space-timesteps'` (the default): improved-diffusion's `space_timesteps(T, [steps])`
 *   (openai/improved-diffusion `improved_diffusion/respace.py`, copied unchanged into
 *   facebookresearch/DiT `diffusion/respace.py`; DiT's `sample.py` passes `str(steps)`): `steps`
 *   timesteps spread over the whole range with a fractional stride (T - 1) / (steps - 1), rounded,
 *   so the grid runs from t = T to t = 1 in `steps` network calls. See {@link spaceTimesteps}.
 * - `'ddim-stride'`: the same function's `"ddimN"` form, the DDIM paper's integer stride: the
 *   smallest stride k with exactly `steps` multiples of k below T, t = 1, 1 + k, ...; a ConfigError
 *   where no integer stride gives `steps` steps.
 * - `'arange'`: UMD's DDIM (philippe-eecs/small-vision `big_vision/gaussian_diffusion.py`,
 *   `ddim_sample_loop`): `arange(T - 1, 0, -(T // steps))` with 0 appended, then a last call at
 *   the references' t = 0, so t = T, T - s, ..., then t = 1, then x0: `steps + 1` network calls.
 *   A ConfigError where that arange does not have exactly `steps` entries (the reference would then
 *   skip or repeat steps).
 * - `'even'`: tesserae 0.1.0's grid, t_i = round(T i / steps) for i = steps..0; its last x0
 *   estimate is made at t = round(T / steps) (t = 8 for 125 steps), not at t = 1. Kept to reproduce
 *   0.1.0 samples.
 *
 * @since 0.2.0
 */
export type TimestepGrid = 'space-timesteps' | 'ddim-stride' | 'arange' | 'even';

/**
 * The grids, for parsing and listing.
 *
 * @example
 * TIMESTEP_GRIDS.includes('arange') // true
 * @since 0.2.0
 */
export const TIMESTEP_GRIDS: readonly TimestepGrid[] = ['space-timesteps', 'ddim-stride', 'arange', 'even'];

/**
 * A sampler: DDPM (ancestral) or DDIM (`eta` = 0 deterministic, 1 DDPM-like; UMD samples with
 * DDIM, eta 1, 125 steps on its `'arange'` grid), each over a {@link TimestepGrid} of `steps` timesteps.
 * DDPM with `steps` = null visits every timestep T..1; with fewer steps it is the respaced DDPM of
 * improved-diffusion (`SpacedDiffusion`): the posterior of each step uses the respaced beta
 * 1 - alphaBar_t / alphaBar_tPrev over the kept timesteps (see {@link respacedBetas}).
 *
 * @since 0.1.0
 */
export type Sampler =
  | { readonly kind: 'ddpm'; readonly steps: number | null; readonly grid: TimestepGrid }
  | { readonly kind: 'ddim'; readonly steps: number; readonly eta: number; readonly grid: TimestepGrid };

const gridOf = (g: TimestepGrid | undefined): TimestepGrid => {
  const grid = g ?? 'space-timesteps';
  if (!TIMESTEP_GRIDS.includes(grid)) throw new ConfigError('sampler.grid', grid, `must be one of ${TIMESTEP_GRIDS.join(', ')}`);
  return grid;
};

/**
 * Smart constructors for {@link Sampler}. Defaults: DDIM 50 steps, eta 0; DDPM every step; grid
 * `'space-timesteps'` (improved-diffusion and DiT's respacing).
 *
 * @example
 * Sampler.ddim({ steps: 50, eta: 0 })
 * Sampler.ddim({ steps: 125, eta: 1, grid: 'arange' }) // UMD's sampler
 * Sampler.ddpm({ steps: 250 })                       // respaced DDPM, as DiT samples
 * @since 0.1.0
 */
export const Sampler = {
  ddpm: (o: { readonly steps?: number | null; readonly grid?: TimestepGrid } = {}): Sampler => ({
    kind: 'ddpm',
    steps: o.steps === undefined || o.steps === null ? null : positiveInt('sampler.steps', o.steps),
    grid: gridOf(o.grid),
  }),
  ddim: (o: { readonly steps?: number; readonly eta?: number; readonly grid?: TimestepGrid } = {}): Sampler => {
    const eta = finite('sampler.eta', o.eta ?? 0);
    if (eta < 0) throw new ConfigError('sampler.eta', eta, 'must be >= 0');
    return { kind: 'ddim', steps: positiveInt('sampler.steps', o.steps ?? 50), eta, grid: gridOf(o.grid) };
  },
} as const;

/** Python's round(): halves to even (Math.round sends them up). */
const roundHalfEven = (x: number): number => {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
};

/**
 * improved-diffusion's `space_timesteps(numTimesteps, sectionCounts)`
 * (openai/improved-diffusion `improved_diffusion/respace.py`; facebookresearch/DiT
 * `diffusion/respace.py`): the timesteps kept from a process of `numTimesteps`, counted from 0 as
 * the references count them (add 1 for tesserae's t), ascending. A list of counts splits the range
 * into equal sections (the first `numTimesteps % sections` one longer) and takes that many
 * timesteps from each with a fractional stride accumulated and rounded as Python does; the string
 * `'ddimN'` takes the smallest integer stride giving exactly N timesteps. Impossible requests are
 * ConfigErrors, where the reference raises ValueError.
 *
 * @example
 * spaceTimesteps(1000, 'ddim25')   // [0, 40, 80, ..., 960]
 * spaceTimesteps(300, [10, 15, 20])
 * @since 0.2.0
 */
export const spaceTimesteps = (numTimesteps: number, sectionCounts: readonly number[] | `ddim${number}`): number[] => {
  const T = positiveInt('numTimesteps', numTimesteps);
  if (typeof sectionCounts === 'string') {
    const digits = sectionCounts.slice('ddim'.length);
    const want = /^[0-9]+$/.test(digits) ? Number(digits) : NaN;
    if (!sectionCounts.startsWith('ddim') || !Number.isSafeInteger(want))
      throw new ConfigError('sectionCounts', sectionCounts, 'must be "ddimN" with N a whole number, or a list of counts');
    for (let i = 1; i < T; i++) if (Math.ceil(T / i) === want) return Array.from({ length: want }, (_, k) => k * i);
    throw new ConfigError('sectionCounts', sectionCounts, `cannot create exactly ${want} steps of ${T} with an integer stride`);
  }
  if (sectionCounts.length === 0) throw new ConfigError('sectionCounts', '[]', 'must name at least one section');
  if (sectionCounts.length > T) throw new ConfigError('sectionCounts', sectionCounts.length, `must be at most ${T} sections`);
  const sizePer = Math.floor(T / sectionCounts.length);
  const extra = T % sectionCounts.length;
  const all = new Set<number>();
  let start = 0;
  sectionCounts.forEach((count, i) => {
    int(`sectionCounts[${i}]`, count, 0);
    const size = sizePer + (i < extra ? 1 : 0);
    if (size < count) throw new ConfigError(`sectionCounts[${i}]`, count, `cannot divide a section of ${size} steps into ${count}`);
    const stride = count <= 1 ? 1 : (size - 1) / (count - 1);
    let cur = 0;
    for (let k = 0; k < count; k++) {
      all.add(start + roundHalfEven(cur));
      cur += stride;
    }
    start += size;
  });
  return [...all].sort((a, b) => a - b);
};

/**
 * The timesteps (tesserae's t, 1..T) at which a sampler calls the network, descending; the sampler
 * then steps from each to the next and from the last to 0. See {@link TimestepGrid}.
 *
 * @example
 * samplerTimesteps(Sampler.ddim({ steps: 125, grid: 'arange' }), 1000) // [1000, 992, ..., 8, 1]
 * @since 0.2.0
 */
export const samplerTimesteps = (s: Sampler, steps: number): number[] => {
  const T = positiveInt('schedule steps', steps);
  const K = s.steps ?? T;
  if (K > T) throw new ConfigError('sampler.steps', K, `must be <= the schedule's ${T} steps`);
  const desc = (refs: readonly number[]): number[] => refs.map((r) => r + 1).sort((a, b) => b - a);
  switch (s.grid) {
    case 'space-timesteps':
      return desc(spaceTimesteps(T, [K]));
    case 'ddim-stride':
      try {
        return desc(spaceTimesteps(T, `ddim${K}`));
      } catch (e) {
        if (e instanceof ConfigError) throw new ConfigError('sampler.steps', K, `has no integer stride on ${T} steps (grid 'ddim-stride')`);
        throw e;
      }
    case 'arange': {
      const stride = Math.floor(T / K);
      const refs = Array.from({ length: Math.ceil((T - 1) / stride) }, (_, i) => T - 1 - i * stride);
      if (refs.length !== K)
        throw new ConfigError(
          'sampler.steps',
          K,
          `UMD's grid arange(${T - 1}, 0, -${stride}) has ${refs.length} entries, not ${K}, on ${T} steps (grid 'arange')`,
        );
      return desc([...refs, 0]);
    }
    case 'even':
      return Array.from({ length: K }, (_, i) => Math.round((T * (K - i)) / K));
  }
};

/**
 * The (t, tPrev) pairs a sampler visits, from its first timestep (t = T on every grid but
 * `'ddim-stride'`) down to tPrev = 0: consecutive entries of {@link samplerTimesteps}, then the
 * last one to 0.
 *
 * @example
 * samplerSteps(Sampler.ddim({ steps: 4, grid: 'even' }), 1000) // [[1000, 750], [750, 500], [500, 250], [250, 0]]
 * samplerSteps(Sampler.ddim({ steps: 4 }), 1000)               // [[1000, 667], [667, 334], [334, 1], [1, 0]]
 * @since 0.1.0
 */
export const samplerSteps = (s: Sampler, steps: number): [number, number][] => {
  const ts = samplerTimesteps(s, steps);
  return ts.map((t, i) => [t, ts[i + 1] ?? 0]);
};

/**
 * The betas of the process a sampler's grid respaces (improved-diffusion `SpacedDiffusion`):
 * beta_i = 1 - alphaBar_{t_i} / alphaBar_{t_{i-1}} over the kept timesteps `kept` (tesserae's t,
 * in either order), with alphaBar before the first one = 1; ascending in t. Over every timestep
 * they are the schedule's own betas.
 *
 * @example
 * respacedBetas(tableOf(Schedule.linear()), samplerTimesteps(Sampler.ddpm({ steps: 50 }), 1000))
 * @since 0.2.0
 */
export const respacedBetas = (table: ScheduleTable, kept: readonly number[]): Float64Array => {
  const ts = [...kept].sort((a, b) => a - b);
  ts.forEach((t, i) => {
    int(`kept[${i}]`, t, 1, table.steps);
    if (i > 0 && ts[i - 1] === t) throw new ConfigError(`kept[${i}]`, t, 'is kept twice');
  });
  return Float64Array.from(ts, (t, i) => stepBeta(table, t, i === 0 ? 0 : ts[i - 1]!));
};

/** The beta of one respaced step from t to tPrev. */
const stepBeta = (table: ScheduleTable, t: number, tPrev: number): number => 1 - table.alphaBar[t]! / table.alphaBar[tPrev]!;

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
 * - DDPM: the posterior q(x_tPrev | x_t, x0) of the respaced process, whose beta for this step is
 *   beta = 1 - abar_t / abar_tPrev (the schedule's beta_t when tPrev = t - 1): mean
 *   sqrt(abar_tPrev) beta / (1 - abar_t) x0 + sqrt(1 - beta) (1 - abar_tPrev) / (1 - abar_t) x_t,
 *   variance beta (1 - abar_tPrev) / (1 - abar_t) (improved-diffusion's fixed-small variance).
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
      const beta = stepBeta(table, t, tPrev);
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

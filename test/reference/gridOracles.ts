/**
 * Plain float64 loops, written from the reference code's formulas, for the timestep grids and the
 * respaced betas of the samplers. They count timesteps from 0 as the references do (tesserae's
 * t = the references' t + 1) and share no code with src/diffusion/sampler.ts.
 *
 * - spaceTimestepsOracle: openai/improved-diffusion improved_diffusion/respace.py space_timesteps
 *   (the same function is facebookresearch/DiT diffusion/respace.py).
 * - respacedBetasOracle: the same file, SpacedDiffusion.__init__.
 * - umdCallsOracle: philippe-eecs/small-vision big_vision/gaussian_diffusion.py ddim_sample_loop.
 * - alphasCumprodOracle: improved-diffusion get_named_beta_schedule (linear, cosine) and cumprod.
 */

/** Python's round(): ties to even. */
const pyRound = (x: number): number => {
  const f = Math.floor(x);
  const d = x - f;
  if (d < 0.5) return f;
  if (d > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
};

/** space_timesteps(num_timesteps, section_counts), sorted ascending (the reference returns a set). */
export const spaceTimestepsOracle = (numTimesteps: number, sectionCounts: string | readonly number[]): number[] => {
  if (typeof sectionCounts === 'string') {
    if (sectionCounts.startsWith('ddim')) {
      const desired = parseInt(sectionCounts.slice(4), 10);
      for (let i = 1; i < numTimesteps; i++) {
        const r: number[] = [];
        for (let k = 0; k < numTimesteps; k += i) r.push(k);
        if (r.length === desired) return r;
      }
      throw new Error(`cannot create exactly ${numTimesteps} steps with an integer stride`);
    }
    sectionCounts = sectionCounts.split(',').map((x) => parseInt(x, 10));
  }
  const sizePer = Math.floor(numTimesteps / sectionCounts.length);
  const extra = numTimesteps % sectionCounts.length;
  let startIdx = 0;
  const all = new Set<number>();
  for (let i = 0; i < sectionCounts.length; i++) {
    const count = sectionCounts[i]!;
    const size = sizePer + (i < extra ? 1 : 0);
    if (size < count) throw new Error(`cannot divide section of ${size} steps into ${count}`);
    const fracStride = count <= 1 ? 1 : (size - 1) / (count - 1);
    let cur = 0.0;
    for (let k = 0; k < count; k++) {
      all.add(startIdx + pyRound(cur));
      cur += fracStride;
    }
    startIdx += size;
  }
  return [...all].sort((a, b) => a - b);
};

/** SpacedDiffusion's new_betas: 1 - alphas_cumprod[i] / last over the kept i, ascending. */
export const respacedBetasOracle = (alphasCumprod: readonly number[], useTimesteps: ReadonlySet<number>): number[] => {
  let last = 1.0;
  const out: number[] = [];
  alphasCumprod.forEach((a, i) => {
    if (useTimesteps.has(i)) {
      out.push(1 - a / last);
      last = a;
    }
  });
  return out;
};

/**
 * The (t_curr, t_next) of every network call of UMD's ddim_sample_loop: the scan over
 * reference_timesteps = arange(T - 1, 0, -(T // steps)) ++ [0], then the final call at t = 0
 * (t_next None: alpha_bar_prev = alphas_cumprod_prev[0] = 1), written here as -1.
 */
export const umdCallsOracle = (T: number, steps: number): [number, number][] => {
  const ref: number[] = [];
  const stride = Math.floor(T / steps);
  for (let v = T - 1; v > 0; v -= stride) ref.push(v);
  ref.push(0);
  const calls: [number, number][] = [];
  for (let i = 0; i < steps; i++) calls.push([ref[Math.min(i, ref.length - 1)]!, ref[Math.min(i + 1, ref.length - 1)]!]);
  calls.push([0, -1]);
  return calls;
};

/** get_named_beta_schedule(name, T) then cumprod(1 - betas): alphas_cumprod[0..T-1]. */
export const alphasCumprodOracle = (name: 'linear' | 'cosine', T: number): number[] => {
  const betas: number[] = [];
  if (name === 'linear') {
    const scale = 1000 / T;
    const [a, b] = [scale * 0.0001, scale * 0.02];
    for (let i = 0; i < T; i++) betas.push(T === 1 ? a : a + ((b - a) * i) / (T - 1));
  } else {
    const f = (t: number) => Math.cos(((t + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
    for (let i = 0; i < T; i++) betas.push(Math.min(1 - f((i + 1) / T) / f(i / T), 0.999));
  }
  const out: number[] = [];
  let p = 1;
  for (const b of betas) out.push((p *= 1 - b));
  return out;
};

/**
 * One DDPM step of a GaussianDiffusion built on `betas` (improved-diffusion q_posterior_mean_variance
 * with the fixed-small variance): index i of the respaced process, mean coefficients and variance.
 */
export const posteriorOracle = (betas: readonly number[], i: number): { c0: number; ct: number; variance: number } => {
  let ac = 1;
  let acPrev = 1;
  for (let k = 0; k <= i; k++) {
    acPrev = ac;
    ac *= 1 - betas[k]!;
  }
  const beta = betas[i]!;
  return {
    c0: (beta * Math.sqrt(acPrev)) / (1 - ac),
    ct: ((1 - acPrev) * Math.sqrt(1 - beta)) / (1 - ac),
    variance: (beta * (1 - acPrev)) / (1 - ac),
  };
};

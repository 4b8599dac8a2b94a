/**
 * Generative inpainting as the reverse process with the visible patches pasted back: start the
 * removed patches from noise, and at every step ask a denoiser for its estimate of x0 (or eps),
 * step the removed patches, and paste the visible patches back (so the visible pixels of the
 * result are exactly the input's). The denoiser is a function: this module knows no model; a
 * model supplies one that runs its encoder once (see `inpainter` in `models/sampling.ts`).
 *
 * @since 0.1.0
 */
import { ConfigError } from '../core/errors.js';
import { fold, normal, type Key } from '../core/key.js';
import { ctx, type Ctx } from '../core/layer.js';
import { tf, type Tensor } from '../core/tf.js';
import { maskTensors, requireVisible, type MaskDraw } from '../corruption/mask.js';
import { tableOf, type Schedule } from '../corruption/schedule.js';
import { clipBounds, reverseStep, samplerSteps, stepNoise, x0FromEps, type Sampler } from './sampler.js';

/**
 * A denoiser: given corrupted patches `xt` [N, L, P] at timestep `t` (the same for every row),
 * its estimate of the clean patches or of the noise, [N, L, P] (the caller's to dispose).
 *
 * @since 0.2.0
 */
export type Denoiser = (xt: Tensor, t: number, c: Ctx) => { readonly x0?: Tensor | undefined; readonly eps?: Tensor | undefined };

/**
 * Options of {@link inpaint}.
 *
 * @since 0.1.0
 */
export interface InpaintOptions {
  readonly sampler: Sampler;
  readonly key: Key;
  /** Per-channel bounds of the data in normalised units (x0 estimates are clipped to them), or null. */
  readonly clip: { readonly lo: readonly number[]; readonly hi: readonly number[] } | null;
  /** Indices of the steps whose x0 estimate (visible pasted) to keep in `steps`. */
  readonly record?: readonly number[];
}

/**
 * The result: the inpainted patches [N, L, P] and the recorded x0 estimates (visible pasted).
 *
 * @since 0.1.0
 */
export interface Inpainted {
  readonly result: Tensor;
  readonly steps: readonly { readonly t: number; readonly x0: Tensor }[];
}

/**
 * One step of {@link inpaintSteps}: its index of `n`, its timesteps, and the x0 estimate with
 * the visible patches pasted back (valid until the next step).
 *
 * @since 0.1.0
 */
export interface InpaintStep {
  readonly i: number;
  readonly n: number;
  readonly t: number;
  readonly tPrev: number;
  readonly x0: Tensor;
}

/** The denoiser's estimate of x0 at step t. */
const estimate = (out: ReturnType<Denoiser>, table: ReturnType<typeof tableOf>, xt: Tensor, t: number): Tensor => {
  if (out.x0) return out.x0;
  if (out.eps) return x0FromEps(table, xt, out.eps, t);
  throw new ConfigError('denoiser', 'no x0 or eps', 'a denoiser must return an x0 or an eps estimate');
};

/**
 * The reverse process on the removed patches of clean patches `x0` [N, L, P] under a mask drawn
 * beforehand, as a generator of steps (for progress and for scrubbing through them): `denoise`
 * is called once per step with `ctx(fold(key, i))`. Returns the inpainted patches.
 *
 * @example
 * const { denoise, schedule, x0 } = inpainter(model, params, images, draw, Key.key(0))
 * for (const s of inpaintSteps(denoise, schedule, x0, draw, { sampler: Sampler.ddim({ steps: 50 }), key: Key.key(1), clip: null })) console.log(s.i, s.t)
 * @since 0.1.0
 */
export function* inpaintSteps(
  denoise: Denoiser,
  schedule: Schedule,
  x0: Tensor,
  draw: MaskDraw,
  o: Omit<InpaintOptions, 'record'>,
): Generator<InpaintStep, Tensor, void> {
  requireVisible(draw, `a draw of ${draw.length - draw.keep} removed of ${draw.length}`);
  const table = tableOf(schedule);
  const [n, l, p] = x0.shape as [number, number, number];
  const removedFull = tf.tidy(() => tf.broadcastTo(tf.greater(tf.expandDims(maskTensors(draw).mask, -1), 0.5), [n, l, p]));
  const clip = clipBounds(o.clip, o.clip?.lo.length ?? 1, p);
  const steps = samplerSteps(o.sampler, table.steps);
  let x = tf.tidy(() => tf.where(removedFull, tf.tensor(normal(fold(o.key, 'xT'), n * l * p), [n, l, p]), x0));
  let shown: Tensor | null = null;
  let done = false;
  try {
    for (const [i, [t, tPrev]] of steps.entries()) {
      const [next, pasted] = tf.tidy(() => {
        let est = estimate(denoise(x, t, ctx(fold(o.key, i))), table, x, t);
        if (clip) est = tf.minimum(tf.maximum(est, clip[0]), clip[1]);
        const z = stepNoise(o.sampler, fold(o.key, 'z'), i, tPrev, [n, l, p]);
        return [tf.where(removedFull, reverseStep(table, o.sampler, x, est, t, tPrev, z), x0), tf.where(removedFull, est, x0)];
      });
      x.dispose();
      x = next;
      shown?.dispose();
      shown = pasted;
      yield { i, n: steps.length, t, tPrev, x0: pasted };
    }
    done = true;
    return x;
  } finally {
    shown?.dispose();
    if (!done) x.dispose();
    tf.dispose([removedFull, ...(clip ?? [])]);
  }
}

/**
 * {@link inpaintSteps} run to the end, keeping the x0 estimates of the steps in `record`.
 *
 * @example
 * const { denoise, schedule, x0 } = inpainter(model, params, images, draw, Key.key(0))
 * const { result, steps } = inpaint(denoise, schedule, x0, draw, { sampler: Sampler.ddim({ steps: 50 }), key: Key.key(1), clip: null, record: [0, 49] })
 * @since 0.1.0
 */
export const inpaint = (denoise: Denoiser, schedule: Schedule, x0: Tensor, draw: MaskDraw, o: InpaintOptions): Inpainted => {
  const record = new Set(o.record ?? []);
  const recorded: { t: number; x0: Tensor }[] = [];
  const it = inpaintSteps(denoise, schedule, x0, draw, o);
  try {
    for (;;) {
      const r = it.next();
      if (r.done) return { result: r.value, steps: recorded };
      if (record.has(r.value.i)) recorded.push({ t: r.value.t, x0: tf.clone(r.value.x0) });
    }
  } catch (e) {
    tf.dispose(recorded.map((s) => s.x0));
    throw e;
  }
};

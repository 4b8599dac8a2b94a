/**
 * Generative inpainting with a DiffMAE model: encode the visible patches once, then run the
 * reverse process on the removed patches only, pasting the visible patches back at every step
 * (so the visible pixels of the result are exactly the input's).
 *
 * @since 0.1.0
 */
import { fold, normal, type Key } from '../core/key.js';
import { ctx } from '../core/layer.js';
import { tf, type Tensor } from '../core/tf.js';
import { maskTensors, requireVisible, type MaskDraw } from '../corruption/mask.js';
import { tableOf } from '../corruption/schedule.js';
import type { DiffMaeModel, DiffMaeParams } from '../models/diffmae.js';
import { patchifyOp } from '../vision/patchify.js';
import { clipBounds, reverseStep, samplerSteps, stepNoise, x0FromEps, type Sampler } from './sampler.js';
import { ConfigError } from '../core/errors.js';

/**
 * Options of {@link inpaint}.
 *
 * @since 0.1.0
 */
export interface InpaintOptions {
  readonly sampler: Sampler;
  readonly key: Key;
  /** Clip x0 estimates per channel to [lo, hi] (the data range in the model's units); null: no clipping. */
  readonly clip: { readonly lo: readonly number[]; readonly hi: readonly number[] } | null;
  /** Record the x0 estimate after these step indices (0-based into the sampler's steps). */
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
 * One step of {@link inpaintSteps}: step `i` of `n`, from timestep `t` to `tPrev`, with the x0
 * estimate (visible patches pasted) [N, L, P], owned by the generator and valid until the next
 * `next()`.
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

/**
 * The reverse process of {@link inpaint} as a generator: one {@link InpaintStep} per sampler
 * step, then the inpainted patches as the return value. A caller can paint progress between
 * steps (in a browser, await a frame), read the estimate asynchronously, or stop early; stopping
 * early (`return()`) frees everything the generator holds.
 *
 * @example
 * const it = inpaintSteps(model, params, images, draw, { sampler, key: key(0), clip: null })
 * for (let r = it.next(); !r.done; r = it.next()) console.log(`step ${r.value.i + 1}/${r.value.n}`)
 * @since 0.1.0
 */
export function* inpaintSteps(
  model: DiffMaeModel,
  params: DiffMaeParams,
  images: Tensor,
  draw: MaskDraw,
  o: Omit<InpaintOptions, 'record'>,
): Generator<InpaintStep, Tensor, void> {
  const noise = model.corruption.branches[0]!.branch.noise;
  if (noise.placement === 'none') throw new ConfigError('model', 'diffmae', 'has no noise schedule');
  requireVisible(draw, `a draw of ${draw.length - draw.keep} removed of ${draw.length}`);
  const table = tableOf(noise.schedule);
  const target = model.config.target ?? 'x0';
  const x0 = patchifyOp(model.corruption.patching, images);
  const [n, l, p] = x0.shape as [number, number, number];
  const m = maskTensors(draw);
  const removed = tf.tidy(() => tf.greater(tf.expandDims(m.mask, -1), 0.5));
  const removedFull = tf.tidy(() => tf.broadcastTo(removed, [n, l, p]));
  const clip = clipBounds(o.clip, model.config.image[model.config.image.length - 1]!, p);
  const base = { ...m, t: tf.zeros([n], 'int32'), xt: x0 };
  const c0 = ctx(fold(o.key, 'model'));
  const enc = model.parts.encoder.apply(params.encoder, base, c0);
  const steps = samplerSteps(o.sampler, table.steps);
  let x = tf.tidy(() => tf.where(removedFull, tf.tensor(normal(fold(o.key, 'xT'), n * l * p), [n, l, p]), x0));
  let shown: Tensor | null = null;
  let done = false;
  try {
    for (const [i, [t, tPrev]] of steps.entries()) {
      const [next, pasted] = tf.tidy(() => {
        const tt = tf.fill([n], t, 'int32');
        const out = model.parts.decoder.apply(params.decoder, { ...base, ...enc, xt: x, t: tt }, ctx(fold(o.key, i))).out;
        let est = target === 'x0' ? out : x0FromEps(table, x, out, t);
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
    tf.dispose([
      x0,
      m.mask,
      m.idsKeep,
      m.idsShuffle,
      m.idsRestore,
      removed,
      removedFull,
      base.t,
      ...(clip ?? []),
      ...Object.values(enc).flat(),
    ]);
  }
}

/**
 * Inpaints the removed patches (mask draw) of images [N, H, W, C] (in the model's units), running
 * {@link inpaintSteps} to the end and keeping the estimates of the steps in `record`.
 *
 * @example
 * const { result } = inpaint(model, params, images, drawMask(Mask.center(0.25), key(0), n, grid), { sampler: Sampler.ddim(), key: key(1), clip: null })
 * @since 0.1.0
 */
export const inpaint = (model: DiffMaeModel, params: DiffMaeParams, images: Tensor, draw: MaskDraw, o: InpaintOptions): Inpainted => {
  const record = new Set(o.record ?? []);
  const recorded: { t: number; x0: Tensor }[] = [];
  const it = inpaintSteps(model, params, images, draw, o);
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

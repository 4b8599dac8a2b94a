/**
 * Class-conditional generation with classifier-free guidance: the reverse process over every
 * patch from pure noise, the conditional and unconditional (null-class) predictions computed in
 * one batch and combined as u + s (c - u) (UMD applies this to its whole output). The denoiser is
 * a function: this module knows no model (see `generateWith` in `models/sampling.ts`).
 *
 * @since 0.1.0
 */
import { finite, positiveInt } from '../core/check.js';
import { ConfigError } from '../core/errors.js';
import { fold, normal, type Key } from '../core/key.js';
import { ctx, type Ctx } from '../core/layer.js';
import { tf, type Tensor } from '../core/tf.js';
import { tableOf, type Schedule } from '../corruption/schedule.js';
import { clipBounds, reverseStep, samplerSteps, stepNoise, x0FromEps, type Sampler } from './sampler.js';

/**
 * A class-conditional denoiser: for noisy patches `xt` [B, L, P] at timestep `t`, with class
 * labels [B] (the null class `classes` for "no class") or none for an unconditional model, its
 * estimate of the noise or of the clean patches.
 *
 * @since 0.2.0
 */
export type GuidedDenoiser = (
  xt: Tensor,
  t: number,
  labels: Tensor | undefined,
  c: Ctx,
) => { readonly x0?: Tensor | undefined; readonly eps?: Tensor | undefined };

/**
 * Options of {@link generate}.
 *
 * @since 0.1.0
 */
export interface GenerateOptions {
  /** One entry per sample: a class id, or null for the null class (unconditional). */
  readonly labels: readonly (number | null)[];
  /** Guidance scale s (1 = no guidance). */
  readonly guidance: number;
  readonly sampler: Sampler;
  readonly key: Key;
  /** Per-channel bounds of the data in normalised units, or null. */
  readonly clip: { readonly lo: readonly number[]; readonly hi: readonly number[] } | null;
}

/**
 * What {@link generate} samples: `tokens` x `patchDim` patches, from a model with `classes`
 * classes (undefined for an unconditional model).
 *
 * @since 0.2.0
 */
export interface GenerateShape {
  readonly tokens: number;
  readonly patchDim: number;
  readonly classes: number | undefined;
}

/**
 * Samples patches [N, L, P] (model units) by the reverse process from pure noise, with
 * classifier-free guidance when the model has classes and s != 1. The denoiser's eps estimate is
 * used when it gives one, else its x0 estimate.
 *
 * @example
 * const { denoise, schedule } = generator(model, params, Key.key(0))
 * const x = generate(denoise, schedule, { tokens: 64, patchDim: 48, classes: 10 }, { labels: [3, 3, 3], guidance: 3, sampler: Sampler.ddim({ steps: 50, eta: 1 }), key: Key.key(1), clip: null })
 * @since 0.1.0
 */
export const generate = (denoise: GuidedDenoiser, schedule: Schedule, shape: GenerateShape, o: GenerateOptions): Tensor => {
  const n = positiveInt('count', o.labels.length);
  const s = finite('guidance', o.guidance);
  const classes = shape.classes;
  if (o.labels.some((y) => y !== null) && classes === undefined)
    throw new ConfigError('labels', o.labels, 'this model has no classes; fine-tune it class-conditionally first');
  o.labels.forEach((y, i) => {
    if (y !== null && (!Number.isInteger(y) || y < 0 || y >= classes!))
      throw new ConfigError(`labels[${i}]`, y, `must be a class id in 0..${classes! - 1}`);
  });
  const table = tableOf(schedule);
  const [l, p] = [shape.tokens, shape.patchDim];
  const guided = classes !== undefined && s !== 1;
  const null_ = classes ?? 0;
  const ys = Int32Array.from(o.labels, (y) => y ?? null_);
  const labels =
    classes === undefined ? undefined : tf.tensor1d(guided ? Int32Array.from([...ys, ...new Array<number>(n).fill(null_)]) : ys, 'int32');
  const clip = clipBounds(o.clip, o.clip?.lo.length ?? 1, p);
  let x = tf.tensor(normal(fold(o.key, 'xT'), n * l * p), [n, l, p]);
  try {
    samplerSteps(o.sampler, table.steps).forEach(([t, tPrev], i) => {
      const next = tf.tidy(() => {
        const out = denoise(guided ? tf.concat([x, x], 0) : x, t, labels, ctx(fold(o.key, i)));
        const combine = (y: Tensor): Tensor => {
          if (!guided) return y;
          const [cond, uncond] = tf.split(y, 2, 0) as [Tensor, Tensor];
          return tf.add(uncond, tf.mul(tf.sub(cond, uncond), s));
        };
        if (!out.eps && !out.x0) throw new ConfigError('denoiser', 'no x0 or eps', 'a denoiser must return an x0 or an eps estimate');
        let est = out.eps ? x0FromEps(table, x, combine(out.eps), t) : combine(out.x0!);
        if (clip) est = tf.minimum(tf.maximum(est, clip[0]), clip[1]);
        return reverseStep(table, o.sampler, x, est, t, tPrev, stepNoise(o.sampler, fold(o.key, 'z'), i, tPrev, [n, l, p]));
      });
      x.dispose();
      x = next;
    });
    return x;
  } catch (e) {
    x.dispose();
    throw e;
  } finally {
    tf.dispose([...(labels ? [labels] : []), ...(clip ?? [])]);
  }
};

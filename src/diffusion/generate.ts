/**
 * Class-conditional generation with classifier-free guidance: the reverse process over every
 * patch from pure noise, the conditional and unconditional (null-class) predictions computed in
 * one batch and combined as u + s (c - u) (UMD applies this to its whole output).
 *
 * @since 0.1.0
 */
import { finite, positiveInt } from '../core/check.js';
import { ConfigError } from '../core/errors.js';
import { fold, normal, type Key } from '../core/key.js';
import { ctx } from '../core/layer.js';
import type { Params } from '../core/params.js';
import { tf, type Tensor } from '../core/tf.js';
import { drawMask, Mask, maskTensors } from '../corruption/mask.js';
import { tableOf } from '../corruption/schedule.js';
import type { CondModel } from '../models/cond.js';
import type { CondAeParams } from '../vision/condAe.js';
import { gridOf, unpatchifyOp } from '../vision/patchify.js';
import type { LabelledImages } from '../data/synthetic.js';
import { clipBounds, reverseStep, samplerSteps, stepNoise, x0FromEps, type Sampler } from './sampler.js';

/**
 * Options of {@link generate}.
 *
 * @since 0.1.0
 */
export interface GenerateOptions {
  /** One class id per sample (0..classes-1), or null entries for unconditional samples. */
  readonly labels: readonly (number | null)[];
  /** Guidance scale s: 0 unconditional, 1 conditional, > 1 guided (UMD: 2 to 4). */
  readonly guidance: number;
  readonly sampler: Sampler;
  readonly key: Key;
  /** Clip x0 estimates per channel to [lo, hi] (model units); null: no clipping. */
  readonly clip: { readonly lo: readonly number[]; readonly hi: readonly number[] } | null;
}

/**
 * Samples patches [N, L, P] (model units) from a conditioned model (UMD, DiT, MaskDiT).
 *
 * @example
 * const x = generate(model, params, { labels: [3, 3, 3], guidance: 3, sampler: Sampler.ddim({ steps: 50, eta: 1 }), key: key(0), clip: null })
 * @since 0.1.0
 */
export const generate = (model: CondModel, params: Params, o: GenerateOptions): Tensor => {
  const n = positiveInt('count', o.labels.length);
  const s = finite('guidance', o.guidance);
  const classes = model.config.classes;
  if (o.labels.some((y) => y !== null) && classes === undefined)
    throw new ConfigError('labels', o.labels, 'this model has no classes; fine-tune it class-conditionally first');
  o.labels.forEach((y, i) => {
    if (y !== null && (!Number.isInteger(y) || y < 0 || y >= classes!))
      throw new ConfigError(`labels[${i}]`, y, `must be a class id in 0..${classes! - 1}`);
  });
  const noised = model.corruption.branches.find((b) => b.branch.noise.placement !== 'none')!.branch.noise;
  if (noised.placement === 'none') throw new ConfigError('model', model.method, 'has no noise schedule');
  const table = tableOf(noised.schedule);
  const grid = gridOf(model.corruption.patching, model.config.image);
  const [l, p] = [grid.tokens, grid.patchDim];
  const guided = classes !== undefined && s !== 1;
  const null_ = classes ?? 0;
  const ys = Int32Array.from(o.labels, (y) => y ?? null_);
  const batch = guided ? 2 * n : n;
  const m = maskTensors(drawMask(Mask.none(), o.key, batch, grid));
  const labels =
    classes === undefined ? undefined : tf.tensor1d(guided ? Int32Array.from([...ys, ...new Array<number>(n).fill(null_)]) : ys, 'int32');
  const clip = clipBounds(o.clip, model.config.image[model.config.image.length - 1]!, p);
  let x = tf.tensor(normal(fold(o.key, 'xT'), n * l * p), [n, l, p]);
  try {
    samplerSteps(o.sampler, table.steps).forEach(([t, tPrev], i) => {
      const next = tf.tidy(() => {
        const input = guided ? tf.concat([x, x], 0) : x;
        const out = model.network.apply(
          params as CondAeParams,
          { ...m, xt: input, t: tf.fill([batch], t, 'int32'), labels },
          ctx(fold(o.key, i)),
        );
        const combine = (y: Tensor): Tensor => {
          if (!guided) return y;
          const [cond, uncond] = tf.split(y, 2, 0) as [Tensor, Tensor];
          return tf.add(uncond, tf.mul(tf.sub(cond, uncond), s));
        };
        let est = out.predEps ? x0FromEps(table, x, combine(out.predEps), t) : combine(out.predX0!);
        if (clip) est = tf.minimum(tf.maximum(est, clip[0]), clip[1]);
        return reverseStep(table, o.sampler, x, est, t, tPrev, stepNoise(o.sampler, fold(o.key, 'z'), i, tPrev, [n, l, p]));
      });
      x.dispose();
      x = next;
    });
    return x;
  } finally {
    tf.dispose([m.mask, m.idsKeep, m.idsShuffle, m.idsRestore, ...(labels ? [labels] : []), ...(clip ?? [])]);
  }
};

/**
 * Generated images as host data in [0, 1] (un-normalised with the model's input statistics,
 * clipped), in batches of `batch` samples (each batch draws with its own folded key), with the
 * class each sample was generated for as its label (-1 for unconditional samples).
 *
 * @example
 * const samples = generateImages(model, params, norm, { labels: [0, 0, 1, 1], guidance: 3, sampler: Sampler.ddim({ steps: 50 }), key: key(0), clip: dataRange(norm) })
 * @since 0.1.0
 */
export const generateImages = (
  model: CondModel,
  params: Params,
  norm: { readonly mean: readonly number[]; readonly std: readonly number[] },
  o: GenerateOptions & { readonly batch?: number },
): LabelledImages => {
  const n = positiveInt('count', o.labels.length);
  const batch = positiveInt('batch', o.batch ?? 64);
  const grid = gridOf(model.corruption.patching, model.config.image);
  const [h, w, c] = [grid.height, grid.width, grid.channels];
  const per = grid.frames * h * w * c;
  const images = new Float32Array(n * per);
  for (let start = 0, b = 0; start < n; start += batch, b++) {
    const labels = o.labels.slice(start, start + batch);
    const x = generate(model, params, { ...o, labels, key: fold(o.key, b) });
    const img = tf.tidy(() =>
      tf.clipByValue(tf.add(tf.mul(unpatchifyOp(grid, x), tf.tensor1d([...norm.std])), tf.tensor1d([...norm.mean])), 0, 1),
    );
    images.set(img.dataSync(), start * per);
    tf.dispose([x, img]);
  }
  const classes = model.config.classes ?? 0;
  return {
    count: n,
    ...(grid.video ? { frames: grid.frames } : {}),
    height: h,
    width: w,
    channels: c,
    images,
    labels: Int32Array.from(o.labels, (y) => y ?? -1),
    classes: Array.from({ length: classes }, (_, k) => String(k)),
  };
};

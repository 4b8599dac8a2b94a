/**
 * A model's denoisers, for the reverse processes of `diffusion/`: inpainting (the reverse process
 * on the removed patches, the encoder run once on the visible ones) and generation (the reverse
 * process over every patch, with guidance). Which model can do which is a question about its
 * corruption, never its name: inpainting needs a branch that noises the removed patches,
 * generation a branch that noises the whole image.
 *
 * @since 0.2.0
 */
import { ConfigError } from '../core/errors.js';
import { fold, type Key } from '../core/key.js';
import { ctx } from '../core/layer.js';
import type { Params } from '../core/params.js';
import { tf, type Tensor } from '../core/tf.js';
import { drawMask, Mask, maskTensors, requireVisible, type MaskDraw } from '../corruption/mask.js';
import { maskedNoiseBranch, wholeImageBranch } from '../corruption/questions.js';
import type { Schedule } from '../corruption/schedule.js';
import type { LabelledImages } from '../data/labelled.js';
import { generate, type GenerateOptions, type GuidedDenoiser } from '../diffusion/generate.js';
import type { Denoiser } from '../diffusion/inpaint.js';
import { patchifyOp, unpatchifyOp } from '../vision/patchify.js';
import type { Model } from './build.js';

/**
 * What inpainting with a model needs: the denoiser (the encoder already run on the visible
 * patches), the schedule of the model's masked-noise branch, and the clean patches [N, L, P].
 * `dispose` frees the encoder's outputs and the patches.
 *
 * @since 0.2.0
 */
export interface Inpainter {
  readonly denoise: Denoiser;
  readonly schedule: Schedule;
  readonly x0: Tensor;
  readonly dispose: () => void;
}

/**
 * The inpainting denoiser of a model on images [N, ...] under a mask drawn beforehand: its
 * encoder runs once, with `ctx(fold(key, 'model'))`; each call of `denoise` runs the decoder on
 * the noisy removed patches. A model whose corruption never noises the removed patches alone
 * (no masked-noise branch) is a {@link ConfigError}: it inpaints in one pass instead.
 *
 * @example
 * const ip = inpainter(model, params, images, draw, Key.key(0))
 * const { result } = inpaint(ip.denoise, ip.schedule, ip.x0, draw, { sampler: Sampler.ddim({ steps: 50 }), key: Key.key(0), clip: null })
 * ip.dispose()
 * @since 0.2.0
 */
export const inpainter = (model: Model, params: Params, images: Tensor, draw: MaskDraw, key: Key): Inpainter => {
  const branch = maskedNoiseBranch(model.corruption);
  const noise = branch?.branch.noise;
  if (!noise || noise.placement === 'none')
    throw new ConfigError(
      'model',
      model.spec.label ?? 'model',
      'has no branch that noises the removed patches; it inpaints in one pass (its clean branch)',
    );
  // before the encoder runs on nothing: a draw must leave some patch visible
  requireVisible(draw, `a draw of ${draw.length - draw.keep} removed of ${draw.length}`);
  const x0 = patchifyOp(model.corruption.patching, images);
  const n = x0.shape[0]!;
  const m = maskTensors(draw);
  const base = { ...m, t: tf.zeros([n], 'int32'), xt: x0 };
  const cond = model.network.conditionOn(params, base, ctx(fold(key, 'model')));
  return {
    denoise: (xt, t, c) => {
      const out = cond.decode(xt, tf.fill([n], t, 'int32'), c);
      return { x0: out.predX0, eps: out.predEps };
    },
    schedule: noise.schedule,
    x0,
    dispose: () => {
      cond.dispose();
      tf.dispose([x0, m.mask, m.idsKeep, m.idsShuffle, m.idsRestore, base.t]);
    },
  };
};

/**
 * The generation denoiser of a model: its network on every patch (no mask) at timestep t, with
 * the labels given. A model whose corruption never noises the whole image is a
 * {@link ConfigError}.
 *
 * @example
 * const { denoise, schedule, dispose } = generator(model, params, Key.key(0))
 * @since 0.2.0
 */
export const generator = (
  model: Model,
  params: Params,
  key: Key,
): { readonly denoise: GuidedDenoiser; readonly schedule: Schedule; readonly dispose: () => void } => {
  const noise = wholeImageBranch(model.corruption)?.branch.noise;
  if (!noise || noise.placement === 'none')
    throw new ConfigError('model', model.spec.label ?? 'model', 'has no branch that noises the whole image, so it does not generate');
  // the (empty) mask of each batch size, made once and kept across the reverse steps
  const masks = new Map<number, ReturnType<typeof maskTensors>>();
  const maskOf = (batch: number): ReturnType<typeof maskTensors> => {
    let m = masks.get(batch);
    if (!m) {
      m = maskTensors(drawMask(Mask.none(), key, batch, model.grid));
      for (const t of Object.values(m)) tf.keep(t);
      masks.set(batch, m);
    }
    return m;
  };
  return {
    schedule: noise.schedule,
    denoise: (xt, t, labels, c) => {
      const batch = xt.shape[0]!;
      const out = model.network.layer.apply(params, { ...maskOf(batch), xt, t: tf.fill([batch], t, 'int32'), labels }, c);
      return { x0: out.predX0, eps: out.predEps };
    },
    dispose: () => {
      for (const m of masks.values()) tf.dispose(Object.values(m));
      masks.clear();
    },
  };
};

/**
 * Samples patches [N, L, P] (model units) from a model (see {@link generate}).
 *
 * @example
 * const x = generateWith(model, params, { labels: [3, 3], guidance: 3, sampler: Sampler.ddim({ steps: 50, eta: 1 }), key: Key.key(0), clip: null })
 * @since 0.2.0
 */
export const generateWith = (model: Model, params: Params, o: GenerateOptions): Tensor => {
  const g = generator(model, params, o.key);
  try {
    return generate(g.denoise, g.schedule, { tokens: model.grid.tokens, patchDim: model.grid.patchDim, classes: model.classes }, o);
  } finally {
    g.dispose();
  }
};

/**
 * Generated images as host data in [0, 1] (un-normalised with the model's input statistics,
 * clipped), in batches of `batch` samples (each batch draws with its own folded key), with the
 * class each sample was generated for as its label (-1 for unconditional samples).
 *
 * @example
 * const samples = generateImages(model, params, norm, { labels: [0, 0, 1, 1], guidance: 3, sampler: Sampler.ddim({ steps: 50 }), key: Key.key(0), clip: dataRange(norm) })
 * @since 0.1.0
 */
export const generateImages = (
  model: Model,
  params: Params,
  norm: { readonly mean: readonly number[]; readonly std: readonly number[] },
  o: GenerateOptions & { readonly batch?: number },
): LabelledImages => {
  const n = o.labels.length;
  if (!Number.isInteger(n) || n < 1) throw new ConfigError('count', n, 'must be a positive integer');
  const batch = o.batch ?? 64;
  if (!Number.isInteger(batch) || batch < 1) throw new ConfigError('batch', batch, 'must be a positive integer');
  const grid = model.grid;
  const [h, w, c] = [grid.height, grid.width, grid.channels];
  const per = grid.frames * h * w * c;
  const images = new Float32Array(n * per);
  for (let start = 0, b = 0; start < n; start += batch, b++) {
    const labels = o.labels.slice(start, start + batch);
    const x = generateWith(model, params, { ...o, labels, key: fold(o.key, b) });
    const img = tf.tidy(() =>
      tf.clipByValue(tf.add(tf.mul(unpatchifyOp(grid, x), tf.tensor1d([...norm.std])), tf.tensor1d([...norm.mean])), 0, 1),
    );
    images.set(img.dataSync(), start * per);
    tf.dispose([x, img]);
  }
  return {
    count: n,
    ...(grid.video ? { frames: grid.frames } : {}),
    height: h,
    width: w,
    channels: c,
    images,
    labels: Int32Array.from(o.labels, (y) => y ?? -1),
    classes: Array.from({ length: model.classes ?? 0 }, (_, k) => String(k)),
  };
};

/**
 * Held-out reconstruction for any method: MAE predicts the removed patches in one pass,
 * DiffMAE inpaints them with a short DDIM run. Both are scored by masked-region PSNR in pixel
 * units and drawn as a picture grid.
 *
 * @since 0.1.0
 */
import { fold, type Key } from '../core/key.js';
import { ctx } from '../core/layer.js';
import { tf, type Tensor } from '../core/tf.js';
import { drawMask, maskTensors, Mask, requireVisible, type MaskDraw } from '../corruption/mask.js';
import { inpaint } from '../diffusion/inpaint.js';
import { Sampler } from '../diffusion/sampler.js';
import type { Image8 } from '../io/png.js';
import { applyWithMask } from '../models/model.js';
import type { Model } from '../models/build.js';
import { inpainter } from '../models/sampling.js';
import { cleanBranch, inpaintingOf, wholeImageBranch } from '../corruption/questions.js';
import { ConfigError } from '../core/errors.js';
import { corruption, corruptPatches, type Corruption } from '../corruption/corruption.js';
import { Time } from '../corruption/time.js';
import { term } from '../corruption/objective.js';
import { tableOf } from '../corruption/schedule.js';
import { x0FromEps } from '../diffusion/sampler.js';
import type { Params } from '../core/params.js';
import { batchGrid, patchifyOp, unpatchifyOp, type Grid } from '../vision/patchify.js';
import type { Norm } from '../data/batches.js';
import { psnr, reconstructionGrid, unnormalizeNormPix } from './reconstruction.js';
import { ssim } from './ssim.js';

const mean = (xs: readonly number[]): number => xs.reduce((a, v) => a + v, 0) / Math.max(xs.length, 1);

export type { Norm } from '../data/batches.js';

/**
 * The data range [0, 1] in normalised units, per channel (for clipping x0 estimates).
 *
 * @example
 * dataRange({ mean: [0.5], std: [0.25] }) // { lo: [-2], hi: [2] }
 * @since 0.1.0
 */
export const dataRange = (n: Norm): { lo: number[]; hi: number[] } => ({
  lo: n.mean.map((m, i) => (0 - m) / n.std[i]!),
  hi: n.mean.map((m, i) => (1 - m) / n.std[i]!),
});

/**
 * Masked-region PSNR (pixel units, data range 1) of predicted patches against x0, per sample.
 *
 * @example
 * maskedPsnr(grid, pred, x0, mask, norm)
 * @since 0.1.0
 */
export const maskedPsnr = (grid: Grid, pred: Tensor, x0: Tensor, mask: Tensor, norm: Norm): number[] => {
  const mse = tf.tidy(() => {
    const removed = unpatchifyOp(grid, tf.mul(tf.onesLike(x0), tf.expandDims(mask, -1)));
    const diff = tf.mul(tf.sub(unpatchifyOp(grid, pred), unpatchifyOp(grid, x0)), tf.tensor1d([...norm.std]));
    const axes = Array.from({ length: removed.rank - 1 }, (_, i) => i + 1);
    return tf.div(tf.sum(tf.mul(tf.square(diff), removed), axes), tf.maximum(tf.sum(removed, axes), 1));
  });
  const out = Array.from(mse.dataSync(), (m) => psnr(m, 1));
  mse.dispose();
  return out;
};

/**
 * Masked-region SSIM (see {@link ssim}) of predicted patches against x0, per sample, in pixel
 * units (un-normalised with `norm`, clipped to [0, 1]): the visible patches are pasted back into
 * the prediction first (as inpainting is judged), and the mean runs over window centres in the
 * removed region.
 *
 * @example
 * maskedSsim(grid, pred, x0, mask, norm)
 * @since 0.1.0
 */
export const maskedSsim = (grid: Grid, pred: Tensor, x0: Tensor, mask: Tensor, norm: Norm): number[] => {
  const [p, t, m] = tf.tidy(() => {
    const px = (x: Tensor) =>
      tf.clipByValue(tf.add(tf.mul(unpatchifyOp(grid, x), tf.tensor1d([...norm.std])), tf.tensor1d([...norm.mean])), 0, 1);
    const removed = tf.mean(unpatchifyOp(grid, tf.mul(tf.onesLike(x0), tf.expandDims(mask, -1))), -1);
    // visible patches pasted back, so windows that straddle the boundary judge the inpainting as a person sees it
    const pasted = tf.add(tf.mul(pred, tf.expandDims(mask, -1)), tf.mul(x0, tf.expandDims(tf.sub(1, mask), -1)));
    return [px(pasted), px(x0), removed];
  });
  const [pd, td, md] = [p.dataSync(), t.dataSync(), m.dataSync()];
  tf.dispose([p, t, m]);
  const { height: h, width: w, channels: c } = grid;
  // per frame (one frame for images), averaged over the frames that have removed pixels
  return Array.from({ length: pred.shape[0]! }, (_, i) => {
    const scores: number[] = [];
    for (let f = 0; f < grid.frames; f++) {
      const o = i * grid.frames + f;
      const v = ssim(pd.subarray(o * h * w * c, (o + 1) * h * w * c), td.subarray(o * h * w * c, (o + 1) * h * w * c), h, w, c, {
        mask: md.subarray(o * h * w, (o + 1) * h * w),
      });
      if (!Number.isNaN(v)) scores.push(v);
    }
    return scores.length ? scores.reduce((a, v) => a + v, 0) / scores.length : NaN;
  });
};

/**
 * A model's prediction of the removed patches of `images` under a drawn mask, in model units
 * [N, L, P], with x0 and the mask. How depends on the corruption ({@link inpaintingOf}): one
 * pass of its clean branch (MAE, UMD's clean share; a norm-pix target un-normalised with the
 * visible patches' statistics), or the reverse process on the removed patches (DiffMAE; visible
 * patches pasted). A model with neither (DiT, MaskDiT) gets a ConfigError.
 *
 * @example
 * const { pred, x0, mask } = predictRemoved(model, params, images, draw, norm, Key.key(0))
 * @since 0.1.0
 */
export const predictRemoved = (
  m: Model,
  params: Params,
  images: Tensor,
  draw: MaskDraw,
  norm: Norm,
  k: Key,
  sampler = Sampler.ddim({ steps: 10 }),
): { pred: Tensor; x0: Tensor; mask: Tensor } => {
  requireVisible(draw, `a draw of ${draw.length - draw.keep} removed of ${draw.length}`);
  const how = inpaintingOf(m.corruption);
  if (how === 'diffusion') {
    const ip = inpainter(m, params, images, draw, k);
    try {
      const r = inpaint(ip.denoise, ip.schedule, ip.x0, draw, { sampler, key: k, clip: dataRange(norm) });
      const t = maskTensors(draw);
      tf.dispose([t.idsKeep, t.idsShuffle, t.idsRestore]);
      return { pred: r.result, x0: tf.clone(ip.x0), mask: t.mask };
    } finally {
      ip.dispose();
    }
  }
  const clean = cleanBranch(m.corruption);
  if (how === 'none' || !clean)
    throw new ConfigError(
      'model',
      m.spec.label ?? 'model',
      'has no clean (t = 0) step to reconstruct from visible patches, nor masked noise to inpaint with; evaluate it by denoising',
    );
  const normPix = clean.branch.objective.some((t) => t.target === 'x0' && t.region !== 'visible' && t.normPix);
  const out = applyWithMask(corruption(m.corruption.patching, clean.branch), m.network.layer, params, images, draw, ctx(k));
  const pred = normPix ? unnormalizeNormPix(out.predX0!, out.x0, out.mask) : tf.clone(out.predX0!);
  // for a clean branch xt is x0 itself, which we return
  tf.dispose([
    out.loss,
    out.latent,
    out.predX0!,
    out.idsRestore,
    out.t,
    ...(out.predEps ? [out.predEps] : []),
    ...(out.xt === out.x0 ? [] : [out.xt]),
  ]);
  return { pred, x0: out.x0, mask: out.mask };
};

/**
 * The x0 estimate of a model trained to denoise whole images (DiT, MaskDiT, UMD) for images
 * noised to a fixed t over the whole image (no mask): the x0 head if it has one, else from the
 * eps head.
 *
 * @example
 * const { pred, x0, xt } = denoise(model, params, images, 100, Key.key(0))
 * @since 0.1.0
 */
export const denoise = (m: Model, params: Params, images: Tensor, t: number, k: Key): { pred: Tensor; x0: Tensor; xt: Tensor } => {
  const noise = wholeImageBranch(m.corruption)?.branch.noise;
  if (!noise || noise.placement === 'none')
    throw new ConfigError('model', m.spec.label ?? 'model', 'never noises the whole image, so it has no denoising to evaluate');
  const schedule = noise.schedule;
  const branch = { mask: Mask.none(), noise, time: Time.fixed(t), objective: [term('eps', 'all')] };
  const grid = batchGrid(m.corruption.patching, images.shape);
  const x0 = patchifyOp(m.corruption.patching, images);
  const g = corruptPatches(branch, fold(k, 'noise'), grid, x0);
  const out = m.network.layer.apply(params, g, ctx(k));
  const pred = out.predX0 ? tf.clone(out.predX0) : x0FromEps(tableOf(schedule), g.xt, out.predEps!, t);
  tf.dispose([
    out.latent,
    ...(out.predX0 ? [out.predX0] : []),
    ...(out.predEps ? [out.predEps] : []),
    g.t,
    g.mask,
    g.idsKeep,
    g.idsShuffle,
    g.idsRestore,
    ...(g.eps ? [g.eps] : []),
  ]);
  return { pred, x0, xt: g.xt };
};

/**
 * What {@link heldOutEval} measures for a model: `masked` (PSNR of the removed patches, for a
 * model that reconstructs them) or `denoise-t100` (PSNR of its x0 estimate from t = 100, for a
 * model that only denoises). The two are not comparable.
 *
 * @example
 * heldOutKind(Method.dit({ patch: 4 })) // 'denoise-t100'
 * @since 0.2.0
 */
export const heldOutKind = (c: Corruption): 'masked' | 'denoise-t100' => (inpaintingOf(c) === 'none' ? 'denoise-t100' : 'masked');

/**
 * Held-out reconstruction quality and picture cells: for a model that reconstructs removed
 * patches, masked-region PSNR and SSIM under its own clean-step mask (or its first branch's);
 * for one that only denoises, the PSNR and SSIM of its x0 estimate from t = 100 over the whole
 * image (see {@link heldOutKind}).
 *
 * @example
 * const { psnr, ssim, cells } = heldOutEval(model, params, images, norm, Key.key(0))
 * @since 0.1.0
 */
export const heldOutEval = (
  m: Model,
  params: Params,
  images: Tensor,
  norm: Norm,
  k: Key,
): { psnr: number; ssim: number; cells: Image8[][] } => {
  const grid = m.grid;
  if (heldOutKind(m.corruption) === 'denoise-t100') {
    const { pred, x0, xt } = denoise(m, params, images, 100, fold(k, 'denoise'));
    const all = tf.ones([images.shape[0]!, grid.tokens]);
    const per = maskedPsnr(grid, pred, x0, all, norm);
    const ss = maskedSsim(grid, pred, x0, all, norm);
    const cells = reconstructionGrid(grid, x0, pred, all, { denorm: norm });
    const noisy = reconstructionGrid(grid, x0, xt, all, { denorm: norm });
    tf.dispose([pred, x0, xt, all]);
    return { psnr: mean(per), ssim: mean(ss), cells: cells.map((row, i) => [row[0]!, noisy[i]![2]!, row[2]!, row[3]!]) };
  }
  // the model's own (clean-step) mask: random 75% by default, tube or frame masks on video
  const clean = cleanBranch(m.corruption) ?? m.corruption.branches[0]!;
  const draw = drawMask(clean.branch.mask, fold(k, 'mask'), images.shape[0]!, grid);
  const { pred, x0, mask } = predictRemoved(m, params, images, draw, norm, fold(k, 'predict'));
  const per = maskedPsnr(grid, pred, x0, mask, norm);
  const ss = maskedSsim(grid, pred, x0, mask, norm);
  const cells = reconstructionGrid(grid, x0, pred, mask, { denorm: norm });
  tf.dispose([pred, x0, mask]);
  return { psnr: mean(per), ssim: mean(ss), cells };
};

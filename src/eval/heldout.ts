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
import { applyWithMask, type NetworkIn, type NetworkOut } from '../models/model.js';
import type { Layer } from '../core/layer.js';
import { ConfigError } from '../core/errors.js';
import { corruption, corruptPatches, type Corruption } from '../corruption/corruption.js';
import { Time } from '../corruption/time.js';
import { term } from '../corruption/objective.js';
import { tableOf } from '../corruption/schedule.js';
import { x0FromEps } from '../diffusion/sampler.js';
import type { BuiltModel } from '../models/registry.js';
import type { Params } from '../core/params.js';
import { batchGrid, gridOf, patchifyOp, unpatchifyOp, type Grid } from '../vision/patchify.js';
import { psnr, reconstructionGrid, unnormalizeNormPix } from './reconstruction.js';
import { ssim } from './ssim.js';
import type { DiffMaeParams } from '../models/diffmae.js';

const mean = (xs: readonly number[]): number => xs.reduce((a, v) => a + v, 0) / Math.max(xs.length, 1);

/** Per-channel input normalisation. */
export type Norm = { readonly mean: readonly number[]; readonly std: readonly number[] };

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
 * [N, L, P] (visible patches pasted for DiffMAE, raw for MAE and UMD's clean step), with x0.
 * DiT and MaskDiT have no clean step to predict from; they get a ConfigError.
 *
 * @example
 * const { pred, x0, mask } = predictRemoved(built, params, images, draw, norm, key(0))
 * @since 0.1.0
 */
export const predictRemoved = (
  b: BuiltModel,
  params: Params,
  images: Tensor,
  draw: MaskDraw,
  norm: Norm,
  k: Key,
  sampler = Sampler.ddim({ steps: 10 }),
): { pred: Tensor; x0: Tensor; mask: Tensor } => {
  requireVisible(draw, `a draw of ${draw.length - draw.keep} removed of ${draw.length}`);
  if (b.method === 'diffmae') {
    const r = inpaint(b.model, params as DiffMaeParams, images, draw, { sampler, key: k, clip: dataRange(norm) });
    const m = maskTensors(draw);
    tf.dispose([m.idsKeep, m.idsShuffle, m.idsRestore]);
    return { pred: r.result, x0: patchifyOp(b.model.corruption.patching, images), mask: m.mask };
  }
  let c: Corruption;
  let network: Layer<Params, NetworkIn, NetworkOut>;
  let normPix = false;
  if (b.method === 'mae') {
    c = b.model.corruption;
    network = b.model.network as unknown as Layer<Params, NetworkIn, NetworkOut>;
    normPix = b.model.config.normPix ?? false;
  } else {
    const clean = b.model.corruption.branches.find((wb) => wb.branch.noise.placement === 'none');
    if (!clean)
      throw new ConfigError('method', b.method, 'has no clean (t = 0) step to reconstruct from visible patches; evaluate it by denoising');
    c = corruption(b.model.corruption.patching, clean.branch);
    network = b.model.network as unknown as Layer<Params, NetworkIn, NetworkOut>;
  }
  const out = applyWithMask(c, network, params, images, draw, ctx(k));
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
 * The x0 estimate of a conditioned model (DiT, MaskDiT, UMD) for images noised to a fixed t
 * over the whole image (no mask): the x0 head if it has one, else from the eps head.
 *
 * @example
 * const { pred, x0, xt } = denoise(built, params, images, 100, key(0))
 * @since 0.1.0
 */
export const denoise = (
  b: BuiltModel & { readonly method: 'umd' | 'maskdit' | 'dit' },
  params: Params,
  images: Tensor,
  t: number,
  k: Key,
): { pred: Tensor; x0: Tensor; xt: Tensor } => {
  const noised = b.model.corruption.branches.find((wb) => wb.branch.noise.placement !== 'none')!.branch;
  if (noised.noise.placement === 'none') throw new ConfigError('method', b.method, 'has no noise schedule');
  const schedule = noised.noise.schedule;
  const branch = { mask: Mask.none(), noise: noised.noise, time: Time.fixed(t), objective: [term('eps', 'all')] };
  const grid = batchGrid(b.model.corruption.patching, images.shape);
  const x0 = patchifyOp(b.model.corruption.patching, images);
  const g = corruptPatches(branch, fold(k, 'noise'), grid, x0);
  const out = (b.model.network as unknown as Layer<Params, NetworkIn, NetworkOut>).apply(params, g, ctx(k));
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
 * Held-out evaluation at a fixed key: masked-region PSNR of the reconstruction (MAE, UMD's clean
 * step) or inpainting (DiffMAE), or, for DiT and MaskDiT, whole-image PSNR of the x0 estimate
 * from t = 100; and the picture grid (original | input | prediction | prediction with visible
 * patches pasted).
 *
 * @example
 * const { psnr, cells } = heldOutEval(built, params, images, norm, key(0))
 * @since 0.1.0
 */
export const heldOutEval = (
  b: BuiltModel,
  params: Params,
  images: Tensor,
  norm: Norm,
  k: Key,
): { psnr: number; ssim: number; cells: Image8[][] } => {
  const grid = gridOf(b.model.corruption.patching, b.model.config.image);
  if (b.method === 'dit' || b.method === 'maskdit') {
    const { pred, x0, xt } = denoise(b, params, images, 100, fold(k, 'denoise'));
    const all = tf.ones([images.shape[0]!, grid.tokens]);
    const per = maskedPsnr(grid, pred, x0, all, norm);
    const ss = maskedSsim(grid, pred, x0, all, norm);
    const cells = reconstructionGrid(grid, x0, pred, all, { denorm: norm });
    const noisy = reconstructionGrid(grid, x0, xt, all, { denorm: norm });
    tf.dispose([pred, x0, xt, all]);
    return { psnr: mean(per), ssim: mean(ss), cells: cells.map((row, i) => [row[0]!, noisy[i]![2]!, row[2]!, row[3]!]) };
  }
  // the model's own (clean-step) mask: random 75% by default, tube or frame masks on video
  const clean = b.model.corruption.branches.find((wb) => wb.branch.noise.placement === 'none') ?? b.model.corruption.branches[0]!;
  const draw = drawMask(clean.branch.mask, fold(k, 'mask'), images.shape[0]!, grid);
  const { pred, x0, mask } = predictRemoved(b, params, images, draw, norm, fold(k, 'predict'));
  const per = maskedPsnr(grid, pred, x0, mask, norm);
  const ss = maskedSsim(grid, pred, x0, mask, norm);
  const cells = reconstructionGrid(grid, x0, pred, mask, { denorm: norm });
  tf.dispose([pred, x0, mask]);
  return { psnr: mean(per), ssim: mean(ss), cells };
};

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
import { drawMask, maskTensors, Mask, type MaskDraw } from '../corruption/mask.js';
import { inpaint } from '../diffusion/inpaint.js';
import { Sampler } from '../diffusion/sampler.js';
import type { Image8 } from '../io/png.js';
import { applyWithMask } from '../models/model.js';
import type { BuiltModel } from '../models/registry.js';
import type { Params } from '../core/params.js';
import { gridOf, patchifyOp, unpatchifyOp, type Grid } from '../vision/patchify.js';
import { psnr, reconstructionGrid, unnormalizeNormPix } from './reconstruction.js';
import type { DiffMaeParams } from '../models/diffmae.js';
import type { MaeParams } from '../models/mae.js';

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
    return tf.div(tf.sum(tf.mul(tf.square(diff), removed), [1, 2, 3]), tf.maximum(tf.sum(removed, [1, 2, 3]), 1));
  });
  const out = Array.from(mse.dataSync(), (m) => psnr(m, 1));
  mse.dispose();
  return out;
};

/**
 * A model's prediction of the removed patches of `images` under a drawn mask, in pixel-ready
 * model units [N, L, P] (visible patches pasted for DiffMAE, raw for MAE), with x0.
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
  if (b.method === 'mae') {
    const out = applyWithMask(b.model.corruption, b.model.network, params as MaeParams, images, draw, ctx(k));
    const pred = b.model.config.normPix ? unnormalizeNormPix(out.predX0!, out.x0, out.mask) : tf.clone(out.predX0!);
    // for a clean branch xt is x0 itself, which we return
    tf.dispose([out.loss, out.latent, out.predX0!, out.idsRestore, out.t, ...(out.xt === out.x0 ? [] : [out.xt])]);
    return { pred, x0: out.x0, mask: out.mask };
  }
  const r = inpaint(b.model, params as DiffMaeParams, images, draw, { sampler, key: k, clip: dataRange(norm) });
  const m = maskTensors(draw);
  tf.dispose([m.idsKeep, m.idsShuffle, m.idsRestore]);
  return { pred: r.result, x0: patchifyOp(b.model.corruption.patching, images), mask: m.mask };
};

/**
 * Held-out evaluation at a fixed mask key: masked-region PSNR and the picture grid.
 *
 * @example
 * const { psnr, cells } = heldOutEval(built, params, images, norm, key(0))
 * @since 0.1.0
 */
export const heldOutEval = (b: BuiltModel, params: Params, images: Tensor, norm: Norm, k: Key): { psnr: number; cells: Image8[][] } => {
  const cfg = b.model.config;
  const grid = gridOf(b.model.corruption.patching, cfg.image);
  const draw = drawMask(Mask.random(cfg.maskRatio ?? 0.75), fold(k, 'mask'), images.shape[0]!, grid);
  const { pred, x0, mask } = predictRemoved(b, params, images, draw, norm, fold(k, 'predict'));
  const per = maskedPsnr(grid, pred, x0, mask, norm);
  const cells = reconstructionGrid(grid, x0, pred, mask, { denorm: norm });
  tf.dispose([pred, x0, mask]);
  return { psnr: per.reduce((a, v) => a + v, 0) / per.length, cells };
};

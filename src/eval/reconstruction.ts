/**
 * Reconstructions as pictures and numbers: un-normalising norm-pix predictions honestly,
 * pasting visible patches back, masked-region MSE and PSNR, and the picture grid
 * (original | masked | reconstruction | reconstruction with visible patches pasted back).
 *
 * @since 0.1.0
 */
import { ShapeError } from '../core/errors.js';
import { tf, type Tensor } from '../core/tf.js';
import { frameStrip, toImage8 } from '../io/images.js';
import type { Image8 } from '../io/png.js';
import { unpatchifyOp, type Grid } from '../vision/patchify.js';

const patchStats = (x: Tensor): [Tensor, Tensor] => {
  const p = x.shape[x.rank - 1]!;
  const mean = tf.mean(x, -1, true);
  const variance = tf.div(tf.sum(tf.square(tf.sub(x, mean)), -1, true), p - 1);
  return [mean, variance];
};

/**
 * Maps norm-pix predictions [N, L, P] back to pixels using only what a viewer may know: a
 * visible patch's slot uses that patch's own mean and variance; a removed patch's slot uses the
 * mean, over the sample's visible patches, of their means and variances. (Using the removed
 * patches' own statistics would leak the ground truth into the picture.)
 *
 * @example
 * const pixels = unnormalizeNormPix(pred, x0, mask)
 * @since 0.1.0
 */
export const unnormalizeNormPix = (pred: Tensor, x0: Tensor, mask: Tensor): Tensor =>
  tf.tidy(() => {
    const [mean, variance] = patchStats(x0); // [N, L, 1]
    const visible = tf.expandDims(tf.sub(1, mask), -1); // [N, L, 1]
    const count = tf.maximum(tf.sum(visible, 1, true), 1);
    const visMean = tf.div(tf.sum(tf.mul(mean, visible), 1, true), count); // [N, 1, 1]
    const visVar = tf.div(tf.sum(tf.mul(variance, visible), 1, true), count);
    const m = tf.add(tf.mul(mean, visible), tf.mul(visMean, tf.sub(1, visible)));
    const v = tf.add(tf.mul(variance, visible), tf.mul(visVar, tf.sub(1, visible)));
    return tf.add(tf.mul(pred, tf.sqrt(tf.add(v, 1e-6))), m);
  });

/**
 * The reconstruction with the visible patches of x0 pasted back (removed slots from pred).
 *
 * @example
 * pasteVisible(pred, x0, mask)
 * @since 0.1.0
 */
export const pasteVisible = (pred: Tensor, x0: Tensor, mask: Tensor): Tensor =>
  tf.tidy(() => {
    const m = tf.expandDims(mask, -1);
    return tf.add(tf.mul(pred, m), tf.mul(x0, tf.sub(1, m)));
  });

/**
 * Mean squared error over the removed patches, per sample [N] (host values).
 *
 * @example
 * maskedMse(pred, x0, mask) // Float32Array of N values
 * @since 0.1.0
 */
export const maskedMse = (pred: Tensor, x0: Tensor, mask: Tensor): Float32Array => {
  if (pred.shape.join() !== x0.shape.join()) throw new ShapeError('pred', `[${x0.shape.join(', ')}]`, pred.shape);
  const t = tf.tidy(() => tf.div(tf.sum(tf.mul(tf.mean(tf.squaredDifference(pred, x0), -1), mask), 1), tf.maximum(tf.sum(mask, 1), 1)));
  const out = t.dataSync() as Float32Array;
  t.dispose();
  return out;
};

/**
 * PSNR in dB for a mean squared error and a data range (peak-to-peak).
 *
 * @example
 * psnr(0.01, 1) // 20
 * @since 0.1.0
 */
export const psnr = (mse: number, range: number): number => 10 * Math.log10((range * range) / Math.max(mse, 1e-12));

/**
 * Options of {@link reconstructionGrid}.
 *
 * @since 0.1.0
 */
export interface PanelOptions {
  /** Per-channel input normalisation to undo for display (x * std + mean). */
  readonly denorm?: { readonly mean: readonly number[]; readonly std: readonly number[] };
  /** Grey level of removed patches in the masked column, in display units (default 0.5). */
  readonly grey?: number;
}

/**
 * One row per sample: original | masked input (removed patches grey) | reconstruction |
 * reconstruction with visible patches pasted (for video, each cell is the clip's frame strip). `pred` must already be in pixel units (apply
 * {@link unnormalizeNormPix} first for norm-pix models).
 *
 * @example
 * tileImages(reconstructionGrid(grid, x0, pixels, mask), { scale: 3 })
 * @since 0.1.0
 */
export const reconstructionGrid = (grid: Grid, x0: Tensor, pred: Tensor, mask: Tensor, o: PanelOptions = {}): Image8[][] => {
  const grey = o.grey ?? 0.5;
  const imgs = tf.tidy(() => {
    const denorm = (t: Tensor): Tensor =>
      o.denorm ? tf.add(tf.mul(t, tf.tensor1d([...o.denorm.std])), tf.tensor1d([...o.denorm.mean])) : t;
    const removed = unpatchifyOp(grid, tf.mul(tf.onesLike(x0), tf.expandDims(mask, -1))); // 1 on removed pixels
    const original = denorm(unpatchifyOp(grid, x0));
    const masked = tf.add(tf.mul(original, tf.sub(1, removed)), tf.mul(removed, grey));
    return [original, masked, denorm(unpatchifyOp(grid, pred)), denorm(unpatchifyOp(grid, pasteVisible(pred, x0, mask)))];
  });
  const data = imgs.map((t) => t.dataSync());
  tf.dispose(imgs);
  const n = x0.shape[0]!;
  const per = grid.frames * grid.height * grid.width * grid.channels;
  return Array.from({ length: n }, (_, i) =>
    data.map((d) =>
      grid.video
        ? frameStrip(d.subarray(i * per, (i + 1) * per), grid.frames, grid.height, grid.width, grid.channels)
        : toImage8(d.subarray(i * per, (i + 1) * per), grid.height, grid.width, grid.channels),
    ),
  );
};

/**
 * Inpainting baselines that learn nothing, for honest comparisons: fill the removed patches
 * with the mean colour of the visible ones (images and video), or, for video, copy each removed
 * frame's patch from the nearest visible frame at the same place.
 *
 * @since 0.1.0
 */
import { ShapeError } from '../core/errors.js';
import { tf, type Tensor } from '../core/tf.js';
import type { Grid } from '../vision/patchify.js';

const checkPatches = (grid: Grid, x0: Tensor, mask: Tensor): void => {
  if (x0.rank !== 3 || x0.shape[1] !== grid.tokens || x0.shape[2] !== grid.patchDim)
    throw new ShapeError('x0', `[N, ${grid.tokens}, ${grid.patchDim}]`, x0.shape);
  if (mask.rank !== 2 || mask.shape[0] !== x0.shape[0] || mask.shape[1] !== grid.tokens)
    throw new ShapeError('mask', `[${x0.shape[0]}, ${grid.tokens}]`, mask.shape);
};

/**
 * Patches [N, L, P] with every removed patch (mask 1) replaced by the per-channel mean of the
 * visible pixels of its own sample; visible patches unchanged.
 *
 * @example
 * const pred = meanColourFill(grid, x0, mask)
 * @since 0.1.0
 */
export const meanColourFill = (grid: Grid, x0: Tensor, mask: Tensor): Tensor => {
  checkPatches(grid, x0, mask);
  return tf.tidy(() => {
    const c = grid.channels;
    const [n, l, p] = x0.shape as [number, number, number];
    const m = tf.expandDims(mask, -1);
    const vis = tf.sub(1, m);
    const byChannel = tf.reshape(x0, [n, l, p / c, c]);
    const sum = tf.sum(tf.mul(byChannel, tf.expandDims(vis, -1)), [1, 2]);
    const mean = tf.div(sum, tf.maximum(tf.mul(tf.reshape(tf.sum(vis, [1, 2]), [n, 1]), p / c), 1));
    const fill = tf.reshape(tf.tile(tf.reshape(mean, [n, 1, 1, c]), [1, l, p / c, 1]), [n, l, p]);
    return tf.add(tf.mul(x0, vis), tf.mul(fill, m));
  });
};

/**
 * Video patches [N, L, t*p*p*C] with every removed frame of every removed tubelet copied from the
 * nearest frame (in time; the earlier one on a tie) whose tubelet at the same spatial cell is
 * visible. Where no frame at that cell is visible (a tube mask), the mean colour of the visible
 * pixels fills it, as {@link meanColourFill}. Visible patches are unchanged.
 *
 * @example
 * const pred = nearestFrameFill(grid, x0, mask)
 * @since 0.1.0
 */
export const nearestFrameFill = (grid: Grid, x0: Tensor, mask: Tensor): Tensor => {
  checkPatches(grid, x0, mask);
  const fallback = meanColourFill(grid, x0, mask);
  const [x, m, f] = [x0.dataSync(), mask.dataSync(), fallback.dataSync()];
  fallback.dispose();
  const n = x0.shape[0]!;
  const { times, tubelet: t, tokens: l, patchDim: pd } = grid;
  const hw = grid.rows * grid.cols;
  const per = pd / t; // values per frame of a tubelet
  const out = Float32Array.from(x);
  for (let b = 0; b < n; b++)
    for (let cell = 0; cell < hw; cell++) {
      const visible = (s: number): boolean => m[b * l + s * hw + cell]! === 0;
      for (let s = 0; s < times; s++) {
        if (visible(s)) continue;
        for (let dt = 0; dt < t; dt++) {
          const frame = s * t + dt;
          let best = -1;
          for (let d = 1; d < times * t && best < 0; d++)
            for (const g of [frame - d, frame + d]) if (g >= 0 && g < times * t && best < 0 && visible(Math.floor(g / t))) best = g;
          const dst = (b * l + s * hw + cell) * pd + dt * per;
          if (best < 0) out.set(f.subarray(dst, dst + per), dst);
          else {
            const src = (b * l + Math.floor(best / t) * hw + cell) * pd + (best % t) * per;
            out.set(x.subarray(src, src + per), dst);
          }
        }
      }
    }
  return tf.tensor(out, x0.shape);
};

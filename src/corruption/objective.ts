/**
 * Objectives, as data: a list of weighted loss terms, each a prediction target (x0 pixels or
 * the noise eps) scored over a region of patches (masked, visible, all).
 *
 * @since 0.1.0
 */
import { finite } from '../core/check.js';
import { ConfigError, ShapeError } from '../core/errors.js';
import { tf, type Tensor } from '../core/tf.js';

import type { Target } from '../vision/heads.js';

export type { Target };
/** Which patches a term scores: removed (mask 1), visible (mask 0) or all. */
export type Region = 'masked' | 'visible' | 'all';

/**
 * One loss term: mean squared error of `target` over `region`, times `weight`. `normPix`
 * (x0 only) normalises each target patch by its own mean and unbiased variance (eps 1e-6).
 *
 * @since 0.1.0
 */
export interface LossTerm {
  readonly target: Target;
  readonly region: Region;
  readonly weight: number;
  readonly normPix: boolean;
}

/**
 * An objective: the sum of its terms.
 *
 * @since 0.1.0
 */
export type Objective = readonly LossTerm[];

/**
 * A loss term.
 *
 * @example
 * term('x0', 'masked')                      // MAE
 * term('eps', 'visible', 0.5)               // UMD's noised share, with term('x0', 'masked', 0.5)
 * term('x0', 'masked', 1, { normPix: true })
 * @since 0.1.0
 */
export const term = (target: Target, region: Region, weight = 1, o: { readonly normPix?: boolean } = {}): LossTerm => {
  finite('loss.weight', weight);
  if (weight < 0) throw new ConfigError('loss.weight', weight, 'must be >= 0');
  const normPix = o.normPix ?? false;
  if (normPix && target !== 'x0') throw new ConfigError('loss.normPix', normPix, 'applies to the x0 target only');
  return { target, region, weight, normPix };
};

/**
 * Each patch of x0 [N, L, P] normalised by its own mean and unbiased variance:
 * (x - mean) / sqrt(var + 1e-6), MAE's norm_pix_loss target.
 *
 * @example
 * normPixTarget(x0)
 * @since 0.1.0
 */
export const normPixTarget = (x0: Tensor): Tensor =>
  tf.tidy(() => {
    const p = x0.shape[x0.rank - 1]!;
    if (p < 2) throw new ShapeError('norm_pix target', '[..., P] with P >= 2', x0.shape);
    const mean = tf.mean(x0, -1, true);
    const xc = tf.sub(x0, mean);
    const variance = tf.div(tf.sum(tf.square(xc), -1, true), p - 1);
    return tf.div(xc, tf.sqrt(tf.add(variance, 1e-6)));
  });

/**
 * Per-patch MSE (mean over the patch vector) averaged over the patches whose weight is 1:
 * sum(loss * w) / sum(w), and 0 when no patch is selected.
 *
 * @example
 * regionMse(pred, target, mask) // MAE's loss on masked patches
 * @since 0.1.0
 */
export const regionMse = (pred: Tensor, target: Tensor, weights: Tensor | null): Tensor =>
  tf.tidy(() => {
    const perPatch = tf.mean(tf.squaredDifference(pred, target), -1);
    if (weights === null) return tf.mean(perPatch);
    return tf.div(tf.sum(tf.mul(perPatch, weights)), tf.maximum(tf.sum(weights), 1e-12));
  });

/**
 * What an objective is scored against.
 *
 * @since 0.1.0
 */
export interface Truth {
  /** Clean patches [N, L, P]. */
  readonly x0: Tensor;
  /** The noise [N, L, P], or null where no noise was drawn. */
  readonly eps: Tensor | null;
  /** [N, L], 1 = removed. */
  readonly mask: Tensor;
}

/**
 * The scalar loss of an objective for predictions by target.
 *
 * @example
 * objectiveLoss([term('x0', 'masked')], { x0: pred }, { x0, eps: null, mask })
 * @since 0.1.0
 */
export const objectiveLoss = (objective: Objective, pred: { readonly x0?: Tensor; readonly eps?: Tensor }, truth: Truth): Tensor =>
  tf.tidy(() => {
    let total: Tensor = tf.scalar(0);
    for (const t of objective) {
      const p = pred[t.target];
      if (p === undefined) throw new ConfigError('loss.target', t.target, 'the model produced no prediction for this target');
      const target = t.target === 'x0' ? (t.normPix ? normPixTarget(truth.x0) : truth.x0) : truth.eps;
      if (target === null) throw new ConfigError('loss.target', t.target, 'needs noise, but this branch draws none');
      const w = t.region === 'all' ? null : t.region === 'masked' ? truth.mask : tf.sub(1, truth.mask);
      total = tf.add(total, tf.mul(regionMse(p, target, w), t.weight));
    }
    return total;
  });

/**
 * Learning-rate schedules: functions from the step (0-based) to the learning rate, evaluated
 * every step.
 *
 * @since 0.1.0
 */
import { finite, int, positive } from '../core/check.js';
import { ConfigError } from '../core/errors.js';

/** A learning-rate schedule. */
export type LrSchedule = (step: number) => number;

/**
 * The linear scaling rule: lr = base * batch / 256 (batch = images per optimiser step).
 *
 * @example
 * scaledLr(1.5e-4, 4096) // 2.4e-3, MAE's ViT-L setting
 * @since 0.1.0
 */
export const scaledLr = (base: number, batch: number): number => positive('baseLr', base) * (int('batch', batch, 1) / 256);

/**
 * Linear warmup from 0 to `peak` over `warmup` steps, then a half cosine from `peak` to `min`
 * at step `total` (MAE's lr_sched, per step).
 *
 * @example
 * const lr = warmupCosine({ peak: 1e-3, warmup: 40, total: 800 })
 * lr(0) // 0, lr(40) // 1e-3, lr(800) // 0
 * @since 0.1.0
 */
export const warmupCosine = (o: {
  readonly peak: number;
  readonly warmup: number;
  readonly total: number;
  readonly min?: number;
}): LrSchedule => {
  const peak = finite('lr.peak', o.peak);
  const min = finite('lr.min', o.min ?? 0);
  const warmup = int('lr.warmup', o.warmup, 0);
  const total = int('lr.total', o.total, 1);
  if (warmup > total) throw new ConfigError('lr.warmup', warmup, `must be <= the total steps ${total}`);
  return (step) => {
    if (step < warmup) return (peak * step) / warmup;
    if (total === warmup) return peak;
    const progress = Math.min(1, (step - warmup) / (total - warmup));
    return min + (peak - min) * 0.5 * (1 + Math.cos(Math.PI * progress));
  };
};

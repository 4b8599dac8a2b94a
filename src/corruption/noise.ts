/**
 * Diffusion noise: where it is placed, and the forward process q(x_t | x_0).
 *
 * @since 0.1.0
 */
import { ConfigError, ShapeError } from '../core/errors.js';
import { tf, type Tensor } from '../core/tf.js';
import { tableOf, type Schedule, type ScheduleTable } from './schedule.js';

/**
 * Where noise goes: `none` (MAE), the `masked` patches only (DiffMAE), or `all` of the image
 * (UMD, MaskDiT, DiT).
 *
 * @since 0.1.0
 */
export type Placement = 'none' | 'masked' | 'all';

/**
 * Noise, as data: a placement and, unless it is `none`, a schedule.
 *
 * @since 0.1.0
 */
export type Noise = { readonly placement: 'none' } | { readonly placement: 'masked' | 'all'; readonly schedule: Schedule };

/**
 * Smart constructors for {@link Noise}.
 *
 * @example
 * Noise.none()
 * Noise.masked(Schedule.linear())
 * Noise.all(Schedule.cosine())
 * @since 0.1.0
 */
export const Noise = {
  none: (): Noise => ({ placement: 'none' }),
  masked: (schedule: Schedule): Noise => ({ placement: 'masked', schedule }),
  all: (schedule: Schedule): Noise => ({ placement: 'all', schedule }),
} as const;

/** Per-sample coefficient vectors for host timesteps, shaped [N, 1, ..., 1] to broadcast. */
const coefficients = (table: ScheduleTable, t: Int32Array, rank: number): [Tensor, Tensor] => {
  const a = new Float32Array(t.length);
  const b = new Float32Array(t.length);
  t.forEach((s, i) => {
    if (!(s >= 0 && s <= table.steps)) throw new ConfigError(`t[${i}]`, s, `must be in 0..${table.steps}`);
    a[i] = table.sqrtAlphaBar[s]!;
    b[i] = table.sqrtOneMinusAlphaBar[s]!;
  });
  const shape = [t.length, ...new Array<number>(rank - 1).fill(1)];
  return [tf.tensor(a, shape), tf.tensor(b, shape)];
};

/**
 * q_sample: x_t = sqrt(alphaBar_t) x0 + sqrt(1 - alphaBar_t) eps, per sample, for host
 * timesteps t [N]. At t = 0 this returns x0 exactly.
 *
 * @example
 * qSample(tableOf(Schedule.cosine()), x0, new Int32Array([0, 500]), eps)
 * @since 0.1.0
 */
export const qSample = (table: ScheduleTable, x0: Tensor, t: Int32Array, eps: Tensor): Tensor => {
  if (x0.shape[0] !== t.length) throw new ShapeError('q_sample t', `[${x0.shape[0]}] (one per sample)`, [t.length]);
  if (eps.shape.join() !== x0.shape.join()) throw new ShapeError('q_sample eps', `[${x0.shape.join(', ')}]`, eps.shape);
  return tf.tidy(() => {
    // At t = 0 the coefficients are exactly 1 and 0, so finite x0 comes back unchanged.
    const [a, b] = coefficients(table, t, x0.rank);
    return tf.add(tf.mul(a, x0), tf.mul(b, eps));
  });
};

/**
 * Applies noise to patches x0 [N, L, P] according to its placement: `none` returns x0,
 * `all` returns q_sample everywhere, `masked` returns q_sample on the removed patches
 * (mask [N, L] = 1) and x0, bit-identical, on the visible ones.
 *
 * @example
 * placeNoise(Noise.masked(Schedule.cosine()), x0, mask, t, eps)
 * @since 0.1.0
 */
export const placeNoise = (noise: Noise, x0: Tensor, mask: Tensor, t: Int32Array, eps: Tensor | null): Tensor => {
  if (noise.placement === 'none') return x0;
  if (eps === null) throw new ConfigError('noise.eps', null, `placement ${noise.placement} needs eps`);
  return tf.tidy(() => {
    const noisy = qSample(tableOf(noise.schedule), x0, t, eps);
    if (noise.placement === 'all') return noisy;
    const removed = tf.broadcastTo(tf.expandDims(tf.greater(mask, 0.5), -1), x0.shape);
    return tf.where(removed, noisy, x0);
  });
};

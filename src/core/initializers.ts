/**
 * Initializers: functions from a key and a shape to a fresh tensor, drawn with {@link Key}
 * streams so that params are the same on every backend.
 *
 * @since 0.1.0
 */
import { ConfigError } from './errors.js';
import { fold, normal, uniform, type Key } from './key.js';
import { tf } from './tf.js';

/**
 * Makes a tensor of a shape from a key.
 *
 * @since 0.1.0
 */
export type Initializer = (key: Key, shape: readonly number[]) => tf.Tensor;

const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/**
 * All zeros.
 *
 * @example
 * zeros(Key.key(0), [4])
 * @since 0.1.0
 */
export const zeros: Initializer = (_key, shape) => tf.zeros([...shape]);

/**
 * All ones.
 *
 * @example
 * ones(Key.key(0), [4])
 * @since 0.1.0
 */
export const ones: Initializer = (_key, shape) => tf.ones([...shape]);

/**
 * Normal with mean 0 and standard deviation `std` (MAE's CLS and mask tokens: 0.02).
 *
 * @example
 * normalInit(0.02)(Key.key(0), [1, 1, 192])
 * @since 0.1.0
 */
export const normalInit =
  (std: number): Initializer =>
  (key, shape) => {
    const v = normal(key, size(shape));
    for (let i = 0; i < v.length; i++) v[i] = v[i]! * std;
    return tf.tensor(v, [...shape]);
  };

/**
 * Xavier/Glorot uniform for a kernel `[fanIn, fanOut]` (the reference MAE's Linear init):
 * U(-a, a) with a = sqrt(6 / (fanIn + fanOut)).
 *
 * @example
 * xavierUniform(Key.key(0), [192, 768])
 * @since 0.1.0
 */
export const xavierUniform: Initializer = (key, shape) => {
  if (shape.length !== 2) throw new ConfigError('xavierUniform.shape', shape, 'must be [fanIn, fanOut]');
  const a = Math.sqrt(6 / (shape[0]! + shape[1]!));
  const v = uniform(key, size(shape));
  for (let i = 0; i < v.length; i++) v[i] = (2 * v[i]! - 1) * a;
  return tf.tensor(v, [...shape]);
};

/**
 * LeCun normal for a kernel `[fanIn, fanOut]`, as flax's `Dense` default (`lecun_normal`):
 * a normal truncated to two standard deviations, scaled so its variance is 1 / fanIn
 * (std sqrt(1 / fanIn) / 0.8796...). Values outside the two deviations are redrawn from
 * folded keys, so the result depends on the key alone.
 *
 * @example
 * lecunNormal(Key.key(0), [64, 128])
 * @since 0.2.0
 */
export const lecunNormal: Initializer = (key, shape) => {
  if (shape.length !== 2) throw new ConfigError('lecunNormal.shape', shape, 'must be [fanIn, fanOut]');
  const std = Math.sqrt(1 / shape[0]!) / 0.8796256610342398;
  const v = normal(key, size(shape));
  for (let round = 1; ; round++) {
    const out: number[] = [];
    v.forEach((x, i) => {
      if (Math.abs(x) > 2) out.push(i);
    });
    if (out.length === 0) break;
    const redraw = normal(fold(key, round), out.length);
    out.forEach((i, j) => (v[i] = redraw[j]!));
  }
  for (let i = 0; i < v.length; i++) v[i] = v[i]! * std;
  return tf.tensor(v, [...shape]);
};

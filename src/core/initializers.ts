/**
 * Initializers: functions from a key and a shape to a fresh tensor, drawn with {@link Key}
 * streams so that params are the same on every backend.
 *
 * @since 0.1.0
 */
import { ConfigError } from './errors.js';
import { normal, uniform, type Key } from './key.js';
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

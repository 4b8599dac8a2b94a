/**
 * Tensor specs: shape and dtype without data. `init` runs on specs, so checking a whole
 * pipeline's shapes allocates no activations. A dimension of -1 is unknown (typically the batch).
 *
 * @since 0.1.0
 */
import { ShapeError } from './errors.js';
import type { tf } from './tf.js';

/** The dtypes tesserae uses. */
export type DType = 'float32' | 'int32' | 'bool';

/**
 * The shape and dtype of a tensor.
 *
 * @since 0.1.0
 */
export interface TensorSpec {
  readonly shape: readonly number[];
  readonly dtype: DType;
}

/**
 * The spec type of a value type: a tensor becomes a {@link TensorSpec}; records and tuples of
 * tensors become records and tuples of specs.
 *
 * @since 0.1.0
 */
export type SpecOf<T> = T extends tf.Tensor ? TensorSpec : T extends object ? { readonly [K in keyof T]: SpecOf<T[K]> } : never;

/**
 * A spec from a shape (dtype float32 by default).
 *
 * @example
 * spec([-1, 32, 32, 3]) // images with any batch size
 * @since 0.1.0
 */
export const spec = (shape: readonly number[], dtype: DType = 'float32'): TensorSpec => ({
  shape: Object.freeze([...shape]),
  dtype,
});

/**
 * The spec of a concrete tensor.
 *
 * @example
 * specOf(tf.zeros([2, 3])) // { shape: [2, 3], dtype: 'float32' }
 * @since 0.1.0
 */
export const specOf = (t: tf.Tensor): TensorSpec => spec(t.shape, t.dtype as DType);

const isTensorLike = (x: unknown): x is tf.Tensor => typeof x === 'object' && x !== null && 'shape' in x && 'dtype' in x && 'dataSync' in x;

/**
 * The spec tree of a value tree (tensors, records and arrays of tensors).
 *
 * @example
 * specTree({ x: tf.zeros([2]) }) // { x: { shape: [2], dtype: 'float32' } }
 * @since 0.1.0
 */
export const specTree = <T>(value: T): SpecOf<T> => {
  if (isTensorLike(value)) return specOf(value) as SpecOf<T>;
  if (Array.isArray(value)) return value.map((v: unknown) => specTree(v)) as unknown as SpecOf<T>;
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = specTree(v);
    return out as SpecOf<T>;
  }
  throw new TypeError(`specTree: not a tensor tree: ${String(value)}`);
};

/**
 * Whether two shapes agree, -1 matching any size.
 *
 * @example
 * shapesMatch([-1, 4], [8, 4]) // true
 * @since 0.1.0
 */
export const shapesMatch = (a: readonly number[], b: readonly number[]): boolean =>
  a.length === b.length && a.every((d, i) => d === -1 || b[i] === -1 || d === b[i]);

/**
 * Checks a spec's rank, and optionally some sizes (null = any), throwing a {@link ShapeError}
 * that names `what`. Returns the shape.
 *
 * @example
 * expectRank('tokens', s, 3, [null, null, 192])
 * @since 0.1.0
 */
export const expectRank = (
  what: string,
  s: TensorSpec,
  rank: number,
  sizes: readonly (number | null)[] = [],
  pattern = `rank ${rank}`,
): readonly number[] => {
  const ok = s.shape.length === rank && sizes.every((d, i) => d === null || s.shape[i] === -1 || s.shape[i] === d);
  if (!ok) {
    const want = sizes.length ? `[${sizes.map((d, i) => (d === null ? `d${i}` : String(d))).join(', ')}]` : pattern;
    throw new ShapeError(what, want, s.shape);
  }
  return s.shape;
};

/**
 * The product of sizes, or -1 if any is unknown.
 *
 * @example
 * sizeOf([4, 4, 3]) // 48
 * @since 0.1.0
 */
export const sizeOf = (shape: readonly number[]): number => (shape.some((d) => d === -1) ? -1 : shape.reduce((a, b) => a * b, 1));

/**
 * Throws a {@link ShapeError} naming `what` unless the tensor's shape matches `expected`
 * (-1 = any size). Used at the boundaries where users hand tensors in.
 *
 * @example
 * assertShape('images', images, [-1, 32, 32, 3])
 * @since 0.1.0
 */
export const assertShape = (what: string, t: tf.Tensor, expected: readonly number[]): void => {
  if (!shapesMatch(expected, t.shape)) {
    throw new ShapeError(what, `[${expected.map((d) => (d === -1 ? '*' : String(d))).join(', ')}]`, t.shape);
  }
};

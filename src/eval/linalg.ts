/**
 * Dense linear algebra on host arrays, in float64, for the evaluation code: the ridge probe's
 * Gram matrices and Cholesky solves (./probes.ts), and the Fréchet distance's covariances,
 * eigen-decompositions and matrix square roots (./samples.ts).
 *
 * Matrices are row-major `Float64Array`s with their sizes passed alongside. The problems are
 * small (a few hundred dimensions), so plain loops suffice; every sum runs in a fixed order, so
 * results are exact functions of the inputs and the same on every backend.
 *
 * @since 0.2.0
 */
import { ConfigError, ShapeError } from '../core/errors.js';

/**
 * Factors a symmetric positive definite m x m matrix in place into its lower Cholesky factor L
 * (A = L L^T; only the lower triangle of `a` is read, and only the lower triangle of the result
 * is L). A pivot that is not positive (the matrix is not positive definite) is refused with the
 * error `notPositive` makes, by default a ConfigError naming the pivot.
 *
 * @example
 * const l = cholesky(Float64Array.from([4, 2, 2, 5]), 2) // lower triangle [2, _, 1, 2]
 * @since 0.2.0
 */
export const cholesky = (
  a: Float64Array,
  m: number,
  notPositive: (pivot: number, value: number) => Error = (pivot, value) =>
    new ConfigError(`matrix[${pivot}, ${pivot}]`, value, 'the pivot is not positive: the matrix is not positive definite'),
): Float64Array => {
  if (a.length !== m * m) throw new ShapeError('matrix', `[${m}, ${m}]`, [a.length]);
  for (let j = 0; j < m; j++) {
    let s = a[j * m + j]!;
    for (let k = 0; k < j; k++) s -= a[j * m + k]! * a[j * m + k]!;
    if (!(s > 0)) throw notPositive(j, s);
    const l = Math.sqrt(s);
    a[j * m + j] = l;
    for (let i = j + 1; i < m; i++) {
      let t = a[i * m + j]!;
      for (let k = 0; k < j; k++) t -= a[i * m + k]! * a[j * m + k]!;
      a[i * m + j] = t / l;
    }
  }
  return a;
};

/**
 * Solves (L L^T) X = B in place for X, given the lower Cholesky factor `l` [m, m] (from
 * {@link cholesky}) and B [m, c]; returns `b`, now holding X.
 *
 * @example
 * const x = choleskySolve(cholesky(gram, m), m, rhs, c)
 * @since 0.2.0
 */
export const choleskySolve = (l: Float64Array, m: number, b: Float64Array, c: number): Float64Array => {
  if (l.length !== m * m) throw new ShapeError('factor', `[${m}, ${m}]`, [l.length]);
  if (b.length !== m * c) throw new ShapeError('right-hand side', `[${m}, ${c}]`, [b.length]);
  for (let col = 0; col < c; col++) {
    for (let i = 0; i < m; i++) {
      let s = b[i * c + col]!;
      for (let k = 0; k < i; k++) s -= l[i * m + k]! * b[k * c + col]!;
      b[i * c + col] = s / l[i * m + i]!;
    }
    for (let i = m - 1; i >= 0; i--) {
      let s = b[i * c + col]!;
      for (let k = i + 1; k < m; k++) s -= l[k * m + i]! * b[k * c + col]!;
      b[i * c + col] = s / l[i * m + i]!;
    }
  }
  return b;
};

/**
 * The product A B of a [m, k] and b [k, n], as a new [m, n] array (each entry summed over k in
 * ascending order).
 *
 * @example
 * matmul(Float64Array.from([1, 2]), Float64Array.from([3, 4]), 1, 2, 1) // [11]
 * @since 0.2.0
 */
export const matmul = (a: ArrayLike<number>, b: ArrayLike<number>, m: number, k: number, n: number): Float64Array => {
  if (a.length !== m * k) throw new ShapeError('left matrix', `[${m}, ${k}]`, [a.length]);
  if (b.length !== k * n) throw new ShapeError('right matrix', `[${k}, ${n}]`, [b.length]);
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let p = 0; p < k; p++) {
      const aip = a[i * k + p]!;
      for (let j = 0; j < n; j++) out[i * n + j]! += aip * b[p * n + j]!;
    }
  return out;
};

/**
 * The product X^T Y of x [n, d] and y [n, c], as a new [d, c] array (each entry summed over the n
 * rows in ascending order), without forming X^T.
 *
 * @example
 * transposeTimes(x, n, d, y, c) // the [d, c] cross-product of features and targets
 * @since 0.2.0
 */
export const transposeTimes = (x: ArrayLike<number>, n: number, d: number, y: ArrayLike<number>, c: number): Float64Array => {
  if (x.length !== n * d) throw new ShapeError('left matrix', `[${n}, ${d}]`, [x.length]);
  if (y.length !== n * c) throw new ShapeError('right matrix', `[${n}, ${c}]`, [y.length]);
  const out = new Float64Array(d * c);
  for (let i = 0; i < n; i++)
    for (let a = 0; a < d; a++) {
      const v = x[i * d + a]!;
      for (let k = 0; k < c; k++) out[a * c + k]! += v * y[i * c + k]!;
    }
  return out;
};

/**
 * The Gram matrix of the columns of x [n, d], X^T X [d, d] (symmetric; each entry summed over the
 * rows in ascending order).
 *
 * @example
 * const g = columnGram(z, n, d) // then add lambda to the diagonal for ridge regression
 * @since 0.2.0
 */
export const columnGram = (x: ArrayLike<number>, n: number, d: number): Float64Array => {
  if (x.length !== n * d) throw new ShapeError('matrix', `[${n}, ${d}]`, [x.length]);
  const g = new Float64Array(d * d);
  for (let i = 0; i < n; i++) {
    const row = i * d;
    for (let a = 0; a < d; a++) {
      const va = x[row + a]!;
      if (va === 0) continue;
      const ga = a * d;
      for (let b = 0; b <= a; b++) g[ga + b]! += va * x[row + b]!;
    }
  }
  for (let a = 0; a < d; a++) for (let b = 0; b < a; b++) g[b * d + a] = g[a * d + b]!;
  return g;
};

/**
 * The Gram matrix of the rows of x [n, d], X X^T [n, n] (symmetric; each entry the dot product of
 * two rows, summed in ascending order).
 *
 * @example
 * const k = rowGram(z, n, d) // the linear kernel of n samples
 * @since 0.2.0
 */
export const rowGram = (x: ArrayLike<number>, n: number, d: number): Float64Array => {
  if (x.length !== n * d) throw new ShapeError('matrix', `[${n}, ${d}]`, [x.length]);
  const g = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let a = 0; a < d; a++) s += x[i * d + a]! * x[j * d + a]!;
      g[i * n + j] = s;
      g[j * n + i] = s;
    }
  return g;
};

/**
 * Adds `lambda` to the diagonal of the m x m matrix `a` in place (ridge regularisation); returns `a`.
 *
 * @example
 * addDiagonal(columnGram(z, n, d), d, 1024)
 * @since 0.2.0
 */
export const addDiagonal = (a: Float64Array, m: number, lambda: number): Float64Array => {
  if (a.length !== m * m) throw new ShapeError('matrix', `[${m}, ${m}]`, [a.length]);
  for (let i = 0; i < m; i++) a[i * m + i]! += lambda;
  return a;
};

/**
 * The rows `rows` of x [., d], in that order, as a new [rows.length, d] array.
 *
 * @example
 * selectRows(Float64Array.from([1, 2, 3, 4]), 2, [1]) // [3, 4]
 * @since 0.2.0
 */
export const selectRows = (x: Float64Array, d: number, rows: readonly number[]): Float64Array => {
  const out = new Float64Array(rows.length * d);
  rows.forEach((r, i) => out.set(x.subarray(r * d, (r + 1) * d), i * d));
  return out;
};

/**
 * Mean [d] and covariance [d, d] (divided by n - 1, or by 1 when n = 1) of the rows of x [n, d].
 *
 * @example
 * const { mean, cov } = meanCovariance(features, n, d)
 * @since 0.2.0
 */
export const meanCovariance = (x: Float32Array, n: number, d: number): { readonly mean: Float64Array; readonly cov: Float64Array } => {
  if (x.length !== n * d) throw new ShapeError('rows', `[${n}, ${d}]`, [x.length]);
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let a = 0; a < d; a++) mean[a]! += x[i * d + a]! / n;
  const cov = new Float64Array(d * d);
  for (let i = 0; i < n; i++)
    for (let a = 0; a < d; a++) {
      const va = x[i * d + a]! - mean[a]!;
      for (let b = 0; b <= a; b++) cov[a * d + b]! += (va * (x[i * d + b]! - mean[b]!)) / Math.max(n - 1, 1);
    }
  for (let a = 0; a < d; a++) for (let b = 0; b < a; b++) cov[b * d + a] = cov[a * d + b]!;
  return { mean, cov };
};

/**
 * Eigen-decomposition of a symmetric n x n matrix (cyclic Jacobi rotations, float64): the
 * eigenvalues and the eigenvectors as the columns of `vectors` (row-major n x n).
 *
 * @example
 * const { values } = symmetricEigen(Float64Array.from([2, 1, 1, 2]), 2) // [1, 3] in some order
 * @since 0.1.0
 */
export const symmetricEigen = (matrix: Float64Array, n: number): { readonly values: Float64Array; readonly vectors: Float64Array } => {
  if (matrix.length !== n * n) throw new ShapeError('matrix', `[${n}, ${n}]`, [matrix.length]);
  const a = Float64Array.from(matrix);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    let total = 0;
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        const x = a[i * n + j]! ** 2;
        total += x;
        if (i !== j) off += x;
      }
    if (off <= 1e-24 * Math.max(total, 1e-300)) break;
    for (let p = 0; p < n - 1; p++)
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q]!;
        if (apq === 0) continue;
        const theta = (a[q * n + q]! - a[p * n + p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p]!;
          const akq = a[k * n + q]!;
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k]!;
          const aqk = a[q * n + k]!;
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p]!;
          const vkq = v[k * n + q]!;
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
  }
  return { values: Float64Array.from({ length: n }, (_, i) => a[i * n + i]!), vectors: v };
};

/**
 * The symmetric square root S (S S = A) of a symmetric positive semi-definite n x n matrix, from
 * its eigen-decomposition: V diag(sqrt(max(l, 0))) V^T (negative eigenvalues, rounding noise of a
 * semi-definite matrix, count as 0).
 *
 * @example
 * psdSqrt(Float64Array.from([4, 0, 0, 9]), 2) // [2, 0, 0, 3]
 * @since 0.2.0
 */
export const psdSqrt = (matrix: Float64Array, n: number): Float64Array => {
  const e = symmetricEigen(matrix, n);
  const s = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let k = 0; k < n; k++) acc += e.vectors[i * n + k]! * Math.sqrt(Math.max(e.values[k]!, 0)) * e.vectors[j * n + k]!;
      s[i * n + j] = acc;
    }
  return s;
};

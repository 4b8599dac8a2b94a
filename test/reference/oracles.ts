/**
 * Small, plain-loop oracles in double precision, written from the definitions, to check the
 * tfjs layers against. Arrays are row-major.
 */

/** erf in double precision: Taylor series for |x| < 3, continued fraction for erfc beyond. */
export const erf = (x: number): number => {
  const ax = Math.abs(x);
  if (ax < 3) {
    let sum = 0;
    let term = ax;
    for (let n = 0; n < 100; n++) {
      const t = term / (2 * n + 1);
      sum += t;
      term *= (-ax * ax) / (n + 1);
      if (Math.abs(t) < 1e-17 * Math.abs(sum)) break;
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + 1/2/(x + 1/(x + 3/2/(x + ...)))) (Lentz-free backward eval)
  let f = ax;
  for (let k = 60; k >= 1; k--) f = ax + k / 2 / f;
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
  return Math.sign(x) * (1 - erfc);
};

export const gelu = (x: number): number => 0.5 * x * (1 + erf(x / Math.SQRT2));
export const geluGrad = (x: number): number => 0.5 * (1 + erf(x / Math.SQRT2)) + (x * Math.exp(-0.5 * x * x)) / Math.sqrt(2 * Math.PI);

/** y[m, n] = sum_k x[m, k] w[k, n] + b[n] */
export const dense = (
  x: ArrayLike<number>,
  m: number,
  k: number,
  w: ArrayLike<number>,
  n: number,
  b: ArrayLike<number> | null,
): Float64Array => {
  const y = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = b ? b[j]! : 0;
      for (let q = 0; q < k; q++) s += x[i * k + q]! * w[q * n + j]!;
      y[i * n + j] = s;
    }
  return y;
};

/** LayerNorm over rows of length d (biased variance). */
export const layerNorm = (
  x: ArrayLike<number>,
  rows: number,
  d: number,
  scale: ArrayLike<number>,
  bias: ArrayLike<number>,
  eps: number,
): Float64Array => {
  const y = new Float64Array(rows * d);
  for (let r = 0; r < rows; r++) {
    let mean = 0;
    for (let i = 0; i < d; i++) mean += x[r * d + i]!;
    mean /= d;
    let v = 0;
    for (let i = 0; i < d; i++) v += (x[r * d + i]! - mean) ** 2;
    v /= d;
    for (let i = 0; i < d; i++) y[r * d + i] = ((x[r * d + i]! - mean) / Math.sqrt(v + eps)) * scale[i]! + bias[i]!;
  }
  return y;
};

/**
 * Multi-head attention for one batch element. q [nq, D], k and v [nk, D] already projected;
 * heads split the channel axis contiguously (head h owns channels h*d .. h*d + d - 1).
 * Returns [nq, D] before the output projection.
 */
export const multiHead = (
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  nq: number,
  nk: number,
  width: number,
  heads: number,
): Float64Array => {
  const d = width / heads;
  const out = new Float64Array(nq * width);
  const s = new Float64Array(nk);
  for (let h = 0; h < heads; h++)
    for (let i = 0; i < nq; i++) {
      let mx = -Infinity;
      for (let j = 0; j < nk; j++) {
        let dot = 0;
        for (let c = 0; c < d; c++) dot += q[i * width + h * d + c]! * k[j * width + h * d + c]!;
        s[j] = dot / Math.sqrt(d);
        mx = Math.max(mx, s[j]!);
      }
      let z = 0;
      for (let j = 0; j < nk; j++) {
        s[j] = Math.exp(s[j]! - mx);
        z += s[j]!;
      }
      for (let c = 0; c < d; c++) {
        let acc = 0;
        for (let j = 0; j < nk; j++) acc += (s[j]! / z) * v[j * width + h * d + c]!;
        out[i * width + h * d + c] = acc;
      }
    }
  return out;
};

/** Ascending argsort of a row, ties by index (the reference mask convention). */
export const argsort = (row: ArrayLike<number>): number[] =>
  Array.from({ length: row.length }, (_, i) => i).sort((a, b) => row[a]! - row[b]! || a - b);

/** The MAE reference 1D sin-cos embedding, written from the numpy code (float64). */
export const sincos1dRef = (dim: number, pos: number[]): number[][] => {
  const omega = Array.from({ length: dim / 2 }, (_, i) => 1 / 10000 ** (i / (dim / 2)));
  return pos.map((p) => [...omega.map((w) => Math.sin(p * w)), ...omega.map((w) => Math.cos(p * w))]);
};

/** The MAE reference 2D table for a gh x gw grid: np.meshgrid(grid_w, grid_h), emb_h uses grid[0]. */
export const sincos2dRef = (gh: number, gw: number, dim: number): number[][] => {
  const grid0: number[] = [];
  const grid1: number[] = [];
  for (let i = 0; i < gh; i++)
    for (let j = 0; j < gw; j++) {
      grid0.push(j); // meshgrid(w, h)[0][i][j] = w[j]
      grid1.push(i); // meshgrid(w, h)[1][i][j] = h[i]
    }
  const a = sincos1dRef(dim / 2, grid0);
  const b = sincos1dRef(dim / 2, grid1);
  return a.map((row, i) => [...row, ...b[i]!]);
};

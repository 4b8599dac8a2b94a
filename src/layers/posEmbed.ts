/**
 * Position embeddings for token grids: fixed 2D sin-cos (the MAE reference layout) and learned.
 *
 * @since 0.1.0
 */
import { positiveInt } from '../core/check.js';
import { ConfigError } from '../core/errors.js';
import { normalInit } from '../core/initializers.js';
import { layer, type Layer } from '../core/layer.js';
import { noParams, type NoParams } from '../core/params.js';
import { expectRank } from '../core/spec.js';
import { tf, type Tensor } from '../core/tf.js';

/**
 * 1D sin-cos embedding of `positions` in `dim` channels (dim even): channel k < dim/2 is
 * sin(pos w_k), channel dim/2 + k is cos(pos w_k), w_k = 10000^(-k / (dim/2)). Row-major
 * [positions.length, dim], in double precision.
 *
 * @example
 * sincos1d(4, [0, 1]) // [0, 0, 1, 1, sin 1, sin 1e-2, cos 1, cos 1e-2]
 * @since 0.1.0
 */
export const sincos1d = (dim: number, positions: ArrayLike<number>): Float64Array => {
  if (dim % 2 !== 0) throw new ConfigError('sincos1d.dim', dim, 'must be even');
  const half = dim / 2;
  const out = new Float64Array(positions.length * dim);
  for (let i = 0; i < positions.length; i++) {
    for (let k = 0; k < half; k++) {
      const a = positions[i]! / 10000 ** (k / half);
      out[i * dim + k] = Math.sin(a);
      out[i * dim + half + k] = Math.cos(a);
    }
  }
  return out;
};

const cache = new Map<string, Float32Array>();

/**
 * The fixed 2D sin-cos table [gridH * gridW, dim] (dim divisible by 4), tokens row-major. As
 * in the reference MAE code, the first dim/2 channels encode the column index and the second
 * dim/2 the row index, each as a {@link sincos1d} half. Memoised.
 *
 * @example
 * sincos2d(8, 8, 192) // Float32Array(64 * 192)
 * @since 0.1.0
 */
export const sincos2d = (gridH: number, gridW: number, dim: number): Float32Array => {
  positiveInt('sincos2d.gridH', gridH);
  positiveInt('sincos2d.gridW', gridW);
  positiveInt('sincos2d.dim', dim);
  if (dim % 4 !== 0) throw new ConfigError('sincos2d.dim', dim, 'must be divisible by 4');
  const id = `${gridH}x${gridW}x${dim}`;
  const hit = cache.get(id);
  if (hit) return hit;
  const l = gridH * gridW;
  const cols = new Float64Array(l);
  const rows = new Float64Array(l);
  for (let i = 0; i < l; i++) {
    rows[i] = Math.floor(i / gridW);
    cols[i] = i % gridW;
  }
  const half = dim / 2;
  const ec = sincos1d(half, cols);
  const er = sincos1d(half, rows);
  const out = new Float32Array(l * dim);
  for (let i = 0; i < l; i++) {
    for (let c = 0; c < half; c++) {
      out[i * dim + c] = ec[i * half + c]!;
      out[i * dim + half + c] = er[i * half + c]!;
    }
  }
  cache.set(id, out);
  return out;
};

/**
 * The separable spacetime sin-cos table [times * rows * cols, dim] (dim divisible by 4), tokens
 * time-major: the 2D table of the token's spatial cell plus the 1D table of its time slice
 * (spatial 2D plus temporal 1D, summed, as MAE-ST's separable embedding). Memoised.
 *
 * @example
 * sincos3d(4, 8, 8, 192) // Float32Array(256 * 192)
 * @since 0.1.0
 */
export const sincos3d = (times: number, gridH: number, gridW: number, dim: number): Float32Array => {
  positiveInt('sincos3d.times', times);
  const id = `${times}x${gridH}x${gridW}x${dim}/3d`;
  const hit = cache.get(id);
  if (hit) return hit;
  const space = sincos2d(gridH, gridW, dim);
  const time = sincos1d(
    dim,
    Float64Array.from({ length: times }, (_, s) => s),
  );
  const hw = gridH * gridW;
  const out = new Float32Array(times * hw * dim);
  for (let s = 0; s < times; s++)
    for (let i = 0; i < hw; i++) for (let c = 0; c < dim; c++) out[(s * hw + i) * dim + c] = space[i * dim + c]! + time[s * dim + c]!;
  cache.set(id, out);
  return out;
};

/**
 * The fixed sin-cos table of a token grid: {@link sincos2d} for [rows, cols], {@link sincos3d}
 * for [times, rows, cols].
 *
 * @example
 * sincosTable([8, 8], 64).length // 64 * 64
 * @since 0.1.0
 */
export const sincosTable = (grid: readonly [number, number] | readonly [number, number, number], dim: number): Float32Array =>
  grid.length === 2 ? sincos2d(grid[0], grid[1], dim) : sincos3d(grid[0], grid[1], grid[2], dim);

const tokensOf = (grid: readonly number[]): number => grid.reduce((a, b) => a * b, 1);

/**
 * Adds the fixed sin-cos embedding of a token grid ([rows, cols], or [times, rows, cols] for
 * video) to tokens [B, prefix + L, D]. The first `prefix` tokens (CLS and the like) get zeros,
 * as in the reference MAE. No params: the table is a constant.
 *
 * @example
 * const pos = sincosPosEmbed([8, 8], { prefix: 1 })
 * @since 0.1.0
 */
export const sincosPosEmbed = (
  grid: readonly [number, number] | readonly [number, number, number],
  options: { readonly prefix?: number } = {},
  name = 'sincosPosEmbed',
): Layer<NoParams, Tensor, Tensor> => {
  const l = tokensOf(grid);
  const prefix = options.prefix ?? 0;
  if (!Number.isInteger(prefix) || prefix < 0) throw new ConfigError(`${name}.prefix`, prefix, 'must be a non-negative integer');
  const n = prefix + l;
  return layer<NoParams, Tensor, Tensor>(
    name,
    (_key, inSpec) => {
      const s = expectRank(`${name} input`, inSpec, 3, [null, n, null]);
      sincosTable(grid, s[2]!);
      return { params: noParams, outSpec: inSpec };
    },
    (_p, x) => {
      const d = x.shape[2]!;
      const table = tf.tensor(sincosTable(grid, d), [1, l, d]);
      return tf.add(
        x,
        prefix === 0
          ? table
          : tf.pad(table, [
              [0, 0],
              [prefix, 0],
              [0, 0],
            ]),
      );
    },
  );
};

/** Params of {@link learnedPosEmbed}. */
export type LearnedPosEmbedParams = { readonly table: Tensor };

/**
 * Adds a learned embedding [L, D] to tokens [B, L, D] (UMD's option), initialised N(0, 0.02).
 *
 * @example
 * const pos = learnedPosEmbed()
 * @since 0.1.0
 */
export const learnedPosEmbed = (name = 'learnedPosEmbed'): Layer<LearnedPosEmbedParams, Tensor, Tensor> =>
  layer<LearnedPosEmbedParams, Tensor, Tensor>(
    name,
    (key, inSpec) => {
      const s = expectRank(`${name} input`, inSpec, 3);
      if (s[1]! < 1 || s[2]! < 1) throw new ConfigError(`${name} input`, s, 'needs known token count and width');
      return { params: { table: normalInit(0.02)(key, [s[1]!, s[2]!]) }, outSpec: inSpec };
    },
    (p, x) => tf.add(x, p.table),
  );

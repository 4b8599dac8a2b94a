/**
 * Masks: which tokens the encoder sees. Data ({@link Mask}) plus pure interpreters.
 *
 * The reference MAE convention, stated once: per sample, sort a score over the L tokens in
 * ascending order (`idsShuffle`); the first `keep` entries are kept (visible) and the rest
 * removed; `idsRestore` is the inverse permutation; `mask` is 0 for kept and 1 for removed, in
 * the original token order. Every mask kind is a way to produce that sort: random masks sort
 * uniform noise, deterministic masks (block, center, explicit) list the kept tokens in index
 * order, then the removed ones.
 *
 * Mask draws are host data (typed arrays): a mask is a few bytes per token, computed once per
 * step, identical on every backend.
 *
 * @since 0.1.0
 */
import { int, ratio as checkRatio, positiveInt } from '../core/check.js';
import { ConfigError, ShapeError } from '../core/errors.js';
import { uniform, type Key } from '../core/key.js';
import { tf, type Tensor } from '../core/tf.js';

/**
 * A mask, as data.
 *
 * - `none`: keep every token, in order.
 * - `random`: keep floor(L (1 - ratio)) tokens chosen uniformly per sample (for videos: random
 *   spacetime tokens).
 * - `center`: remove a centred rectangle of about `ratio` of the grid (sides rounded); on video,
 *   the same rectangle in every time slice.
 * - `block`: remove the rectangle of grid cells [top, top + height) x [left, left + width) (in
 *   every time slice).
 * - `tube`: a random spatial mask of `ratio`, the same in every time slice (video).
 * - `frame`: whole time slices: keep floor(times (1 - ratio)) slices chosen at random per
 *   sample and remove the rest (video).
 * - `explicit`: remove the listed token ids.
 *
 * @since 0.1.0
 */
export type Mask =
  | { readonly kind: 'none' }
  | { readonly kind: 'random'; readonly ratio: number }
  | { readonly kind: 'center'; readonly ratio: number }
  | { readonly kind: 'block'; readonly top: number; readonly left: number; readonly height: number; readonly width: number }
  | { readonly kind: 'tube'; readonly ratio: number }
  | { readonly kind: 'frame'; readonly ratio: number }
  | { readonly kind: 'explicit'; readonly removed: readonly number[] };

/**
 * Smart constructors for {@link Mask}; each validates and throws a {@link ConfigError} naming
 * the bad field.
 *
 * @example
 * Mask.random(0.75)
 * Mask.center(0.25)
 * Mask.explicit([0, 1, 2])
 * Mask.tube(0.9) // video: the same spatial mask on every time slice
 * @since 0.1.0
 */
export const Mask = {
  none: (): Mask => ({ kind: 'none' }),
  random: (ratio: number): Mask => ({ kind: 'random', ratio: checkRatio('mask.ratio', ratio) }),
  center: (ratio: number): Mask => ({ kind: 'center', ratio: checkRatio('mask.ratio', ratio) }),
  block: (b: { readonly top: number; readonly left: number; readonly height: number; readonly width: number }): Mask => ({
    kind: 'block',
    top: int('mask.top', b.top, 0),
    left: int('mask.left', b.left, 0),
    height: int('mask.height', b.height, 0),
    width: int('mask.width', b.width, 0),
  }),
  tube: (ratio: number): Mask => ({ kind: 'tube', ratio: checkRatio('mask.ratio', ratio) }),
  frame: (ratio: number): Mask => ({ kind: 'frame', ratio: checkRatio('mask.ratio', ratio) }),
  explicit: (removed: readonly number[]): Mask => {
    removed.forEach((id, i) => int(`mask.removed[${i}]`, id, 0));
    if (new Set(removed).size !== removed.length) throw new ConfigError('mask.removed', removed, 'ids must be distinct');
    return { kind: 'explicit', removed: Object.freeze([...removed]) };
  },
} as const;

/**
 * A drawn mask for a batch: host arrays, row-major [batch, length].
 *
 * @since 0.1.0
 */
export interface MaskDraw {
  readonly batch: number;
  /** L, the number of tokens. */
  readonly length: number;
  /** Tokens kept per sample. */
  readonly keep: number;
  /** Per sample, token ids sorted by score: kept first. */
  readonly idsShuffle: Int32Array;
  /** Inverse of idsShuffle: position of each token in the shuffle. */
  readonly idsRestore: Int32Array;
  /** 0 = kept, 1 = removed, in token order. */
  readonly mask: Float32Array;
}

const fromShuffle = (batch: number, length: number, keep: number, idsShuffle: Int32Array): MaskDraw => {
  const idsRestore = new Int32Array(batch * length);
  const mask = new Float32Array(batch * length);
  for (let n = 0; n < batch; n++) {
    const o = n * length;
    for (let j = 0; j < length; j++) {
      const id = idsShuffle[o + j]!;
      idsRestore[o + id] = j;
      mask[o + id] = j < keep ? 0 : 1;
    }
  }
  return { batch, length, keep, idsShuffle, idsRestore, mask };
};

/**
 * The reference argsort convention: per sample, `idsShuffle` is the ascending order of the
 * scores in `noise` (row-major [batch, length]; ties broken by token index) and the first `keep`
 * are kept. Throws on NaN scores.
 *
 * @example
 * maskFromNoise(new Float32Array([0.9, 0.1, 0.5, 0.3]), 1, 4, 1) // keeps token 1
 * @since 0.1.0
 */
export const maskFromNoise = (noise: ArrayLike<number>, batch: number, length: number, keep: number): MaskDraw => {
  positiveInt('mask batch', batch);
  positiveInt('mask length', length);
  int('mask keep', keep, 0, length);
  if (noise.length !== batch * length) throw new ShapeError('mask noise', `[${batch}, ${length}]`, [noise.length]);
  const idsShuffle = new Int32Array(batch * length);
  const order = new Array<number>(length);
  for (let n = 0; n < batch; n++) {
    const o = n * length;
    for (let j = 0; j < length; j++) {
      const v = noise[o + j]!;
      if (Number.isNaN(v)) throw new ConfigError(`mask noise[${o + j}]`, v, 'must not be NaN');
      order[j] = j;
    }
    order.sort((a, b) => noise[o + a]! - noise[o + b]! || a - b);
    for (let j = 0; j < length; j++) idsShuffle[o + j] = order[j]!;
  }
  return fromShuffle(batch, length, keep, idsShuffle);
};

/**
 * The number of tokens a random mask keeps: floor(L (1 - ratio)), computed in floating point
 * exactly as the reference code does.
 *
 * @example
 * keepCount(64, 0.75) // 16
 * @since 0.1.0
 */
export const keepCount = (length: number, ratio: number): number => Math.floor(length * (1 - ratio));

/**
 * The removed token ids of a deterministic mask on a (times x) rows x cols grid, ascending.
 * Spatial rectangles repeat in every time slice.
 *
 * @example
 * removedIds(Mask.center(0.25), 8, 8).length // 16
 * removedIds(Mask.center(0.25), 8, 8, 4).length // 64
 * @since 0.1.0
 */
export const removedIds = (m: Mask, rows: number, cols: number, times = 1): number[] => {
  const hw = rows * cols;
  const l = times * hw;
  const rect = (top: number, left: number, h: number, w: number): number[] => {
    const out: number[] = [];
    for (let s = 0; s < times; s++)
      for (let r = top; r < top + h; r++) for (let c = left; c < left + w; c++) out.push(s * hw + r * cols + c);
    return out;
  };
  switch (m.kind) {
    case 'none':
      return [];
    case 'random':
    case 'tube':
    case 'frame':
      throw new ConfigError('mask.kind', m.kind, `a ${m.kind} mask has no fixed removed set`);
    case 'center': {
      const s = Math.sqrt(m.ratio);
      const h = Math.min(rows, Math.round(rows * s));
      const w = Math.min(cols, Math.round(cols * s));
      return rect(Math.floor((rows - h) / 2), Math.floor((cols - w) / 2), h, w);
    }
    case 'block':
      if (m.top + m.height > rows)
        throw new ConfigError('mask.height', m.height, `block rows ${m.top}..${m.top + m.height} exceed the grid's ${rows} rows`);
      if (m.left + m.width > cols)
        throw new ConfigError('mask.width', m.width, `block columns ${m.left}..${m.left + m.width} exceed the grid's ${cols} columns`);
      return rect(m.top, m.left, m.height, m.width);
    case 'explicit':
      m.removed.forEach((id, i) => {
        if (id >= l) throw new ConfigError(`mask.removed[${i}]`, id, `must be < the token count ${l}`);
      });
      return [...m.removed].sort((a, b) => a - b);
  }
};

/**
 * Checks that a draw leaves something to condition on: reconstruction and inpainting predict the
 * removed patches from the visible ones, so a draw that removes every patch is a
 * {@link ConfigError} naming `what` (the mask as the user wrote it).
 *
 * @example
 * requireVisible(drawMask(Mask.random(0.999), Key.key(0), 2, { rows: 8, cols: 8 }), 'random:0.999') // throws: removes all 64
 * @since 0.2.0
 */
export const requireVisible = (draw: MaskDraw, what: string, field = 'mask'): MaskDraw => {
  if (draw.keep === 0)
    throw new ConfigError(
      field,
      what,
      `leaves no visible patch (it removes all ${draw.length}); the removed patches are predicted from visible ones`,
    );
  return draw;
};

/**
 * Draws a mask for a batch on a (times x) rows x cols token grid (time-major). Random, tube and
 * frame masks use `key`; the others ignore it and give every sample the same mask. Tube and frame
 * masks list the kept tokens in index order, then the removed ones.
 *
 * @example
 * const d = drawMask(Mask.random(0.75), Key.key(0), 8, { rows: 8, cols: 8 })
 * d.keep // 16
 * drawMask(Mask.tube(0.75), Key.key(0), 8, { times: 4, rows: 8, cols: 8 }).keep // 64
 * @since 0.1.0
 */
export const drawMask = (
  m: Mask,
  key: Key,
  batch: number,
  grid: { readonly rows: number; readonly cols: number; readonly times?: number },
): MaskDraw => {
  positiveInt('mask batch', batch);
  const times = positiveInt('grid times', grid.times ?? 1);
  const hw = positiveInt('grid rows', grid.rows) * positiveInt('grid cols', grid.cols);
  const length = times * hw;
  if (m.kind === 'random') return maskFromNoise(uniform(key, batch * length), batch, length, keepCount(length, m.ratio));
  if (m.kind === 'tube' || m.kind === 'frame') {
    if (m.kind === 'frame' && times < 2) throw new ConfigError('mask.kind', m.kind, 'needs a video grid with at least two time slices');
    // a random draw over space (tube) or time (frame), spread over the other axis
    const units = m.kind === 'tube' ? hw : times;
    const keepUnits = keepCount(units, m.ratio);
    const picks = maskFromNoise(uniform(key, batch * units), batch, units, keepUnits);
    const idsShuffle = new Int32Array(batch * length);
    for (let n = 0; n < batch; n++) {
      const removedUnit = picks.mask.subarray(n * units, (n + 1) * units);
      const gone = (id: number): boolean => removedUnit[m.kind === 'tube' ? id % hw : Math.floor(id / hw)]! > 0;
      let j = n * length;
      for (let id = 0; id < length; id++) if (!gone(id)) idsShuffle[j++] = id;
      for (let id = 0; id < length; id++) if (gone(id)) idsShuffle[j++] = id;
    }
    return fromShuffle(batch, length, keepUnits * (m.kind === 'tube' ? times : hw), idsShuffle);
  }
  const removed = new Set(removedIds(m, grid.rows, grid.cols, times));
  const row: number[] = [];
  for (let i = 0; i < length; i++) if (!removed.has(i)) row.push(i);
  for (let i = 0; i < length; i++) if (removed.has(i)) row.push(i);
  const idsShuffle = new Int32Array(batch * length);
  for (let n = 0; n < batch; n++) idsShuffle.set(row, n * length);
  return fromShuffle(batch, length, length - removed.size, idsShuffle);
};

/**
 * The tensors of a drawn mask.
 *
 * @since 0.1.0
 */
export interface MaskTensors {
  /** [N, L] float32, 0 = kept, 1 = removed. */
  readonly mask: Tensor;
  /** [N, keep] int32: the kept token ids (idsShuffle[:, :keep]). */
  readonly idsKeep: Tensor;
  /** [N, L] int32. */
  readonly idsShuffle: Tensor;
  /** [N, L] int32. */
  readonly idsRestore: Tensor;
}

/**
 * Uploads a drawn mask as tensors.
 *
 * @example
 * const { mask, idsKeep, idsRestore } = maskTensors(drawMask(Mask.random(0.75), k, 8, grid))
 * @since 0.1.0
 */
export const maskTensors = (d: MaskDraw): MaskTensors => {
  const keepIds = new Int32Array(d.batch * d.keep);
  for (let n = 0; n < d.batch; n++) keepIds.set(d.idsShuffle.subarray(n * d.length, n * d.length + d.keep), n * d.keep);
  return {
    mask: tf.tensor2d(d.mask, [d.batch, d.length]),
    idsKeep: tf.tensor2d(keepIds, [d.batch, d.keep], 'int32'),
    idsShuffle: tf.tensor2d(d.idsShuffle, [d.batch, d.length], 'int32'),
    idsRestore: tf.tensor2d(d.idsRestore, [d.batch, d.length], 'int32'),
  };
};

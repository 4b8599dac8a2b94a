/**
 * Patches: images [N, H, W, C] (channels-last) to tokens [N, L, p*p*C] and back; videos
 * [N, T, H, W, C] to tubelet tokens [N, L, t*p*p*C] and back.
 *
 * Image tokens are numbered row-major over the (H/p) x (W/p) grid; each token flattens its patch
 * as (row in patch, column in patch, channel), channel fastest: the reference MAE layout. Video
 * tokens are numbered time-major over the (T/t) x (H/p) x (W/p) grid, and a tubelet flattens as
 * (frame in tubelet, row, column, channel): frame by frame, each frame in the image layout. The
 * geometry is a value ({@link Patching}).
 *
 * @since 0.1.0
 */
import { positiveInt } from '../core/check.js';
import { ConfigError, ShapeError } from '../core/errors.js';
import type { Layer } from '../core/layer.js';
import { spec, expectRank } from '../core/spec.js';
import { tf, type Tensor } from '../core/tf.js';
import { lift } from '../combinators/lift.js';
import type { NoParams } from '../core/params.js';

/**
 * How inputs are cut into tokens: square patches of `size` pixels of images, or tubelets of
 * `frames` x `size` x `size` of videos.
 *
 * @since 0.1.0
 */
export type Patching =
  { readonly kind: 'image'; readonly size: number } | { readonly kind: 'tubelet'; readonly size: number; readonly frames: number };

/**
 * Square patches of `size` pixels.
 *
 * @example
 * patches(4) // { kind: 'image', size: 4 }
 * @since 0.1.0
 */
export const patches = (size: number): Patching => ({ kind: 'image', size: positiveInt('patch', size) });

/**
 * Tubelets of `frames` x `size` x `size` (DiffMAE and MAE-ST on video: 2 x 16 x 16).
 *
 * @example
 * tubelets(2, 4) // { kind: 'tubelet', frames: 2, size: 4 }
 * @since 0.1.0
 */
export const tubelets = (frames: number, size: number): Patching => ({
  kind: 'tubelet',
  frames: positiveInt('tubelet frames', frames),
  size: positiveInt('patch', size),
});

/**
 * An input shape without the batch: [H, W, C] for images, [T, H, W, C] for videos.
 *
 * @since 0.1.0
 */
export type InputShape = readonly [number, number, number] | readonly [number, number, number, number];

/**
 * The patching a model configuration implies: patches of `patch` for an image shape, tubelets
 * of `tubelet` (default 2) frames for a video shape.
 *
 * @example
 * patchingFor([8, 32, 32, 3], 4) // tubelets(2, 4)
 * @since 0.1.0
 */
export const patchingFor = (shape: InputShape, patch: number, tubelet?: number): Patching => {
  if (shape.length === 3) {
    if (tubelet !== undefined && tubelet !== 1) throw new ConfigError('tubelet', tubelet, 'applies to video inputs [T, H, W, C] only');
    return patches(patch);
  }
  return tubelets(tubelet ?? 2, patch);
};

/**
 * The token grid of an image shape under a patching.
 *
 * @since 0.1.0
 */
export interface Grid {
  /** Whether inputs are videos [N, T, H, W, C]. */
  readonly video: boolean;
  /** Input frames T (1 for images). */
  readonly frames: number;
  /** Frames per token t (1 for images). */
  readonly tubelet: number;
  /** Token time slices T / t (1 for images). */
  readonly times: number;
  /** Image (frame) height, width, channels. */
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  /** Patch size p. */
  readonly patch: number;
  /** Grid rows h = H/p and columns w = W/p. */
  readonly rows: number;
  readonly cols: number;
  /** Number of tokens L = times * h * w. */
  readonly tokens: number;
  /** Values per token t * p * p * C. */
  readonly patchDim: number;
}

/**
 * The grid of inputs of a shape ([H, W, C] for patches, [T, H, W, C] for tubelets) under a
 * patching. Throws a {@link ConfigError} naming `patch` (or `tubelet frames`) if it does not
 * divide the height, the width (or the frame count), and a {@link ShapeError} if the shape does
 * not fit the patching.
 *
 * @example
 * gridOf(patches(4), [32, 32, 3]) // { rows: 8, cols: 8, tokens: 64, patchDim: 48, ... }
 * gridOf(tubelets(2, 4), [8, 32, 32, 3]) // { times: 4, rows: 8, cols: 8, tokens: 256, patchDim: 96, ... }
 * @since 0.1.0
 */
export const gridOf = (patching: Patching, shape: InputShape | readonly number[]): Grid => {
  const video = patching.kind === 'tubelet';
  if (shape.length !== (video ? 4 : 3))
    throw new ShapeError(video ? 'video shape' : 'image shape', video ? '[T, H, W, C]' : '[H, W, C]', [...shape]);
  const [frames, height, width, channels] = video
    ? (shape as [number, number, number, number])
    : [1, ...(shape as [number, number, number])];
  positiveInt('frames', frames!);
  positiveInt('image height', height!);
  positiveInt('image width', width!);
  positiveInt('image channels', channels!);
  const p = patching.size;
  const t = patching.kind === 'tubelet' ? patching.frames : 1;
  if (height! % p !== 0) throw new ConfigError('patch', p, `must divide the image height ${height}`);
  if (width! % p !== 0) throw new ConfigError('patch', p, `must divide the image width ${width}`);
  if (frames! % t !== 0) throw new ConfigError('tubelet frames', t, `must divide the frame count ${frames}`);
  const rows = height! / p;
  const cols = width! / p;
  const times = frames! / t;
  return {
    video,
    frames: frames!,
    tubelet: t,
    times,
    height: height!,
    width: width!,
    channels: channels!,
    patch: p,
    rows,
    cols,
    tokens: times * rows * cols,
    patchDim: t * p * p * channels!,
  };
};

/**
 * The input shape of a grid without the batch: [H, W, C] or [T, H, W, C].
 *
 * @example
 * inputShape(gridOf(tubelets(2, 4), [8, 32, 32, 3])) // [8, 32, 32, 3]
 * @since 0.1.0
 */
export const inputShape = (g: Grid): InputShape => (g.video ? [g.frames, g.height, g.width, g.channels] : [g.height, g.width, g.channels]);

/**
 * The token grid of a grid for position embeddings: [rows, cols] for images, [times, rows, cols]
 * for videos.
 *
 * @example
 * tokenGrid(gridOf(patches(4), [32, 32, 3])) // [8, 8]
 * @since 0.1.0
 */
export const tokenGrid = (g: Grid): TokenGrid => (g.video ? [g.times, g.rows, g.cols] : [g.rows, g.cols]);

/**
 * Token-grid dimensions: [rows, cols] or [times, rows, cols] (time-major).
 *
 * @since 0.1.0
 */
export type TokenGrid = readonly [number, number] | readonly [number, number, number];

const inputGrid = (patching: Patching, what: string, shape: readonly number[]): Grid => {
  const rank = patching.kind === 'tubelet' ? 5 : 4;
  if (shape.length !== rank) throw new ShapeError(what, rank === 5 ? '[N, T, H, W, C]' : '[N, H, W, C]', shape);
  return gridOf(patching, shape.slice(1));
};

/**
 * The grid of a batch of inputs ([N, H, W, C] images or [N, T, H, W, C] videos) under a patching.
 *
 * @example
 * batchGrid(patches(4), images.shape)
 * @since 0.1.0
 */
export const batchGrid = (patching: Patching, shape: readonly number[]): Grid => inputGrid(patching, 'inputs', shape);

/** images [N, H, W, C] -> [N, h*w, p*p*C]. */
const patchifyImages = (g: Grid, images: Tensor): Tensor => {
  const n = images.shape[0]!;
  const p = g.patch;
  // [N, h, p, w, p, C] -> [N, h, w, p, p, C] -> [N, L, p*p*C]
  const x = tf.reshape(images, [n, g.rows, p, g.cols, p, g.channels]);
  return tf.reshape(tf.transpose(x, [0, 1, 3, 2, 4, 5]), [n, g.rows * g.cols, p * p * g.channels]);
};

/** [N, h*w, p*p*C] -> images [N, H, W, C]. */
const unpatchifyImages = (g: Grid, tokens: Tensor): Tensor => {
  const n = tokens.shape[0]!;
  const p = g.patch;
  const x = tf.reshape(tokens, [n, g.rows, g.cols, p, p, g.channels]);
  return tf.reshape(tf.transpose(x, [0, 1, 3, 2, 4, 5]), [n, g.height, g.width, g.channels]);
};

/**
 * inputs -> tokens: images [N, H, W, C] -> [N, L, p*p*C], videos [N, T, H, W, C] ->
 * [N, L, t*p*p*C]. An exact rearrangement (no arithmetic).
 *
 * @example
 * patchifyOp(patches(4), tf.zeros([2, 32, 32, 3])).shape // [2, 64, 48]
 * patchifyOp(tubelets(2, 4), tf.zeros([2, 8, 32, 32, 3])).shape // [2, 256, 96]
 * @since 0.1.0
 */
export const patchifyOp = (patching: Patching, inputs: Tensor): Tensor => {
  const g = inputGrid(patching, 'inputs', inputs.shape);
  if (!g.video) return tf.tidy(() => patchifyImages(g, inputs));
  const n = inputs.shape[0]!;
  const hw = g.rows * g.cols;
  const per = g.patch * g.patch * g.channels;
  // every frame in the image layout, then [N, s, t, hw, ppC] -> [N, s, hw, t, ppC]
  return tf.tidy(() => {
    const frames = patchifyImages(g, tf.reshape(inputs, [n * g.frames, g.height, g.width, g.channels]));
    const x = tf.reshape(frames, [n, g.times, g.tubelet, hw, per]);
    return tf.reshape(tf.transpose(x, [0, 1, 3, 2, 4]), [n, g.tokens, g.patchDim]);
  });
};

/**
 * tokens -> inputs for the grid `g`; the exact inverse of {@link patchifyOp}.
 *
 * @example
 * unpatchifyOp(gridOf(patches(4), [32, 32, 3]), tokens).shape // [N, 32, 32, 3]
 * @since 0.1.0
 */
export const unpatchifyOp = (g: Grid, tokens: Tensor): Tensor => {
  if (tokens.rank !== 3 || tokens.shape[1] !== g.tokens || tokens.shape[2] !== g.patchDim) {
    throw new ShapeError('patches', `[N, ${g.tokens}, ${g.patchDim}]`, tokens.shape);
  }
  if (!g.video) return tf.tidy(() => unpatchifyImages(g, tokens));
  const n = tokens.shape[0]!;
  const hw = g.rows * g.cols;
  const per = g.patch * g.patch * g.channels;
  return tf.tidy(() => {
    const x = tf.transpose(tf.reshape(tokens, [n, g.times, hw, g.tubelet, per]), [0, 1, 3, 2, 4]);
    const frames = unpatchifyImages(g, tf.reshape(x, [n * g.frames, hw, per]));
    return tf.reshape(frames, [n, g.frames, g.height, g.width, g.channels]);
  });
};

/**
 * {@link patchifyOp} as a layer (no params).
 *
 * @example
 * patchify(patches(4)).init(Key.key(0), spec([-1, 32, 32, 3])).outSpec.shape // [-1, 64, 48]
 * @since 0.1.0
 */
export const patchify = (patching: Patching): Layer<NoParams, Tensor, Tensor> =>
  lift<Tensor, Tensor>(
    'patchify',
    (x) => patchifyOp(patching, x),
    (s) => {
      const g = inputGrid(patching, 'inputs', s.shape);
      return spec([s.shape[0]!, g.tokens, g.patchDim], s.dtype);
    },
  );

/**
 * {@link unpatchifyOp} as a layer for inputs of a shape ([H, W, C] or [T, H, W, C]).
 *
 * @example
 * unpatchify(patches(4), [32, 32, 3])
 * @since 0.1.0
 */
export const unpatchify = (patching: Patching, shape: InputShape): Layer<NoParams, Tensor, Tensor> => {
  const g = gridOf(patching, shape);
  return lift<Tensor, Tensor>(
    'unpatchify',
    (x) => unpatchifyOp(g, x),
    (s) => {
      expectRank('patches', s, 3, [null, g.tokens, g.patchDim]);
      return spec([s.shape[0]!, ...inputShape(g)], s.dtype);
    },
  );
};

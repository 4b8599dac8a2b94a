/**
 * Patches: images [N, H, W, C] (channels-last) to tokens [N, L, p*p*C] and back.
 *
 * Tokens are numbered row-major over the (H/p) x (W/p) grid; each token flattens its patch as
 * (row in patch, column in patch, channel), channel fastest: the reference MAE layout. The
 * geometry is a value ({@link Patching}) so that tubelets can join as another kind.
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
 * How images are cut into tokens: square patches of `size` pixels.
 *
 * @since 0.1.0
 */
export interface Patching {
  readonly kind: 'image';
  readonly size: number;
}

/**
 * Square patches of `size` pixels.
 *
 * @example
 * patches(4) // { kind: 'image', size: 4 }
 * @since 0.1.0
 */
export const patches = (size: number): Patching => ({ kind: 'image', size: positiveInt('patch', size) });

/**
 * The token grid of an image shape under a patching.
 *
 * @since 0.1.0
 */
export interface Grid {
  /** Image height, width, channels. */
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  /** Patch size p. */
  readonly patch: number;
  /** Grid rows h = H/p and columns w = W/p. */
  readonly rows: number;
  readonly cols: number;
  /** Number of tokens L = h * w. */
  readonly tokens: number;
  /** Values per token p * p * C. */
  readonly patchDim: number;
}

/**
 * The grid of images of height x width x channels under a patching. Throws a
 * {@link ConfigError} naming `patch` if it does not divide the height or the width.
 *
 * @example
 * gridOf(patches(4), [32, 32, 3]) // { rows: 8, cols: 8, tokens: 64, patchDim: 48, ... }
 * @since 0.1.0
 */
export const gridOf = (patching: Patching, hwc: readonly [number, number, number]): Grid => {
  const [height, width, channels] = hwc;
  positiveInt('image height', height);
  positiveInt('image width', width);
  positiveInt('image channels', channels);
  const p = patching.size;
  if (height % p !== 0) throw new ConfigError('patch', p, `must divide the image height ${height}`);
  if (width % p !== 0) throw new ConfigError('patch', p, `must divide the image width ${width}`);
  const rows = height / p;
  const cols = width / p;
  return { height, width, channels, patch: p, rows, cols, tokens: rows * cols, patchDim: p * p * channels };
};

const imageGrid = (patching: Patching, what: string, shape: readonly number[]): Grid => {
  if (shape.length !== 4) throw new ShapeError(what, '[N, H, W, C]', shape);
  return gridOf(patching, [shape[1]!, shape[2]!, shape[3]!]);
};

/**
 * images [N, H, W, C] -> patches [N, L, p*p*C]. An exact rearrangement (no arithmetic).
 *
 * @example
 * patchifyOp(patches(4), tf.zeros([2, 32, 32, 3])).shape // [2, 64, 48]
 * @since 0.1.0
 */
export const patchifyOp = (patching: Patching, images: Tensor): Tensor => {
  const g = imageGrid(patching, 'images', images.shape);
  const n = images.shape[0]!;
  const p = g.patch;
  // [N, h, p, w, p, C] -> [N, h, w, p, p, C] -> [N, L, p*p*C]
  return tf.tidy(() => {
    const x = tf.reshape(images, [n, g.rows, p, g.cols, p, g.channels]);
    return tf.reshape(tf.transpose(x, [0, 1, 3, 2, 4, 5]), [n, g.tokens, g.patchDim]);
  });
};

/**
 * patches [N, L, p*p*C] -> images [N, H, W, C]; the exact inverse of {@link patchifyOp} for
 * the grid `g`.
 *
 * @example
 * unpatchifyOp(gridOf(patches(4), [32, 32, 3]), tokens).shape // [N, 32, 32, 3]
 * @since 0.1.0
 */
export const unpatchifyOp = (g: Grid, tokens: Tensor): Tensor => {
  if (tokens.rank !== 3 || tokens.shape[1] !== g.tokens || tokens.shape[2] !== g.patchDim) {
    throw new ShapeError('patches', `[N, ${g.tokens}, ${g.patchDim}]`, tokens.shape);
  }
  const n = tokens.shape[0]!;
  const p = g.patch;
  return tf.tidy(() => {
    const x = tf.reshape(tokens, [n, g.rows, g.cols, p, p, g.channels]);
    return tf.reshape(tf.transpose(x, [0, 1, 3, 2, 4, 5]), [n, g.height, g.width, g.channels]);
  });
};

/**
 * {@link patchifyOp} as a layer (no params).
 *
 * @example
 * patchify(patches(4)).init(key(0), spec([-1, 32, 32, 3])).outSpec.shape // [-1, 64, 48]
 * @since 0.1.0
 */
export const patchify = (patching: Patching): Layer<NoParams, Tensor, Tensor> =>
  lift<Tensor, Tensor>(
    'patchify',
    (x) => patchifyOp(patching, x),
    (s) => {
      expectRank('images', s, 4, [], '[N, H, W, C]');
      const g = imageGrid(patching, 'images', s.shape);
      return spec([s.shape[0]!, g.tokens, g.patchDim], s.dtype);
    },
  );

/**
 * {@link unpatchifyOp} as a layer for images of height x width x channels.
 *
 * @example
 * unpatchify(patches(4), [32, 32, 3])
 * @since 0.1.0
 */
export const unpatchify = (patching: Patching, hwc: readonly [number, number, number]): Layer<NoParams, Tensor, Tensor> => {
  const g = gridOf(patching, hwc);
  return lift<Tensor, Tensor>(
    'unpatchify',
    (x) => unpatchifyOp(g, x),
    (s) => {
      expectRank('patches', s, 3, [null, g.tokens, g.patchDim]);
      return spec([s.shape[0]!, g.height, g.width, g.channels], s.dtype);
    },
  );
};

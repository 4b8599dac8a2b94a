/**
 * Differentiable primitives with gradients shaped for speed and portability.
 *
 * - {@link linear2d}: the backward pass transposes operands explicitly and runs plain 2D
 *   products. tfjs' WASM backend runs a plain [M,K]x[K,N] product about 10x faster than the
 *   same product with transposeA/transposeB, which is what tfjs' own MatMul gradient uses.
 * - {@link gatherTokens}: gathering tokens by a permutation. tfjs' gather gradient needs
 *   UnsortedSegmentSum, which the WASM backend lacks; this one pads and gathers by the inverse
 *   permutation instead, an op every backend has.
 * - {@link gelu}: exact (erf) GELU with a one-op-per-term backward.
 *
 * Every tensor a backward pass needs goes through `save`, so it survives the forward tidy.
 *
 * @since 0.1.0
 */
import { ShapeError } from '../core/errors.js';
import { tf, type Tensor } from '../core/tf.js';

type Save = tf.GradSaveFunc;
type Grad = { value: Tensor; gradFunc: (dy: Tensor, saved: Tensor[]) => Tensor | Tensor[] };
const custom = (f: (...args: [...Tensor[], Save]) => Grad) =>
  tf.customGrad(f as unknown as Parameters<typeof tf.customGrad>[0]) as (...xs: Tensor[]) => Tensor;

const linearBias = custom((...args) => {
  const [x, w, b, save] = args as [Tensor, Tensor, Tensor, Save];
  save([x, w]);
  return {
    value: tf.fused.matMul({ a: x as tf.Tensor2D, b: w as tf.Tensor2D, bias: b }),
    // the bias gradient, sum(dy, 0), as the 2D product ones[1, M] dy: WASM runs that through
    // XNNPACK, and a reduction over axis 0 through a slow strided loop
    gradFunc: (dy, [xs, ws]) => [
      tf.matMul(dy, tf.transpose(ws!)),
      tf.matMul(tf.transpose(xs!), dy),
      tf.reshape(tf.matMul(tf.ones([1, dy.shape[0]!]), dy), [dy.shape[1]!]),
    ],
  };
});

const linearNoBias = custom((...args) => {
  const [x, w, save] = args as [Tensor, Tensor, Save];
  save([x, w]);
  return {
    value: tf.matMul(x, w),
    gradFunc: (dy, [xs, ws]) => [tf.matMul(dy, tf.transpose(ws!)), tf.matMul(tf.transpose(xs!), dy)],
  };
});

/**
 * `x @ w + b` for x [M, K], w [K, N], b [N] (or no bias).
 *
 * @example
 * linear2d(tf.ones([8, 4]), tf.ones([4, 2]), tf.zeros([2])) // [8, 2], every entry 4
 * @since 0.1.0
 */
export const linear2d = (x: Tensor, w: Tensor, b: Tensor | null): Tensor => (b === null ? linearNoBias(x, w) : linearBias(x, w, b));

const SQRT1_2 = Math.SQRT1_2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/** Whether the active backend has tesserae's fused GELU kernels (the WASM backend does). */
const fusedGelu = (x: Tensor): boolean => x.dtype === 'float32' && tf.getKernel('TesseraeGelu', tf.getBackend()) !== undefined;

/**
 * GELU with the exact Gaussian CDF: 0.5 x (1 + erf(x / sqrt 2)). On the WASM backend it runs as
 * one fused kernel forward and one backward (kernels/wasmKernels.ts); elsewhere as tfjs ops.
 *
 * @example
 * gelu(tf.tensor([0, 1])) // [0, 0.8413]
 * @since 0.1.0
 */
export const gelu = custom((...args) => {
  const [x, save] = args as [Tensor, Save];
  save([x]);
  const fused = fusedGelu(x);
  return {
    value: fused
      ? (tf.engine().runKernel('TesseraeGelu', { x }, {}) as Tensor)
      : tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, SQRT1_2)), 1))),
    gradFunc: (dy, [xs]) =>
      fused
        ? (tf.engine().runKernel('TesseraeGeluGrad', { x: xs!, dy }, {}) as Tensor)
        : tf.tidy(() => {
            const cdf = tf.mul(tf.add(tf.erf(tf.mul(xs!, SQRT1_2)), 1), 0.5);
            const pdf = tf.mul(tf.exp(tf.mul(tf.square(xs!), -0.5)), INV_SQRT_2PI);
            return tf.mul(dy, tf.add(cdf, tf.mul(xs!, pdf)));
          }),
  };
});

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/**
 * GELU with the tanh approximation, as DiT's blocks use it (`nn.GELU(approximate="tanh")`):
 * 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))). Plain tfjs ops; their gradients are
 * tfjs' own.
 *
 * @example
 * geluTanh(tf.tensor([0, 1])) // [0, 0.8412]
 * @since 0.2.0
 */
export const geluTanh = (x: Tensor): Tensor =>
  tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), SQRT_2_OVER_PI)), 1)));

/**
 * The feed-forward activations: exact GELU (ViT, MAE, UMD) or its tanh approximation (DiT).
 *
 * @since 0.2.0
 */
export type Activation = 'gelu' | 'gelu-tanh';

/**
 * Rows of x [N, L, D] picked per sample by ids [N, K]: out[n, j] = x[n, ids[n, j]]. Gathers on
 * the flattened [N * L, D] tensor with flat indices: tfjs' batchDims gather returns wrong rows
 * on the WASM backend (tfjs 4.22), a flat gather is right everywhere.
 */
const gatherPerSample = (x: Tensor, ids: Tensor): Tensor =>
  tf.tidy(() => {
    const [n, l, d] = x.shape as [number, number, number];
    const k = ids.shape[1]!;
    const offsets = tf.mul(tf.range(0, n, 1, 'int32'), tf.scalar(l, 'int32'));
    const flat = tf.reshape(tf.add(ids, tf.reshape(offsets, [n, 1])), [n * k]);
    return tf.reshape(tf.gather(tf.reshape(x, [n * l, d]), flat), [n, k, d]);
  });

/**
 * Tokens `x` [N, L, D] gathered per sample by `ids` [N, K] (int32), where `ids` holds entries
 * offset .. offset + K - 1 of a per-sample permutation of 0..L-1 and `inverse` [N, L] is that
 * permutation's inverse. With MAE's ids_shuffle and ids_restore: offset 0 and K = keep gives the
 * visible tokens; offset keep gives the removed ones; K = L with `ids = idsRestore` and
 * `inverse = idsShuffle` unshuffles a whole sequence. Returns [N, K, D]; the gradient pads and
 * gathers by the inverse (no UnsortedSegmentSum, which the WASM backend lacks).
 *
 * @example
 * gatherTokens(tokens, idsKeep, idsRestore) // the visible tokens, in shuffle order
 * @since 0.1.0
 */
export const gatherTokens = (x: Tensor, ids: Tensor, inverse: Tensor, offset = 0): Tensor => {
  const k = ids.shape[1]!;
  const l = inverse.shape[1]!;
  if (offset < 0 || offset + k > l) throw new ShapeError('gatherTokens ids', `[N, K] with offset ${offset} + K <= ${l}`, ids.shape);
  const f = custom((...args) => {
    const [xs, save] = args as [Tensor, Save];
    save([inverse]);
    return {
      value: gatherPerSample(xs, ids),
      gradFunc: (dy, [inv]) =>
        tf.tidy(() => {
          const padded =
            k === l
              ? dy
              : tf.pad(dy, [
                  [0, 0],
                  [offset, l - offset - k],
                  [0, 0],
                ]);
          return gatherPerSample(padded, inv!);
        }),
    };
  });
  return f(x);
};

/**
 * Learned tokens [1, k, D] repeated over a batch: [B, k, D] (CLS and mask tokens). The gradient
 * is a sum over the batch, where tfjs' Tile gradient would take one Slice and one Add per
 * repetition (thousands of kernels for a batch of mask tokens).
 *
 * @example
 * repeatTokens(cls, 64) // [64, 1, D]
 * @since 0.1.0
 */
export const repeatTokens = (tokens: Tensor, batch: number, rows = tokens.shape[1]!): Tensor => {
  const [one, k, d] = tokens.shape as [number, number, number];
  if (one !== 1 || (k !== 1 && k !== rows)) throw new ShapeError('tokens', `[1, 1 or ${rows}, D]`, tokens.shape);
  const f = custom((...args) => {
    const [t] = args as [Tensor, Save];
    return {
      value: tf.broadcastTo(t, [batch, rows, d]),
      gradFunc: (dy) => tf.tidy(() => (k === rows ? tf.sum(dy, 0, true) : tf.reshape(tf.sum(dy, [0, 1]), [1, 1, d]))),
    };
  });
  return f(tokens);
};

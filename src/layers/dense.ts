/**
 * `dense`: a linear map over the last axis. The input width is read from the input spec at
 * `init` (Stax style), so only the output width is configured.
 *
 * @since 0.1.0
 */
import { positiveInt } from '../core/check.js';
import { ShapeError } from '../core/errors.js';
import { xavierUniform, zeros, type Initializer } from '../core/initializers.js';
import { split, type Key } from '../core/key.js';
import { layer, type Layer } from '../core/layer.js';
import { spec } from '../core/spec.js';
import { tf, type Tensor } from '../core/tf.js';
import { linear2d } from './ops.js';

/** Params of {@link dense}: kernel [in, out] and bias [out]. */
export type DenseParams = { readonly kernel: Tensor; readonly bias: Tensor };
/** Params of {@link dense} without bias. */
export type DenseNoBiasParams = { readonly kernel: Tensor };

/**
 * Options of {@link dense}.
 *
 * @since 0.1.0
 */
export interface DenseOptions {
  /** Kernel initializer (default Xavier uniform, as the reference MAE). */
  readonly kernelInit?: Initializer;
  /** Bias initializer (default zeros). */
  readonly biasInit?: Initializer;
}

const apply2d = (x: Tensor, kernel: Tensor, bias: Tensor | null): Tensor => {
  const inW = kernel.shape[0]!;
  const outW = kernel.shape[1]!;
  if (x.shape[x.rank - 1] !== inW) throw new ShapeError('dense input', `[..., ${inW}]`, x.shape);
  if (x.rank === 2) return linear2d(x, kernel, bias);
  const lead = x.shape.slice(0, -1);
  return tf.tidy(() => tf.reshape(linear2d(tf.reshape(x, [-1, inW]), kernel, bias), [...lead, outW]));
};

const inWidth = (name: string, shape: readonly number[]): number => {
  const w = shape[shape.length - 1];
  if (shape.length < 2 || w === undefined || w < 1) throw new ShapeError(`${name} input`, '[..., width] with a known width', shape);
  return w;
};

/**
 * A linear layer `y = x W + b` over the last axis: [..., in] -> [..., units].
 *
 * @example
 * const d = dense(64)
 * const { params } = d.init(Key.key(0), spec([-1, 16, 32])) // kernel [32, 64], bias [64]
 * @since 0.1.0
 */
export const dense = (units: number, options: DenseOptions = {}, name = 'dense'): Layer<DenseParams, Tensor, Tensor> => {
  positiveInt(`${name}.units`, units);
  const kernelInit = options.kernelInit ?? xavierUniform;
  const biasInit = options.biasInit ?? zeros;
  return layer<DenseParams, Tensor, Tensor>(
    name,
    (key, inSpec) => {
      const w = inWidth(name, inSpec.shape);
      const [kk, kb] = split(key);
      return {
        params: { kernel: kernelInit(kk!, [w, units]), bias: biasInit(kb!, [units]) },
        outSpec: spec([...inSpec.shape.slice(0, -1), units], inSpec.dtype),
      };
    },
    (p, x) => apply2d(x, p.kernel, p.bias),
  );
};

/**
 * {@link dense} without a bias.
 *
 * @example
 * denseNoBias(64)
 * @since 0.1.0
 */
export const denseNoBias = (units: number, options: DenseOptions = {}, name = 'dense'): Layer<DenseNoBiasParams, Tensor, Tensor> => {
  positiveInt(`${name}.units`, units);
  const kernelInit = options.kernelInit ?? xavierUniform;
  return layer<DenseNoBiasParams, Tensor, Tensor>(
    name,
    (key, inSpec) => ({
      params: { kernel: kernelInit(key, [inWidth(name, inSpec.shape), units]) },
      outSpec: spec([...inSpec.shape.slice(0, -1), units], inSpec.dtype),
    }),
    (p, x) => apply2d(x, p.kernel, null),
  );
};

/**
 * Applies dense params to a tensor directly (for layers that hold dense params inside their own).
 *
 * @example
 * applyDense(params.qkv, x)
 * @since 0.1.0
 */
export const applyDense = (p: DenseParams, x: Tensor): Tensor => apply2d(x, p.kernel, p.bias);

/**
 * Initialises dense params `[inW, units]` directly (for layers that hold dense params inside
 * their own).
 *
 * @example
 * initDense(Key.key(0), 192, 576)
 * @since 0.1.0
 */
export const initDense = (key: Key, inW: number, units: number, options: DenseOptions = {}): DenseParams => {
  const [kk, kb] = split(key);
  return {
    kernel: (options.kernelInit ?? xavierUniform)(kk!, [inW, units]),
    bias: (options.biasInit ?? zeros)(kb!, [units]),
  };
};

/**
 * One optimiser step: value and gradients of the model's loss per micro-batch, averaged,
 * optionally clipped, then AdamW. Pure: it returns a new state and leaves the old one to the
 * caller.
 *
 * @since 0.1.0
 */
import { DataError } from '../core/errors.js';
import { fold, type Key } from '../core/key.js';
import { ctx, type Layer } from '../core/layer.js';
import { disposeParams, flatten, mapParams, unflatten, zipParams, type Params } from '../core/params.js';
import { tf, type Tensor } from '../core/tf.js';
import type { ModelIn } from '../models/model.js';
import { adamwUpdate, clipByGlobalNorm, globalNorm, type AdamWConfig, type OptState } from './optimizer.js';

/**
 * What training carries from step to step.
 *
 * @since 0.1.0
 */
export interface TrainState<P extends Params> {
  readonly params: P;
  readonly opt: OptState<P>;
  /** Optimiser steps taken. */
  readonly step: number;
  /** An exponential moving average of the params, when the run keeps one. */
  readonly ema?: P | undefined;
}

/**
 * Options of {@link trainStep}.
 *
 * @since 0.1.0
 */
export interface StepOptions {
  readonly adamw: AdamWConfig;
  readonly lr: number;
  /** Clip the global gradient norm to this value (null: no clipping). */
  readonly clip: number | null;
}

/**
 * The result of a step: the new state, the mean loss over the micro-batches and the gradient
 * norm before clipping.
 *
 * @since 0.1.0
 */
export interface StepResult<P extends Params> {
  readonly state: TrainState<P>;
  readonly loss: number;
  readonly gradNorm: number;
}

/**
 * The loss of a model as a function of its flattened param leaves (what tf.valueAndGrads needs).
 */
const lossOfLeaves =
  <P extends Params>(
    model: Layer<P, ModelIn, { readonly loss: Tensor }>,
    template: P,
    names: readonly string[],
    input: ModelIn,
    key: Key,
  ) =>
  (...leaves: Tensor[]): Tensor =>
    model.apply(unflatten(template, new Map(names.map((n, i) => [n, leaves[i]!]))), input, ctx(key, true)).loss;

/**
 * Value and gradients of `f` at `xs`; an input the value does not depend on (a parameter the
 * current configuration leaves unused) gets a zero gradient instead of an error.
 */
const valueAndGrads = (f: (...xs: Tensor[]) => Tensor, xs: Tensor[]): { value: Tensor; grads: Tensor[] } => {
  const { value, grads } = tf.engine().gradients(() => f(...xs), xs, undefined, true);
  return { value, grads: grads.map((g, i) => g ?? tf.zerosLike(xs[i]!)) };
};

/**
 * One micro-batch's mean loss and its gradients, in the order of `flatten(params)`.
 *
 * @since 0.1.0
 */
export interface MicroGrads {
  readonly loss: number;
  readonly grads: readonly Tensor[];
}

/**
 * Loss and gradients of one micro-batch; its corruption is drawn with `key`.
 *
 * @example
 * const g = microGrads(model, state.params, { images }, Key.fold(stepKey, 0))
 * @since 0.1.0
 */
export const microGrads = <P extends Params>(
  model: Layer<P, ModelIn, { readonly loss: Tensor }>,
  params: P,
  input: ModelIn,
  key: Key,
): MicroGrads => {
  const { value, grads } = microGradsLazy(model, params, input, key);
  const loss = value.dataSync()[0]!;
  value.dispose();
  return { loss, grads };
};

/** {@link microGrads} with the loss left on the device (a scalar tensor, the caller's). */
const microGradsLazy = <P extends Params>(
  model: Layer<P, ModelIn, { readonly loss: Tensor }>,
  params: P,
  input: ModelIn,
  key: Key,
): { value: Tensor; grads: Tensor[] } => {
  const flat = flatten(params);
  const names = flat.map(([n]) => n);
  return valueAndGrads(
    lossOfLeaves(model, params, names, input, key),
    flat.map(([, t]) => t),
  );
};

/**
 * A running sum of micro-batch gradients.
 *
 * @since 0.1.0
 */
export interface GradSum {
  readonly loss: number;
  readonly grads: readonly Tensor[];
  readonly count: number;
}

/**
 * Adds one micro-batch to a running sum (consuming both: their tensors are disposed). Sums are
 * taken in the order micro-batches are added, so any schedule that adds them in micro-batch
 * order gives bit-identical results.
 *
 * @example
 * let sum = null; for (const g of perMicro) sum = addMicroGrads(sum, g)
 * @since 0.1.0
 */
export const addMicroGrads = (sum: GradSum | null, g: MicroGrads): GradSum => {
  if (sum === null) return { loss: g.loss, grads: g.grads, count: 1 };
  const grads = sum.grads.map((a, j) => {
    const b = g.grads[j]!;
    const s = tf.add(a, b);
    a.dispose();
    b.dispose();
    return s;
  });
  return { loss: sum.loss + g.loss, grads, count: sum.count + 1 };
};

/**
 * Finishes a step from the summed micro-batch gradients: average, clip, AdamW. Consumes the sum.
 * Throws a {@link DataError} and applies nothing if the mean loss is not finite.
 *
 * @example
 * const { state: next } = finishStep(state, sum, { adamw: adamw(), lr: 1e-3, clip: null })
 * @since 0.1.0
 */
export const finishStep = <P extends Params>(state: TrainState<P>, sum: GradSum, o: StepOptions): StepResult<P> => {
  const { state: next, loss, norm } = finishLazy(state, sum, o);
  const gradNorm = norm.dataSync()[0]!;
  norm.dispose();
  return { state: next, loss, gradNorm };
};

/** {@link finishStep} with the gradient norm left on the device (the caller's to read and dispose). */
const finishLazy = <P extends Params>(
  state: TrainState<P>,
  sum: GradSum,
  o: StepOptions,
): { state: TrainState<P>; loss: number; norm: Tensor } => {
  const names = flatten(state.params).map(([n]) => n);
  const loss = sum.loss / sum.count;
  if (!Number.isFinite(loss)) {
    tf.dispose([...sum.grads]);
    throw new DataError('loss', state.step, loss, 'non-finite loss; the step was not applied');
  }
  const mean = sum.grads.map((g) => (sum.count === 1 ? g : tf.tidy(() => tf.div(g, sum.count))));
  if (sum.count > 1) tf.dispose([...sum.grads]);
  const grads = unflatten(state.params, new Map(names.map((n, i) => [n, mean[i]!])));
  let clipped = grads;
  let norm: Tensor;
  if (o.clip === null) norm = globalNorm(grads);
  else {
    const c = clipByGlobalNorm(grads, o.clip);
    clipped = c.grads;
    norm = c.norm;
  }
  const next = adamwUpdate(o.adamw, state.params, clipped, state.opt, o.lr);
  disposeParams(grads);
  if (clipped !== grads) disposeParams(clipped);
  return {
    state: { params: next.params, opt: next.state, step: state.step + 1, ...(state.ema ? { ema: state.ema } : {}) },
    loss,
    norm,
  };
};

/**
 * One training step over `micro` micro-batches (gradients averaged over them), computed in this
 * thread. Micro-batch i draws its corruption with `fold(key, i)`. Throws a {@link DataError}
 * and applies nothing if the loss is not finite.
 *
 * @example
 * const { state: next, loss } = trainStep(model, state, [{ images }], stepKey, { adamw: adamw(), lr: 1e-3, clip: null })
 * @since 0.1.0
 */
export const trainStep = <P extends Params>(
  model: Layer<P, ModelIn, { readonly loss: Tensor }>,
  state: TrainState<P>,
  micro: readonly ModelIn[],
  key: Key,
  o: StepOptions,
): StepResult<P> => {
  if (micro.length === 0) throw new DataError('micro-batches', 0, 0, 'a step needs at least one micro-batch');
  let sum: GradSum | null = null;
  try {
    micro.forEach((input, i) => {
      sum = addMicroGrads(sum, microGrads(model, state.params, input, fold(key, i)));
    });
  } catch (e) {
    if (sum !== null) tf.dispose([...(sum as GradSum).grads]);
    throw e;
  }
  return finishStep(state, sum as unknown as GradSum, o);
};

/**
 * {@link trainStep} for backends that cannot read synchronously (tfjs-backend-webgpu in Node,
 * through Dawn): the same computation in the same order, so the same state, loss and gradient
 * norm, with the loss and the norm read by `await data()`. Like `trainStep`, it throws a
 * {@link DataError} and applies nothing if the loss is not finite.
 *
 * @example
 * await useBackend('webgpu')
 * const { state: next, loss } = await trainStepAsync(model, state, [{ images }], stepKey, { adamw: adamw(), lr: 1e-3, clip: 1 })
 * @since 0.2.0
 */
export const trainStepAsync = async <P extends Params>(
  model: Layer<P, ModelIn, { readonly loss: Tensor }>,
  state: TrainState<P>,
  micro: readonly ModelIn[],
  key: Key,
  o: StepOptions,
): Promise<StepResult<P>> => {
  if (micro.length === 0) throw new DataError('micro-batches', 0, 0, 'a step needs at least one micro-batch');
  const parts: { value: Tensor; grads: Tensor[] }[] = [];
  const disposeParts = (): void => parts.forEach((p) => tf.dispose([p.value, ...p.grads]));
  let losses: number[];
  try {
    micro.forEach((input, i) => parts.push(microGradsLazy(model, state.params, input, fold(key, i))));
    losses = await Promise.all(parts.map(async (p) => (await p.value.data())[0]!));
  } catch (e) {
    disposeParts();
    throw e;
  }
  let sum: GradSum | null = null;
  parts.forEach((p, i) => {
    p.value.dispose();
    sum = addMicroGrads(sum, { loss: losses[i]!, grads: p.grads });
  });
  const { state: next, loss, norm } = finishLazy(state, sum as unknown as GradSum, o);
  const gradNorm = (await norm.data())[0]!;
  norm.dispose();
  return { state: next, loss, gradNorm };
};

/**
 * Where micro-batch gradients are computed: a pool of threads, a remote device. `compute` gets
 * host images (row-major [n, H, W, C]) and returns each micro-batch's loss and gradients, in
 * order; `close` releases the pool.
 *
 * @since 0.1.0
 */
export interface GradEngine {
  readonly compute: (
    params: Params,
    micro: readonly {
      readonly images: Float32Array;
      readonly labels?: Int32Array;
      readonly shape: readonly number[];
      readonly key: Key;
    }[],
  ) => Promise<MicroGrads[]>;
  readonly close: () => Promise<void>;
}

/**
 * Disposes a training state's tensors.
 *
 * @example
 * disposeState(state)
 * @since 0.1.0
 */
export const disposeState = <P extends Params>(s: TrainState<P>): void => {
  disposeParams(s.params);
  disposeParams(s.opt.m);
  disposeParams(s.opt.v);
  if (s.ema) disposeParams(s.ema);
};

/**
 * A deep copy of a state (new tensors), for keeping a snapshot while training goes on.
 *
 * @example
 * const snapshot = cloneState(state)
 * @since 0.1.0
 */
export const cloneState = <P extends Params>(s: TrainState<P>): TrainState<P> => ({
  params: mapParams(s.params, (t) => tf.clone(t)),
  opt: { step: s.opt.step, m: mapParams(s.opt.m, (t) => tf.clone(t)), v: mapParams(s.opt.v, (t) => tf.clone(t)) },
  step: s.step,
  ...(s.ema ? { ema: mapParams(s.ema, (t) => tf.clone(t)) } : {}),
});

/**
 * The EMA after a step: ema <- decay ema + (1 - decay) params (new tensors; the old EMA is the
 * caller's to dispose).
 *
 * @example
 * const ema = emaUpdate(state.ema, state.params, 0.9999)
 * @since 0.1.0
 */
export const emaUpdate = <P extends Params>(ema: P, params: P, decay: number): P =>
  zipParams(ema, params, (e, p) => tf.tidy(() => tf.add(tf.mul(e, decay), tf.mul(p, 1 - decay))));

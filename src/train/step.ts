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
import { disposeParams, flatten, mapParams, unflatten, type Params } from '../core/params.js';
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
 * One training step over `micro` micro-batches (gradients averaged over them). Micro-batch i
 * draws its corruption with `fold(key, i)`. Throws a {@link DataError} and applies nothing if
 * the loss is not finite.
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
  const flat = flatten(state.params);
  const names = flat.map(([n]) => n);
  const leaves = flat.map(([, t]) => t);
  let sum: Tensor[] | null = null;
  let lossSum = 0;
  try {
    micro.forEach((input, i) => {
      const { value, grads } = valueAndGrads(lossOfLeaves(model, state.params, names, input, fold(key, i)), leaves);
      lossSum += value.dataSync()[0]!;
      value.dispose();
      if (sum === null) sum = grads;
      else {
        const prev: Tensor[] = sum;
        sum = prev.map((g, j) => {
          const s = tf.add(g, grads[j]!);
          g.dispose();
          grads[j]!.dispose();
          return s;
        });
      }
    });
  } catch (e) {
    if (sum !== null) tf.dispose(sum as Tensor[]);
    throw e;
  }
  const summed = sum as Tensor[] | null;
  if (summed === null) throw new DataError('micro-batches', 0, micro.length, 'a step needs at least one micro-batch');
  const loss = lossSum / micro.length;
  if (!Number.isFinite(loss)) {
    tf.dispose(summed);
    throw new DataError('loss', state.step, loss, 'non-finite loss; the step was not applied');
  }
  const mean = summed.map((g) => (micro.length === 1 ? g : tf.tidy(() => tf.div(g, micro.length))));
  if (micro.length > 1) tf.dispose(summed);
  const grads = unflatten(state.params, new Map(names.map((n, i) => [n, mean[i]!])));
  let clipped = grads;
  let normT: Tensor;
  if (o.clip === null) normT = globalNorm(grads);
  else {
    const c = clipByGlobalNorm(grads, o.clip);
    clipped = c.grads;
    normT = c.norm;
  }
  const gradNorm = normT.dataSync()[0]!;
  normT.dispose();
  const next = adamwUpdate(o.adamw, state.params, clipped, state.opt, o.lr);
  disposeParams(grads);
  if (clipped !== grads) disposeParams(clipped);
  return { state: { params: next.params, opt: next.state, step: state.step + 1 }, loss, gradNorm };
};

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
});

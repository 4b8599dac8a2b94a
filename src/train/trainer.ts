/**
 * The training loop: deterministic batches, per-step learning rate, AdamW, progress (step,
 * loss, images/s, ETA) to a callback. Universal: file output (logs, checkpoints, pictures) is
 * the caller's, through `onStep`.
 *
 * @since 0.1.0
 */
import { finite, int, positive, positiveInt, unit } from '../core/check.js';
import { ConfigError } from '../core/errors.js';
import { fold, key as makeKey } from '../core/key.js';
import type { Layer } from '../core/layer.js';
import { mapParams, type Params } from '../core/params.js';
import { tf } from '../core/tf.js';
import { spec } from '../core/spec.js';
import type { Tensor } from '../core/tf.js';
import { batchHost, batchIndices, batchTensor, sampleShape } from '../data/batches.js';
import type { LabelledImages } from '../data/labelled.js';
import type { ModelIn } from '../models/model.js';
import { adamw, initOpt } from './optimizer.js';
import { warmupCosine, type LrSchedule } from './schedule.js';
import { addMicroGrads, emaUpdate, finishStep, trainStep, type GradEngine, type GradSum, type TrainState } from './step.js';
import { disposeParams } from '../core/params.js';
import { wasmOutOfMemory } from '../backends/index.js';
import { ETA_START, etaSeconds, nextEta, type Eta } from './eta.js';

/** What to change when a step does not fit in memory. */
const oomAdvice = (cfg: TrainConfig): string =>
  `a step of ${cfg.accum} micro-batch(es) of ${cfg.batch} did not fit: lower --batch (and raise --accum to keep the images per step)`;

/**
 * Training settings. `lr = baseLr * batch * accum / 256`, warmed up linearly over `warmup`
 * steps, then a half cosine down to `minLr` at `steps`.
 *
 * @since 0.1.0
 */
export interface TrainConfig {
  readonly steps: number;
  /** Images per micro-batch. */
  readonly batch: number;
  /** Micro-batches per optimiser step (gradient accumulation). */
  readonly accum: number;
  readonly baseLr: number;
  readonly minLr: number;
  readonly warmup: number;
  readonly weightDecay: number;
  readonly beta1: number;
  readonly beta2: number;
  /** Global-norm gradient clipping, or null. */
  readonly clip: number | null;
  readonly seed: number;
  /** Keep an exponential moving average of the params with this decay, or null. */
  readonly ema: number | null;
}

/**
 * Training settings with MAE's defaults (base lr 1.5e-4, betas 0.9/0.95, weight decay 0.05,
 * warmup 5% of the steps, no clipping).
 *
 * @example
 * trainConfig({ steps: 1000, batch: 64 })
 * @since 0.1.0
 */
export const trainConfig = (o: Partial<TrainConfig> & { readonly steps: number; readonly batch: number }): TrainConfig => {
  const steps = positiveInt('train.steps', o.steps);
  const cfg: TrainConfig = {
    steps,
    batch: positiveInt('train.batch', o.batch),
    accum: positiveInt('train.accum', o.accum ?? 1),
    baseLr: positive('train.baseLr', o.baseLr ?? 1.5e-4),
    minLr: finite('train.minLr', o.minLr ?? 0),
    warmup: int('train.warmup', o.warmup ?? Math.round(steps * 0.05), 0, steps),
    weightDecay: finite('train.weightDecay', o.weightDecay ?? 0.05),
    beta1: o.beta1 ?? 0.9,
    beta2: o.beta2 ?? 0.95,
    clip: o.clip === undefined || o.clip === null ? null : positive('train.clip', o.clip),
    seed: int('train.seed', o.seed ?? 0, 0),
    ema: o.ema === undefined || o.ema === null ? null : unit('train.ema', o.ema),
  };
  if (cfg.minLr < 0) throw new ConfigError('train.minLr', cfg.minLr, 'must be >= 0');
  if (cfg.weightDecay < 0) throw new ConfigError('train.weightDecay', cfg.weightDecay, 'must be >= 0');
  adamw({ beta1: cfg.beta1, beta2: cfg.beta2, weightDecay: cfg.weightDecay });
  return cfg;
};

/**
 * The learning-rate schedule of a configuration.
 *
 * @example
 * lrSchedule(cfg)(0)
 * @since 0.1.0
 */
export const lrSchedule = (cfg: TrainConfig): LrSchedule =>
  warmupCosine({ peak: (cfg.baseLr * cfg.batch * cfg.accum) / 256, warmup: cfg.warmup, total: cfg.steps, min: cfg.minLr });

/**
 * What the loop reports after each step.
 *
 * @since 0.1.0
 */
export interface StepInfo {
  /** Steps done (1-based). */
  readonly step: number;
  readonly steps: number;
  readonly loss: number;
  readonly lr: number;
  readonly gradNorm: number;
  readonly imagesPerSec: number;
  /** Seconds since this run (or resume) started. */
  readonly elapsed: number;
  /** Estimated seconds left: a moving average of the step time past the first two steps (NaN before). */
  readonly eta: number;
}

/**
 * Callbacks and per-run options of {@link train}.
 *
 * @since 0.1.0
 */
export interface TrainHooks<P extends Params> {
  /** After every step, with the new state (read it, do not dispose it). */
  readonly onStep?: (info: StepInfo, state: TrainState<P>) => void | Promise<void>;
  /** Where micro-batch gradients are computed (default: this thread). Results do not depend on it. */
  readonly engine?: GradEngine;
  /** Learning-rate multiplier per parameter path (layer-wise decay); default 1 everywhere. */
  readonly lrScale?: (path: string) => number;
}

/**
 * Fresh params and optimiser state for a model and data, from the config's seed.
 *
 * @example
 * const state = initState(model, data, cfg)
 * @since 0.1.0
 */
export const initState = <P extends Params>(
  model: Layer<P, ModelIn, { readonly loss: Tensor }>,
  data: LabelledImages,
  cfg: TrainConfig,
): TrainState<P> => {
  const { params } = model.init(fold(makeKey(cfg.seed), 'init'), { images: spec([-1, ...sampleShape(data)]) });
  return { params, opt: initOpt(params), step: 0, ...(cfg.ema === null ? {} : { ema: mapParams(params, (t) => tf.clone(t)) }) };
};

/**
 * Trains until `cfg.steps` steps are done, from `state` (fresh from {@link initState}, or
 * loaded from a checkpoint). Batches, masks and noise are pure functions of (seed, step), so
 * resuming from step k gives the same losses as an uninterrupted run. Consumes `state` (its
 * tensors are disposed as it is replaced) and returns the final one.
 *
 * @example
 * const final = await train(model, data, cfg, initState(model, data, cfg), { onStep: (i) => console.log(i.step, i.loss) })
 * @since 0.1.0
 */
export const train = async <P extends Params>(
  model: Layer<P, ModelIn, { readonly loss: Tensor }>,
  data: LabelledImages,
  cfg: TrainConfig,
  state: TrainState<P>,
  hooks: TrainHooks<P> = {},
  norm?: { readonly mean: readonly number[]; readonly std: readonly number[] },
): Promise<TrainState<P>> => {
  if (state.step > cfg.steps) throw new ConfigError('train.steps', cfg.steps, `is below the state's step ${state.step}`);
  const root = makeKey(cfg.seed);
  const dataKey = fold(root, 'data');
  const stepRoot = fold(root, 'step');
  const lr = lrSchedule(cfg);
  const opt = adamw({
    beta1: cfg.beta1,
    beta2: cfg.beta2,
    weightDecay: cfg.weightDecay,
    ...(hooks.lrScale ? { lrScale: hooks.lrScale } : {}),
  });
  const t0 = performance.now();
  let current = state;
  let eta: Eta = ETA_START;
  while (current.step < cfg.steps) {
    const s = current.step;
    const started = performance.now();
    const stepKey = fold(stepRoot, s);
    const options = { adamw: opt, lr: lr(s), clip: cfg.clip };
    let result;
    if (hooks.engine) {
      const micro = Array.from({ length: cfg.accum }, (_, i) => {
        const idx = batchIndices(dataKey, data.count, cfg.batch, s * cfg.accum + i);
        return {
          images: batchHost(data, idx, norm),
          labels: Int32Array.from(idx, (j) => data.labels[j]!),
          shape: [cfg.batch, ...sampleShape(data)],
          key: fold(stepKey, i),
        };
      });
      const grads = await hooks.engine.compute(current.params, micro).catch((e: unknown) => {
        throw wasmOutOfMemory(e, oomAdvice(cfg));
      });
      const sum = grads.reduce<GradSum | null>((acc, g) => addMicroGrads(acc, g), null);
      if (sum === null) throw new ConfigError('train.accum', cfg.accum, 'no micro-batch gradients came back');
      result = finishStep(current, sum, options);
    } else {
      const micro = Array.from({ length: cfg.accum }, (_, i) => {
        const idx = batchIndices(dataKey, data.count, cfg.batch, s * cfg.accum + i);
        return {
          images: batchTensor(data, idx, norm),
          labels: tf.tensor1d(
            Int32Array.from(idx, (j) => data.labels[j]!),
            'int32',
          ),
        };
      });
      try {
        result = trainStep(model, current, micro, stepKey, options);
      } catch (e) {
        throw wasmOutOfMemory(e, oomAdvice(cfg));
      } finally {
        for (const m of micro) tf.dispose([m.images, m.labels]);
      }
    }
    const previous = current;
    current = result.state;
    if (cfg.ema !== null && previous.ema) {
      current = { ...current, ema: emaUpdate(previous.ema, current.params, cfg.ema) };
      disposeParams(previous.ema);
    }
    disposeParams(previous.params);
    disposeParams(previous.opt.m);
    disposeParams(previous.opt.v);
    const took = (performance.now() - started) / 1000;
    eta = nextEta(eta, took);
    const info: StepInfo = {
      step: current.step,
      steps: cfg.steps,
      loss: result.loss,
      lr: lr(s),
      gradNorm: result.gradNorm,
      imagesPerSec: (cfg.batch * cfg.accum) / took,
      elapsed: (performance.now() - t0) / 1000,
      eta: etaSeconds(eta, cfg.steps - current.step),
    };
    if (hooks.onStep) await hooks.onStep(info, current);
  }
  return current;
};

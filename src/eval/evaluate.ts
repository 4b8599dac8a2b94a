/**
 * One evaluation of a model's encoder on labelled data: any of few-shot ridge, linear probe,
 * k-NN and classification fine-tuning, and the held-out masked-region PSNR at a fixed mask key.
 * The `eval` and `compare` commands are thin shells around it.
 *
 * @since 0.1.0
 */
import { int, positiveInt } from '../core/check.js';
import { ConfigError } from '../core/errors.js';
import { fold, key as makeKey, type Key } from '../core/key.js';
import { disposeParams, mapParams, type Params } from '../core/params.js';
import { spec } from '../core/spec.js';
import { tf } from '../core/tf.js';
import { batchTensor } from '../data/batches.js';
import type { LabelledImages } from '../data/labelled.js';
import type { Model } from '../models/build.js';
import { initOpt } from '../train/optimizer.js';
import { train, trainConfig, type StepInfo } from '../train/trainer.js';
import { classifier, classify, type ClassifierParams } from './classify.js';
import { classCount, encoderOf, extractFeatures, type Features, type Pool } from './features.js';
import { heldOutEval, heldOutKind, type Norm } from './heldout.js';
import { fewShotIndices, knnProbe, linearProbe, ridgeProbe, subset, type LinearProbeOptions, type RidgeResult } from './probes.js';

/**
 * The probes {@link evaluate} knows.
 *
 * @example
 * PROBES.includes('knn') // true
 */
export const PROBES = ['ridge', 'linear', 'knn', 'finetune'] as const;
/** A probe name. */
export type ProbeKind = (typeof PROBES)[number];

/**
 * Settings of {@link evaluate}.
 *
 * @since 0.1.0
 */
export interface EvalOptions {
  readonly probes: readonly ProbeKind[];
  /** Samples per class for the few-shot ridge probe (default 10). */
  readonly shots?: number;
  /** Neighbours of the k-NN probe (default 20). */
  readonly k?: number;
  readonly linear?: LinearProbeOptions;
  readonly finetune?: {
    readonly steps?: number;
    readonly batch?: number;
    readonly baseLr?: number;
    readonly layerDecay?: number;
    readonly onStep?: (info: StepInfo) => void;
  };
  readonly pool?: Pool;
  /** Held-out images for the PSNR (0 = skip it; default 64). */
  readonly psnrImages?: number;
  readonly key?: Key;
}

/**
 * What {@link evaluate} measured; absent fields were not asked for.
 *
 * @since 0.1.0
 */
export interface EvalResult {
  /** The model's label (its preset, or the name a user gave its spec). */
  readonly label: string;
  readonly pool: Pool;
  readonly ridge?: RidgeResult & { readonly shots: number };
  readonly linear?: { readonly accuracy: number; readonly trainAccuracy: number };
  readonly knn?: { readonly accuracy: number; readonly k: number };
  readonly finetune?: { readonly accuracy: number; readonly steps: number };
  /**
   * Held-out reconstruction at a fixed key: PSNR (dB) and SSIM over the removed region for
   * models that reconstruct removed patches (MAE, DiffMAE, UMD's clean step: their own mask),
   * over the whole image of the x0 estimate from t = 100 for models that only denoise (DiT,
   * MaskDiT); `kind` says which (see `heldOutKind`).
   */
  readonly reconstruction?: { readonly psnr: number; readonly ssim: number; readonly kind: 'masked' | 'denoise-t100' };
}

/**
 * The frozen-feature probes `o.probes` asks for (ridge, linear, k-NN; fine-tuning is not one) on
 * given features, with the keys {@link evaluate} uses.
 *
 * @example
 * const r = probeFeatures(pixelFeatures(trainSet, norm), pixelFeatures(testSet, norm), { probes: ['ridge', 'knn'] })
 * @since 0.2.0
 */
export const probeFeatures = (
  fTrain: Features,
  fTest: Features,
  o: Pick<EvalOptions, 'probes' | 'shots' | 'k' | 'linear' | 'key'>,
): Pick<EvalResult, 'ridge' | 'linear' | 'knn'> => {
  const k = o.key ?? makeKey(0);
  let result: Pick<EvalResult, 'ridge' | 'linear' | 'knn'> = {};
  if (o.probes.includes('ridge')) {
    const shots = positiveInt('shots', o.shots ?? 10);
    const few = subset(fTrain, fewShotIndices(fTrain.labels, fTrain.classes, shots, fold(k, 'shots')));
    result = { ...result, ridge: { ...ridgeProbe(few, fTest, { key: fold(k, 'ridge'), folds: Math.min(5, shots) }), shots } };
  }
  if (o.probes.includes('linear')) {
    const r = linearProbe(fTrain, fTest, { key: fold(k, 'linear'), ...o.linear });
    result = { ...result, linear: { accuracy: r.accuracy, trainAccuracy: r.trainAccuracy } };
  }
  if (o.probes.includes('knn')) result = { ...result, knn: knnProbe(fTrain, fTest, { k: Math.min(o.k ?? 20, fTrain.count) }) };
  return result;
};

/**
 * Raw pixels as features (normalised per channel with `norm`, one row of H x W x C values per
 * image): the baseline every learned representation should beat.
 *
 * @example
 * const f = pixelFeatures(testSet, channelStats(trainSet))
 * @since 0.2.0
 */
export const pixelFeatures = (d: LabelledImages, norm: Norm): Features => {
  const dim = (d.frames ?? 1) * d.height * d.width * d.channels;
  const data = new Float32Array(d.count * dim);
  for (let i = 0; i < data.length; i++) {
    const c = i % d.channels;
    data[i] = (d.images[i]! - norm.mean[c]!) / norm.std[c]!;
  }
  return { count: d.count, dim, data, labels: Int32Array.from(d.labels), classes: classCount(d) };
};

/**
 * Evaluates a model's encoder (frozen for ridge, linear and k-NN; trained for fine-tuning).
 *
 * @example
 * const r = await evaluate(model, params, trainSet, testSet, norm, { probes: ['ridge', 'knn'] })
 * @since 0.1.0
 */
export const evaluate = async (
  b: Model,
  params: Params,
  trainSet: LabelledImages,
  test: LabelledImages,
  norm: Norm,
  o: EvalOptions,
): Promise<EvalResult> => {
  if (o.probes.length === 0 && (o.psnrImages ?? 64) === 0) throw new ConfigError('probes', o.probes, 'nothing to evaluate');
  o.probes.forEach((p) => {
    if (!PROBES.includes(p)) throw new ConfigError('probe', p, `must be one of ${PROBES.join(', ')}`);
  });
  const k = o.key ?? makeKey(0);
  const enc = encoderOf(b, o.pool ?? 'auto');
  const pool = enc.pool;
  const needsFeatures = o.probes.some((p) => p !== 'finetune');
  const fTrain = needsFeatures ? extractFeatures(enc, params, trainSet, norm) : null;
  const fTest = needsFeatures ? extractFeatures(enc, params, test, norm) : null;
  let result: EvalResult = { label: b.spec.label ?? 'model', pool };
  if (fTrain && fTest) result = { ...result, ...probeFeatures(fTrain, fTest, { ...o, key: k }) };
  if (o.probes.includes('finetune')) {
    const f = o.finetune ?? {};
    const steps = positiveInt('finetune.steps', f.steps ?? 200);
    const clf = classifier(enc, fTrain?.classes ?? Math.max(trainSet.classes.length, 2));
    const { params: fresh } = clf.init(fold(k, 'head'), { images: spec([-1, trainSet.height, trainSet.width, trainSet.channels]) });
    // the checkpoint's encoder replaces the fresh one (cloned: training consumes its state)
    const start: ClassifierParams = { head: fresh.head, backbone: mapParams(enc.select(params), (t) => tf.clone(t)) };
    disposeParams(fresh.backbone);
    const cfg = trainConfig({
      steps,
      batch: positiveInt('finetune.batch', f.batch ?? 64),
      baseLr: f.baseLr ?? 1e-3,
      warmup: Math.max(1, Math.round(steps / 10)),
      weightDecay: 0.05,
      beta2: 0.999,
      seed: 0,
    });
    const final = await train(
      clf,
      trainSet,
      cfg,
      { params: start, opt: initOpt(start), step: 0 },
      { lrScale: clf.lrScale(f.layerDecay ?? 0.75), ...(f.onStep ? { onStep: f.onStep } : {}) },
      norm,
    );
    const r = classify(clf, final.params, test, norm);
    disposeParams(final.params);
    disposeParams(final.opt.m);
    disposeParams(final.opt.v);
    result = { ...result, finetune: { accuracy: r.accuracy, steps } };
  }
  const n = Math.min(int('psnrImages', o.psnrImages ?? 64, 0), test.count);
  if (n > 0) {
    const images = batchTensor(
      test,
      Int32Array.from({ length: n }, (_, i) => i),
      norm,
    );
    const e = heldOutEval(b, params, images, norm, fold(k, 'psnr'));
    images.dispose();
    result = {
      ...result,
      reconstruction: { psnr: e.psnr, ssim: e.ssim, kind: heldOutKind(b.corruption) },
    };
  }
  return result;
};

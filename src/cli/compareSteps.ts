/**
 * The steps of `tesserae compare` (./compare.ts), in the order it runs them: pre-training every
 * method for the same budget, the probe curves over every checkpoint, the reconstruction panel,
 * and the class-conditional generation (a reference classifier, fine-tuning, guided samples and
 * their quality). The report built from their results is in ./compareReport.ts.
 *
 * Every step takes the settings it reads and returns what later steps need; the logs go through
 * the `log` it is given.
 *
 * @since 0.2.0
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fold, key } from '../core/key.js';
import { disposeParams } from '../core/params.js';
import { spec as tensorSpec } from '../core/spec.js';
import { tf } from '../core/tf.js';
import type { BackendName } from '../backends/index.js';
import { batchTensor, channelStats, sampleShape } from '../data/batches.js';
import type { LabelledImages } from '../data/labelled.js';
import { drawMask, Mask } from '../corruption/mask.js';
import { inpaintingOf } from '../corruption/questions.js';
import { Sampler } from '../diffusion/sampler.js';
import { classifier, classify, type Classifier, type ClassifierParams } from '../eval/classify.js';
import { evaluate, pixelFeatures, probeFeatures, type EvalResult, type ProbeKind } from '../eval/evaluate.js';
import { encoderOf, type Pool } from '../eval/features.js';
import { dataRange, predictRemoved, type Norm } from '../eval/heldout.js';
import { fewShotIndices } from '../eval/probes.js';
import { reconstructionGrid } from '../eval/reconstruction.js';
import { sampleQuality, type SampleQuality } from '../eval/samples.js';
import { tileImages, toImage8 } from '../io/images.js';
import type { Image8 } from '../io/png.js';
import { buildModel } from '../models/build.js';
import { presetSpec, type MethodName } from '../models/presets.js';
import { generateImages } from '../models/sampling.js';
import type { ModelSpec } from '../models/spec.js';
import { openModel } from '../node/checkpoint.js';
import { writePng } from '../node/files.js';
import { duration } from '../node/progress.js';
import { runTrain, type TrainRun } from '../node/run.js';
import { finetuneSpec } from '../train/finetune.js';
import { initOpt } from '../train/optimizer.js';
import { train, trainConfig, type TrainConfig } from '../train/trainer.js';
import { finetuneInit } from './finetune.js';

/** A probe `compare` runs at every checkpoint (fine-tuning is not one). */
export type CompareProbe = Exclude<ProbeKind, 'finetune'>;

/** The compared methods, in `--methods` order, each with its model spec. */
export type MethodSpecs = readonly (readonly [MethodName, ModelSpec])[];

/** The training configuration every method shares; each run adds its own EMA. */
export type SharedTrain = Omit<TrainConfig, 'steps' | 'ema'> & { steps: number };

/** The fields of a training run that every run of `compare` shares. */
export type SharedRun = Pick<TrainRun, 'label' | 'data' | 'count' | 'held' | 'checkpointEvery' | 'logEvery' | 'resume' | 'threads'> & {
  readonly backend: BackendName;
};

/** Where the logs go. */
export type Log = (line: string) => void;

/** A row of the curves: one checkpoint of one method. */
export type CurvePoint = { readonly method: MethodName; readonly step: number; readonly result: EvalResult };

/** A set of samples (or the real-image floor) and its quality under the reference classifier. */
export type NamedQuality = { readonly name: string; readonly q: SampleQuality };

/** The settings of the class-conditional generation step (read only when `--generate` names a method). */
export interface GenerationSettings {
  /** Training steps of the reference classifier. */
  readonly referenceSteps: number;
  /** Samples per class (and real images per class for the floor). */
  readonly perClass: number;
  readonly finetuneSteps: number;
  readonly finetuneEma: number;
  readonly guidance: number;
  /** DDIM steps. */
  readonly sampleSteps: number;
}

/** What a held-out PSNR measures, as its label: `masked PSNR` or `PSNR of x0 from t = 100`. */
export const psnrLabel = (kind: 'masked' | 'denoise-t100' | undefined): string =>
  kind === 'denoise-t100' ? 'PSNR of x0 from t = 100' : kind === 'masked' ? 'masked PSNR' : 'PSNR';

/** `12.3%`, or `-` when there is no value. */
export const pct = (v: number | undefined): string => (v === undefined ? '-' : `${(100 * v).toFixed(1)}%`);

/** The steps of the checkpoints in a run's `checkpoints` folder, ascending (none if it does not exist). */
export const checkpointSteps = (dir: string): number[] =>
  existsSync(dir)
    ? readdirSync(dir)
        .map((n) => /^step-(\d+)\.safetensors$/.exec(n))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => Number(m[1]))
        .sort((a, b) => a - b)
    : [];

/** Step 1: pre-trains every method (or resumes its run) in `out/<method>`, the same budget for each. */
export const pretrain = async (o: {
  readonly specs: MethodSpecs;
  readonly preset: string;
  readonly common: SharedRun;
  readonly base: SharedTrain;
  readonly out: string;
  readonly log: Log;
}): Promise<void> => {
  for (const [m, spec] of o.specs) {
    o.log(`\n== pre-training ${m} ${o.preset} ==`);
    await runTrain({ ...o.common, spec, train: { ...o.base, ema: null }, out: join(o.out, m), log: (line) => o.log(`[${m}] ${line}`) });
  }
};

/** Step 2: every checkpoint of every method through the probes and the held-out PSNR, in method then step order. */
export const probeCurves = async (o: {
  readonly specs: MethodSpecs;
  readonly out: string;
  readonly trainSet: LabelledImages;
  readonly held: LabelledImages;
  readonly probes: readonly CompareProbe[];
  readonly shots: number;
  readonly pool: Pool;
  readonly seed: number;
  readonly log: Log;
}): Promise<CurvePoint[]> => {
  const curves: CurvePoint[] = [];
  for (const [m] of o.specs) {
    for (const step of checkpointSteps(join(o.out, m, 'checkpoints'))) {
      const opened = openModel(join(o.out, m, 'checkpoints', `step-${String(step).padStart(6, '0')}.safetensors`), { weights: 'params' });
      try {
        const result = await evaluate(opened.model, opened.params, o.trainSet, o.held, opened.norm, {
          probes: o.probes,
          shots: o.shots,
          pool: o.pool,
          psnrImages: 64,
          key: fold(key(o.seed), 'eval'),
        });
        curves.push({ method: m, step, result });
        o.log(
          `[${m}] step ${step}: ridge ${pct(result.ridge?.accuracy)}, linear ${pct(result.linear?.accuracy)}, k-NN ${pct(result.knn?.accuracy)}, ${psnrLabel(result.reconstruction?.kind)} ${result.reconstruction?.psnr.toFixed(2) ?? '-'} dB, SSIM ${result.reconstruction?.ssim.toFixed(3) ?? '-'}`,
        );
      } finally {
        disposeParams(opened.params);
      }
    }
  }
  return curves;
};

/** Step 2b: the probes on raw pixels (normalised with the training images' channel statistics), at the curves' key. */
export const pixelProbes = (o: {
  readonly trainSet: LabelledImages;
  readonly held: LabelledImages;
  readonly probes: readonly CompareProbe[];
  readonly shots: number;
  readonly seed: number;
  readonly log: Log;
}): Pick<EvalResult, 'ridge' | 'linear' | 'knn'> => {
  const t0 = performance.now();
  const norm = channelStats(o.trainSet);
  const r = probeFeatures(pixelFeatures(o.trainSet, norm), pixelFeatures(o.held, norm), {
    probes: o.probes,
    shots: o.shots,
    key: fold(key(o.seed), 'eval'),
  });
  o.log(
    `[raw pixels] ridge ${pct(r.ridge?.accuracy)}, linear ${pct(r.linear?.accuracy)}, k-NN ${pct(r.knn?.accuracy)} (${duration((performance.now() - t0) / 1000)})`,
  );
  return r;
};

/** Step 2c: each method's final encoder fine-tuned with labels (a linear head on its features) for `steps` steps; its test accuracy. */
export const finetuneAccuracy = async (o: {
  readonly specs: MethodSpecs;
  readonly out: string;
  readonly trainSet: LabelledImages;
  readonly held: LabelledImages;
  readonly pool: Pool;
  readonly seed: number;
  readonly steps: number;
  readonly baseLr: number;
  readonly log: Log;
}): Promise<Map<MethodName, number>> => {
  const acc = new Map<MethodName, number>();
  for (const [m] of o.specs) {
    const opened = openModel(join(o.out, m, 'checkpoints', 'latest.safetensors'), { weights: 'params' });
    const t0 = performance.now();
    try {
      const every = Math.max(1, Math.round(o.steps / 10));
      const r = await evaluate(opened.model, opened.params, o.trainSet, o.held, opened.norm, {
        probes: ['finetune'],
        pool: o.pool,
        psnrImages: 0,
        key: fold(key(o.seed), 'eval'),
        finetune: {
          steps: o.steps,
          baseLr: o.baseLr,
          onStep: (info) => {
            if (info.step % every === 0 || info.step === o.steps)
              o.log(
                `[${m} fine-tune] step ${info.step}/${o.steps} loss ${info.loss.toFixed(4)} (${duration((performance.now() - t0) / 1000)})`,
              );
          },
        },
      });
      acc.set(m, r.finetune!.accuracy);
      o.log(`[${m}] fine-tuned for ${o.steps} steps: ${pct(r.finetune!.accuracy)} on ${o.held.count} test images`);
    } finally {
      disposeParams(opened.params);
    }
  }
  return acc;
};

/**
 * Step 3: the same held-out images (up to 8) under the same random 75% mask, reconstructed by the
 * final checkpoint of every method that reconstructs, side by side: a picture with the columns
 * original, masked and one per such method, or null when no method reconstructs.
 */
export const reconstructionPanel = (o: {
  readonly specs: MethodSpecs;
  readonly out: string;
  readonly held: LabelledImages;
  readonly seed: number;
}): Image8 | null => {
  const reconstructing = o.specs.filter(([, s]) => inpaintingOf(s.corruption) !== 'none').map(([m]) => m);
  if (reconstructing.length === 0) return null;
  const shownN = Math.min(8, o.held.count);
  let left: Image8[][] = [];
  const columns: Image8[][] = [];
  for (const m of reconstructing) {
    const opened = openModel(join(o.out, m, 'checkpoints', 'latest.safetensors'), { weights: 'params' });
    try {
      const grid = opened.model.grid;
      const images = batchTensor(
        o.held,
        Int32Array.from({ length: shownN }, (_, i) => i),
        opened.norm,
      );
      const draw = drawMask(Mask.random(0.75), fold(key(o.seed), 'panel-mask'), shownN, grid);
      const r = predictRemoved(opened.model, opened.params, images, draw, opened.norm, fold(key(o.seed), 'panel'));
      const cells = reconstructionGrid(grid, r.x0, r.pred, r.mask, { denorm: opened.norm });
      tf.dispose([images, r.pred, r.x0, r.mask]);
      if (left.length === 0) left = cells.map((row) => [row[0]!, row[1]!]);
      columns.push(cells.map((row) => row[3]!));
    } finally {
      disposeParams(opened.params);
    }
  }
  return tileImages(
    left.map((row, i) => [...row, ...columns.map((c) => c[i]!)]),
    { scale: 3, pad: 3, titles: ['original', 'masked', ...reconstructing] },
  );
};

/** The reference classifier of step 4 and its accuracy on the held-out real images. */
export interface Reference {
  readonly clf: Classifier;
  readonly params: ClassifierParams;
  readonly accuracy: number;
}

/** Step 4a: a supervised classifier (the preset's MAE encoder, random init) trained on the real training images. */
export const trainReference = async (o: {
  readonly preset: string;
  readonly trainSet: LabelledImages;
  readonly held: LabelledImages;
  readonly norm: Norm;
  readonly steps: number;
  readonly seed: number;
  readonly logEvery: number;
  readonly log: Log;
}): Promise<Reference> => {
  const { trainSet } = o;
  o.log(`\n== reference classifier (supervised, random init, ${o.steps} steps) ==`);
  const clf = classifier(encoderOf(buildModel(presetSpec('mae', o.preset, { image: sampleShape(trainSet) }))), trainSet.classes.length);
  const first = clf.init(fold(key(o.seed), 'reference'), {
    images: tensorSpec([-1, trainSet.height, trainSet.width, trainSet.channels]),
  }).params;
  const refCfg = trainConfig({ steps: o.steps, batch: 64, baseLr: 4e-3, beta2: 0.999, seed: o.seed });
  const reference = await train(
    clf,
    trainSet,
    refCfg,
    { params: first, opt: initOpt(first), step: 0 },
    {
      onStep: (i) => {
        if (i.step % o.logEvery === 0 || i.step === i.steps)
          o.log(`[reference] step ${i.step}/${i.steps}  loss ${i.loss.toFixed(4)}  ETA ${duration(i.eta)}`);
      },
    },
    o.norm,
  );
  disposeParams(reference.opt.m);
  disposeParams(reference.opt.v);
  const params: ClassifierParams = reference.params;
  const accuracy = classify(clf, params, o.held, o.norm).accuracy;
  o.log(`[reference] held-out accuracy ${pct(accuracy)}`);
  return { clf, params, accuracy };
};

/** Step 4b: the floor of the sample scores: `perClass` real training images of every class, drawn with the seed. */
export const realFloor = (trainSet: LabelledImages, perClass: number, seed: number): LabelledImages => {
  const realRows = fewShotIndices(trainSet.labels, trainSet.classes.length, perClass, fold(key(seed), 'real'));
  const per = trainSet.height * trainSet.width * trainSet.channels;
  const images = new Float32Array(realRows.length * per);
  realRows.forEach((r, i) => images.set(trainSet.images.subarray(r * per, (r + 1) * per), i * per));
  return { ...trainSet, count: realRows.length, images, labels: Int32Array.from(realRows, (r) => trainSet.labels[r]!) };
};

/**
 * Step 4c: fine-tunes method `g` class-conditionally from its final pre-training checkpoint (in
 * `out/<g>-conditional`), draws `perClass` guided samples of every class from the EMA weights,
 * and writes up to 10 per class as `report/samples-<g>.png`; returns the samples.
 */
export const finetuneAndSample = async (o: {
  readonly method: MethodName;
  readonly spec: ModelSpec;
  readonly classes: number;
  /** The name of every class, labelling the rows of the samples picture. */
  readonly classNames: readonly string[];
  readonly common: SharedRun;
  readonly base: SharedTrain;
  readonly generation: GenerationSettings;
  readonly out: string;
  readonly report: string;
  readonly seed: number;
  readonly log: Log;
}): Promise<LabelledImages> => {
  const { method: g, spec: pre, classes, generation: gen, log } = o;
  const from = join(o.out, g, 'checkpoints', 'latest.safetensors');
  const ftOut = join(o.out, `${g}-conditional`);
  log(`\n== class-conditional fine-tuning of ${g} ==`);
  const ftSteps = gen.finetuneSteps;
  const ftCfg: TrainConfig = { ...o.base, steps: ftSteps, warmup: Math.max(1, Math.round(ftSteps / 20)), ema: gen.finetuneEma };
  await runTrain({
    ...o.common,
    spec: finetuneSpec(pre, { classes }),
    train: ftCfg,
    out: ftOut,
    metadata: { finetunedFrom: from },
    init: finetuneInit(from, pre, ftCfg, (line) => log(`[${g}] ${line}`)),
    log: (line) => log(`[${g}-conditional] ${line}`),
  });
  const opened = openModel(join(ftOut, 'checkpoints', 'latest.safetensors'));
  try {
    const perClass = gen.perClass;
    const labels = Array.from({ length: classes * perClass }, (_, i) => Math.floor(i / perClass));
    const t0 = performance.now();
    const samples = generateImages(opened.model, opened.params, opened.norm, {
      labels,
      guidance: gen.guidance,
      sampler: Sampler.ddim({ steps: gen.sampleSteps, eta: 1 }),
      key: fold(key(o.seed), `samples-${g}`),
      clip: dataRange(opened.norm),
      batch: 100,
    });
    log(`[${g}] ${samples.count} samples in ${duration((performance.now() - t0) / 1000)}`);
    const per = samples.height * samples.width * samples.channels;
    const shown = Math.min(perClass, 10);
    const rows = Array.from({ length: classes }, (_, k) =>
      Array.from({ length: shown }, (_, j) => {
        const i = k * perClass + j;
        return toImage8(samples.images.subarray(i * per, (i + 1) * per), samples.height, samples.width, samples.channels);
      }),
    );
    writePng(join(o.report, `samples-${g}.png`), tileImages(rows, { scale: 2, pad: 2, rowTitles: o.classNames }));
    return samples;
  } finally {
    disposeParams(opened.params);
  }
};

/** What step 4 returns: the quality of the real floor and of every generating method's samples, and the reference's accuracy. */
export interface GenerationResult {
  readonly quality: readonly NamedQuality[];
  /** The reference classifier's accuracy on the held-out real images; null when nothing was generated. */
  readonly referenceAccuracy: number | null;
}

/**
 * Step 4: class-conditional generation for the methods of `generating` (nothing when it is
 * empty): the reference classifier, the real floor, then fine-tuning and sampling of each
 * method, every sample set scored by the reference against the held-out images.
 */
export const conditionalGeneration = async (o: {
  readonly generating: readonly MethodName[];
  readonly generation: GenerationSettings | null;
  readonly specs: MethodSpecs;
  readonly preset: string;
  readonly trainSet: LabelledImages;
  readonly held: LabelledImages;
  readonly common: SharedRun;
  readonly base: SharedTrain;
  readonly out: string;
  readonly report: string;
  readonly seed: number;
  readonly log: Log;
}): Promise<GenerationResult> => {
  const gen = o.generation;
  if (o.generating.length === 0 || gen === null) return { quality: [], referenceAccuracy: null };
  const { trainSet, held } = o;
  const norm = channelStats(trainSet);
  const classes = trainSet.classes.length;
  const ref = await trainReference({
    preset: o.preset,
    trainSet,
    held,
    norm,
    steps: gen.referenceSteps,
    seed: o.seed,
    logEvery: o.common.logEvery,
    log: o.log,
  });
  try {
    const quality: NamedQuality[] = [
      { name: 'real images (floor)', q: sampleQuality(ref.clf, ref.params, realFloor(trainSet, gen.perClass, o.seed), held, norm) },
    ];
    for (const g of o.generating) {
      const spec = o.specs.find(([m]) => m === g)![1];
      const samples = await finetuneAndSample({
        method: g,
        spec,
        classes,
        classNames: trainSet.classes,
        common: o.common,
        base: o.base,
        generation: gen,
        out: o.out,
        report: o.report,
        seed: o.seed,
        log: o.log,
      });
      quality.push({ name: g, q: sampleQuality(ref.clf, ref.params, samples, held, norm) });
    }
    return { quality, referenceAccuracy: ref.accuracy };
  } finally {
    disposeParams(ref.params);
  }
};

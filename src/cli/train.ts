/**
 * `tesserae train`: trains a model on a data source, with progress on the terminal and, under
 * the output folder, `log.jsonl`, checkpoints, held-out reconstruction pictures, `config.json`.
 *
 * @since 0.1.0
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../core/errors.js';
import { fold, key } from '../core/key.js';
import { ctx } from '../core/layer.js';
import { spec } from '../core/spec.js';
import { tf, type Tensor } from '../core/tf.js';
import { useBackend, type BackendChoice } from '../backends/index.js';
import { batchTensor, channelStats } from '../data/batches.js';
import { psnr, reconstructionGrid, unnormalizeNormPix } from '../eval/reconstruction.js';
import { tileImages } from '../io/images.js';
import { mae, MAE_PRESETS, type MaeConfig, type MaeModel, type MaePreset } from '../models/mae.js';
import { saveCheckpoint, loadCheckpoint, readCheckpointMetadata } from '../node/checkpoint.js';
import { loadSplits, type DataSource } from '../node/datasets.js';
import { writeFileAtomic, writePng } from '../node/files.js';
import { initState, train, trainConfig, type StepInfo, type TrainConfig } from '../train/trainer.js';
import { disposeState, type TrainState } from '../train/step.js';
import { gridOf, patchifyOp, unpatchifyOp } from '../vision/patchify.js';
import { disposeParams } from '../core/params.js';
import type { MaeParams } from '../models/mae.js';
import { duration, progressLine } from './progress.js';

/**
 * What `tesserae train` is given.
 *
 * @since 0.1.0
 */
export interface TrainRun {
  readonly preset: MaePreset;
  readonly normPix: boolean;
  readonly maskRatio: number;
  readonly data: DataSource;
  readonly count: number;
  readonly held: number;
  readonly size?: number;
  readonly train: TrainConfig;
  readonly backend: BackendChoice;
  readonly out: string;
  readonly checkpointEvery: number;
  readonly logEvery: number;
  readonly resume: boolean;
  readonly log: (line: string) => void;
}

/** The model a run trains, as stored in its checkpoints. */
export const runModelConfig = (r: Pick<TrainRun, 'preset' | 'normPix' | 'maskRatio'>): MaeConfig => ({
  ...MAE_PRESETS[r.preset],
  normPix: r.normPix,
  maskRatio: r.maskRatio,
});

type Norm = { readonly mean: number[]; readonly std: number[] };

/** Held-out reconstruction: masked-region PSNR in pixel units and the picture grid. */
const evaluate = (model: MaeModel, params: MaeParams, images: Tensor, norm: Norm, seed: number) => {
  const grid = gridOf(model.corruption.patching, model.config.image);
  const out = model.apply(params, { images }, ctx(fold(key(seed), 'eval')));
  const x0 = patchifyOp(model.corruption.patching, images);
  const pred = model.config.normPix ? unnormalizeNormPix(out.pred, x0, out.mask) : tf.clone(out.pred);
  const mse = tf.tidy(() => {
    const removed = unpatchifyOp(grid, tf.mul(tf.onesLike(x0), tf.expandDims(out.mask, -1)));
    const diff = tf.mul(tf.sub(unpatchifyOp(grid, pred), unpatchifyOp(grid, x0)), tf.tensor1d(norm.std));
    return tf.div(tf.sum(tf.mul(tf.square(diff), removed)), tf.maximum(tf.sum(removed), 1));
  });
  const m = mse.dataSync()[0]!;
  const cells = reconstructionGrid(grid, x0, pred, out.mask, { denorm: norm });
  tf.dispose([mse, x0, pred, out.loss, out.pred, out.mask, out.idsRestore, out.latent]);
  return { psnr: psnr(m, 1), picture: tileImages(cells, { scale: 3, pad: 3 }) };
};

const sameJson = (a: unknown, b: string | undefined): boolean => b !== undefined && JSON.stringify(a) === b;

/**
 * Runs the training; returns the summary it prints as its last line.
 *
 * @since 0.1.0
 */
export const runTrain = async (r: TrainRun): Promise<Record<string, unknown>> => {
  const backend = await useBackend(r.backend);
  const modelConfig = runModelConfig(r);
  const model = mae(modelConfig);
  const { train: data, held } = loadSplits(r.data, {
    count: r.count,
    held: r.held,
    seed: r.train.seed,
    ...(r.size === undefined ? {} : { size: r.size }),
  });
  const [h, w, c] = modelConfig.image;
  if (data.height !== h || data.width !== w || data.channels !== c) {
    throw new ConfigError(
      '--data',
      `${data.height}x${data.width}x${data.channels}`,
      `images must be ${h}x${w}x${c} for preset ${r.preset}${r.data.kind === 'folder' ? ' (use --size)' : ''}`,
    );
  }
  const norm: Norm = channelStats(data);
  const ckDir = join(r.out, 'checkpoints');
  const latest = join(ckDir, 'latest.safetensors');
  const metadata = {
    method: 'mae',
    model: JSON.stringify(modelConfig),
    train: JSON.stringify(r.train),
    norm: JSON.stringify(norm),
    data: JSON.stringify(r.data),
  };
  let state: TrainState<MaeParams>;
  if (r.resume && existsSync(latest)) {
    const meta = readCheckpointMetadata(latest);
    if (!sameJson(modelConfig, meta['model']))
      throw new ConfigError('--resume', latest, `was trained with model ${meta['model']}, not ${JSON.stringify(modelConfig)}`);
    if (!sameJson(r.train, meta['train']))
      throw new ConfigError('--resume', latest, `was trained with ${meta['train']}, not ${JSON.stringify(r.train)}`);
    const template = model.init(key(0), { images: spec([-1, h, w, c]) }).params;
    state = loadCheckpoint(latest, template).state;
    disposeParams(template);
    const logPath = join(r.out, 'log.jsonl');
    if (existsSync(logPath)) {
      const kept = readFileSync(logPath, 'utf8')
        .split('\n')
        .filter((line) => line && (JSON.parse(line) as { step: number }).step <= state.step);
      writeFileAtomic(logPath, kept.map((line) => `${line}\n`).join(''));
    }
    r.log(`resuming from ${latest} at step ${state.step}`);
  } else {
    state = initState(model, data, r.train);
  }
  writeFileAtomic(
    join(r.out, 'config.json'),
    JSON.stringify({ ...metadata, model: modelConfig, train: r.train, norm, data: r.data, backend, preset: r.preset }, null, 2),
  );
  r.log(
    `training MAE ${r.preset} on ${data.count} ${r.data.kind} images (${held.count} held out), ${r.train.steps} steps of ${r.train.batch * r.train.accum} on ${backend}; writing to ${r.out}`,
  );
  const evalImages = batchTensor(
    held,
    Int32Array.from({ length: Math.min(8, held.count) }, (_, i) => i),
    norm,
  );
  const losses: number[] = [];
  const psnrs: { step: number; psnr: number }[] = [];
  let images = 0;
  let seconds = 0;
  const checkpoint = (s: TrainState<MaeParams>): void => {
    const path = saveCheckpoint(ckDir, s, metadata);
    const e = evaluate(model, s.params, evalImages, norm, r.train.seed);
    const name = `step-${String(s.step).padStart(6, '0')}.png`;
    writePng(join(r.out, 'reconstructions', name), e.picture);
    writePng(join(r.out, 'reconstructions', 'latest.png'), e.picture);
    psnrs.push({ step: s.step, psnr: e.psnr });
    appendFileSync(join(r.out, 'log.jsonl'), `${JSON.stringify({ step: s.step, heldPsnr: +e.psnr.toFixed(3), checkpoint: path })}\n`);
    r.log(`  checkpoint ${path}; held-out masked PSNR ${e.psnr.toFixed(2)} dB; picture reconstructions/${name}`);
  };
  if (state.step === 0) checkpoint(state);
  const onStep = (i: StepInfo, s: TrainState<MaeParams>): void => {
    losses.push(i.loss);
    if (i.step > state.step + 1) {
      // the first step of a run includes kernel compilation and warm-up: left out of the rate
      images += r.train.batch * r.train.accum;
      seconds += (r.train.batch * r.train.accum) / i.imagesPerSec;
    }
    appendFileSync(
      join(r.out, 'log.jsonl'),
      `${JSON.stringify({ step: i.step, loss: i.loss, lr: i.lr, gradNorm: i.gradNorm, imagesPerSec: +i.imagesPerSec.toFixed(2), elapsed: +i.elapsed.toFixed(2) })}\n`,
    );
    if (i.step % r.logEvery === 0 || i.step === 1 || i.step === i.steps) r.log(progressLine(i));
    if (i.step % r.checkpointEvery === 0 || i.step === i.steps) checkpoint(s);
  };
  const t0 = performance.now();
  const final = await train(model, data, r.train, state, { onStep }, norm);
  disposeState(final);
  evalImages.dispose();
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const k = Math.max(1, Math.min(10, Math.floor(losses.length / 4)));
  const summary = {
    command: 'train',
    method: 'mae',
    preset: r.preset,
    backend,
    steps: r.train.steps,
    loss: { first: +mean(losses.slice(0, k)).toFixed(4), last: +mean(losses.slice(-k)).toFixed(4) },
    heldPsnr: { first: +(psnrs[0]?.psnr ?? NaN).toFixed(2), last: +(psnrs[psnrs.length - 1]?.psnr ?? NaN).toFixed(2) },
    imagesPerSec: +(images / Math.max(seconds, 1e-9)).toFixed(1),
    seconds: +((performance.now() - t0) / 1000).toFixed(1),
    out: r.out,
  };
  r.log(
    `done in ${duration(summary.seconds)}: loss ${summary.loss.first} -> ${summary.loss.last} (mean of first/last ${k} steps), held-out masked PSNR ${summary.heldPsnr.first} -> ${summary.heldPsnr.last} dB, ${summary.imagesPerSec} img/s`,
  );
  r.log(JSON.stringify(summary));
  return summary;
};

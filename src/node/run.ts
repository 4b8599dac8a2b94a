/**
 * `runTrain`: a training run as a library function, with everything `tesserae train` writes
 * under its output folder: `log.jsonl`, checkpoints (atomic and durable), held-out
 * reconstruction pictures, `config.json` and `curves.png`, under the run-folder policy of
 * `./runs.ts` (refuse to overwrite, resume from the newest complete checkpoint with the same
 * configuration). `tesserae train`, `finetune` and `compare` call it.
 *
 * @since 0.2.0
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, FormatError } from '../core/errors.js';
import { fold, key } from '../core/key.js';
import { spec } from '../core/spec.js';
import { useBackend, type BackendChoice } from '../backends/index.js';
import { batchTensor, channelStats, sampleShape } from '../data/batches.js';
import { heldOutEval, heldOutKind } from '../eval/heldout.js';
import { tileImages } from '../io/images.js';
import { buildModel } from '../models/build.js';
import type { ModelSpec } from '../models/spec.js';
import type { Fit } from '../vision/fit.js';
import { threadedGrads } from './threads.js';
import { checkpointName, newestCheckpoint, saveCheckpoint, type ResumePoint } from './checkpoint.js';
import { loadSplits, type DataSource } from './datasets.js';
import { appendText, prepareOutputFolder, syncFile, writeFileAtomic, writePng } from './files.js';
import { initState, train, type StepInfo, type TrainConfig } from '../train/trainer.js';
import { disposeState, type TrainState } from '../train/step.js';
import { disposeParams, type Params } from '../core/params.js';
import type { Layer } from '../core/layer.js';
import type { Tensor } from '../core/tf.js';
import type { ModelIn } from '../models/model.js';
import type { LabelledImages } from '../data/labelled.js';
import { duration, progressBar, progressLine } from './progress.js';
import { plotLogs, readTrainLog } from './trainLog.js';
import {
  checkNorm,
  checkResume,
  checkRunFolder,
  clearRun,
  identityMetadata,
  removeRunTempFiles,
  trimLog,
  type RunIdentity,
} from './runs.js';

/**
 * What `tesserae train` is given.
 *
 * @since 0.1.0
 */
export interface TrainRun {
  /** The model to train. */
  readonly spec: ModelSpec;
  /** A short name for the logs (the preset). */
  readonly label: string;
  readonly data: DataSource;
  /** Training images: generated data makes this many (default 2000); real data keeps at most this many (default all). */
  readonly count?: number;
  readonly held: number;
  /** Take the held-out images from this source instead. */
  readonly test?: DataSource;
  readonly size?: number;
  /** How folder images meet --size (default 'crop'). */
  readonly fit?: Fit;
  /** Frames per clip, for video data. */
  readonly frames?: number;
  readonly train: TrainConfig;
  readonly backend: BackendChoice;
  readonly out: string;
  readonly checkpointEvery: number;
  readonly logEvery: number;
  readonly resume: boolean;
  /** Delete the previous run in `out` (its log, configuration, checkpoints and pictures) and start over. */
  readonly force?: boolean;
  /** Threads computing micro-batch gradients (results do not depend on it). */
  readonly threads: number;
  /** The starting state, when not fresh or resumed (fine-tuning from another checkpoint). */
  readonly init?: (model: Layer<Params, ModelIn, { readonly loss: Tensor }>, data: LabelledImages) => TrainState<Params>;
  /** Extra checkpoint metadata (what the run was fine-tuned from). */
  readonly metadata?: Record<string, string>;
  /** What the logs and the summary call the run: `train` (default) or `finetune` (since 0.2.0). */
  readonly command?: 'train' | 'finetune';
  /**
   * Where stdout is a terminal: a writer of raw text (`process.stdout.write`), to redraw one
   * progress bar in place every step instead of logging a progress line every `logEvery` steps
   * (since 0.2.0).
   */
  readonly bar?: (text: string) => void;
  readonly log: (line: string) => void;
}

type Norm = { readonly mean: number[]; readonly std: number[] };

/**
 * Runs the training; returns the summary it prints as its last line.
 *
 * The output folder is checked before any work (see {@link prepareOutputFolder}), and the
 * run-folder policy applied (see `./runs.ts`): a folder that holds a run is refused unless
 * `resume` (continue from its newest complete checkpoint, with the same configuration) or
 * `force` (delete its files and start over). Temporary files of killed writes are removed.
 *
 * @example
 * await runTrain({ spec: presetSpec('mae', 'micro/4'), label: 'mae micro/4', data: { kind: 'synthetic' }, count: 2000, held: 200, train: trainConfig({ steps: 600, batch: 64 }), backend: 'wasm', out: 'runs/mae', checkpointEvery: 100, logEvery: 10, resume: false, threads: 1, log: console.log })
 * @since 0.1.0
 */
export const runTrain = async (run: TrainRun): Promise<Record<string, unknown>> => {
  const bar = run.bar;
  let barShown = false;
  // with a bar, every logged line first clears it (the next step draws it again)
  const r: TrainRun = bar
    ? {
        ...run,
        log: (line) => {
          if (barShown) bar('\r\x1b[K');
          barShown = false;
          run.log(line);
        },
      }
    : run;
  const command = r.command ?? 'train';
  const force = r.force === true;
  prepareOutputFolder(r.out, { create: true });
  checkRunFolder(r.out, { resume: r.resume, force });
  const ckDir = join(r.out, 'checkpoints');
  const latest = join(ckDir, 'latest.safetensors');
  const logPath = join(r.out, 'log.jsonl');
  const cleaned = removeRunTempFiles(r.out);
  if (cleaned) r.log(cleaned);
  if (force) {
    const gone = clearRun(r.out);
    if (gone.files > 0)
      r.log(`--force: deleted the previous run in ${r.out} (${gone.files} files, ${(gone.bytes / 2 ** 20).toFixed(1)} MiB)`);
  }
  const backend = await useBackend(r.backend);
  const model = buildModel(r.spec);
  const want = r.spec.image;
  const identity: RunIdentity = {
    spec: r.spec,
    data: r.data,
    split: {
      ...(r.count === undefined ? {} : { count: r.count }),
      held: r.held,
      ...(r.test === undefined ? {} : { test: r.test }),
      ...(r.size === undefined ? {} : { size: r.size }),
      ...(r.fit === undefined ? {} : { fit: r.fit }),
      ...(r.frames === undefined ? {} : { frames: r.frames }),
    },
    train: r.train,
  };
  // the checkpoint to resume from, and its configuration checked, before the data is loaded
  let point: ResumePoint<Params> | undefined;
  if (r.resume) {
    const template = model.init(key(0), { images: spec([-1, ...want]) }).params;
    try {
      point = newestCheckpoint(ckDir, template, { check: (meta, path) => checkResume(meta, identity, path), warn: r.log });
    } catch (e) {
      if (e instanceof FormatError && e.file === ckDir)
        throw new FormatError(ckDir, `${e.problem}; pass --force instead of --resume to start the run over`);
      throw e;
    } finally {
      disposeParams(template);
    }
  }
  const { train: data, held } = loadSplits(r.data, {
    ...(r.count === undefined ? {} : { count: r.count }),
    held: r.held,
    ...(r.test === undefined ? {} : { test: r.test }),
    seed: r.train.seed,
    ...(r.size === undefined ? {} : { size: r.size }),
    ...(r.fit === undefined ? {} : { fit: r.fit }),
    ...(r.frames === undefined ? {} : { frames: r.frames }),
  });
  const got = sampleShape(data);
  if (got.length !== want.length || got.some((d, i) => d !== want[i])) {
    if (point) disposeState(point.state);
    throw new ConfigError(
      '--data',
      got.join('x'),
      `${want.length === 4 ? 'clips' : 'images'} must be ${want.join('x')} for ${r.label}${r.data.kind === 'folder' ? ' (use --size)' : ''}`,
    );
  }
  const norm: Norm = channelStats(data);
  const metadata = {
    ...r.metadata,
    ...identityMetadata(identity),
    norm: JSON.stringify(norm),
    // the class names, for `tesserae sample --class NAME` and the labels of its grids
    classes: JSON.stringify(data.classes),
  };
  let state: TrainState<Params>;
  /** Whether the resumed step's checkpoint report (picture, held-out PSNR, log line) is missing. */
  let reportMissing = false;
  if (point) {
    try {
      checkNorm(point.metadata, norm, r.data, point.path);
    } catch (e) {
      disposeState(point.state);
      throw e;
    }
    state = point.state;
    const kept = trimLog(logPath, state.step, r.log);
    reportMissing = !kept.some((e) => e.step === state.step && 'checkpoint' in e);
    // latest and the step file both hold the resumed checkpoint (a run killed between the two
    // writes has only one of them)
    const stepFile = join(ckDir, checkpointName(state.step));
    if (point.path !== latest) writeFileAtomic(latest, readFileSync(point.path));
    else if (!existsSync(stepFile)) writeFileAtomic(stepFile, readFileSync(latest));
    r.log(`resuming from ${point.path} at step ${state.step}`);
  } else {
    if (r.resume) {
      r.log(`nothing to resume in ${ckDir}: starting at step 0`);
      if (existsSync(logPath)) writeFileAtomic(logPath, '');
    }
    state = r.init ? r.init(model, data) : initState(model, data, r.train);
  }
  writeFileAtomic(
    join(r.out, 'config.json'),
    JSON.stringify(
      { ...metadata, spec: r.spec, train: r.train, norm, data: r.data, split: identity.split, backend, preset: r.label },
      null,
      2,
    ),
  );
  r.log(
    `${command === 'finetune' ? 'fine-tuning' : 'training'} ${r.label} on ${data.count} ${r.data.kind} images (${held.count} held out), ${r.train.steps} steps of ${r.train.batch * r.train.accum} at base lr ${r.train.baseLr} on ${backend}; writing to ${r.out}`,
  );
  const evalImages = batchTensor(
    held,
    Int32Array.from({ length: Math.min(8, held.count) }, (_, i) => i),
    norm,
  );
  const kind = heldOutKind(r.spec.corruption);
  const psnrKind = kind === 'denoise-t100' ? 'PSNR of x0 from t = 100' : 'masked PSNR';
  const titles =
    kind === 'denoise-t100' ? ['original', 'noised t=100', 'x0 estimate'] : ['original', 'masked', 'prediction', 'visible pasted'];
  const losses: number[] = [];
  const psnrs: { step: number; psnr: number }[] = [];
  let images = 0;
  let seconds = 0;
  /** The held-out picture and PSNR of a checkpoint, and its log line. */
  const report = (s: TrainState<Params>, path: string): void => {
    const ev = heldOutEval(model, s.params, evalImages, norm, fold(key(r.train.seed), 'eval'));
    // a denoising model's fourth cell (its estimate with nothing visible to paste) repeats the third
    const cells = ev.cells.map((row) => row.slice(0, titles.length));
    const e = { psnr: ev.psnr, picture: tileImages(cells, { scale: 3, pad: 3, titles }) };
    const name = `step-${String(s.step).padStart(6, '0')}.png`;
    writePng(join(r.out, 'reconstructions', name), e.picture);
    writePng(join(r.out, 'reconstructions', 'latest.png'), e.picture);
    psnrs.push({ step: s.step, psnr: e.psnr });
    appendText(logPath, `${JSON.stringify({ step: s.step, heldPsnr: +e.psnr.toFixed(3), checkpoint: path })}\n`);
    r.log(`  checkpoint ${path}; held-out ${psnrKind} ${e.psnr.toFixed(2)} dB; picture reconstructions/${name}`);
  };
  const checkpoint = (s: TrainState<Params>): void => {
    // the log on the disk before the checkpoint: it never lags behind the newest checkpoint
    syncFile(logPath);
    report(s, saveCheckpoint(ckDir, s, metadata));
  };
  if (!point) checkpoint(state);
  else if (reportMissing) report(state, join(ckDir, checkpointName(state.step)));
  const onStep = (i: StepInfo, s: TrainState<Params>): void => {
    losses.push(i.loss);
    if (i.step > state.step + 1) {
      // the first step of a run includes kernel compilation and warm-up: left out of the rate
      images += r.train.batch * r.train.accum;
      seconds += (r.train.batch * r.train.accum) / i.imagesPerSec;
    }
    appendText(
      logPath,
      `${JSON.stringify({ step: i.step, loss: i.loss, lr: i.lr, gradNorm: i.gradNorm, imagesPerSec: +i.imagesPerSec.toFixed(2), elapsed: +i.elapsed.toFixed(2) })}\n`,
    );
    if (bar) {
      bar(`\r\x1b[K${progressBar(i)}${i.step === i.steps ? '\n' : ''}`);
      barShown = i.step !== i.steps;
    } else if (i.step % r.logEvery === 0 || i.step === 1 || i.step === i.steps) r.log(progressLine(i));
    if (i.step % r.checkpointEvery === 0 || i.step === i.steps) checkpoint(s);
  };
  const t0 = performance.now();
  if (state.step >= r.train.steps) {
    // a finished run resumed: report it from its log rather than train nothing
    r.log(`${point?.path ?? latest} is already at step ${state.step} of ${r.train.steps}; nothing to train`);
    for (const e of readTrainLog(logPath, r.log)) {
      if (e.loss !== undefined) losses.push(e.loss);
      if (e.heldPsnr !== undefined) psnrs.push({ step: e.step, psnr: e.heldPsnr });
    }
  }
  const engine =
    state.step < r.train.steps && r.threads > 1 ? await threadedGrads({ spec: r.spec, backend, threads: r.threads, model }) : undefined;
  let final: TrainState<Params>;
  try {
    final = await train(model, data, r.train, state, engine ? { onStep, engine } : { onStep }, norm);
  } finally {
    await engine?.close();
  }
  disposeState(final);
  evalImages.dispose();
  writePng(join(r.out, 'curves.png'), plotLogs([{ name: r.label, entries: readTrainLog(logPath, r.log) }]));
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const k = Math.max(1, Math.min(10, Math.floor(losses.length / 4)));
  const summary = {
    command,
    model: r.label,
    backend,
    steps: r.train.steps,
    loss: { first: +mean(losses.slice(0, k)).toFixed(4), last: +mean(losses.slice(-k)).toFixed(4) },
    heldPsnr: { first: +(psnrs[0]?.psnr ?? NaN).toFixed(2), last: +(psnrs[psnrs.length - 1]?.psnr ?? NaN).toFixed(2) },
    /** What heldPsnr measures: `masked` (the removed patches) or `denoise-t100` (the x0 estimate from t = 100). */
    psnrKind: kind,
    imagesPerSec: +(images / Math.max(seconds, 1e-9)).toFixed(1),
    seconds: +((performance.now() - t0) / 1000).toFixed(1),
    out: r.out,
  };
  r.log(
    `done in ${duration(summary.seconds)}: loss ${summary.loss.first} -> ${summary.loss.last} (mean of first/last ${k} steps), held-out ${psnrKind} ${summary.heldPsnr.first} -> ${summary.heldPsnr.last} dB, ${summary.imagesPerSec} img/s`,
  );
  r.log(JSON.stringify(summary));
  return summary;
};

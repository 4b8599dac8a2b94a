/**
 * `tesserae compare` (`npm run compare`): trains several methods for the same budget on the same
 * data, evaluates every checkpoint (few-shot ridge, linear probe, k-NN, held-out PSNR), and, for
 * the conditioned methods asked for, fine-tunes them class-conditionally and scores their
 * guided samples with a reference classifier trained on the real data. Writes `results.md`
 * (the tables, the command, the machine), `results.json`, `curves.png` and a sample grid per
 * generating method. Re-running with the same flags resumes finished or partial runs.
 *
 * @since 0.1.0
 */
import { join } from 'node:path';
import { ConfigError } from '../core/errors.js';
import { useBackend, type BackendName } from '../backends/index.js';
import { wholeImageBranch } from '../corruption/questions.js';
import { PROBES } from '../eval/evaluate.js';
import type { Pool } from '../eval/features.js';
import { METHODS, presetSpec, type MethodName } from '../models/presets.js';
import { dataShape, loadSplits, parseDataSource } from '../node/datasets.js';
import { countFromFlags } from './train.js';
import { pickSamples, stratifiedSplit } from '../data/split.js';
import { prepareOutputFolder, writePng } from '../node/files.js';
import { trainConfig } from '../train/trainer.js';
import {
  BACKEND_HELP,
  BACKENDS,
  batchSize,
  choice,
  integer,
  num,
  optional,
  parseFlags,
  str,
  threadsFlag,
  type Command,
  type FlagSpec,
  type Flags,
} from './args.js';
import { writeReport } from './compareReport.js';
import {
  conditionalGeneration,
  finetuneAccuracy,
  pixelProbes,
  pretrain,
  probeCurves,
  reconstructionPanel,
  type CompareProbe,
  type GenerationSettings,
  type MethodSpecs,
  type SharedRun,
  type SharedTrain,
} from './compareSteps.js';

const flags: FlagSpec = {
  methods: { type: 'string', default: 'mae,diffmae,umd,dit', help: `comma-separated: ${METHODS.join(', ')}` },
  preset: { type: 'string', default: 'micro/4', help: 'the preset every method uses' },
  steps: { type: 'string', default: '600', help: 'pre-training steps per method' },
  batch: { type: 'string', default: '32', help: 'images per micro-batch' },
  accum: { type: 'string', default: '2', help: 'micro-batches per step' },
  threads: { type: 'string', default: '2', help: 'threads computing micro-batch gradients' },
  'base-lr': { type: 'string', default: '6e-3', help: 'lr = base-lr * batch * accum / 256, the same for every method' },
  'probe-count': {
    type: 'string',
    help: 'training images the frozen-feature probes fit on: a stratified seeded subset of the training images (default all)',
  },
  'classify-steps': {
    type: 'string',
    default: '0',
    help: 'supervised fine-tuning steps of each final encoder for the fine-tuned accuracy (0: none)',
  },
  'classify-lr': { type: 'string', default: '1e-3', help: 'base lr of that fine-tuning (lr = base * 64 / 256)' },
  'eval-every': { type: 'string', default: '200', help: 'steps between evaluated checkpoints (the curves)' },
  data: {
    type: 'string',
    default: 'synthetic',
    help: 'synthetic | fashion-mnist[:DIR] | cifar10:DIR | folder:DIR | npy:IMAGES.npy[:LABELS.npy]',
  },
  count: {
    type: 'string',
    help: 'training images (pre-training and probes): generated data makes this many (default 2000); real data keeps at most this many, stratified (default all)',
  },
  held: { type: 'string', default: '500', help: 'held-out test images' },
  probe: {
    type: 'string',
    default: 'ridge,linear,knn',
    help: `probes at every checkpoint: ${PROBES.filter((p) => p !== 'finetune').join(', ')}`,
  },
  shots: { type: 'string', default: '10', help: 'samples per class for the few-shot ridge probe' },
  pool: {
    type: 'string',
    default: 'auto',
    help: "features: auto (each method's own: CLS token(s) where it has them, else the patch mean) | cls | mean",
  },
  generate: { type: 'string', default: 'umd,dit', help: 'conditioned methods to fine-tune and sample from (empty: none)' },
  'finetune-steps': { type: 'string', default: '300', help: 'class-conditional fine-tuning steps' },
  'finetune-ema': { type: 'string', default: '0.99', help: 'EMA decay during fine-tuning (sampling uses the EMA)' },
  samples: { type: 'string', default: '20', help: 'samples per class' },
  guidance: { type: 'string', default: '3', help: 'classifier-free guidance scale' },
  'sample-steps': { type: 'string', default: '50', help: 'DDIM steps' },
  'reference-steps': { type: 'string', default: '400', help: 'training steps of the reference classifier' },
  seed: { type: 'string', default: '0', help: 'seed of every run' },
  'log-every': { type: 'string', default: '50', help: 'steps between progress lines' },
  backend: { type: 'string', default: 'auto', help: BACKEND_HELP },
  out: { type: 'string', default: 'runs/compare', help: 'folder of the training runs (checkpoints, logs)' },
  report: { type: 'string', help: 'folder of results.md, results.json and the PNGs (default: --out)' },
};

const list = <T extends string>(f: Flags, name: string, options: readonly T[]): T[] => {
  const items = str(f, name)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const s of items)
    if (!(options as readonly string[]).includes(s)) throw new ConfigError(`--${name}`, s, `must be among ${options.join(', ')}`);
  if (new Set(items).size !== items.length) throw new ConfigError(`--${name}`, items, 'lists a value twice');
  return items as T[];
};

/** Everything `compare` reads from its flags, checked before any training. */
interface CompareSettings {
  readonly methods: readonly MethodName[];
  readonly generating: readonly MethodName[];
  readonly probes: readonly CompareProbe[];
  readonly preset: string;
  readonly out: string;
  readonly report: string;
  readonly seed: number;
  readonly backend: BackendName;
  readonly base: SharedTrain;
  readonly common: SharedRun;
  readonly specs: MethodSpecs;
  readonly shots: number;
  readonly pool: Pool;
  /** Null when `--generate` names no method. */
  readonly generation: GenerationSettings | null;
  /** Supervised fine-tuning of each final encoder (0 steps: none). */
  readonly classify: { readonly steps: number; readonly baseLr: number };
  /** Training images the probes fit on (undefined: all). */
  readonly probeCount: number | undefined;
}

/**
 * Reads and checks the flags, in this order: the methods and the ones to generate with, the
 * probes, the output folders (prepared), the backend (started), the training budget, the specs,
 * then the probe and generation settings.
 */
const settings = async (argv: readonly string[]): Promise<CompareSettings> => {
  const f = parseFlags(argv, flags);
  const methods = list(f, 'methods', METHODS);
  if (methods.length === 0) throw new ConfigError('--methods', str(f, 'methods'), 'names no method');
  const generating = list(f, 'generate', METHODS);
  for (const g of generating) {
    if (!methods.includes(g)) throw new ConfigError('--generate', g, 'must also be in --methods (it is fine-tuned from that run)');
    const s = presetSpec(g, str(f, 'preset'));
    if (!wholeImageBranch(s.corruption) || s.network.encoder.conditioning === 'none')
      throw new ConfigError('--generate', g, 'never noises the whole image with a conditioned encoder, so it does not generate');
  }
  const probes = list(f, 'probe', PROBES).filter((p): p is CompareProbe => p !== 'finetune');
  const preset = str(f, 'preset');
  const out = str(f, 'out');
  const report = f['report'] === undefined ? out : str(f, 'report');
  // both folders checked before any training
  prepareOutputFolder(out);
  if (report !== out) prepareOutputFolder(report);
  const seed = integer(f, 'seed', 0);
  const data = parseDataSource(str(f, 'data'));
  // real data decides the image shape (28 x 28 x 1 for Fashion-MNIST)
  const generated = data.kind === 'synthetic' || data.kind === 'synthetic-video';
  const image = generated ? undefined : dataShape(data, { held: 1, seed });
  const specOf = (m: MethodName) => presetSpec(m, preset, image === undefined ? {} : { image });
  const backend = await useBackend(choice(f, 'backend', BACKENDS));
  const base: SharedTrain = trainConfig({
    steps: integer(f, 'steps', 1),
    batch: batchSize(f, 'batch', specOf(methods[0]!).image),
    accum: integer(f, 'accum', 1),
    baseLr: num(f, 'base-lr'),
    seed,
  });
  const common: SharedRun = {
    label: preset,
    data,
    ...countFromFlags(f, data),
    held: integer(f, 'held', 1),
    backend,
    checkpointEvery: integer(f, 'eval-every', 1),
    logEvery: integer(f, 'log-every', 1),
    resume: true,
    threads: threadsFlag(f, base.accum),
  };
  // every spec first, so a bad preset fails before any training
  const specs: MethodSpecs = methods.map((m) => [m, specOf(m)] as const);
  const shots = integer(f, 'shots', 1);
  const pool = choice(f, 'pool', ['auto', 'cls', 'mean'] as const);
  const generation: GenerationSettings | null =
    generating.length === 0
      ? null
      : {
          referenceSteps: integer(f, 'reference-steps', 1),
          perClass: integer(f, 'samples', 2),
          finetuneSteps: integer(f, 'finetune-steps', 1),
          finetuneEma: num(f, 'finetune-ema'),
          guidance: num(f, 'guidance'),
          sampleSteps: integer(f, 'sample-steps', 1),
        };
  const classify = { steps: integer(f, 'classify-steps', 0), baseLr: num(f, 'classify-lr') };
  const probeCount = optional(f, 'probe-count', (g, n) => integer(g, n, 2));
  return {
    methods,
    generating,
    probes,
    preset,
    out,
    report,
    seed,
    backend,
    base,
    common,
    specs,
    shots,
    pool,
    generation,
    classify,
    probeCount,
  };
};

/**
 * The `tesserae compare` command.
 *
 * @since 0.1.0
 */
export const compareCommand: Command = {
  summary: 'train MAE, DiffMAE, UMD, DiT for the same budget; probes, PSNR and guided-sample quality; a markdown table and PNG plots',
  flags,
  run: async (argv) => {
    const started = performance.now();
    const s = await settings(argv);
    const { specs, preset, common, base, out, report, seed } = s;
    const log = (line: string): void => console.log(line);

    // 1. pre-training, the same budget for every method
    await pretrain({ specs, preset, common, base, out, log });

    // 2. every checkpoint through the probes and the held-out PSNR
    const { train: trainSet, held } = loadSplits(common.data, {
      ...(common.count === undefined ? {} : { count: common.count }),
      held: common.held,
      seed,
    });
    // the probes fit on a stratified seeded subset when --probe-count asks for one
    const probeSet =
      s.probeCount === undefined || s.probeCount >= trainSet.count
        ? trainSet
        : pickSamples(trainSet, stratifiedSplit(trainSet.labels, s.probeCount, seed).taken);
    const curves = await probeCurves({ specs, out, trainSet: probeSet, held, probes: s.probes, shots: s.shots, pool: s.pool, seed, log });
    // the floor: the same probes on raw pixels; and each final encoder fine-tuned with labels
    const baselines = {
      pixels: pixelProbes({ trainSet: probeSet, held, probes: s.probes, shots: s.shots, seed, log }),
      ...(s.classify.steps > 0
        ? { finetune: await finetuneAccuracy({ specs, out, trainSet, held, pool: s.pool, seed, ...s.classify, log }) }
        : {}),
    };

    // the same held-out images under the same mask, every reconstructing method side by side
    const panel = reconstructionPanel({ specs, out, held, seed });
    if (panel !== null) writePng(join(report, 'reconstructions.png'), panel);

    // 3. class-conditional fine-tuning, guided samples, and their quality under a reference classifier
    const generation = await conditionalGeneration({
      generating: s.generating,
      generation: s.generation,
      specs,
      preset,
      trainSet,
      held,
      common,
      base,
      out,
      report,
      seed,
      log,
    });

    // 4. the report
    const summary = writeReport({
      argv,
      started,
      methods: s.methods,
      specs,
      preset,
      probes: s.probes,
      shots: s.shots,
      base,
      seed,
      dataName: common.data.kind === 'fashion-mnist' ? 'Fashion-MNIST' : common.data.kind,
      count: trainSet.count,
      probeCount: probeSet.count,
      held: held.count,
      classes: trainSet.classes.length,
      backend: s.backend,
      out,
      report,
      curves,
      baselines,
      ...(s.classify.steps > 0 ? { classifySteps: s.classify.steps } : {}),
      generating: s.generating,
      generationSettings: s.generation,
      generation,
      log,
    });
    console.log(JSON.stringify(summary));
  },
};

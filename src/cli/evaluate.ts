/**
 * `tesserae eval`: frozen-feature probes (few-shot ridge, linear, k-NN), classification
 * fine-tuning and the held-out PSNR of any checkpoint, on the data it was trained on (or
 * another source); a table, then one JSON line.
 *
 * @since 0.1.0
 */
import { join } from 'node:path';
import { ConfigError, FormatError } from '../core/errors.js';
import { fold, key } from '../core/key.js';
import { disposeParams } from '../core/params.js';
import { useBackend } from '../backends/index.js';
import { evaluate, PROBES, type EvalResult, type ProbeKind } from '../eval/evaluate.js';
import { openModel } from '../node/checkpoint.js';
import { countFromFlags } from './train.js';
import { FIT_MODES } from '../vision/fit.js';
import { loadSplits, parseDataSource, sourceFromMetadata, type DataSource } from '../node/datasets.js';
import { prepareOutputFolder, writeFileAtomic } from '../node/files.js';
import { BACKEND_HELP, BACKENDS, choice, integer, num, optional, parseFlags, str, type Command, type FlagSpec } from './args.js';
import { duration } from '../node/progress.js';
import { table } from './table.js';

const flags: FlagSpec = {
  checkpoint: { type: 'string', help: 'a checkpoint of any method (a step-0 checkpoint is the random-init baseline)' },
  data: {
    type: 'string',
    help: 'synthetic | cifar10:DIR | folder:DIR | npy:IMAGES.npy:LABELS.npy (default: what the checkpoint was trained on)',
  },
  probe: { type: 'string', default: 'ridge,linear,knn', help: `comma-separated: ${PROBES.join(', ')}` },
  count: {
    type: 'string',
    help: 'training images for the probes: generated data makes this many (default 2000); real data keeps at most this many, stratified (default all)',
  },
  'test-data': { type: 'string', help: "the probes' test images from this source (same forms as --data) instead of from --data" },
  held: { type: 'string', default: '500', help: 'held-out test images' },
  size: { type: 'string', help: 'resize folder images to SIZE x SIZE' },
  fit: {
    type: 'string',
    help: 'how --size meets another aspect ratio: crop (default: cover, keep the centre) | pad (fit inside, pad with 0) | stretch',
  },
  shots: { type: 'string', default: '10', help: 'samples per class for the few-shot ridge probe' },
  k: { type: 'string', default: '20', help: 'neighbours for k-NN' },
  pool: {
    type: 'string',
    default: 'auto',
    help: "auto (the method's own representation: CLS token(s) where the model has them, else the patch mean) | cls | mean",
  },
  epochs: { type: 'string', default: '50', help: 'linear probe epochs' },
  'finetune-steps': { type: 'string', default: '200', help: 'fine-tuning steps' },
  'finetune-lr': {
    type: 'string',
    default: '1e-3',
    help: 'fine-tuning base lr (lr = base * 64 / 256, warmed up over a tenth of the steps)',
  },
  'layer-decay': { type: 'string', default: '0.75', help: 'fine-tuning layer-wise lr decay' },
  'psnr-images': { type: 'string', default: '64', help: 'held-out images for the PSNR (0 skips it)' },
  weights: { type: 'string', default: 'auto', help: 'auto (EMA when present) | ema | params' },
  seed: { type: 'string', default: '0', help: 'seed of the few-shot draw, probe order and PSNR masks' },
  out: { type: 'string', help: 'also write the result as OUT/eval.json' },
  backend: { type: 'string', default: 'auto', help: BACKEND_HELP },
};

/**
 * Table rows of evaluation results: one row per checkpoint, one column per measurement.
 *
 * @example
 * evalRow('mae step 600', result)
 * @since 0.1.0
 */
export const evalRow = (name: string, r: EvalResult): Record<string, string | number> => {
  const pct = (v: number): string => `${(100 * v).toFixed(1)}%`;
  return {
    model: name,
    ...(r.ridge ? { [`ridge ${r.ridge.shots}-shot`]: pct(r.ridge.accuracy), lambda: r.ridge.lambda } : {}),
    ...(r.linear ? { 'linear probe': pct(r.linear.accuracy) } : {}),
    ...(r.knn ? { [`${r.knn.k}-NN`]: pct(r.knn.accuracy) } : {}),
    ...(r.finetune ? { 'fine-tune': pct(r.finetune.accuracy) } : {}),
    ...(r.reconstruction
      ? r.reconstruction.kind === 'masked'
        ? { 'masked PSNR': `${r.reconstruction.psnr.toFixed(2)} dB`, 'masked SSIM': r.reconstruction.ssim.toFixed(3) }
        : { 'PSNR (t=100)': `${r.reconstruction.psnr.toFixed(2)} dB`, 'SSIM (t=100)': r.reconstruction.ssim.toFixed(3) }
      : {}),
  };
};

/**
 * The `tesserae eval` command.
 *
 * @since 0.1.0
 */
export const evalCommand: Command = {
  summary: 'probe a checkpoint: few-shot ridge, linear probe, k-NN, fine-tuning, held-out PSNR; a table and a JSON line',
  flags,
  run: async (argv) => {
    const f = parseFlags(argv, flags);
    const ckpt = str(f, 'checkpoint');
    // the output folder is checked now, not after the work
    const out = f['out'] === undefined ? undefined : str(f, 'out');
    if (out !== undefined) prepareOutputFolder(out);
    const probes = str(f, 'probe')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean) as ProbeKind[];
    for (const p of probes) if (!PROBES.includes(p)) throw new ConfigError('--probe', p, `must be one of ${PROBES.join(', ')}`);
    const pool = choice(f, 'pool', ['auto', 'mean', 'cls'] as const);
    const weights = choice(f, 'weights', ['auto', 'ema', 'params'] as const);
    const seed = integer(f, 'seed', 0);
    const backend = await useBackend(choice(f, 'backend', BACKENDS));
    const m = openModel(ckpt, { weights });
    try {
      const source: DataSource = f['data'] !== undefined ? parseDataSource(str(f, 'data')) : sourceFromMetadata(m.metadata['data'], ckpt);
      const trainSeed = seedFromMetadata(m.metadata['train'], ckpt);
      const size = optional(f, 'size', (g, n) => integer(g, n, 1));
      const { train, held } = loadSplits(source, {
        ...countFromFlags(f, source),
        held: integer(f, 'held', 1),
        ...(f['test-data'] === undefined ? {} : { test: parseDataSource(str(f, 'test-data')) }),
        seed: trainSeed,
        ...(size === undefined ? {} : { size }),
        ...(f['fit'] === undefined ? {} : { fit: choice(f, 'fit', FIT_MODES) }),
      });
      const t0 = performance.now();
      const r = await evaluate(m.model, m.params, train, held, m.norm, {
        probes,
        shots: integer(f, 'shots', 1),
        k: integer(f, 'k', 1),
        pool,
        linear: { epochs: integer(f, 'epochs', 1) },
        finetune: {
          steps: integer(f, 'finetune-steps', 1),
          baseLr: num(f, 'finetune-lr'),
          layerDecay: num(f, 'layer-decay'),
          onStep: (i) => {
            if (i.step % 20 === 0 || i.step === i.steps)
              console.log(`  fine-tune step ${i.step}/${i.steps}  loss ${i.loss.toFixed(4)}  ETA ${duration(i.eta)}`);
          },
        },
        psnrImages: integer(f, 'psnr-images', 0),
        key: fold(key(seed), 'eval'),
      });
      const seconds = (performance.now() - t0) / 1000;
      console.log(table([evalRow(`${m.model.spec.label ?? 'model'} step ${m.step}`, r)]));
      const summary = {
        command: 'eval',
        checkpoint: ckpt,
        step: m.step,
        weights: m.weights,
        backend,
        data: source,
        train: train.count,
        test: held.count,
        ...r,
        seconds: +seconds.toFixed(1),
      };
      if (out !== undefined) writeFileAtomic(join(out, 'eval.json'), `${JSON.stringify(summary, null, 2)}\n`);
      console.log(JSON.stringify(summary));
    } finally {
      disposeParams(m.params);
    }
  },
};

/** The training seed a checkpoint's `train` entry records (0 when absent); a malformed entry is a FormatError naming the file. */
const seedFromMetadata = (entry: string | undefined, file: string): number => {
  let v: unknown;
  try {
    v = JSON.parse(entry ?? '{}');
  } catch {
    throw new FormatError(file, 'metadata train is not valid JSON');
  }
  const seed = typeof v === 'object' && v !== null && 'seed' in v ? v.seed : 0;
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed) || seed < 0)
    throw new FormatError(file, `metadata train.seed ${JSON.stringify(seed) ?? 'undefined'} is not a non-negative integer`);
  return seed;
};

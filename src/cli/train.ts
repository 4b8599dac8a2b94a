/**
 * `tesserae train`: trains a model on a data source, with progress on the terminal and, under
 * the output folder, `log.jsonl`, checkpoints, held-out reconstruction pictures, `config.json`.
 *
 * @since 0.1.0
 */
import { TRAIN_FLAGS } from '../node/runs.js';
import { buildModel } from '../models/build.js';
import { runTrain, type TrainRun } from '../node/run.js';
import { ConfigError } from '../core/errors.js';
import { baseLrFor, METHODS, methodOptions, presetSpec, SIZES, type PresetOptions } from '../models/presets.js';
import type { ModelSpec } from '../models/spec.js';
import { corruptionFile, corruptionFromParts, parseMask, parseNoise, parseObjective, parseTime, specFile } from './algebra.js';
import { RHO_ON, Schedule } from '../corruption/schedule.js';
import { ratio } from '../core/check.js';
import { FIT_MODES } from '../vision/fit.js';
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
import { dataShape, parseDataSource, type DataSource } from '../node/datasets.js';
import { trainConfig } from '../train/trainer.js';

/** Runs `make`; a ConfigError about a training setting (`train.weightDecay`) is re-raised under its flag (`--weight-decay`). */
const onFlags = <T>(make: () => T): T => {
  try {
    return make();
  } catch (e) {
    const flag = e instanceof ConfigError && e.field.startsWith('train.') ? TRAIN_FLAGS[e.field.slice('train.'.length)] : undefined;
    if (e instanceof ConfigError && flag) throw new ConfigError(flag, e.value, e.reason);
    throw e;
  }
};

/** The flags of `tesserae train` (shared with `finetune`). */
export const trainFlags: FlagSpec = {
  method: { type: 'string', default: 'mae', help: 'mae | diffmae | umd | maskdit | dit' },
  preset: {
    type: 'string',
    default: 'micro/4',
    help: `SIZE/PATCH with SIZE one of ${Object.keys(SIZES).join(', ')} (e.g. micro/4, tiny/4), or vit-b/16, vit-l/16, vit-h/14, B/4`,
  },
  data: {
    type: 'string',
    default: 'synthetic',
    help: 'synthetic | fashion-mnist[:DIR] | cifar10:DIR | folder:DIR | npy:IMAGES.npy[:LABELS.npy]; video: synthetic-video | clips:DIR | npy:CLIPS.npy ([N, T, H, W, C])',
  },
  frames: { type: 'string', help: 'video: frames per clip (default 8 for video data); makes the model a video model' },
  tubelet: { type: 'string', help: 'video: frames per tubelet token (default 2)' },
  'mask-kind': { type: 'string', help: 'random | tube | frame (tube and frame for video), at the method ratios (default random)' },
  count: {
    type: 'string',
    help: 'training images: generated data makes this many (default 2000); real data keeps at most this many, stratified (default all)',
  },
  'test-data': { type: 'string', help: 'take the held-out images from this source (same forms as --data) instead of from --data' },
  held: { type: 'string', default: '200', help: 'held-out images (pictures and PSNR)' },
  size: { type: 'string', help: 'resize folder images to SIZE x SIZE' },
  fit: {
    type: 'string',
    help: 'how --size meets another aspect ratio: crop (default: cover, keep the centre) | pad (fit inside, pad with 0) | stretch',
  },
  steps: { type: 'string', default: '200', help: 'optimiser steps' },
  batch: { type: 'string', default: '64', help: 'images per micro-batch' },
  accum: { type: 'string', default: '1', help: 'micro-batches per step (gradient accumulation)' },
  'base-lr': {
    type: 'string',
    help: `lr = base-lr * batch * accum / 256 (default: the preset size's, ${Object.entries(SIZES)
      .map(([k, v]) => `${k} ${v.baseLr}`)
      .join(', ')})`,
  },
  'min-lr': { type: 'string', default: '0', help: 'final learning rate of the cosine' },
  warmup: { type: 'string', help: 'warmup steps (default 5% of the steps)' },
  'weight-decay': { type: 'string', default: '0.05', help: 'AdamW weight decay (dense kernels only)' },
  clip: { type: 'string', help: 'clip the global gradient norm to this value' },
  'mask-ratio': { type: 'string', help: "share of patches removed (default: the preset's, 0.75)" },
  'norm-pix': { type: 'boolean', default: false, help: 'MAE: normalise target patches (norm_pix_loss)' },
  decoder: { type: 'string', help: "DiffMAE decoder: cross | cross-self | joint (default: the preset's)" },
  'top-down': { type: 'boolean', default: false, help: 'DiffMAE: decoder block i reads encoder block depth-1-i' },
  schedule: {
    type: 'string',
    help: "noise schedule: cosine | linear (1e-4..0.02) (default the preset's: cosine; DiT linear, its reference's)",
  },
  rho: { type: 'string', help: 'exponent on the schedule (default 1; applied as --rho-on says)' },
  'rho-on': { type: 'string', help: 'what --rho raises: alphaBar (alphaBar^rho, default) | betas (beta^rho, capped at 0.999)' },
  target: { type: 'string', help: 'DiffMAE: what the decoder predicts: x0 | eps (default x0)' },
  'clean-share': { type: 'string', help: 'UMD, or a corruption from flags: share r0 of each batch at t = 0 (UMD default 0.5)' },
  spec: { type: 'string', help: 'a whole model spec as JSON ({ image, corruption, network }): any value of the algebra' },
  corruption: { type: 'string', help: "a corruption as JSON, replacing the preset's (the network stays the preset's)" },
  mask: { type: 'string', help: 'corruption from flags: random:R | center:R | block:TOP,LEFT,H,W | tube:R | frame:R | none' },
  noise: { type: 'string', help: 'corruption from flags: none | masked | all (default none), on --schedule' },
  time: { type: 'string', help: 'corruption from flags: zero | uniform | T | LO-HI (default zero without noise, uniform with)' },
  objective: { type: 'string', help: 'corruption from flags: TARGET:REGION[:WEIGHT][:normpix],... e.g. eps:visible:0.5,x0:masked:0.5' },
  'clean-ratio': { type: 'string', help: 'UMD: mask ratio of the clean share (default 0.75)' },
  'noised-ratio': { type: 'string', help: 'UMD: mask ratio of the noised share (default 0.375; 0 = no mask)' },
  'cls-tokens': { type: 'string', help: 'UMD: CLS tokens (default 4)' },
  conditioning: { type: 'string', help: 'UMD, DiT, MaskDiT: adaln | token (default adaln)' },
  pos: { type: 'string', help: "UMD, DiT, MaskDiT: learned | sincos positions (default learned; DiT sincos, its reference's)" },
  'label-embedding': {
    type: 'string',
    help: "UMD, DiT, MaskDiT: how a class becomes a vector: table (DiT's LabelEmbedder; DiT's default) | table-mlp (a table then a dense trunk; UMD's and MaskDiT's)",
  },
  'ada-norm': {
    type: 'string',
    help: "UMD, DiT, MaskDiT with adaLN: the LayerNorms before each modulation: affine (UMD's reference; UMD's default) | plain (DiT's)",
  },
  activation: { type: 'string', help: "UMD, DiT, MaskDiT: the blocks' MLP activation: gelu (exact) | gelu-tanh (DiT's default)" },
  embedding: {
    type: 'string',
    help: "UMD, DiT, MaskDiT: how t and the class become the condition: time-emb (UMD's reference TimeEmb and 2x trunks; UMD's default) | timestep-embedder (DiT's TimestepEmbedder; DiT's and MaskDiT's default)",
  },
  seed: { type: 'string', default: '0', help: 'seed for data order, masks, noise and params' },
  backend: { type: 'string', default: 'auto', help: BACKEND_HELP },
  out: { type: 'string', default: 'runs/train', help: 'output folder' },
  'checkpoint-every': { type: 'string', default: '50', help: 'steps between checkpoints' },
  'log-every': { type: 'string', default: '10', help: 'steps between progress lines' },
  ema: { type: 'string', help: 'keep an EMA of the weights with this decay (e.g. 0.999)' },
  threads: { type: 'string', default: '1', help: 'threads computing micro-batch gradients (use with --accum; results do not change)' },
  resume: {
    type: 'boolean',
    default: false,
    help: 'continue the run in OUT from its newest complete checkpoint (same data, model and settings; --steps may grow)',
  },
  force: {
    type: 'boolean',
    default: false,
    help: 'OUT holds a run: delete its log.jsonl, config.json, curves.png, checkpoints and pictures, and start over',
  },
};

/** Frames per clip the flags ask for: --frames, or 8 for a video data source; undefined for images. */
const framesFromFlags = (f: Flags): number | undefined => {
  const frames = optional(f, 'frames', (g, n) => integer(g, n, 1));
  if (frames !== undefined) return frames;
  const src = parseDataSource(str(f, 'data'));
  return src.kind === 'synthetic-video' || src.kind === 'clips' ? 8 : undefined;
};

/** `--count`: given, or 2000 for generated data; absent (all images) for real data. */
export const countFromFlags = (f: Flags, source: DataSource): { readonly count?: number } => {
  const n = optional(f, 'count', (g, k) => integer(g, k, 1));
  if (n !== undefined) return { count: n };
  return source.kind === 'synthetic' || source.kind === 'synthetic-video' ? { count: 2000 } : {};
};

/** The flag of each preset option (`--clean-share` sets `cleanShare`, ...). */
const OPTION_FLAGS: Readonly<Record<keyof PresetOptions, string>> = {
  image: 'size',
  tubelet: 'tubelet',
  maskKind: 'mask-kind',
  maskRatio: 'mask-ratio',
  normPix: 'norm-pix',
  decoder: 'decoder',
  topDown: 'top-down',
  schedule: 'schedule',
  target: 'target',
  cleanShare: 'clean-share',
  cleanRatio: 'clean-ratio',
  noisedRatio: 'noised-ratio',
  clsTokens: 'cls-tokens',
  conditioning: 'conditioning',
  pos: 'pos',
  embedding: 'embedding',
  labelEmbedding: 'label-embedding',
  activation: 'activation',
  adaNorm: 'ada-norm',
};

/** The flags that write a corruption from the algebra (replacing the preset's). */
const ALGEBRA_FLAGS = ['mask', 'noise', 'time', 'objective'] as const;

const given = (f: Flags, flag: string): boolean => f[flag] !== undefined && f[flag] !== false;

/** The schedule --schedule, --rho and --rho-on ask for (default cosine, rho 1 on alphaBar), or undefined when none is given. */
const scheduleFromFlags = (f: Flags): Schedule | undefined => {
  if (!given(f, 'schedule') && !given(f, 'rho') && !given(f, 'rho-on')) return undefined;
  const rho = optional(f, 'rho', num) ?? 1;
  const rhoOn = optional(f, 'rho-on', (g, n) => choice(g, n, RHO_ON)) ?? 'alphaBar';
  const kind = optional(f, 'schedule', (g, n) => choice(g, n, ['cosine', 'linear'] as const)) ?? 'cosine';
  return kind === 'cosine' ? Schedule.cosine({ rho, rhoOn }) : Schedule.linear({ rho, rhoOn });
};

/**
 * The model spec the train flags describe: `--spec FILE` (a whole spec), or the preset of
 * `--method` (its options from the flags, checked against what the method takes), with its
 * corruption replaced by `--corruption FILE` or by the algebra flags (`--mask`, `--noise`,
 * `--time`, `--objective`, `--clean-share`) when given.
 */
export const specFromFlags = (f: Flags): ModelSpec => {
  if (given(f, 'spec')) {
    const clash = [...ALGEBRA_FLAGS, 'corruption', ...Object.values(OPTION_FLAGS).filter((k) => k !== 'size')].find((k) => given(f, k));
    if (clash) throw new ConfigError(`--${clash}`, f[clash], '--spec gives the whole model; edit the file instead');
    return specFile(str(f, 'spec'));
  }
  const method = choice(f, 'method', METHODS);
  const algebra = ALGEBRA_FLAGS.some((k) => given(f, k)) || given(f, 'corruption');
  const frames = framesFromFlags(f);
  const size = optional(f, 'size', (g, n) => integer(g, n, 1));
  const source = parseDataSource(str(f, 'data'));
  const generated = source.kind === 'synthetic' || source.kind === 'synthetic-video';
  const options: PresetOptions = {
    // real data decides the image shape (28 x 28 x 1 for Fashion-MNIST); generated data follows --size
    ...(!generated
      ? {
          image: dataShape(source, {
            held: 1,
            seed: 0,
            ...(size === undefined ? {} : { size }),
            ...(frames === undefined ? {} : { frames }),
          }),
        }
      : {}),
    ...(generated && size !== undefined ? { image: [size, size, 3] as const } : {}),
    ...(generated && frames !== undefined ? { image: [frames, size ?? 32, size ?? 32, 3] as const } : {}),
    ...(optional(f, 'tubelet', (g, n) => integer(g, n, 1)) === undefined ? {} : { tubelet: integer(f, 'tubelet', 1) }),
    ...(given(f, 'mask-kind') ? { maskKind: choice(f, 'mask-kind', ['random', 'tube', 'frame'] as const) } : {}),
    ...(given(f, 'mask-ratio') ? { maskRatio: ratio('--mask-ratio', num(f, 'mask-ratio')) } : {}),
    ...(given(f, 'norm-pix') ? { normPix: true } : {}),
    ...(given(f, 'decoder') ? { decoder: choice(f, 'decoder', ['cross', 'cross-self', 'joint'] as const) } : {}),
    ...(given(f, 'top-down') ? { topDown: true } : {}),
    ...(algebra ? {} : scheduleFromFlags(f) === undefined ? {} : { schedule: scheduleFromFlags(f)! }),
    ...(given(f, 'target') ? { target: choice(f, 'target', ['x0', 'eps'] as const) } : {}),
    ...(given(f, 'clean-share') && !algebra ? { cleanShare: ratio('--clean-share', num(f, 'clean-share')) } : {}),
    ...(given(f, 'clean-ratio') ? { cleanRatio: ratio('--clean-ratio', num(f, 'clean-ratio')) } : {}),
    ...(given(f, 'noised-ratio') ? { noisedRatio: ratio('--noised-ratio', num(f, 'noised-ratio')) } : {}),
    ...(given(f, 'cls-tokens') ? { clsTokens: integer(f, 'cls-tokens', 0) } : {}),
    ...(given(f, 'conditioning') ? { conditioning: choice(f, 'conditioning', ['adaln', 'token'] as const) } : {}),
    ...(given(f, 'pos') ? { pos: choice(f, 'pos', ['learned', 'sincos'] as const) } : {}),
    ...(given(f, 'embedding') ? { embedding: choice(f, 'embedding', ['timestep-embedder', 'time-emb'] as const) } : {}),
    ...(given(f, 'label-embedding') ? { labelEmbedding: choice(f, 'label-embedding', ['table', 'table-mlp'] as const) } : {}),
    ...(given(f, 'activation') ? { activation: choice(f, 'activation', ['gelu', 'gelu-tanh'] as const) } : {}),
    ...(given(f, 'ada-norm') ? { adaNorm: choice(f, 'ada-norm', ['plain', 'affine'] as const) } : {}),
  };
  if (frames === undefined && options.tubelet !== undefined)
    throw new ConfigError('--tubelet', options.tubelet, 'applies to video (--frames or video data)');
  if (options.maskKind !== undefined && options.maskKind !== 'random' && frames === undefined)
    throw new ConfigError('--mask-kind', options.maskKind, 'tube and frame masks need video (--frames or video data)');
  // each option must be one the method takes: the presets table says which
  for (const [k, v] of Object.entries(options) as [keyof PresetOptions, unknown][]) {
    if (k === 'image' || k === 'tubelet' || k === 'maskKind') continue;
    if (!methodOptions[method].includes(k)) {
      const takers = METHODS.filter((m) => methodOptions[m].includes(k));
      throw new ConfigError(`--${OPTION_FLAGS[k]}`, v, `applies to --method ${takers.join(' or ')} only${algebra ? '' : ''}`);
    }
  }
  const preset = ((): ModelSpec => {
    try {
      return presetSpec(method, str(f, 'preset'), options);
    } catch (e) {
      if (e instanceof ConfigError) {
        // presetSpec names its argument `preset`; on the command line that is the flag --preset
        if (e.field === 'preset') throw new ConfigError('--preset', e.value, e.reason);
        // a mask ratio the corruption refuses came from one of the ratio flags: name that flag
        if (e.field === 'branch.mask.ratio') {
          const k = (['maskRatio', 'cleanRatio', 'noisedRatio'] as const).find((o) => options[o] !== undefined && options[o] === e.value);
          if (k) throw new ConfigError(`--${OPTION_FLAGS[k]}`, e.value, e.reason);
        }
      }
      throw e;
    }
  })();
  if (!algebra) return preset;
  if (given(f, 'corruption') && ALGEBRA_FLAGS.some((k) => given(f, k)))
    throw new ConfigError('--corruption', f['corruption'], 'gives the whole corruption; leave out --mask, --noise, --time and --objective');
  const corruption = given(f, 'corruption')
    ? corruptionFile(str(f, 'corruption'))
    : (() => {
        if (!given(f, 'mask') || !given(f, 'objective'))
          throw new ConfigError(
            given(f, 'mask') ? '--objective' : '--mask',
            undefined,
            'a corruption from flags needs --mask and --objective (and --noise, --time)',
          );
        const noise = parseNoise(optional(f, 'noise', str) ?? 'none', scheduleFromFlags(f) ?? Schedule.cosine());
        const time = parseTime(optional(f, 'time', str) ?? (noise.placement === 'none' ? 'zero' : 'uniform'));
        const branch = { mask: parseMask(str(f, 'mask')), noise, time, objective: parseObjective(str(f, 'objective')) };
        const cleanShare = optional(f, 'clean-share', (g, n) => ratio('--clean-share', num(g, n)));
        return corruptionFromParts(preset.corruption.patching, branch, cleanShare);
      })();
  if (corruption.patching.size !== preset.corruption.patching.size || corruption.patching.kind !== preset.corruption.patching.kind)
    throw new ConfigError(
      '--corruption',
      corruption.patching,
      `patches differently from the ${str(f, 'preset')} network (${JSON.stringify(preset.corruption.patching)})`,
    );
  return { ...preset, corruption, label: `custom corruption, ${preset.label ?? method} network` };
};

/**
 * The train run the flags describe (shared with `finetune`).
 *
 * @since 0.1.0
 */
export const runFromFlags = (f: Flags, spec: ModelSpec): TrainRun => {
  const warmup = optional(f, 'warmup', (g, n) => integer(g, n, 0));
  const clip = optional(f, 'clip', num);
  const size = optional(f, 'size', (g, n) => integer(g, n, 1));
  return {
    spec,
    label: spec.label ?? str(f, 'preset'),
    data: parseDataSource(str(f, 'data')),
    ...countFromFlags(f, parseDataSource(str(f, 'data'))),
    ...(given(f, 'test-data') ? { test: parseDataSource(str(f, 'test-data')) } : {}),
    held: integer(f, 'held', 1),
    ...(size === undefined ? {} : { size }),
    ...(given(f, 'fit') ? { fit: choice(f, 'fit', FIT_MODES) } : {}),
    ...(framesFromFlags(f) === undefined ? {} : { frames: framesFromFlags(f)! }),
    train: onFlags(() =>
      trainConfig({
        steps: integer(f, 'steps', 1),
        batch: batchSize(f, 'batch', spec.image),
        accum: integer(f, 'accum', 1),
        baseLr: given(f, 'base-lr') ? num(f, 'base-lr') : baseLrFor(spec),
        minLr: num(f, 'min-lr'),
        weightDecay: num(f, 'weight-decay'),
        seed: integer(f, 'seed', 0),
        ...(f['ema'] === undefined ? {} : { ema: num(f, 'ema') }),
        ...(warmup === undefined ? {} : { warmup }),
        ...(clip === undefined ? {} : { clip }),
      }),
    ),
    backend: choice(f, 'backend', BACKENDS),
    out: str(f, 'out'),
    checkpointEvery: integer(f, 'checkpoint-every', 1),
    logEvery: integer(f, 'log-every', 1),
    resume: f['resume'] === true,
    force: f['force'] === true,
    threads: threadsFlag(f, integer(f, 'accum', 1)),
    // a terminal gets a progress bar redrawn in place; a pipe or a file gets plain lines
    ...(process.stdout.isTTY === true ? { bar: (text: string) => void process.stdout.write(text) } : {}),
    log: (line) => console.log(line),
  };
};

/**
 * The `tesserae train` command.
 *
 * @since 0.1.0
 */
export const trainCommand: Command = {
  summary:
    'train MAE, DiffMAE, UMD, MaskDiT or DiT on the embedded synthetic data (or CIFAR-10, an image folder, .npy, synthetic or real video clips), with checkpoints and pictures',
  flags: trainFlags,
  run: async (argv) => {
    const f = parseFlags(argv, trainFlags);
    const spec = specFromFlags(f);
    buildModel(spec); // the spec checked (pairing, masks that leave patches visible) before anything is written
    await runTrain(runFromFlags(f, spec));
  },
};

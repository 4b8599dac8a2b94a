#!/usr/bin/env node
/**
 * The `tesserae` command line.
 *
 * @since 0.1.0
 */
import { TesseraeError } from '../core/errors.js';
import { ratio } from '../core/check.js';
import { ConfigError } from '../core/errors.js';
import { MAE_PRESETS, type MaePreset } from '../models/mae.js';
import { parseDataSource } from '../node/datasets.js';
import { trainConfig } from '../train/trainer.js';
import { choice, integer, num, parseFlags, str, usage, type FlagSpec, type Flags } from './args.js';
import { runDemo } from './demo.js';
import { runReconstruct } from './reconstruct.js';
import { runTrain } from './train.js';

interface Command {
  readonly summary: string;
  readonly flags: FlagSpec;
  readonly run: (argv: readonly string[]) => Promise<void>;
}

const demoFlags: FlagSpec = {
  out: { type: 'string', default: 'runs/demo', help: 'output folder' },
  seed: { type: 'string', default: '0', help: 'seed for data, masks, noise and params' },
  count: { type: 'string', default: '8', help: 'number of synthetic images' },
  backend: { type: 'string', default: 'auto', help: 'cpu | wasm | auto' },
};

const BACKENDS = ['cpu', 'wasm', 'auto'] as const;

const trainFlags: FlagSpec = {
  preset: { type: 'string', default: 'micro/4', help: `MAE preset: ${Object.keys(MAE_PRESETS).join(', ')}` },
  data: { type: 'string', default: 'synthetic', help: 'synthetic | cifar10:DIR | folder:DIR | npy:IMAGES.npy[:LABELS.npy]' },
  count: { type: 'string', default: '2000', help: 'synthetic training images' },
  held: { type: 'string', default: '200', help: 'held-out images (pictures and PSNR)' },
  size: { type: 'string', help: 'resize folder images to SIZE x SIZE' },
  steps: { type: 'string', default: '200', help: 'optimiser steps' },
  batch: { type: 'string', default: '64', help: 'images per micro-batch' },
  accum: { type: 'string', default: '1', help: 'micro-batches per step (gradient accumulation)' },
  'base-lr': { type: 'string', default: '1.5e-4', help: 'lr = base-lr * batch * accum / 256' },
  'min-lr': { type: 'string', default: '0', help: 'final learning rate of the cosine' },
  warmup: { type: 'string', help: 'warmup steps (default 5% of the steps)' },
  'weight-decay': { type: 'string', default: '0.05', help: 'AdamW weight decay (dense kernels only)' },
  clip: { type: 'string', help: 'clip the global gradient norm to this value' },
  'mask-ratio': { type: 'string', default: '0.75', help: 'share of patches removed' },
  'norm-pix': { type: 'boolean', default: false, help: 'normalise target patches (norm_pix_loss)' },
  seed: { type: 'string', default: '0', help: 'seed for data order, masks, noise and params' },
  backend: { type: 'string', default: 'auto', help: 'cpu | wasm | auto' },
  out: { type: 'string', default: 'runs/mae', help: 'output folder' },
  'checkpoint-every': { type: 'string', default: '50', help: 'steps between checkpoints' },
  'log-every': { type: 'string', default: '10', help: 'steps between progress lines' },
  resume: { type: 'boolean', default: false, help: 'continue from OUT/checkpoints/latest.safetensors if present' },
};

const reconstructFlags: FlagSpec = {
  weights: { type: 'string', help: 'reference-named MAE weights (.safetensors)' },
  images: { type: 'string', help: 'float32 N x H x W x 3 .npy, fed as is' },
  noise: { type: 'string', help: 'float32 N x L .npy: the per-sample noise that masking sorts' },
  'mask-ratio': { type: 'string', default: '0.75', help: 'share of patches removed' },
  heads: { type: 'string', help: 'encoder attention heads' },
  'decoder-heads': { type: 'string', help: 'decoder attention heads' },
  'norm-pix': { type: 'boolean', default: false, help: 'the model was trained with norm_pix_loss' },
  display: { type: 'string', help: 'undo this normalisation in the picture only: imagenet | MEAN,MEAN,MEAN/STD,STD,STD' },
  out: { type: 'string', help: 'output folder' },
  backend: { type: 'string', default: 'auto', help: 'cpu | wasm | auto' },
};

const optional = <T>(f: Flags, name: string, read: (f: Flags, name: string) => T): T | undefined =>
  f[name] === undefined ? undefined : read(f, name);

const display = (s: string | undefined): { mean: number[]; std: number[] } | undefined => {
  if (s === undefined) return undefined;
  if (s === 'imagenet') return { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };
  const m = /^([^/]+)\/([^/]+)$/.exec(s);
  const parse = (x: string): number[] => x.split(',').map(Number);
  const out = m ? { mean: parse(m[1]!), std: parse(m[2]!) } : null;
  if (
    !out ||
    out.mean.length !== 3 ||
    out.std.length !== 3 ||
    [...out.mean, ...out.std].some((v) => !Number.isFinite(v)) ||
    out.std.some((v) => v <= 0)
  ) {
    throw new ConfigError('--display', s, 'must be imagenet or MEAN,MEAN,MEAN/STD,STD,STD');
  }
  return out;
};

const commands: Record<string, Command> = {
  train: {
    summary: 'train MAE on the embedded synthetic data (or CIFAR-10, an image folder, .npy), with checkpoints and pictures',
    flags: trainFlags,
    run: async (argv) => {
      const f = parseFlags(argv, trainFlags);
      const preset = choice(f, 'preset', Object.keys(MAE_PRESETS) as MaePreset[]);
      const warmup = optional(f, 'warmup', (g, n) => integer(g, n, 0));
      const clip = optional(f, 'clip', num);
      const size = optional(f, 'size', (g, n) => integer(g, n, 1));
      await runTrain({
        preset,
        normPix: f['norm-pix'] === true,
        maskRatio: ratio('--mask-ratio', num(f, 'mask-ratio')),
        data: parseDataSource(str(f, 'data')),
        count: integer(f, 'count', 1),
        held: integer(f, 'held', 1),
        ...(size === undefined ? {} : { size }),
        train: trainConfig({
          steps: integer(f, 'steps', 1),
          batch: integer(f, 'batch', 1),
          accum: integer(f, 'accum', 1),
          baseLr: num(f, 'base-lr'),
          minLr: num(f, 'min-lr'),
          weightDecay: num(f, 'weight-decay'),
          seed: integer(f, 'seed', 0),
          ...(warmup === undefined ? {} : { warmup }),
          ...(clip === undefined ? {} : { clip }),
        }),
        backend: choice(f, 'backend', BACKENDS),
        out: str(f, 'out'),
        checkpointEvery: integer(f, 'checkpoint-every', 1),
        logEvery: integer(f, 'log-every', 1),
        resume: f['resume'] === true,
        log: (line) => console.log(line),
      });
    },
  },
  reconstruct: {
    summary: 'MAE reconstruction with reference-named weights and a mask from given noise; writes pred.npy, mask.npy, a PNG grid',
    flags: reconstructFlags,
    run: async (argv) => {
      const f = parseFlags(argv, reconstructFlags);
      const shown = display(optional(f, 'display', str));
      await runReconstruct({
        weights: str(f, 'weights'),
        images: str(f, 'images'),
        noise: str(f, 'noise'),
        maskRatio: ratio('--mask-ratio', num(f, 'mask-ratio')),
        heads: integer(f, 'heads', 1),
        decoderHeads: integer(f, 'decoder-heads', 1),
        normPix: f['norm-pix'] === true,
        out: str(f, 'out'),
        backend: choice(f, 'backend', BACKENDS),
        ...(shown ? { display: shown } : {}),
        log: (line) => console.log(line),
      });
    },
  },
  demo: {
    summary: 'the corruption algebra on the embedded synthetic data: MAE, DiffMAE, UMD, MaskDiT and DiT side by side',
    flags: demoFlags,
    run: async (argv) => {
      const f = parseFlags(argv, demoFlags);
      await runDemo({
        out: str(f, 'out'),
        seed: integer(f, 'seed', 0),
        count: integer(f, 'count', 1),
        backend: choice(f, 'backend', BACKENDS),
        log: (line) => console.log(line),
      });
    },
  },
};

const help = (): string =>
  [
    'usage: tesserae <command> [flags]',
    '',
    ...Object.entries(commands).map(([k, c]) => `  ${k.padEnd(12)}${c.summary}`),
    '',
    'tesserae <command> --help for its flags',
  ].join('\n');

export const main = async (argv: readonly string[]): Promise<number> => {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    console.log(help());
    return name === undefined ? 2 : 0;
  }
  const cmd = commands[name];
  if (!cmd) {
    console.error(`tesserae: unknown command ${JSON.stringify(name)}\n\n${help()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(usage(name, cmd.summary, cmd.flags));
    return 0;
  }
  try {
    await cmd.run(rest);
    return 0;
  } catch (e) {
    if (e instanceof TesseraeError) {
      console.error(`tesserae ${name}: ${e.name}: ${e.message}`);
      return 2;
    }
    throw e;
  }
};

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  },
);

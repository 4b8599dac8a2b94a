#!/usr/bin/env node
/**
 * The `tesserae` command line.
 *
 * @since 0.1.0
 */
import { TesseraeError } from '../core/errors.js';
import { ratio } from '../core/check.js';
import { ConfigError } from '../core/errors.js';
import {
  BACKEND_HELP,
  BACKENDS,
  choice,
  DECIMAL,
  integer,
  nearest,
  num,
  optional,
  parseFlags,
  str,
  usage,
  type Command,
  type FlagSpec,
} from './args.js';
import { runDemo } from './demo.js';
import { runReconstruct } from './reconstruct.js';
import { trainCommand } from './train.js';
import { inpaintCommand } from './inpaint.js';
import { finetuneCommand } from './finetune.js';
import { sampleCommand } from './sample.js';
import { evalCommand } from './evaluate.js';
import { compareCommand } from './compare.js';
import { plotCommand } from './plot.js';
import { exportCommand } from './export.js';
import { packageVersion } from './version.js';

const demoFlags: FlagSpec = {
  out: { type: 'string', default: 'runs/demo', help: 'output folder' },
  seed: { type: 'string', default: '0', help: 'seed for data, masks, noise and params' },
  count: { type: 'string', default: '8', help: 'number of synthetic images' },
  backend: { type: 'string', default: 'auto', help: BACKEND_HELP },
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
  backend: { type: 'string', default: 'auto', help: BACKEND_HELP },
};

const display = (s: string | undefined): { mean: number[]; std: number[] } | undefined => {
  if (s === undefined) return undefined;
  if (s === 'imagenet') return { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };
  const m = /^([^/]+)\/([^/]+)$/.exec(s);
  // the number grammar of every flag; a part outside it reads as NaN, refused below with the whole value
  const parse = (x: string): number[] => x.split(',').map((v) => (DECIMAL.test(v) ? Number(v) : NaN));
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
  train: trainCommand,
  inpaint: inpaintCommand,
  finetune: finetuneCommand,
  sample: sampleCommand,
  eval: evalCommand,
  compare: compareCommand,
  plot: plotCommand,
  export: exportCommand,
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
    'tesserae <command> --help for its flags; tesserae --version (-v) for the version',
  ].join('\n');

export const main = async (argv: readonly string[]): Promise<number> => {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    console.log(help());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-v') {
    console.log(packageVersion());
    return 0;
  }
  if (name.startsWith('-')) {
    // a flag where the command should be: name the flag, not the whole command line
    const near = nearest(name.replace(/^-+/, ''), ['help', 'version']);
    console.error(
      `tesserae: ${JSON.stringify(name)} is not a command; the command comes first, then its flags (tesserae <command> ${name} ...)${near.length ? `; did you mean ${near.map((n) => `--${n}`).join(' or ')}?` : ''}\n\n${help()}`,
    );
    return 2;
  }
  const cmd = Object.prototype.hasOwnProperty.call(commands, name) ? commands[name] : undefined;
  if (!cmd) {
    const near = nearest(name, Object.keys(commands));
    console.error(
      `tesserae: unknown command ${JSON.stringify(name)}${near.length ? `; did you mean ${near.join(' or ')}?` : ''}\n\n${help()}`,
    );
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

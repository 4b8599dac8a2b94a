/**
 * `tesserae sample`: class-conditional samples from a fine-tuned UMD (or DiT, MaskDiT) checkpoint
 * with classifier-free guidance; one PNG grid per class.
 *
 * @since 0.1.0
 */
import { join } from 'node:path';
import { ConfigError } from '../core/errors.js';
import { fold, key } from '../core/key.js';
import { disposeParams } from '../core/params.js';
import { useBackend } from '../backends/index.js';
import { generateImages } from '../models/sampling.js';
import { wholeImageBranch } from '../corruption/questions.js';
import { TIMESTEP_GRIDS, Sampler } from '../diffusion/sampler.js';
import { dataRange } from '../eval/heldout.js';
import { tileImages, toImage8 } from '../io/images.js';
import { openModel } from '../node/checkpoint.js';
import { prepareOutputFolder, writePng } from '../node/files.js';
import { BACKEND_HELP, BACKENDS, choice, integer, num, parseFlags, str, type Command, type FlagSpec } from './args.js';
import { classNames, fileSafe, parseClass } from './classes.js';

const flags: FlagSpec = {
  checkpoint: { type: 'string', help: 'a class-conditional checkpoint (from tesserae finetune)' },
  class: { type: 'string', default: 'all', help: 'a class name (as in the file names) or index, or all' },
  guidance: { type: 'string', default: '3', help: 'classifier-free guidance scale (0 unconditional, 1 conditional)' },
  sampler: { type: 'string', default: 'ddim', help: 'ddim | ddpm' },
  steps: { type: 'string', default: '50', help: "sampler steps (DDIM, or respaced DDPM; the schedule's step count = every step)" },
  grid: {
    type: 'string',
    default: 'space-timesteps',
    help: `timestep grid: ${TIMESTEP_GRIDS.join(' | ')} (arange: UMD's DDIM, steps + 1 calls)`,
  },
  eta: { type: 'string', default: '1', help: 'DDIM eta (UMD samples with 1)' },
  count: { type: 'string', default: '8', help: 'samples per class' },
  seed: { type: 'string', default: '0', help: 'seed of the sampler' },
  out: { type: 'string', help: 'output folder' },
  backend: { type: 'string', default: 'auto', help: BACKEND_HELP },
};

/**
 * The `tesserae sample` command.
 *
 * @since 0.1.0
 */
export const sampleCommand: Command = {
  summary: 'class-conditional samples with classifier-free guidance from a fine-tuned checkpoint; a PNG grid per class',
  flags,
  run: async (argv) => {
    const f = parseFlags(argv, flags);
    const ckpt = str(f, 'checkpoint');
    const out = str(f, 'out');
    prepareOutputFolder(out);
    const backend = await useBackend(choice(f, 'backend', BACKENDS));
    const { model, params, norm, weights, metadata: meta } = openModel(ckpt);
    if (!wholeImageBranch(model.corruption))
      throw new ConfigError(
        '--checkpoint',
        ckpt,
        'holds a model that never noises the whole image, so it does not sample (MAE, DiffMAE); sampling needs UMD, MaskDiT or DiT',
      );
    const classes = model.classes;
    if (classes === undefined)
      throw new ConfigError('--checkpoint', ckpt, 'is not class-conditional; fine-tune it first (tesserae finetune)');
    const names = classNames(meta, classes);
    const which = parseClass(str(f, 'class'), names, classes);
    const count = integer(f, 'count', 1);
    const guidance = num(f, 'guidance');
    const sampler =
      choice(f, 'sampler', ['ddim', 'ddpm'] as const) === 'ddpm'
        ? Sampler.ddpm({ steps: integer(f, 'steps', 1), grid: choice(f, 'grid', TIMESTEP_GRIDS) })
        : Sampler.ddim({ steps: integer(f, 'steps', 1), eta: num(f, 'eta'), grid: choice(f, 'grid', TIMESTEP_GRIDS) });
    const { height: h, width: w, channels: c } = model.grid;
    const t0 = performance.now();
    const written: string[] = [];
    for (const k of which) {
      const x = generateImages(model, params, norm, {
        labels: new Array<number>(count).fill(k),
        guidance,
        sampler,
        key: fold(key(integer(f, 'seed', 0)), k),
        clip: dataRange(norm),
        batch: count,
      });
      const per = h * w * c;
      const cells = Array.from({ length: count }, (_, i) => toImage8(x.images.subarray(i * per, (i + 1) * per), h, w, c));
      const file = join(out, `class-${k}${names[k] ? `-${fileSafe(names[k])}` : ''}.png`);
      writePng(file, tileImages([cells], { scale: h <= 64 ? 3 : 1, pad: 3, rowTitles: [names[k] ?? `class ${k}`] }));
      written.push(file);
    }
    disposeParams(params);
    console.log(`wrote ${written.length} grid(s) to ${out}`);
    console.log(
      JSON.stringify({
        command: 'sample',
        model: model.spec.label ?? 'model',
        backend,
        classes: which,
        classNames: which.map((k) => names[k] ?? null),
        count,
        guidance,
        sampler,
        seconds: +((performance.now() - t0) / 1000).toFixed(2),
        ema: weights === 'ema',
        files: written,
      }),
    );
  },
};

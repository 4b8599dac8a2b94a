/**
 * `tesserae sample`: class-conditional samples from a fine-tuned UMD (or DiT, MaskDiT) checkpoint
 * with classifier-free guidance; one PNG grid per class.
 *
 * @since 0.1.0
 */
import { join } from 'node:path';
import { ConfigError, FormatError } from '../core/errors.js';
import { fold, key } from '../core/key.js';
import { disposeParams, type Params } from '../core/params.js';
import { spec } from '../core/spec.js';
import { tf } from '../core/tf.js';
import { useBackend } from '../backends/index.js';
import { generate } from '../diffusion/generate.js';
import { Sampler } from '../diffusion/sampler.js';
import { dataRange, type Norm } from '../eval/heldout.js';
import { tileImages, toImage8 } from '../io/images.js';
import { buildModel, specFromMetadata } from '../models/registry.js';
import { loadCheckpoint, readCheckpointMetadata } from '../node/checkpoint.js';
import { writePng } from '../node/files.js';
import { gridOf, unpatchifyOp } from '../vision/patchify.js';
import { BACKENDS, choice, integer, num, parseFlags, str, type Command, type FlagSpec } from './args.js';
import { SYNTHETIC_CLASSES } from '../data/synthetic.js';

const flags: FlagSpec = {
  checkpoint: { type: 'string', help: 'a class-conditional checkpoint (from tesserae finetune)' },
  class: { type: 'string', default: 'all', help: 'class id, or all' },
  guidance: { type: 'string', default: '3', help: 'classifier-free guidance scale (0 unconditional, 1 conditional)' },
  sampler: { type: 'string', default: 'ddim', help: 'ddim | ddpm' },
  steps: { type: 'string', default: '50', help: 'DDIM steps' },
  eta: { type: 'string', default: '1', help: 'DDIM eta (UMD samples with 1)' },
  count: { type: 'string', default: '8', help: 'samples per class' },
  seed: { type: 'string', default: '0', help: 'seed of the sampler' },
  out: { type: 'string', help: 'output folder' },
  backend: { type: 'string', default: 'auto', help: 'cpu | wasm | auto' },
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
    const meta = readCheckpointMetadata(ckpt);
    const built = buildModel(specFromMetadata(meta, ckpt));
    if (built.method === 'mae' || built.method === 'diffmae')
      throw new ConfigError('--checkpoint', ckpt, `holds a ${built.method} model; sampling needs umd, maskdit or dit`);
    const classes = built.model.config.classes;
    if (classes === undefined)
      throw new ConfigError('--checkpoint', ckpt, 'is not class-conditional; fine-tune it first (tesserae finetune)');
    const which = str(f, 'class') === 'all' ? Array.from({ length: classes }, (_, k) => k) : [integer(f, 'class', 0)];
    for (const k of which) if (k >= classes) throw new ConfigError('--class', k, `must be in 0..${classes - 1}`);
    const count = integer(f, 'count', 1);
    const guidance = num(f, 'guidance');
    const sampler =
      choice(f, 'sampler', ['ddim', 'ddpm'] as const) === 'ddpm'
        ? Sampler.ddpm()
        : Sampler.ddim({ steps: integer(f, 'steps', 1), eta: num(f, 'eta') });
    let norm: Norm;
    try {
      norm = JSON.parse(meta['norm'] ?? 'null') as Norm;
      if (!norm || norm.mean.length !== built.model.config.image[2]) throw new Error('norm');
    } catch {
      throw new FormatError(ckpt, 'metadata norm (per-channel mean and std) is missing or malformed');
    }
    const backend = await useBackend(choice(f, 'backend', BACKENDS));
    const [h, w, c] = built.model.config.image;
    const template = built.model.init(key(0), { images: spec([-1, h, w, c]) }).params as Params;
    const { state } = loadCheckpoint(ckpt, template);
    disposeParams(template);
    const params = state.ema ?? state.params;
    const grid = gridOf(built.model.corruption.patching, built.model.config.image);
    const names: readonly string[] = meta['data']?.includes('synthetic') ? SYNTHETIC_CLASSES : [];
    const t0 = performance.now();
    const written: string[] = [];
    for (const k of which) {
      const x = generate(built.model, params, {
        labels: new Array<number>(count).fill(k),
        guidance,
        sampler,
        key: fold(key(integer(f, 'seed', 0)), k),
        clip: dataRange(norm),
      });
      const img = tf.tidy(() => tf.add(tf.mul(unpatchifyOp(grid, x), tf.tensor1d([...norm.std])), tf.tensor1d([...norm.mean])));
      const d = img.dataSync();
      const per = h * w * c;
      const cells = Array.from({ length: count }, (_, i) => toImage8(d.subarray(i * per, (i + 1) * per), h, w, c));
      const file = join(out, `class-${k}${names[k] ? `-${names[k]}` : ''}.png`);
      writePng(file, tileImages([cells], { scale: h <= 64 ? 3 : 1, pad: 3 }));
      written.push(file);
      tf.dispose([x, img]);
    }
    for (const s of [state.params, state.opt.m, state.opt.v, ...(state.ema ? [state.ema] : [])]) disposeParams(s);
    console.log(`wrote ${written.length} grid(s) to ${out}`);
    console.log(
      JSON.stringify({
        command: 'sample',
        method: built.method,
        backend,
        classes: which,
        count,
        guidance,
        sampler,
        seconds: +((performance.now() - t0) / 1000).toFixed(2),
        ema: state.ema !== undefined,
        files: written,
      }),
    );
  },
};

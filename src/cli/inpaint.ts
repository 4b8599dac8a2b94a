/**
 * `tesserae inpaint`: generative inpainting with a trained checkpoint (DiffMAE: the reverse
 * process on the removed patches; MAE: its one-pass prediction, for comparison). Writes a PNG
 * grid (ground truth | masked input | result), a strip of the x0 estimate across reverse steps,
 * and prints the masked-region PSNR as a JSON line.
 *
 * @since 0.1.0
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, FormatError, ShapeError } from '../core/errors.js';
import { fold, key } from '../core/key.js';
import { disposeParams } from '../core/params.js';
import { tf, type Tensor } from '../core/tf.js';
import { useBackend } from '../backends/index.js';
import { drawMask, Mask } from '../corruption/mask.js';
import { batchTensor, assertFiniteImages } from '../data/batches.js';
import type { LabelledImages } from '../data/synthetic.js';
import { inpaint } from '../diffusion/inpaint.js';
import { Sampler, samplerSteps } from '../diffusion/sampler.js';
import { dataRange, maskedPsnr, predictRemoved, type Norm } from '../eval/heldout.js';
import { reconstructionGrid } from '../eval/reconstruction.js';
import { tileImages, toImage8 } from '../io/images.js';
import { readNpy } from '../io/npy.js';
import type { Image8 } from '../io/png.js';
import { buildModel, specFromMetadata } from '../models/registry.js';
import type { DiffMaeParams } from '../models/diffmae.js';
import { openModel, readCheckpointMetadata } from '../node/checkpoint.js';
import { writePng } from '../node/files.js';
import { loadImageFolder } from '../node/loaders.js';
import { gridOf, patchifyOp, unpatchifyOp } from '../vision/patchify.js';
import { BACKENDS, choice, integer, num, parseFlags, str, type Command, type FlagSpec } from './args.js';

/**
 * Parses `--mask`: `random:R`, `center:R` or `block:TOP,LEFT,HEIGHT,WIDTH` (grid cells).
 *
 * @example
 * parseMask('center:0.25')
 * @since 0.1.0
 */
export const parseMask = (s: string): Mask => {
  const [kind, arg] = s.split(':');
  const bad = (): never => {
    throw new ConfigError('--mask', s, 'must be random:RATIO, center:RATIO or block:TOP,LEFT,HEIGHT,WIDTH');
  };
  if (arg === undefined) return bad();
  if (kind === 'random' || kind === 'center') {
    const r = Number(arg);
    if (arg.trim() === '' || !Number.isFinite(r)) return bad();
    return kind === 'random' ? Mask.random(r) : Mask.center(r);
  }
  if (kind === 'block') {
    const v = arg.split(',').map(Number);
    if (v.length !== 4 || v.some((x) => !Number.isInteger(x))) return bad();
    return Mask.block({ top: v[0]!, left: v[1]!, height: v[2]!, width: v[3]! });
  }
  return bad();
};

const loadImages = (path: string, size: number): LabelledImages => {
  if (!existsSync(path)) throw new FormatError(path, 'no such file or folder');
  if (statSync(path).isDirectory()) return loadImageFolder(path, { size });
  const a = readNpy(new Uint8Array(readFileSync(path)), path);
  if (a.shape.length !== 4) throw new ShapeError(path, '[N, H, W, C]', a.shape);
  const [count, height, width, channels] = a.shape as [number, number, number, number];
  const images =
    a.dtype === 'uint8'
      ? Float32Array.from(a.data, (v) => v / 255)
      : a.data instanceof Float32Array
        ? a.data
        : a.dtype === 'float64' || a.dtype === 'float16'
          ? Float32Array.from(a.data)
          : null;
  if (!images) throw new FormatError(path, `images must be float (values in [0, 1]) or uint8, got ${a.dtype}`);
  const d = { count, height, width, channels, images, labels: new Int32Array(count), classes: ['0'] };
  assertFiniteImages(path, d);
  return d;
};

const flags: FlagSpec = {
  checkpoint: { type: 'string', help: 'a tesserae checkpoint (.safetensors) of a DiffMAE (or MAE) model' },
  images: { type: 'string', help: 'images: .npy N x H x W x C in [0, 1] (or uint8), or a folder of PNG/JPEG' },
  count: { type: 'string', default: '8', help: 'how many images to inpaint' },
  mask: { type: 'string', default: 'center:0.25', help: 'random:RATIO | center:RATIO | block:TOP,LEFT,HEIGHT,WIDTH' },
  sampler: { type: 'string', default: 'ddim', help: 'ddim | ddpm' },
  steps: { type: 'string', default: '50', help: 'DDIM steps' },
  eta: { type: 'string', default: '0', help: 'DDIM eta (0 deterministic, 1 DDPM-like)' },
  strip: { type: 'string', default: '6', help: 'x0 snapshots in the steps strip' },
  seed: { type: 'string', default: '0', help: 'seed for the mask and the sampler noise' },
  out: { type: 'string', help: 'output folder' },
  backend: { type: 'string', default: 'auto', help: 'cpu | wasm | auto' },
};

/**
 * The `tesserae inpaint` command.
 *
 * @since 0.1.0
 */
export const inpaintCommand: Command = {
  summary: 'inpaint images with a trained DiffMAE (or MAE) checkpoint; writes PNG grids and prints the masked-region PSNR',
  flags,
  run: async (argv) => {
    const f = parseFlags(argv, flags);
    const ckpt = str(f, 'checkpoint');
    const out = str(f, 'out');
    const mask = parseMask(str(f, 'mask'));
    const samplerKind = choice(f, 'sampler', ['ddim', 'ddpm'] as const);
    const sampler = samplerKind === 'ddpm' ? Sampler.ddpm() : Sampler.ddim({ steps: integer(f, 'steps', 1), eta: num(f, 'eta') });
    const seed = integer(f, 'seed', 0);
    const count = integer(f, 'count', 1);
    const stripN = integer(f, 'strip', 1);
    const built = buildModel(specFromMetadata(readCheckpointMetadata(ckpt), ckpt));
    const [h, w, c] = built.model.config.image;
    const data = loadImages(str(f, 'images'), h);
    if (data.height !== h || data.width !== w || data.channels !== c)
      throw new ShapeError(str(f, 'images'), `[N, ${h}, ${w}, ${c}] (what ${ckpt} was trained on)`, [
        data.count,
        data.height,
        data.width,
        data.channels,
      ]);
    const grid = gridOf(built.model.corruption.patching, built.model.config.image);
    const n = Math.min(count, data.count);
    const draw = drawMask(mask, fold(key(seed), 'mask'), n, grid);
    const backend = await useBackend(choice(f, 'backend', BACKENDS));
    const opened = openModel(ckpt);
    const { norm, params } = opened;
    const images = batchTensor(
      data,
      Int32Array.from({ length: n }, (_, i) => i),
      norm,
    );
    const t0 = performance.now();
    let strip: Image8[][] = [];
    let result: { pred: Tensor; x0: Tensor; mask: Tensor };
    let stepCount = 1;
    if (built.method === 'diffmae') {
      const noise = built.model.corruption.branches[0]!.branch.noise;
      const total = noise.placement === 'none' ? 1 : samplerSteps(sampler, noise.schedule.steps).length;
      stepCount = total;
      const record = Array.from({ length: Math.min(stripN, total) }, (_, i) =>
        Math.round(((total - 1) * i) / Math.max(1, Math.min(stripN, total) - 1)),
      );
      const r = inpaint(built.model, params as DiffMaeParams, images, draw, {
        sampler,
        key: fold(key(seed), 'sample'),
        clip: dataRange(norm),
        record,
      });
      const shown = r.steps.map((s) => toImages(grid, s.x0, norm));
      strip = Array.from({ length: n }, (_, i) => shown.map((imgs) => imgs[i]!));
      for (const s of r.steps) s.x0.dispose();
      result = {
        pred: r.result,
        x0: patchifyOp(built.model.corruption.patching, images),
        mask: tf.tensor2d(draw.mask, [draw.batch, draw.length]),
      };
    } else {
      result = predictRemoved(built, params, images, draw, norm, fold(key(seed), 'sample'));
    }
    const seconds = (performance.now() - t0) / 1000;
    const psnrs = maskedPsnr(grid, result.pred, result.x0, result.mask, norm);
    const cells = reconstructionGrid(grid, result.x0, result.pred, result.mask, { denorm: norm }).map((row) => [row[0]!, row[1]!, row[3]!]);
    writePng(join(out, 'inpaint.png'), tileImages(cells, { scale: h <= 64 ? 3 : 1, pad: 3 }));
    if (strip.length) writePng(join(out, 'steps.png'), tileImages(strip, { scale: h <= 64 ? 3 : 1, pad: 3 }));
    tf.dispose([images, result.pred, result.x0, result.mask]);
    disposeParams(params);
    const summary = {
      command: 'inpaint',
      method: built.method,
      backend,
      images: n,
      mask: str(f, 'mask'),
      removed: draw.length - draw.keep,
      sampler: built.method === 'diffmae' ? sampler : 'one pass',
      steps: stepCount,
      psnr: +(psnrs.reduce((a, b) => a + b, 0) / psnrs.length).toFixed(3),
      psnrPerImage: psnrs.map((p) => +p.toFixed(3)),
      seconds: +seconds.toFixed(2),
      out,
    };
    console.log(
      `wrote ${join(out, 'inpaint.png')} (ground truth | masked input | result)${strip.length ? ` and ${join(out, 'steps.png')} (x0 estimate across the reverse steps)` : ''}`,
    );
    console.log(JSON.stringify(summary));
  },
};

const toImages = (grid: ReturnType<typeof gridOf>, patchesT: Tensor, norm: Norm): Image8[] => {
  const t = tf.tidy(() => tf.add(tf.mul(unpatchifyOp(grid, patchesT), tf.tensor1d([...norm.std])), tf.tensor1d([...norm.mean])));
  const d = t.dataSync();
  t.dispose();
  const per = grid.height * grid.width * grid.channels;
  return Array.from({ length: patchesT.shape[0]! }, (_, i) =>
    toImage8(d.subarray(i * per, (i + 1) * per), grid.height, grid.width, grid.channels),
  );
};

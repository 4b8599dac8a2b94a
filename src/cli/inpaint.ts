/**
 * `tesserae inpaint`: generative inpainting with a trained checkpoint (DiffMAE: the reverse
 * process on the removed patches; MAE: its one-pass prediction, for comparison). Writes a PNG
 * grid (ground truth | masked input | result), a strip of the x0 estimate across reverse steps,
 * and prints the masked-region PSNR as a JSON line. On video checkpoints the grid holds frame
 * strips, every clip also comes out as an animated PNG (ground truth | masked | result, side by
 * side), and the JSON line adds the PSNR of copying the nearest visible frame.
 *
 * @since 0.1.0
 */
import { parseMask } from './algebra.js';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, FormatError, ShapeError } from '../core/errors.js';
import { fold, key } from '../core/key.js';
import { disposeParams } from '../core/params.js';
import { tf, type Tensor } from '../core/tf.js';
import { useBackend } from '../backends/index.js';
import { drawMask, requireVisible } from '../corruption/mask.js';
import { inpaintingOf } from '../corruption/questions.js';
import { inpainter } from '../models/sampling.js';
import { batchTensor, sampleShape } from '../data/batches.js';
import { synthetic, syntheticVideos, type LabelledImages } from '../data/synthetic.js';
import { nearestFrameFill } from '../eval/baselines.js';
import { encodeApng } from '../io/png.js';
import { deflateSync } from 'node:zlib';
import { inpaint, type Inpainted } from '../diffusion/inpaint.js';
import { TIMESTEP_GRIDS, Sampler, samplerSteps } from '../diffusion/sampler.js';
import { dataRange, maskedPsnr, predictRemoved, type Norm } from '../eval/heldout.js';
import { reconstructionGrid } from '../eval/reconstruction.js';
import { frameStrip, tileImages, toImage8 } from '../io/images.js';
import type { Image8 } from '../io/png.js';
import { openModel } from '../node/checkpoint.js';
import { prepareOutputFolder, writeFileAtomic, writePng } from '../node/files.js';
import { FASHION_MNIST_DIR, loadClipFolder, loadFashionMnist, loadImageFolder } from '../node/loaders.js';
import { parseDataSource, readNpyImages } from '../node/datasets.js';
import { patchifyOp, unpatchifyOp, type Grid, type InputShape } from '../vision/patchify.js';
import { BACKEND_HELP, BACKENDS, choice, integer, num, parseFlags, str, type Command, type FlagSpec } from './args.js';

const loadImages = (path: string, shape: InputShape): LabelledImages => {
  const video = shape.length === 4;
  const size = shape[shape.length - 2]!;
  if (path === 'synthetic') return synthetic({ count: 16, seed: 1, size });
  if (path === 'synthetic-video') return syntheticVideos({ count: 16, seed: 1, size, frames: video ? shape[0] : 8 });
  if (path === 'fashion-mnist' || path.startsWith('fashion-mnist:')) {
    const src = parseDataSource(path);
    return loadFashionMnist(src.kind === 'fashion-mnist' ? (src.dir ?? FASHION_MNIST_DIR) : FASHION_MNIST_DIR, 'test');
  }
  if (!existsSync(path)) throw new FormatError(path, 'no such file or folder');
  if (statSync(path).isDirectory()) return video ? loadClipFolder(path, { frames: shape[0], size }) : loadImageFolder(path, { size });
  const d = readNpyImages(path);
  if ((d.frames === undefined) === video)
    throw new ShapeError(path, video ? '[N, T, H, W, C] (a video checkpoint)' : '[N, H, W, C] (an image checkpoint)', [
      d.count,
      ...sampleShape(d),
    ]);
  return d;
};

const flags: FlagSpec = {
  checkpoint: { type: 'string', help: 'a tesserae checkpoint (.safetensors) of a DiffMAE (or MAE) model' },
  images: {
    type: 'string',
    help: 'images: .npy N x H x W x C in [0, 1] (or uint8), a folder of PNG/JPEG, fashion-mnist[:DIR] (its test images), or synthetic; clips: .npy N x T x H x W x C, a folder of frame folders, or synthetic-video',
  },
  count: { type: 'string', default: '8', help: 'how many images to inpaint' },
  mask: {
    type: 'string',
    default: 'center:0.25',
    help: 'random:RATIO | center:RATIO | block:TOP,LEFT,HEIGHT,WIDTH; video also tube:RATIO | frame:RATIO',
  },
  fps: { type: 'string', default: '6', help: 'video: frames per second of the animated PNGs' },
  sampler: { type: 'string', default: 'ddim', help: 'ddim | ddpm' },
  steps: { type: 'string', default: '50', help: "sampler steps (DDIM, or respaced DDPM; the schedule's step count = every step)" },
  grid: {
    type: 'string',
    default: 'space-timesteps',
    help: `timestep grid: ${TIMESTEP_GRIDS.join(' | ')} (arange: UMD's DDIM, steps + 1 calls)`,
  },
  eta: { type: 'string', default: '0', help: 'DDIM eta (0 deterministic, 1 DDPM-like)' },
  strip: { type: 'string', default: '6', help: 'x0 snapshots in the steps strip' },
  seed: { type: 'string', default: '0', help: 'seed for the mask and the sampler noise' },
  out: { type: 'string', help: 'output folder' },
  backend: { type: 'string', default: 'auto', help: BACKEND_HELP },
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
    prepareOutputFolder(out);
    const mask = parseMask(str(f, 'mask'), '--mask');
    const samplerKind = choice(f, 'sampler', ['ddim', 'ddpm'] as const);
    const samplerGrid = choice(f, 'grid', TIMESTEP_GRIDS);
    const sampler =
      samplerKind === 'ddpm'
        ? Sampler.ddpm({ steps: integer(f, 'steps', 1), grid: samplerGrid })
        : Sampler.ddim({ steps: integer(f, 'steps', 1), eta: num(f, 'eta'), grid: samplerGrid });
    const seed = integer(f, 'seed', 0);
    const count = integer(f, 'count', 1);
    const stripN = integer(f, 'strip', 1);
    const backend = await useBackend(choice(f, 'backend', BACKENDS));
    const opened = openModel(ckpt);
    const { model, norm, params } = opened;
    const shape = model.image;
    const h = shape[shape.length - 3]!;
    const data = loadImages(str(f, 'images'), shape);
    const got = sampleShape(data);
    if (got.length !== shape.length || got.some((d, i) => d !== shape[i]))
      throw new ShapeError(str(f, 'images'), `[N, ${shape.join(', ')}] (what ${ckpt} was trained on)`, [data.count, ...got]);
    const grid = model.grid;
    if ((mask.kind === 'tube' || mask.kind === 'frame') && !grid.video)
      throw new ConfigError('--mask', str(f, 'mask'), `${mask.kind} masks need a video checkpoint`);
    const n = Math.min(count, data.count);
    const draw = requireVisible(drawMask(mask, fold(key(seed), 'mask'), n, grid), str(f, 'mask'), '--mask');
    const images = batchTensor(
      data,
      Int32Array.from({ length: n }, (_, i) => i),
      norm,
    );
    const t0 = performance.now();
    let strip: Image8[][] = [];
    let stripTitles: string[] = [];
    let result: { pred: Tensor; x0: Tensor; mask: Tensor };
    let stepCount = 1;
    const how = inpaintingOf(model.corruption);
    if (how === 'diffusion') {
      const sampleKey = fold(key(seed), 'sample');
      const ip = inpainter(model, params, images, draw, sampleKey);
      const total = samplerSteps(sampler, ip.schedule.steps).length;
      stepCount = total;
      const record = Array.from({ length: Math.min(stripN, total) }, (_, i) =>
        Math.round(((total - 1) * i) / Math.max(1, Math.min(stripN, total) - 1)),
      );
      let r: Inpainted;
      try {
        r = inpaint(ip.denoise, ip.schedule, ip.x0, draw, { sampler, key: sampleKey, clip: dataRange(norm), record });
      } finally {
        ip.dispose();
      }
      const shown = r.steps.map((s) => toImages(grid, s.x0, norm));
      strip = Array.from({ length: n }, (_, i) => shown.map((imgs) => imgs[i]!));
      stripTitles = r.steps.map((s) => `t=${s.t}`);
      for (const s of r.steps) s.x0.dispose();
      result = {
        pred: r.result,
        x0: patchifyOp(model.corruption.patching, images),
        mask: tf.tensor2d(draw.mask, [draw.batch, draw.length]),
      };
    } else {
      result = predictRemoved(model, params, images, draw, norm, fold(key(seed), 'sample'));
    }
    const seconds = (performance.now() - t0) / 1000;
    const psnrs = maskedPsnr(grid, result.pred, result.x0, result.mask, norm);
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
    const cells = reconstructionGrid(grid, result.x0, result.pred, result.mask, { denorm: norm }).map((row) => [row[0]!, row[1]!, row[3]!]);
    const scale = h <= 64 ? 3 : 1;
    const columns = ['original', 'masked', how === 'diffusion' ? 'inpainted' : 'prediction'];
    writePng(
      join(out, 'inpaint.png'),
      grid.video
        ? tileImages(
            cells.flatMap((row) => row.map((cell) => [cell])),
            { scale, pad: 3, rowTitles: cells.flatMap(() => columns) },
          )
        : tileImages(cells, { scale, pad: 3, titles: columns }),
    );
    if (strip.length) writePng(join(out, 'steps.png'), tileImages(strip, { scale, pad: 3, titles: stripTitles }));
    let baseline: number[] | null = null;
    const animations: string[] = [];
    if (grid.video) {
      const copy = nearestFrameFill(grid, result.x0, result.mask);
      baseline = maskedPsnr(grid, copy, result.x0, result.mask, norm);
      copy.dispose();
      // every clip as an animation: ground truth | masked | result, frame by frame
      const fps = num(f, 'fps');
      if (!(fps > 0 && fps <= 100)) throw new ConfigError('--fps', fps, 'must be in (0, 100]');
      cells.forEach((row, i) => {
        const frames = Array.from({ length: grid.frames }, (_, t) =>
          tileImages([row.map((strip) => cropFrame(strip, t, grid.width))], { scale, pad: 3, titles: columns }),
        );
        const file = join(out, `clip-${i}.png`);
        writeFileAtomic(
          file,
          encodeApng(frames, Math.round(1000 / fps), (raw) => deflateSync(raw)),
        );
        animations.push(file);
      });
    }
    tf.dispose([images, result.pred, result.x0, result.mask]);
    disposeParams(params);
    const summary = {
      command: 'inpaint',
      model: model.spec.label ?? 'model',
      backend,
      images: n,
      mask: str(f, 'mask'),
      removed: draw.length - draw.keep,
      sampler: how === 'diffusion' ? sampler : 'one pass',
      steps: stepCount,
      psnr: +mean(psnrs).toFixed(3),
      /** What psnr measures: the removed region only. */
      psnrKind: 'masked',
      psnrPerImage: psnrs.map((p) => +p.toFixed(3)),
      ...(baseline ? { nearestFramePsnr: +mean(baseline).toFixed(3), animations } : {}),
      seconds: +seconds.toFixed(2),
      out,
    };
    console.log(
      `wrote ${join(out, 'inpaint.png')} (${columns.join(' | ')}${grid.video ? ', each a frame strip' : ''})${strip.length ? ` and ${join(out, 'steps.png')} (x0 estimate across the reverse steps, t labelled)` : ''}${animations.length ? `, and ${animations.length} animated PNGs clip-*.png` : ''}`,
    );
    console.log(JSON.stringify(summary));
  },
};

const toImages = (grid: Grid, patchesT: Tensor, norm: Norm): Image8[] => {
  const t = tf.tidy(() => tf.add(tf.mul(unpatchifyOp(grid, patchesT), tf.tensor1d([...norm.std])), tf.tensor1d([...norm.mean])));
  const d = t.dataSync();
  t.dispose();
  const per = grid.frames * grid.height * grid.width * grid.channels;
  return Array.from({ length: patchesT.shape[0]! }, (_, i) =>
    grid.video
      ? frameStrip(d.subarray(i * per, (i + 1) * per), grid.frames, grid.height, grid.width, grid.channels)
      : toImage8(d.subarray(i * per, (i + 1) * per), grid.height, grid.width, grid.channels),
  );
};

/** Frame `t` of a frame strip (frames side by side, each `width` wide). */
const cropFrame = (strip: Image8, t: number, width: number): Image8 => {
  const data = new Uint8Array(width * strip.height * 3);
  for (let y = 0; y < strip.height; y++)
    data.set(strip.data.subarray((y * strip.width + t * width) * 3, (y * strip.width + (t + 1) * width) * 3), y * width * 3);
  return { width, height: strip.height, channels: 3, data };
};

/**
 * Inpainting quality after the same training budget (issue 4): masked-region PSNR of DiffMAE
 * samples, MAE reconstructions and a baseline that fills removed patches with the mean colour
 * of the visible ones, for a center mask and a random mask, on held-out synthetic images.
 *
 *   node dist/bench/inpainting.js [--preset micro/4] [--steps 400] [--batch 64] [--held 200]
 *                                  [--sampler-steps 50] [--base-lr 6e-3] [--out bench-results]
 *
 * Prints a markdown table and one JSON line per row; writes them and PNG panels to --out.
 */
import { join } from 'node:path';
import {
  tf,
  Key,
  Mask,
  Sampler,
  drawMask,
  gridOf,
  batchTensor,
  predictRemoved,
  maskedPsnr,
  presetSpec,
  tileImages,
  reconstructionGrid,
  disposeState,
  useBackend,
  patchifyOp,
  meanColourFill,
  type MaskDraw,
  type Tensor,
  type ModelSpec,
} from '../src/index.js';
import { writeFileAtomic, writePng } from '../src/node/index.js';
import { data, flags, table, trainConfig, trainSpec } from './common.js';

const f = flags({
  preset: 'micro/4',
  steps: '400',
  batch: '64',
  held: '200',
  count: '2000',
  'sampler-steps': '50',
  'base-lr': '6e-3',
  out: 'bench-results/inpainting',
  backend: 'wasm',
});
const backend = await useBackend(f.backend as 'wasm' | 'cpu');
const steps = Number(f.steps);
const { train: trainData, held } = data(Number(f.count), Number(f.held));
const cfg = trainConfig({ steps, batch: Number(f.batch), baseLr: Number(f['base-lr']), warmup: Math.round(steps / 20), seed: 0 });
const specs: Record<string, ModelSpec> = { mae: presetSpec('mae', f.preset), diffmae: presetSpec('diffmae', f.preset) };
const trained = {
  mae: await trainSpec('mae', specs['mae']!, trainData, cfg),
  diffmae: await trainSpec('diffmae', specs['diffmae']!, trainData, cfg),
};
const norm = trained.mae.norm;
const images = batchTensor(
  held,
  Int32Array.from({ length: held.count }, (_, i) => i),
  norm,
);
const grid = gridOf({ kind: 'image', size: 4 }, [held.height, held.width, held.channels]);

/** Fills removed patches with the per-channel mean of the visible pixels of each image. */
const meanColour = (x0: Tensor, draw: MaskDraw): Tensor =>
  tf.tidy(() => meanColourFill(grid, x0, tf.tensor2d(draw.mask, [draw.batch, draw.length])));

const rows: (string | number)[][] = [];
const json: object[] = [];
for (const [label, mask] of [
  ['center 25%', Mask.center(0.25)],
  ['random 75%', Mask.random(0.75)],
] as const) {
  const draw = drawMask(mask, Key.key(1234), held.count, grid);
  const x0 = patchifyOp({ kind: 'image', size: 4 }, images);
  const maskT = tf.tensor2d(draw.mask, [draw.batch, draw.length]);
  const score = (pred: Tensor) => {
    const p = maskedPsnr(grid, pred, x0, maskT, norm);
    return p.reduce((a: number, b: number) => a + b, 0) / p.length;
  };
  const base = meanColour(x0, draw);
  const t0 = performance.now();
  const mae = predictRemoved(trained.mae.model, trained.mae.state.params, images, draw, norm, Key.key(7));
  const t1 = performance.now();
  const dm = predictRemoved(
    trained.diffmae.model,
    trained.diffmae.state.params,
    images,
    draw,
    norm,
    Key.key(7),
    Sampler.ddim({ steps: Number(f['sampler-steps']), eta: 0 }),
  );
  const t2 = performance.now();
  const r = { mask: label, meanColour: score(base), mae: score(mae.pred), diffmae: score(dm.pred) };
  rows.push([label, r.meanColour, r.mae, r.diffmae]);
  json.push({ ...r, images: held.count, maeSeconds: +((t1 - t0) / 1000).toFixed(2), diffmaeSeconds: +((t2 - t1) / 1000).toFixed(2) });
  const panel = reconstructionGrid(grid, x0, mae.pred, maskT, { denorm: norm })
    .slice(0, 8)
    .map((row, i) => [
      row[0]!,
      row[1]!,
      reconstructionGrid(grid, x0, base, maskT, { denorm: norm })[i]![3]!,
      row[3]!,
      reconstructionGrid(grid, x0, dm.pred, maskT, { denorm: norm })[i]![3]!,
    ]);
  writePng(join(f.out, `${label.replace(/\W+/g, '-').replace(/-$/, '')}.png`), tileImages(panel, { scale: 3, pad: 3 }));
  tf.dispose([x0, maskT, base, mae.pred, mae.x0, mae.mask, dm.pred, dm.x0, dm.mask]);
}
const header = ['mask', 'mean colour of visible patches (dB)', 'MAE (dB)', `DiffMAE, DDIM ${f['sampler-steps']} steps (dB)`];
const md = [
  `Masked-region PSNR on ${held.count} held-out synthetic images; ${f.preset} models trained ${steps} steps of ${f.batch} images each (${backend}).`,
  `Training time: MAE ${trained.mae.seconds.toFixed(0)} s, DiffMAE ${trained.diffmae.seconds.toFixed(0)} s. Panels: original | masked | mean colour | MAE | DiffMAE.`,
  '',
  table(header, rows),
].join('\n');
console.log(md);
for (const j of json) console.log(JSON.stringify(j));
writeFileAtomic(join(f.out, 'results.md'), `${md}\n`);
writeFileAtomic(join(f.out, 'results.jsonl'), json.map((j) => JSON.stringify(j)).join('\n') + '\n');
images.dispose();
disposeState(trained.mae.state);
disposeState(trained.diffmae.state);

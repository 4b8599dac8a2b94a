/**
 * Video inpainting on the synthetic bouncing-shape clips: MAE and DiffMAE trained for the same
 * budget on clips cut into tubelets with random spacetime masks, then scored by masked-region
 * PSNR on held-out clips under random spacetime, tube and frame masks, against copying the
 * nearest visible frame. Also reports training speed in clips/s. Writes a markdown table, JSON
 * lines, and a frame-strip panel per mask (original | masked | nearest frame | MAE | DiffMAE).
 *
 *   npm run bench:video -- --steps 300 --frames 8
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
  onVideo,
  syntheticVideos,
  tileImages,
  reconstructionGrid,
  disposeState,
  useBackend,
  patchifyOp,
  nearestFrameFill,
  type Mask as MaskT,
} from '../src/index.js';
import { writeFileAtomic, writePng } from '../src/node/index.js';
import { flags, table, trainConfig, trainSpec } from './common.js';

const f = flags({
  preset: 'micro/4',
  frames: '8',
  tubelet: '2',
  'mask-ratio': '0.9',
  steps: '300',
  batch: '16',
  count: '800',
  held: '64',
  'sampler-steps': '20',
  'base-lr': '6e-3',
  out: 'bench-results/video',
  backend: 'wasm',
});
const backend = await useBackend(f.backend as 'wasm' | 'cpu');
const steps = Number(f.steps);
const frames = Number(f.frames);
const trainClips = syntheticVideos({ count: Number(f.count), frames, seed: 0 });
const held = syntheticVideos({ count: Number(f.held), frames, seed: 0, start: Number(f.count) });
const cfg = trainConfig({ steps, batch: Number(f.batch), baseLr: Number(f['base-lr']), warmup: Math.round(steps / 20), seed: 0 });
const video = (method: 'mae' | 'diffmae') =>
  onVideo(presetSpec(method, f.preset, { maskRatio: Number(f['mask-ratio']) }), frames, Number(f.tubelet));
const trained = {
  mae: await trainSpec('mae', video('mae'), trainClips, cfg),
  diffmae: await trainSpec('diffmae', video('diffmae'), trainClips, cfg),
};
const clipsPerSec = (t: { seconds: number }) => (steps * Number(f.batch)) / t.seconds;
const norm = trained.mae.norm;
const images = batchTensor(
  held,
  Int32Array.from({ length: held.count }, (_, i) => i),
  norm,
);
const grid = gridOf(trained.mae.model.corruption.patching, trained.mae.model.image);
const rows: (string | number)[][] = [];
const json: object[] = [];
const masks: [string, MaskT][] = [
  [`random spacetime ${f['mask-ratio']}`, Mask.random(Number(f['mask-ratio']))],
  ['tube 0.75', Mask.tube(0.75)],
  ['frame 0.5', Mask.frame(0.5)],
];
for (const [label, mask] of masks) {
  const draw = drawMask(mask, Key.fold(Key.key(11), label), held.count, grid);
  const x0 = patchifyOp(trained.mae.model.corruption.patching, images);
  const maskT = tf.tensor2d(draw.mask, [draw.batch, draw.length]);
  const score = (pred: tf.Tensor): number => {
    const p = maskedPsnr(grid, pred, x0, maskT, norm);
    return p.reduce((a, b) => a + b, 0) / p.length;
  };
  const copy = nearestFrameFill(grid, x0, maskT);
  const mae = predictRemoved(trained.mae.model, trained.mae.state.params, images, draw, norm, Key.key(7));
  const dm = predictRemoved(
    trained.diffmae.model,
    trained.diffmae.state.params,
    images,
    draw,
    norm,
    Key.key(7),
    Sampler.ddim({ steps: Number(f['sampler-steps']), eta: 0 }),
  );
  const r = { mask: label, nearestFrame: score(copy), mae: score(mae.pred), diffmae: score(dm.pred) };
  rows.push([label, r.nearestFrame, r.mae, r.diffmae]);
  json.push({ ...r, clips: held.count, frames });
  const cells = (pred: tf.Tensor) => reconstructionGrid(grid, x0, pred, maskT, { denorm: norm });
  const [a, b, c] = [cells(copy), cells(mae.pred), cells(dm.pred)];
  const panel = a.slice(0, 4).flatMap((row, i) => [[row[0]!], [row[1]!], [row[3]!], [b[i]![3]!], [c[i]![3]!]]);
  writePng(join(f.out, `${label.replace(/\W+/g, '-')}.png`), tileImages(panel, { scale: 2, pad: 2 }));
  tf.dispose([x0, maskT, copy, mae.pred, mae.x0, mae.mask, dm.pred, dm.x0, dm.mask]);
}
const header = ['mask', 'nearest visible frame (dB)', 'MAE (dB)', `DiffMAE, DDIM ${f['sampler-steps']} steps (dB)`];
const md = [
  `Masked-region PSNR on ${held.count} held-out synthetic clips of ${frames} frames (32 x 32, tubelets ${f.tubelet} x 4 x 4); ${f.preset} models trained ${steps} steps of ${f.batch} clips with random spacetime masks of ${f['mask-ratio']} (${backend}).`,
  `Training speed: MAE ${clipsPerSec(trained.mae).toFixed(1)} clips/s (${trained.mae.seconds.toFixed(0)} s), DiffMAE ${clipsPerSec(trained.diffmae).toFixed(1)} clips/s (${trained.diffmae.seconds.toFixed(0)} s). Panels, per clip: original | masked | nearest frame | MAE | DiffMAE (frame strips).`,
  '',
  table(header, rows),
].join('\n');
console.log(md);
for (const j of json) console.log(JSON.stringify(j));
console.log(
  JSON.stringify({ training: { mae: { clipsPerSec: clipsPerSec(trained.mae) }, diffmae: { clipsPerSec: clipsPerSec(trained.diffmae) } } }),
);
writeFileAtomic(join(f.out, 'results.md'), `${md}\n`);
writeFileAtomic(join(f.out, 'results.jsonl'), json.map((j) => JSON.stringify(j)).join('\n') + '\n');
images.dispose();
disposeState(trained.mae.state);
disposeState(trained.diffmae.state);

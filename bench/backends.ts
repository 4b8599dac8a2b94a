/**
 * Per-backend timings on one preset (issue 7): a full MAE training step (trainStepAsync: loss,
 * gradients, clipping, AdamW), an MAE reconstruction (forward pass, no gradients) and one DiffMAE
 * reverse step of inpainting (the decoder on the noisy removed patches; the encoder runs once
 * before the timed steps). Every timing ends with an asynchronous read of the result
 * (`await data()`), the only read WebGPU in Node has, so each backend is timed the same way.
 * Everything runs in this thread (no gradient workers), after warm-up; the figure is the median.
 *
 *   npm run bench:backends -- [--backends cpu,wasm,webgpu,node-gpu] [--preset micro/4] [--batch 32]
 *                             [--repeats 5] [--out bench-results/backends]
 *
 * A backend that cannot start here gets a row saying why. Prints a markdown table and one JSON
 * line per backend; writes both to --out.
 */
import { join } from 'node:path';
import {
  tf,
  Key,
  Mask,
  Sampler,
  adamw,
  buildModel,
  ctx,
  disposeParams,
  disposeState,
  drawMask,
  gridOf,
  initState,
  inpainter,
  inpaintSteps,
  presetSpec,
  spec,
  synthetic,
  trainConfig,
  trainStepAsync,
  useBackend,
  type BackendName,
} from '../src/index.js';
import { writeFileAtomic } from '../src/node/index.js';
import { flags, median, table } from './common.js';

const f = flags({
  backends: 'cpu,wasm,webgpu,node-gpu',
  preset: 'micro/4',
  batch: '32',
  repeats: '5',
  out: 'bench-results/backends',
});
const batch = Number(f.batch);
const repeats = Number(f.repeats);
const warmup = 2;
const maeSpec = presetSpec('mae', f.preset);
const dmSpec = presetSpec('diffmae', f.preset);
const [h, w, c] = maeSpec.image as readonly number[] as [number, number, number];
const data = synthetic({ count: batch, size: h });

/** Median wall time (ms) of `run` over `repeats` calls after `warmup` calls. */
const timeIt = async (run: () => Promise<void>): Promise<number> => {
  for (let i = 0; i < warmup; i++) await run();
  const ms: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await run();
    ms.push(performance.now() - t0);
  }
  return median(ms);
};

interface Row {
  readonly backend: string;
  readonly device: string;
  readonly trainStepMs: number | null;
  readonly trainImagesPerSec: number | null;
  readonly reconstructionMs: number | null;
  readonly reverseStepMs: number | null;
  readonly reverseStepMsPerImage: number | null;
  readonly leakedPerStep: number | null;
  readonly note: string;
}

const adapterName = async (): Promise<string> => {
  const gpu = (globalThis as { navigator?: { gpu?: { requestAdapter: () => Promise<{ info?: Record<string, unknown> } | null> } } })
    .navigator?.gpu;
  const info = (await gpu?.requestAdapter())?.info;
  return info ? [info['vendor'], info['architecture'], info['device'] || info['description']].filter(Boolean).join(' ') : 'WebGPU adapter';
};

const measure = async (backend: BackendName): Promise<Row> => {
  const images = tf.tensor4d(data.images, [batch, h, w, c]);
  // training step
  const model = buildModel(maeSpec);
  let state = initState(model, data, trainConfig({ steps: 1, batch, seed: 0 }));
  const o = { adamw: adamw(), lr: 1e-3, clip: 1 };
  let leaked = 0;
  let k = 0;
  const trainStepMs = await timeIt(async () => {
    const before = tf.memory().numTensors;
    const r = await trainStepAsync(model, state, [{ images }], Key.key(k++), o);
    disposeState(state);
    state = r.state;
    leaked = Math.max(leaked, tf.memory().numTensors - before);
  });
  // reconstruction
  const reconstructionMs = await timeIt(async () => {
    const out = model.apply(state.params, { images }, ctx(Key.key(k++)));
    await out.groups[0]!.predX0!.data();
    tf.dispose([out.loss, ...out.groups.flatMap((g) => Object.values(g).filter((t): t is tf.Tensor => t !== null))]);
  });
  disposeState(state);
  // one DiffMAE reverse step (inpainting, random 75% mask)
  const dm = buildModel(dmSpec);
  const { params } = dm.init(Key.key(0), { images: spec([-1, h, w, c]) });
  const grid = gridOf(dm.corruption.patching, [h, w, c]);
  const draw = drawMask(Mask.random(0.75), Key.key(1), batch, grid);
  const steps = warmup + repeats;
  const ip = inpainter(dm, params, images, draw, Key.key(2)); // runs the encoder once, before the timed steps
  const it = inpaintSteps(ip.denoise, ip.schedule, ip.x0, draw, { sampler: Sampler.ddim({ steps }), key: Key.key(2), clip: null });
  const ms: number[] = [];
  let t0 = performance.now();
  let r = it.next();
  while (!r.done) {
    await r.value.x0.data();
    const t1 = performance.now();
    if (r.value.i >= warmup) ms.push(t1 - t0);
    t0 = performance.now();
    r = it.next();
  }
  r.value.dispose();
  ip.dispose();
  disposeParams(params);
  images.dispose();
  const reverseStepMs = median(ms);
  const device =
    backend === 'webgpu' ? await adapterName() : backend === 'wasm' ? 'WASM SIMD, 1 thread' : backend === 'cpu' ? 'JavaScript' : backend;
  return {
    backend,
    device,
    trainStepMs,
    trainImagesPerSec: (batch / trainStepMs) * 1000,
    reconstructionMs,
    reverseStepMs,
    reverseStepMsPerImage: reverseStepMs / batch,
    leakedPerStep: leaked,
    note: '',
  };
};

const rows: Row[] = [];
for (const name of f.backends.split(',').map((s) => s.trim()) as BackendName[]) {
  try {
    await useBackend(name);
  } catch (e) {
    const note = (e as Error).message.split('\n')[0]!;
    rows.push({
      backend: name,
      device: '-',
      trainStepMs: null,
      trainImagesPerSec: null,
      reconstructionMs: null,
      reverseStepMs: null,
      reverseStepMsPerImage: null,
      leakedPerStep: null,
      note: `unavailable: ${note}`,
    });
    process.stderr.write(`[${name}] unavailable: ${note}\n`);
    continue;
  }
  process.stderr.write(`[${name}] timing ${f.preset}, batch ${batch}\n`);
  rows.push(await measure(name));
}
await useBackend('cpu');

const num = (x: number | null, digits = 1): string => (x === null ? '-' : x.toFixed(digits));
const header = [
  'backend',
  'device',
  'train step (ms)',
  'train images/s',
  'reconstruction (ms)',
  'DiffMAE reverse step (ms)',
  'ms / image / reverse step',
  'tensors leaked per step',
  'note',
];
const md = [
  `${f.preset}, batch ${batch}, one thread, median of ${repeats} after ${warmup} warm-up runs; every timing ends with \`await data()\`.`,
  '',
  table(
    header,
    rows.map((r) => [
      r.backend,
      r.device,
      num(r.trainStepMs),
      num(r.trainImagesPerSec),
      num(r.reconstructionMs),
      num(r.reverseStepMs),
      num(r.reverseStepMsPerImage, 2),
      r.leakedPerStep === null ? '-' : String(r.leakedPerStep),
      r.note.split(' (')[0]!,
    ]),
  ),
].join('\n');
console.log(md);
for (const r of rows) console.log(JSON.stringify({ preset: f.preset, batch, ...r }));
writeFileAtomic(join(f.out, 'results.md'), `${md}\n`);
writeFileAtomic(join(f.out, 'results.jsonl'), rows.map((r) => JSON.stringify({ preset: f.preset, batch, ...r })).join('\n') + '\n');

/**
 * Training-step speed (issue 9): one full training step of each small preset and method, per
 * backend and thread count, after warm-up. FLOPs are counted analytically (eval/flops.ts, checked
 * against the kernels tfjs runs); achieved GFLOP/s sits beside the same process's plain 1024^2
 * matMul rate and, where python3 has numpy, numpy's float32 matmul rate measured now. The
 * hand-written MAE (bench/handwritten.ts, bit-identical to the DSL model) gives dslOverhead.
 *
 *   npm run bench -- [--backends wasm,cpu] [--presets micro/4,small/4,tiny/4] [--methods mae,diffmae,umd]
 *                    [--batch 64] [--steps 5] [--threads 1,2] [--cpu-presets micro/4] [--out bench-results/speed]
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import {
  tf,
  Key,
  useBackend,
  wasmOutOfMemory,
  BackendError,
  synthetic,
  channelStats,
  batchIndices,
  batchTensor,
  batchHost,
  initState,
  trainStep,
  disposeState,
  adamw,
  buildModel,
  presetSpec,
  modelFlops,
  addMicroGrads,
  finishStep,
  type BackendName,
  type GradSum,
  type MicroGrads,
  type ModelSpec,
  type Params,
  type TrainState,
  type LabelledImages,
  type MethodName,
} from '../src/index.js';
import { threadedGrads, writeFileAtomic } from '../src/node/index.js';
import { handMaeLayer } from './handwritten.js';
import { flags, median, table } from './common.js';

const f = flags({
  backends: 'wasm,cpu',
  presets: 'micro/4,small/4,tiny/4',
  'cpu-presets': 'micro/4',
  methods: 'mae,diffmae,umd',
  batch: '64',
  steps: '5',
  threads: '1,2',
  out: 'bench-results/speed',
});
const batch = Number(f.batch);
const timed = Number(f.steps);

const numpyGflops = (): number | null => {
  try {
    const out = execFileSync(
      'python3',
      [
        '-c',
        'import numpy as np,time\na=np.random.rand(1024,1024).astype(np.float32);b=a.copy();a@b\nts=[]\nfor _ in range(20):\n t=time.perf_counter();a@b;ts.append(time.perf_counter()-t)\nts.sort();print(2*1024**3/ts[10]/1e9)',
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    return Number(out.trim());
  } catch {
    return null;
  }
};

const matmulGflops = (): number => {
  const a = tf.randomNormal([1024, 1024]);
  const b = tf.randomNormal([1024, 1024]);
  const run = () => {
    const c = tf.matMul(a, b);
    c.dataSync();
    c.dispose();
  };
  run();
  run();
  const ts: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    run();
    ts.push(performance.now() - t0);
  }
  tf.dispose([a, b]);
  return (2 * 1024 ** 3) / median(ts) / 1e6;
};

/** Times `steps` training steps (after 2 warm-up steps); returns the median step time in ms. */
const timeSteps = async (
  step: (s: TrainState<Params>, i: number) => Promise<TrainState<Params>>,
  state0: TrainState<Params>,
): Promise<{ ms: number; state: TrainState<Params> }> => {
  let state = state0;
  const ts: number[] = [];
  for (let i = 0; i < 2 + timed; i++) {
    const t0 = performance.now();
    state = await step(state, i);
    if (i >= 2) ts.push(performance.now() - t0);
  }
  return { ms: median(ts), state };
};

type Row = Record<string, string | number | null>;
const rows: Row[] = [];
const numpy = numpyGflops();
// the issue's yardstick: numpy's float32 matmul on this machine, about 190 GFLOP/s; this run's
// own numpy measurement is shown beside it (it swings with load: 110 to 230 seen here)
const reference = 190;
const data: LabelledImages = synthetic({ count: batch * 4 });
const norm = channelStats(data);

for (const backend of f.backends.split(',') as BackendName[]) {
  await useBackend(backend);
  let dead: string | null = null;
  const mm = matmulGflops();
  const presets = (backend === 'cpu' ? f['cpu-presets'] : f.presets).split(',');
  for (const method of f.methods.split(',') as MethodName[]) {
    for (const preset of presets) {
      const s: ModelSpec = presetSpec(method, preset);
      const model = buildModel(s);
      const flopsPerImage = modelFlops(s).train;
      const cfg = { steps: 100, batch, accum: 1 };
      let handMs: number | null = null;
      for (const threads of f.threads.split(',').map(Number)) {
        if (backend === 'cpu' && threads > 1) continue;
        if (dead !== null) {
          rows.push({ method, preset, backend, threads, batch, error: `not run: ${dead}` });
          continue;
        }
        try {
          const micro = batch / threads;
          const opt = { adamw: adamw(), lr: 1e-4, clip: null };
          const dataKey = Key.key(1);
          const state0 = initState(model, data, { ...cfg, seed: 0 } as never);
          let engine = threads > 1 ? await threadedGrads({ spec: s, backend, threads, model }) : null;
          const step = async (st: TrainState<Params>, i: number): Promise<TrainState<Params>> => {
            const k = Key.fold(Key.key(2), i);
            let r;
            if (engine) {
              const items = Array.from({ length: threads }, (_, j) => ({
                images: batchHost(data, batchIndices(dataKey, data.count, micro, i * threads + j), norm),
                shape: [micro, 32, 32, 3],
                key: Key.fold(k, j),
              }));
              const grads = await engine.compute(st.params, items);
              r = finishStep(
                st,
                grads.reduce<GradSum | null>((a: GradSum | null, g: MicroGrads) => addMicroGrads(a, g), null)!,
                opt,
              );
            } else {
              const images = batchTensor(data, batchIndices(dataKey, data.count, batch, i), norm);
              r = trainStep(model, st, [{ images }], k, opt);
              images.dispose();
            }
            disposeState(st);
            return r.state;
          };
          const { ms, state } = await timeSteps(step, state0);
          // memory and leaks of one more step, measured in this thread
          let peakMB: number | null = null;
          let leaked: number | null = null;
          if (!engine) {
            const before = tf.memory().numTensors;
            let next: TrainState<Params> | null = null;
            const prof = await tf.profile(async () => {
              next = await step(state, 99);
            });
            peakMB = +(prof.peakBytes / 2 ** 20).toFixed(1);
            leaked = tf.memory().numTensors - before;
            disposeState(next!);
          } else disposeState(state);
          await engine?.close();
          engine = null;
          let dsl = ms;
          if (method === 'mae' && threads === 1) {
            // DSL and hand-written steps interleaved (same batches and keys), medians of each: no order or drift bias
            const hand = handMaeLayer({ image: model.image, ...s.network }, model.corruption, model.init);
            let a = initState(model, data, { ...cfg, seed: 0 } as never) as TrainState<Params>;
            let b = initState(hand, data, { ...cfg, seed: 0 } as never) as TrainState<Params>;
            const ta: number[] = [];
            const tb: number[] = [];
            for (let i = 0; i < 2 + 2 * timed; i++) {
              for (const which of i % 2 ? (['hand', 'dsl'] as const) : (['dsl', 'hand'] as const)) {
                const images = batchTensor(data, batchIndices(dataKey, data.count, batch, i), norm);
                const t0 = performance.now();
                const r = trainStep(which === 'dsl' ? model : hand, which === 'dsl' ? a : b, [{ images }], Key.fold(Key.key(2), i), opt);
                const took = performance.now() - t0;
                images.dispose();
                if (which === 'dsl') {
                  disposeState(a);
                  a = r.state;
                  if (i >= 2) ta.push(took);
                } else {
                  disposeState(b);
                  b = r.state;
                  if (i >= 2) tb.push(took);
                }
              }
            }
            disposeState(a);
            disposeState(b);
            dsl = median(ta);
            handMs = median(tb);
          }
          const achieved = (flopsPerImage * batch) / ms / 1e6;
          const row: Row = {
            method,
            preset,
            backend,
            threads,
            batch,
            stepMs: +ms.toFixed(1),
            imagesPerSec: +((batch / ms) * 1000).toFixed(1),
            gflopPerStep: +((flopsPerImage * batch) / 1e9).toFixed(3),
            achievedGflops: +achieved.toFixed(2),
            percentOfNumpy: +((100 * achieved) / reference).toFixed(1),
            matmulGflops: +mm.toFixed(2),
            numpyGflops: numpy === null ? null : +numpy.toFixed(1),
            dslOverhead: method === 'mae' && threads === 1 && handMs !== null ? +(dsl / handMs).toFixed(3) : null,
            peakMB,
            leakedTensorsPerStep: leaked,
          };
          rows.push(row);
          process.stderr.write(`${JSON.stringify(row)}\n`);
        } catch (e) {
          // a row that cannot run (the WASM heap holds at most 4 GiB) is reported, not fatal
          const err = wasmOutOfMemory(e, `batch ${batch} in one heap`);
          if (!(err instanceof BackendError)) throw e;
          if (backend === 'wasm') dead = 'the wasm backend ran out of memory in an earlier row';
          rows.push({ method, preset, backend, threads, batch, error: err.message.split(':')[0] + ': out of memory' });
          process.stderr.write(`${err.message}\n`);
        }
      }
    }
  }
}

const header = [
  'method',
  'preset',
  'backend',
  'threads',
  'step ms',
  'img/s',
  'GFLOP/step',
  'achieved GFLOP/s',
  `% of numpy (${reference})`,
  'matMul GFLOP/s',
  'DSL overhead',
  'peak MB',
  'leaked/step',
  'note',
];
const md = [
  `Training step, batch ${batch}, median of ${timed} steps after 2 warm-up steps. "% of numpy" is against the fixed yardstick of 190 GFLOP/s (numpy float32 matmul on this machine); numpy 1024^2 matmul measured in this run: ${numpy === null ? 'not available' : `${numpy.toFixed(1)} GFLOP/s`}.`,
  '',
  table(
    header,
    rows.map((r) => [
      r['method']!,
      r['preset']!,
      r['backend']!,
      r['threads']!,
      r['stepMs'] ?? '-',
      r['imagesPerSec'] ?? '-',
      r['gflopPerStep'] ?? '-',
      r['achievedGflops'] ?? '-',
      r['percentOfNumpy'] ?? '-',
      r['matmulGflops'] ?? '-',
      r['dslOverhead'] ?? '-',
      r['peakMB'] ?? '-',
      r['leakedTensorsPerStep'] ?? '-',
      r['error'] ?? '',
    ]),
  ),
].join('\n');
console.log(md);
for (const r of rows) console.log(JSON.stringify(r));
writeFileAtomic(join(f.out, 'results.md'), `${md}\n`);
writeFileAtomic(join(f.out, 'results.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');

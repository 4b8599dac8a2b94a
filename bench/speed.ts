/**
 * Training-step speed (issue 9): one full training step of each small preset and method, per
 * backend and thread count, after warm-up. FLOPs are counted analytically (eval/flops.ts, checked
 * against the kernels tfjs runs); achieved GFLOP/s sits beside the same process's plain 1024^2
 * matMul rate and, where python3 has numpy, numpy's float32 matmul rate measured now. The
 * hand-written MAE (bench/handwritten.ts, bit-identical to the DSL model) gives dslOverhead.
 *
 * The peer (issue 19): the same step written directly in PyTorch (bench/peer.py, built from a
 * configuration derived from the same ModelSpec, its FLOPs counted from the products torch runs)
 * is measured right after tesserae's row at the same thread count, so drift hits both; each row
 * then reports peerRatio, tesserae's step time over the best PyTorch step time (1 is as fast
 * as PyTorch, 2 twice as slow; issue 19's targets read in these terms). `--peer auto` (default) runs it when a
 * python that imports torch is found (/usr/bin/python3 first, then python3), `on` requires it,
 * `off` skips it (TESSERAE_PEER_PYTHON names another python to try). `--peak-tflops` adds model FLOP utilisation (achieved / peak) for GPU runs.
 *
 *   npm run bench -- [--backends wasm,cpu] [--presets micro/4,small/4,tiny/4] [--methods mae,diffmae,umd]
 *                    [--batch 64] [--steps 5] [--threads 1,2] [--cpu-presets micro/4] [--out bench-results/speed]
 *                    [--peer auto|on|off] [--peak-tflops 67]
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
  trainStepAsync,
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
import { bestPeer, findTorchPython, peerConfig, peerRatio, runPeer, type PeerRow } from './peer.js';

const f = flags({
  backends: 'wasm,cpu',
  presets: 'micro/4,small/4,tiny/4',
  'cpu-presets': 'micro/4',
  methods: 'mae,diffmae,umd',
  batch: '64',
  steps: '5',
  threads: '1,2',
  out: 'bench-results/speed',
  peer: 'auto',
  'peak-tflops': '',
});
const batch = Number(f.batch);
const timed = Number(f.steps);
if (!['auto', 'on', 'off'].includes(f.peer)) throw new Error(`--peer must be auto, on or off, not ${JSON.stringify(f.peer)}`);
const peakTflops = f['peak-tflops'] === '' ? null : Number(f['peak-tflops']);
if (peakTflops !== null && !(peakTflops > 0))
  throw new Error(`--peak-tflops must be a positive number, not ${JSON.stringify(f['peak-tflops'])}`);
// TESSERAE_PEER_PYTHON names the python to use (a virtual environment's, say) instead of the two defaults
const pythons = process.env['TESSERAE_PEER_PYTHON'] ? [process.env['TESSERAE_PEER_PYTHON']] : ['/usr/bin/python3', 'python3'];
const torch = f.peer === 'off' ? null : findTorchPython(pythons);
if (f.peer === 'on' && torch === null)
  throw new Error(`--peer on: no python imports torch (tried ${pythons.join(' and ')}); install PyTorch, or use --peer auto|off`);
const peerNote =
  f.peer === 'off'
    ? 'PyTorch peer: off (--peer off).'
    : torch === null
      ? `PyTorch peer: not run, no python here imports torch (tried ${pythons.join(' and ')}).`
      : `PyTorch peer: torch ${torch.torch} under ${torch.python} (bench/peer.py), measured right after each tesserae row at the same thread count.`;
process.stderr.write(`${peerNote}\n`);

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

const matmulGflops = async (): Promise<number> => {
  const a = tf.randomNormal([1024, 1024]);
  const b = tf.randomNormal([1024, 1024]);
  // an asynchronous read: the only one WebGPU in Node has
  const run = async () => {
    const c = tf.matMul(a, b);
    await c.data();
    c.dispose();
  };
  await run();
  await run();
  const ts: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    await run();
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

/** Peer measurements per method and preset (each thread count measured once, beside tesserae's first row of it). */
const peers = new Map<string, PeerRow[]>();
const peerErrors = new Map<string, string>();
const peerBeside = (method: string, preset: string, spec: ModelSpec, threads: number): PeerRow | null => {
  if (torch === null) return null;
  const k = `${method} ${preset}`;
  const known = peers.get(k)?.find((r) => r.threads === threads);
  if (known) return known;
  if (peerErrors.has(k)) return null;
  try {
    const r = runPeer(torch.python, peerConfig(spec), { threads, batch, steps: timed });
    peers.set(k, [...(peers.get(k) ?? []), r]);
    process.stderr.write(`${JSON.stringify(r)}\n`);
    return r;
  } catch (e) {
    peerErrors.set(k, (e as Error).message.split('\n')[0]!);
    process.stderr.write(`peer ${k}: ${(e as Error).message}\n`);
    return null;
  }
};

for (const backend of f.backends.split(',') as BackendName[]) {
  try {
    await useBackend(backend);
  } catch (e) {
    const why = (e as Error).message.split('\n')[0]!;
    process.stderr.write(`[${backend}] unavailable: ${why}\n`);
    rows.push({ method: '-', preset: '-', backend, threads: 1, batch, error: `unavailable: ${why.split(' (')[0]}` });
    continue;
  }
  // the GPU backends run in this thread, with asynchronous reads (WebGPU in Node has no other)
  const gpu = backend === 'webgpu' || backend === 'node-gpu';
  let dead: string | null = null;
  const mm = await matmulGflops();
  const presets = (backend === 'cpu' ? f['cpu-presets'] : f.presets).split(',');
  for (const method of f.methods.split(',') as MethodName[]) {
    for (const preset of presets) {
      const s: ModelSpec = presetSpec(method, preset);
      const model = buildModel(s);
      const flopsPerImage = modelFlops(s).train;
      const cfg = { steps: 100, batch, accum: 1 };
      let handMs: number | null = null;
      for (const threads of f.threads.split(',').map(Number)) {
        if ((backend === 'cpu' || gpu) && threads > 1) continue;
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
              r = gpu ? await trainStepAsync(model, st, [{ images }], k, opt) : trainStep(model, st, [{ images }], k, opt);
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
                const args = [[{ images }], Key.fold(Key.key(2), i), opt] as const;
                const r = gpu
                  ? await trainStepAsync(which === 'dsl' ? model : hand, which === 'dsl' ? a : b, ...args)
                  : trainStep(which === 'dsl' ? model : hand, which === 'dsl' ? a : b, ...args);
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
            mfuPercent: peakTflops === null ? null : +((100 * achieved) / (peakTflops * 1000)).toFixed(2),
          };
          rows.push(row);
          process.stderr.write(`${JSON.stringify(row)}\n`);
          // the peer at the same thread count, right after (its ratio is filled in once every thread count has run)
          const peer = peerBeside(method, preset, s, threads);
          if (peer) {
            row['peerStepMs'] = peer.stepMs;
            row['peerThreads'] = peer.threads;
            row['peerGflopPerStep'] = +((peer.flopsPerImage * batch) / 1e9).toFixed(3);
          }
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

// peerRatio: tesserae's step over the best PyTorch step (over its thread counts), per row
for (const r of rows) {
  const k = `${r['method']} ${r['preset']}`;
  const best = bestPeer(peers.get(k) ?? []);
  const ms = r['stepMs'];
  if (best && typeof ms === 'number') {
    r['peerBestMs'] = best.stepMs;
    r['peerBestThreads'] = best.threads;
    r['peerRatio'] = peerRatio(ms, best);
    r['peerTorch'] = best.torch;
  } else if (typeof ms === 'number' && torch !== null) r['peerNote'] = peerErrors.get(k) ?? 'not measured';
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
  'PyTorch ms (same threads)',
  'PyTorch best ms (threads)',
  'peer ratio',
  'PyTorch / tesserae FLOPs',
  ...(peakTflops === null ? [] : [`MFU % (of ${peakTflops} TFLOP/s)`]),
  'DSL overhead',
  'peak MB',
  'leaked/step',
  'note',
];
const peerFlops = (r: Row): string | number => {
  const p = r['peerGflopPerStep'];
  const t = r['gflopPerStep'];
  return typeof p === 'number' && typeof t === 'number' ? +(p / t).toFixed(4) : '-';
};
const md = [
  `Training step, batch ${batch}, median of ${timed} steps after 2 warm-up steps. "% of numpy" is against the fixed yardstick of 190 GFLOP/s (numpy float32 matmul on this machine); numpy 1024^2 matmul measured in this run: ${numpy === null ? 'not available' : `${numpy.toFixed(1)} GFLOP/s`}.`,
  '',
  `${peerNote} "peer ratio" is tesserae's step time divided by the best PyTorch step time (over its thread counts): 1 is as fast as PyTorch, 2 twice as slow.`,
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
      r['peerStepMs'] ?? '-',
      r['peerBestMs'] === undefined ? '-' : `${(r['peerBestMs'] as number).toFixed(1)} (${r['peerBestThreads']})`,
      r['peerRatio'] ?? '-',
      peerFlops(r),
      ...(peakTflops === null ? [] : [r['mfuPercent'] ?? '-']),
      r['dslOverhead'] ?? '-',
      r['peakMB'] ?? '-',
      r['leakedTensorsPerStep'] ?? '-',
      r['error'] ?? r['peerNote'] ?? '',
    ]),
  ),
].join('\n');
console.log(md);
for (const r of rows) console.log(JSON.stringify(r));
writeFileAtomic(join(f.out, 'results.md'), `${md}\n`);
writeFileAtomic(join(f.out, 'results.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');

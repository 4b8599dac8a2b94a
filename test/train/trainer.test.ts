import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  tf,
  Key,
  mae,
  synthetic,
  train,
  trainConfig,
  initState,
  trainStep,
  trainStepAsync,
  adamw,
  disposeState,
  encodeCheckpoint,
  decodeCheckpoint,
  flatten,
  channelStats,
  batchTensor,
  batchIndices,
  cloneState,
  DataError,
  BackendError,
  type MaeConfig,
  type TrainState,
  type MaeParams,
} from '../../src/index.js';
import { onCpu } from '../helpers.js';

const tinyConfig: MaeConfig = {
  image: [16, 16, 3],
  patch: 4,
  encoder: { width: 16, depth: 1, heads: 2 },
  decoder: { width: 16, depth: 1, heads: 2 },
};
const data = synthetic({ count: 24, size: 16 });
const norm = channelStats(data);
const cfg = trainConfig({ steps: 6, batch: 4, accum: 2, baseLr: 1e-2, warmup: 2, clip: 1, seed: 3 });

const run = async (state: TrainState<MaeParams>, steps = cfg.steps) => {
  const model = mae(tinyConfig);
  const losses: number[] = [];
  const final = await train(model, data, { ...cfg, steps }, state, { onStep: (i) => void losses.push(i.loss) }, norm);
  return { losses, final };
};
const leaves = (s: TrainState<MaeParams>) => flatten(s.params).map(([, t]) => Array.from(t.dataSync()));

describe('training', () => {
  onCpu();

  it('is deterministic: the same seed gives the same losses and params, bit for bit', async () => {
    const model = mae(tinyConfig);
    const a = await run(initState(model, data, cfg));
    const b = await run(initState(model, data, cfg));
    assert.deepEqual(a.losses, b.losses);
    assert.deepEqual(leaves(a.final), leaves(b.final));
    const c = await run(initState(model, data, { ...cfg, seed: 4 }));
    assert.notDeepEqual(c.losses, a.losses);
    for (const s of [a, b, c]) disposeState(s.final);
  });

  it('resuming from a checkpoint at step k gives the same losses as an uninterrupted run', async () => {
    const model = mae(tinyConfig);
    const full = await run(initState(model, data, cfg));
    const half = await run(initState(model, data, cfg), 3);
    const bytes = encodeCheckpoint(half.final, { note: 'resume test' });
    disposeState(half.final);
    const template = initState(model, data, cfg);
    const { state, metadata } = decodeCheckpoint(bytes, 'ck.safetensors', template.params);
    disposeState(template);
    assert.equal(state.step, 3);
    assert.equal(metadata['note'], 'resume test');
    const rest = await run(state);
    assert.deepEqual([...half.losses, ...rest.losses], full.losses);
    assert.deepEqual(leaves(rest.final), leaves(full.final));
    disposeState(full.final);
    disposeState(rest.final);
  });

  it('a step leaves tf.memory().numTensors as it found it (the old state is replaced, nothing leaks)', () => {
    const model = mae(tinyConfig);
    const state = initState(model, data, cfg);
    const images = batchTensor(data, batchIndices(Key.key(0), data.count, 4, 0), norm);
    const before = tf.memory().numTensors;
    const r = trainStep(model, state, [{ images }, { images }], Key.key(1), { adamw: adamw(), lr: 1e-3, clip: 1 });
    disposeState(state);
    assert.equal(tf.memory().numTensors, before);
    assert.ok(Number.isFinite(r.loss) && r.gradNorm > 0);
    disposeState(r.state);
    images.dispose();
  });

  it("trainStepAsync (reads with await data(), for WebGPU in Node) gives trainStep's state, loss and norm bit for bit, and leaks nothing", async () => {
    const model = mae(tinyConfig);
    const images = batchTensor(data, batchIndices(Key.key(0), data.count, 4, 0), norm);
    const o = { adamw: adamw(), lr: 1e-2, clip: 0.5 };
    const before = tf.memory().numTensors;
    const a = initState(model, data, cfg);
    const b = cloneState(a);
    const sync = trainStep(model, a, [{ images }, { images }], Key.key(1), o);
    const async_ = await trainStepAsync(model, b, [{ images }, { images }], Key.key(1), o);
    assert.equal(async_.loss, sync.loss);
    assert.equal(async_.gradNorm, sync.gradNorm);
    assert.deepEqual(leaves(async_.state), leaves(sync.state));
    assert.equal(async_.state.step, 1);
    disposeState(a);
    disposeState(b);
    disposeState(sync.state);
    disposeState(async_.state);
    assert.equal(tf.memory().numTensors, before);
    images.dispose();
  });

  it('trainStepAsync: a non-finite loss is a DataError, nothing is applied and nothing leaks', async () => {
    const model = mae(tinyConfig);
    const state = initState(model, data, cfg);
    const bad = tf.fill([4, 16, 16, 3], NaN);
    const before = tf.memory().numTensors;
    await assert.rejects(
      trainStepAsync(model, state, [{ images: bad }], Key.key(1), { adamw: adamw(), lr: 1e-3, clip: null }),
      (e: unknown) => e instanceof DataError && /non-finite loss/.test(e.message),
    );
    assert.equal(tf.memory().numTensors, before);
    await assert.rejects(trainStepAsync(model, state, [], Key.key(1), { adamw: adamw(), lr: 1e-3, clip: null }), DataError);
    disposeState(state);
    bad.dispose();
  });

  it('a step that exhausts the WASM heap stops training with a BackendError naming --batch', async () => {
    const model = mae(tinyConfig);
    const oom: typeof model = {
      ...model,
      apply: () => {
        throw new WebAssembly.RuntimeError('memory access out of bounds');
      },
    };
    const state = initState(model, data, cfg);
    await assert.rejects(
      train(oom, data, cfg, state, {}, norm),
      (e: unknown) =>
        e instanceof BackendError && e.backend === 'wasm' && /micro-batch\(es\) of 4 did not fit: lower --batch/.test(e.message),
    );
    disposeState(state);
  });

  it('loss falls on the synthetic data within a few dozen steps', async () => {
    const model = mae(tinyConfig);
    const c = trainConfig({ steps: 30, batch: 8, baseLr: 2e-2, warmup: 3, seed: 0 });
    const losses: number[] = [];
    const final = await train(model, data, c, initState(model, data, c), { onStep: (i) => void losses.push(i.loss) }, norm);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    assert.ok(mean(losses.slice(-5)) < 0.8 * mean(losses.slice(0, 5)), `first ${mean(losses.slice(0, 5))}, last ${mean(losses.slice(-5))}`);
    disposeState(final);
  });

  it('a non-finite loss is a DataError and the state stays usable', () => {
    const model = mae(tinyConfig);
    const state = initState(model, data, cfg);
    const snapshot = cloneState(state);
    const bad = tf.fill([4, 16, 16, 3], NaN);
    assert.throws(
      () => trainStep(model, state, [{ images: bad }], Key.key(0), { adamw: adamw(), lr: 1e-3, clip: null }),
      (e: unknown) => e instanceof DataError && /non-finite loss/.test(e.message),
    );
    assert.deepEqual(leaves(state), leaves(snapshot));
    for (const s of [state, snapshot]) disposeState(s);
    bad.dispose();
  });
});

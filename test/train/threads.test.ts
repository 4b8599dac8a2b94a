import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  synthetic,
  train,
  trainConfig,
  initState,
  disposeState,
  channelStats,
  flatten,
  buildModel,
  fromLegacy,
  BackendError,
  type MaeConfig,
  type ModelSpec,
  MAE_PRESETS,
} from '../../src/index.js';
import { threadedGrads } from '../../src/node/index.js';
import { onWasm } from '../helpers.js';

describe('training on several threads', () => {
  onWasm();
  const config: MaeConfig = {
    ...MAE_PRESETS['micro/4'],
    image: [16, 16, 3],
    encoder: { width: 16, depth: 1, heads: 2 },
    decoder: { width: 16, depth: 1, heads: 2 },
  };
  const spec: ModelSpec = fromLegacy({ method: 'mae', config });
  const data = synthetic({ count: 24, size: 16 });
  const norm = channelStats(data);
  const cfg = trainConfig({ steps: 3, batch: 4, accum: 3, baseLr: 1e-2, warmup: 1, seed: 1 });

  it('gives bit-identical losses and params to one thread (micro-batches summed in order)', async () => {
    const model = buildModel(spec);
    const run = async (threads: number) => {
      const losses: number[] = [];
      const engine = threads > 1 ? await threadedGrads({ spec, backend: 'wasm', threads, model }) : undefined;
      try {
        const final = await train(
          model,
          data,
          cfg,
          initState(model, data, cfg),
          engine ? { engine, onStep: (i) => void losses.push(i.loss) } : { onStep: (i) => void losses.push(i.loss) },
          norm,
        );
        const leaves = flatten(final.params).map(([, t]) => Array.from(t.dataSync()));
        disposeState(final);
        return { losses, leaves };
      } finally {
        await engine?.close();
      }
    };
    const one = await run(1);
    const two = await run(2);
    const three = await run(3);
    assert.deepEqual(two.losses, one.losses);
    assert.deepEqual(three.losses, one.losses);
    assert.deepEqual(two.leaves, one.leaves);
  });

  it('a worker that cannot start is a BackendError, and nothing is left running', async () => {
    // 16 x 16 images do not cut into 5 x 5 patches: the worker cannot build the model
    const bad = fromLegacy({ method: 'mae', config: { ...config, patch: 5 } });
    assert.throws(() => buildModel(bad));
    await assert.rejects(threadedGrads({ spec: bad, backend: 'wasm', threads: 2, model: buildModel(spec) }), BackendError);
  });
});

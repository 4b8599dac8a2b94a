// WebGPU in Node through Dawn (the optional `webgpu` package, dawn.node). Which path runs
// depends on what is installed, and the test names say which one did:
//
// - `webgpu` not importable: useBackend('webgpu') must be a BackendError naming the package;
// - importable but no adapter (Mesa 22 lavapipe, no GPU driver): the error must say so;
// - an adapter: MAE micro/4 on WebGPU must match the cpu backend (loss, pred, loss gradients)
//   without leaking tensors.
// The test's diagnostics say which path ran. TESSERAE_REQUIRE_WEBGPU=1 (.ci/run sets it, having
// installed Mesa's lavapipe from bookworm-backports) turns the first two into failures.
// TESSERAE_DAWN_FLAGS passes flags to Dawn's create(), e.g. `backend=vulkan` or `adapter=llvmpipe`.
// See docs/backends.md.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import {
  tf,
  Key,
  ctx,
  spec,
  mae,
  synthetic,
  useBackend,
  flatten,
  unflatten,
  disposeParams,
  BackendError,
  adamw,
  initState,
  trainConfig,
  trainStepAsync,
  disposeState,
  buildModel,
  presetSpec,
  type Tensor,
} from '../../src/index.js';

const required = process.env['TESSERAE_REQUIRE_WEBGPU'] === '1';

/** Why the `webgpu` package cannot be imported, or null when it can. */
const dawnMissing: string | null = await (async () => {
  const name = 'webgpu'; // computed, so that type-checking does not need the package
  try {
    const m = (await import(name)) as { create?: unknown };
    return typeof m.create === 'function' ? null : 'the webgpu package has no create()';
  } catch (e) {
    return (e as Error).message.split('\n')[0]!;
  }
})();

const B = 4;

/** MAE micro/4 with params from key 0 on `images`, corruption from key 1; values read async. */
const forward = async (images: Float32Array): Promise<{ loss: number; pred: Float32Array; leaked: number }> => {
  const start = tf.memory().numTensors;
  const model = mae('micro/4');
  const { params } = model.init(Key.key(0), { images: spec([-1, 32, 32, 3]) });
  const x = tf.tensor4d(images, [B, 32, 32, 3]);
  const out = model.apply(params, { images: x }, ctx(Key.key(1)));
  // webgpu in Node has no dataSync (tfjs-backend-webgpu reads synchronously through
  // OffscreenCanvas, which Node lacks): read everything with data()
  const loss = (await out.loss.data())[0]!;
  const pred = (await out.pred.data()) as Float32Array;
  tf.dispose([x, out.loss, out.pred, out.mask, out.idsRestore, out.latent]);
  disposeParams(params);
  return { loss, pred, leaked: tf.memory().numTensors - start };
};

/** The training loss (key 2) and its gradients with respect to every parameter leaf. */
const gradients = async (images: Float32Array): Promise<{ loss: number; grads: Float32Array[]; leaked: number }> => {
  const start = tf.memory().numTensors;
  const model = mae('micro/4');
  const { params } = model.init(Key.key(0), { images: spec([-1, 32, 32, 3]) });
  const x = tf.tensor4d(images, [B, 32, 32, 3]);
  const leaves = flatten(params);
  const names = leaves.map(([n]) => n);
  const xs = leaves.map(([, t]) => t);
  const f = (): Tensor =>
    model.apply(unflatten(params, new Map(names.map((n, i) => [n, xs[i]!]))), { images: x }, ctx(Key.key(2), true)).loss;
  // as src/train/step.ts does (allowNoGradients: a leaf the loss does not use gets null)
  const { value, grads } = tf.engine().gradients(f, xs, undefined, true);
  const loss = (await value.data())[0]!;
  const out: Float32Array[] = [];
  for (const g of grads) out.push(g ? ((await g.data()) as Float32Array) : new Float32Array(0));
  tf.dispose([x, value, ...grads.filter((g): g is Tensor => g != null)]);
  disposeParams(params);
  return { loss, grads: out, leaked: tf.memory().numTensors - start };
};

/** One training step (AdamW, clipping, two micro-batches) with trainStepAsync: loss, norm, new params. */
const step = async (images: Float32Array): Promise<{ loss: number; gradNorm: number; params: Float32Array[]; leaked: number }> => {
  const start = tf.memory().numTensors;
  const model = mae('micro/4');
  const data = synthetic({ count: B });
  const state = initState(model, data, trainConfig({ steps: 1, batch: B, seed: 5 }));
  const x = tf.tensor4d(images, [B, 32, 32, 3]);
  const r = await trainStepAsync(model, state, [{ images: x }, { images: x }], Key.key(3), { adamw: adamw(), lr: 1e-3, clip: 1 });
  const params: Float32Array[] = [];
  for (const [, t] of flatten(r.state.params)) params.push((await t.data()) as Float32Array);
  disposeState(state);
  disposeState(r.state);
  x.dispose();
  return { loss: r.loss, gradNorm: r.gradNorm, params, leaked: tf.memory().numTensors - start };
};

/** The training loss (params from key 0, corruption from key 1) of every method's micro/4 preset. */
const METHODS_UNDER_TEST = ['diffmae', 'umd', 'maskdit', 'dit'] as const;
const methodLosses = async (images: Float32Array): Promise<{ losses: number[]; leaked: number }> => {
  const start = tf.memory().numTensors;
  const x = tf.tensor4d(images, [B, 32, 32, 3]);
  const losses: number[] = [];
  for (const method of METHODS_UNDER_TEST) {
    const model = buildModel(presetSpec(method, 'micro/4'));
    const { params } = model.init(Key.key(0), { images: spec([-1, 32, 32, 3]) });
    const out = model.apply(params, { images: x }, ctx(Key.key(1), true));
    losses.push((await out.loss.data())[0]!);
    tf.dispose(out as unknown as tf.TensorContainer); // the loss and every group's intermediates
    disposeParams(params);
  }
  x.dispose();
  return { losses, leaked: tf.memory().numTensors - start };
};

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return Number.isNaN(m) ? Infinity : m;
};

describe('WebGPU through Dawn (the webgpu package)', () => {
  after(async () => {
    await useBackend('cpu');
    if (tf.findBackend('webgpu')) tf.removeBackend('webgpu');
    // dawn.node lives as long as navigator.gpu refers to it
    const g = globalThis as { navigator?: { gpu?: unknown } };
    if (g.navigator && 'gpu' in g.navigator) delete g.navigator.gpu;
  });

  it(
    'WebGPU in Node: MAE micro/4 on the Dawn adapter matches cpu (loss, pred, gradients, a training step, no leak), and so do DiffMAE, UMD, MaskDiT and DiT losses, or useBackend says precisely why there is none',
    { timeout: 300_000 },
    async (t) => {
      if (dawnMissing !== null) {
        t.diagnostic(`path: the webgpu package is absent (${dawnMissing}); checking the error that says so`);
        assert.ok(!required, `TESSERAE_REQUIRE_WEBGPU=1 but the webgpu package cannot be imported: ${dawnMissing}`);
        await assert.rejects(
          useBackend('webgpu'),
          (e: unknown) => e instanceof BackendError && e.backend === 'webgpu' && /\bwebgpu package\b/.test(e.message),
        );
        return;
      }
      const images = synthetic({ count: B }).images;
      await useBackend('cpu');
      const cpu = await forward(images);
      const cpuGrads = await gradients(images);
      const cpuStep = await step(images);
      const cpuMethods = await methodLosses(images);
      try {
        await useBackend('webgpu');
      } catch (e) {
        t.diagnostic(`path: the webgpu package is installed but Dawn found no adapter: ${(e as Error).message}`);
        assert.ok(e instanceof BackendError && /no WebGPU adapter/.test(e.message), `unexpected failure: ${(e as Error).message}`);
        assert.ok(
          !required,
          `TESSERAE_REQUIRE_WEBGPU=1 but Dawn found no adapter (Vulkan needs Mesa 25 lavapipe from bookworm-backports, see docs/backends.md): ${e.message}`,
        );
        return;
      }
      t.diagnostic('path: the Dawn adapter, compared with cpu');
      assert.equal(tf.getBackend(), 'webgpu');
      const gpu = (globalThis as { navigator?: { gpu?: { requestAdapter: () => Promise<{ info?: Record<string, unknown> } | null> } } })
        .navigator?.gpu;
      const info = (await gpu?.requestAdapter())?.info;
      t.diagnostic(
        `adapter: ${info ? JSON.stringify({ vendor: info['vendor'], architecture: info['architecture'], device: info['device'], description: info['description'], isFallbackAdapter: info['isFallbackAdapter'] }) : 'unknown'}`,
      );

      const web = await forward(images);
      const predDiff = maxAbsDiff(web.pred, cpu.pred);
      const lossRel = Math.abs(web.loss - cpu.loss) / Math.abs(cpu.loss);
      t.diagnostic(
        `loss cpu ${cpu.loss} webgpu ${web.loss} (relative ${lossRel.toExponential(2)}); pred max |diff| ${predDiff.toExponential(2)}`,
      );
      assert.ok(Number.isFinite(web.loss));
      assert.ok(lossRel <= 1e-3, `loss ${web.loss} vs cpu ${cpu.loss}: relative difference ${lossRel}`);
      assert.ok(predDiff <= 1e-3, `pred differs from cpu by up to ${predDiff}`);
      assert.equal(web.leaked, 0, `forward leaked ${web.leaked} tensors on webgpu`);

      const webGrads = await gradients(images);
      assert.equal(webGrads.grads.length, cpuGrads.grads.length);
      const gradDiff = Math.max(...webGrads.grads.map((g, i) => maxAbsDiff(g, cpuGrads.grads[i]!)));
      t.diagnostic(`${webGrads.grads.length} gradient leaves: max |diff| ${gradDiff.toExponential(2)}`);
      assert.ok(Math.abs(webGrads.loss - cpuGrads.loss) / Math.abs(cpuGrads.loss) <= 1e-3);
      assert.ok(gradDiff <= 1e-3, `gradients differ from cpu by up to ${gradDiff}`);
      assert.equal(webGrads.leaked, 0, `gradients leaked ${webGrads.leaked} tensors on webgpu`);

      // a whole training step (trainStepAsync: no synchronous read) on WebGPU
      const webStep = await step(images);
      const paramDiff = Math.max(...webStep.params.map((p, i) => maxAbsDiff(p, cpuStep.params[i]!)));
      t.diagnostic(
        `train step: loss cpu ${cpuStep.loss} webgpu ${webStep.loss}; |g| cpu ${cpuStep.gradNorm} webgpu ${webStep.gradNorm}; params max |diff| ${paramDiff.toExponential(2)}`,
      );
      assert.ok(Math.abs(webStep.loss - cpuStep.loss) / Math.abs(cpuStep.loss) <= 1e-3);
      assert.ok(Math.abs(webStep.gradNorm - cpuStep.gradNorm) / cpuStep.gradNorm <= 1e-3);
      assert.ok(paramDiff <= 1e-4, `params after one step differ from cpu by up to ${paramDiff}`);
      assert.equal(webStep.leaked, 0, `the training step leaked ${webStep.leaked} tensors on webgpu`);

      // the other methods: the same description, the same loss
      const webMethods = await methodLosses(images);
      METHODS_UNDER_TEST.forEach((m, i) => {
        const [c, w] = [cpuMethods.losses[i]!, webMethods.losses[i]!];
        t.diagnostic(`${m}: loss cpu ${c} webgpu ${w}`);
        assert.ok(Math.abs(w - c) / Math.abs(c) <= 1e-3, `${m}: loss ${w} on webgpu vs ${c} on cpu`);
      });
      assert.equal(cpuMethods.leaked, 0, `the other methods left ${cpuMethods.leaked} tensors on cpu`);
      assert.equal(webMethods.leaked, 0, `the other methods left ${webMethods.leaked} tensors on webgpu`);
    },
  );
});

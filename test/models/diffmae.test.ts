import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  tf,
  Key,
  ctx,
  spec,
  diffmae,
  DIFFMAE_PRESETS,
  disposeParams,
  synthetic,
  inpaint,
  inpainter,
  buildModel,
  fromLegacy,
  drawMask,
  Mask,
  Sampler,
  patchifyOp,
  Schedule,
  ConfigError,
  flatten,
  unflatten,
  presetSpec,
  predictRemoved,
  inpaintingOf,
  samplerSteps,
  scheduleOf,
  type DiffMaeConfig,
  type Layer,
  type InpaintOptions,
  type Inpainted,
  type MaskDraw,
  type Model,
  type Params,
} from '../../src/index.js';
import { forEachBackend, noLeak, onCpu } from '../helpers.js';

const tiny = (decoder: Partial<DiffMaeConfig['decoder']> = {}, extra: Partial<DiffMaeConfig> = {}): DiffMaeConfig => ({
  image: [16, 16, 3],
  patch: 4,
  encoder: { width: 16, depth: 2, heads: 2 },
  decoder: { kind: 'cross-self', width: 16, depth: 2, heads: 2, ...decoder },
  schedule: Schedule.cosine({ steps: 50 }),
  ...extra,
});
const images = () => tf.tensor4d(synthetic({ count: 3, size: 16 }).images, [3, 16, 16, 3]);

forEachBackend('DiffMAE decoders', () => {
  for (const [kind, topDown] of [
    ['cross', false],
    ['cross-self', false],
    ['joint', false],
    ['cross', true],
    ['cross-self', true],
  ] as const) {
    it(`${kind}${topDown ? ' top-down' : ''}: finite loss, gradients for every parameter, no leak`, () => {
      const model = diffmae(tiny({ kind, topDown }));
      const { params } = model.init(Key.key(0), { images: spec([-1, 16, 16, 3]) });
      const x = images();
      const out = noLeak(() => model.apply(params, { images: x }, ctx(Key.key(1), true)));
      assert.equal(out.groups.length, 1);
      assert.ok(Number.isFinite(out.loss.dataSync()[0]!));
      assert.deepEqual(out.groups[0]!.predX0!.shape, [3, 16, 48]);
      const flat = flatten(params);
      const { grads } = tf.engine().gradients(
        () => model.apply(unflatten(params, new Map(flat)), { images: x }, ctx(Key.key(1), true)).loss,
        flat.map(([, t]) => t),
        undefined,
        true,
      );
      grads.forEach((g, i) => assert.ok(g && g.dataSync().every(Number.isFinite), `no gradient for ${flat[i]![0]}`));
      tf.dispose(grads.filter((g): g is tf.Tensor => g !== undefined));
      tf.dispose([x, out.loss, ...out.groups.flatMap((g) => [g.loss, g.latent, g.predX0!, g.x0, g.xt, g.mask, g.idsRestore, g.t])]);
      disposeParams(params);
    });
  }
});

describe('DiffMAE', () => {
  onCpu();

  it('cross decoders predict the removed patches only (zeros on visible slots)', () => {
    const model = diffmae(tiny({ kind: 'cross' }));
    const { params } = model.init(Key.key(0), { images: spec([-1, 16, 16, 3]) });
    const x = images();
    const out = model.apply(params, { images: x }, ctx(Key.key(2), true));
    const g = out.groups[0]!;
    const pred = g.predX0!.arraySync() as number[][][];
    const mask = g.mask.arraySync() as number[][];
    mask.forEach((row, n) =>
      row.forEach((m, l) => (m === 0 ? assert.ok(pred[n]![l]!.every((v) => v === 0)) : assert.ok(pred[n]![l]!.some((v) => v !== 0)))),
    );
    disposeParams(params);
  });

  it('options are validated by name', () => {
    assert.throws(
      () => diffmae(tiny({ kind: 'joint', topDown: true })),
      (e: unknown) => e instanceof ConfigError && e.field === 'decoder.topDown',
    );
    assert.throws(() => diffmae(tiny({ topDown: true, depth: 3 })), /decoder\.depth = 3/);
    assert.throws(() => diffmae('nano/1' as keyof typeof DIFFMAE_PRESETS), /preset = "nano\/1"/);
  });

  describe('inpainting', () => {
    const model = buildModel(fromLegacy({ method: 'diffmae', config: tiny() }));
    const grid = model.grid;
    /** Inpaints through the model's denoiser (its encoder run once), freeing the denoiser's tensors. */
    const inpaintWith = (m: Model, params: Params, x: tf.Tensor, draw: MaskDraw, o: InpaintOptions): Inpainted => {
      const ip = inpainter(m, params, x, draw, o.key);
      try {
        return inpaint(ip.denoise, ip.schedule, ip.x0, draw, o);
      } finally {
        ip.dispose();
      }
    };
    /** Counts the runs of the encoder: each run reads the encoder's patch embedding once. */
    const counted = (params: Params): { params: Params; runs: () => number } => {
      if (params instanceof tf.Tensor || Array.isArray(params) || !('encoder' in params))
        throw new Error('a DiffMAE model has encoder params');
      const encoder = params['encoder']!;
      const first = Object.keys(encoder)[0]!;
      let runs = 0;
      const spy = new Proxy(encoder, {
        get: (target, k, receiver) => {
          if (k === first) runs++;
          return Reflect.get(target, k, receiver);
        },
      });
      return { params: { ...params, encoder: spy }, runs: () => runs };
    };

    it('a draw that removes every patch is a ConfigError, before anything is allocated', () => {
      const { params } = model.init(Key.key(0), { images: spec([-1, 16, 16, 3]) });
      const images = tf.tensor4d(synthetic({ count: 2, size: 16 }).images, [2, 16, 16, 3]);
      const before = tf.memory().numTensors;
      const all = drawMask(Mask.random(0.99), Key.key(1), 2, grid);
      assert.equal(all.keep, 0);
      const refused = (e: unknown) => e instanceof ConfigError && /leaves no visible patch \(it removes all 16\)/.test(e.message);
      // the model's denoiser refuses it before its encoder runs, and so does the reverse process itself
      assert.throws(() => inpainter(model, params, images, all, Key.key(2)), refused);
      assert.equal(tf.memory().numTensors, before);
      const x0 = patchifyOp(model.corruption.patching, images);
      const denoise = () => {
        throw new Error('never called');
      };
      assert.throws(
        () =>
          inpaint(denoise, Schedule.cosine({ steps: 50 }), x0, all, { sampler: Sampler.ddim({ steps: 2 }), key: Key.key(2), clip: null }),
        refused,
      );
      x0.dispose();
      assert.equal(tf.memory().numTensors, before);
      images.dispose();
      disposeParams(params);
    });

    it('runs the encoder once, keeps the visible pixels exactly, is deterministic and leaks nothing', () => {
      const { params } = model.init(Key.key(0), { images: spec([-1, 16, 16, 3]) });
      const spied = counted(params);
      const x = images();
      const draw = drawMask(Mask.center(0.25), Key.key(0), 3, grid);
      const before = tf.memory().numTensors;
      const a = inpaintWith(model, spied.params, x, draw, {
        sampler: Sampler.ddim({ steps: 10, eta: 1 }),
        key: Key.key(3),
        clip: null,
        record: [0, 9],
      });
      const tenSteps = spied.runs();
      assert.ok(tenSteps > 0, 'the spy sees the encoder run');
      const spied2 = counted(params);
      tf.dispose(inpaintWith(model, spied2.params, x, draw, { sampler: Sampler.ddim({ steps: 2 }), key: Key.key(3), clip: null }).result);
      assert.equal(tenSteps, spied2.runs(), 'the encoder runs as often for 10 steps as for 2: once');
      assert.equal(tf.memory().numTensors, before + 3, 'only the result and the two recorded steps remain');
      const b = inpaintWith(model, params, x, draw, { sampler: Sampler.ddim({ steps: 10, eta: 1 }), key: Key.key(3), clip: null });
      assert.deepEqual(a.result.dataSync(), b.result.dataSync());
      const x0 = patchifyOp(model.corruption.patching, x).dataSync();
      const r = a.result.dataSync();
      for (let i = 0; i < r.length; i++) if (draw.mask[Math.floor(i / 48)] === 0) assert.ok(Object.is(r[i], x0[i]), `visible value ${i}`);
      // the default grid (improved-diffusion's space_timesteps) makes its last x0 estimate at t = 1
      assert.deepEqual(
        a.steps.map((s) => s.t),
        [50, 1],
      );
      assert.deepEqual(a.steps[1]!.x0.dataSync(), a.result.dataSync(), 'the last recorded x0 estimate is the result');
      disposeParams(params);
    });

    it('a single DDIM step from pure noise (t = T) predicts the removed patches from the visible ones only: their pixels never reach it', () => {
      const { params } = model.init(Key.key(0), { images: spec([-1, 16, 16, 3]) });
      const x = images();
      const draw = drawMask(Mask.random(0.75), Key.key(5), 3, grid);
      // overwrite the removed pixels of the input: a one-step prediction must not see them
      const altered = tf.tidy(() => {
        const removed = tf.tensor(
          Float32Array.from({ length: 3 * 16 * 48 }, (_, i) => draw.mask[Math.floor(i / 48)]!),
          [3, 16, 48],
        );
        const p = patchifyOp(model.corruption.patching, x);
        const q = tf.add(tf.mul(p, tf.sub(1, removed)), tf.mul(removed, 7));
        return tf.reshape(tf.transpose(tf.reshape(q, [3, 4, 4, 4, 4, 3]), [0, 1, 3, 2, 4, 5]), [3, 16, 16, 3]);
      });
      const one = Sampler.ddim({ steps: 1, grid: 'even' }); // the one step [T, 0]
      const a = inpaintWith(model, params, x, draw, { sampler: one, key: Key.key(9), clip: null });
      const b = inpaintWith(model, params, altered, draw, { sampler: one, key: Key.key(9), clip: null });
      const ra = a.result.dataSync();
      const rb = b.result.dataSync();
      for (let i = 0; i < ra.length; i++) if (draw.mask[Math.floor(i / 48)] === 1) assert.equal(ra[i], rb[i]);
      tf.dispose([x, altered, a.result, b.result]);
      disposeParams(params);
    });

    it("MAE is one step of diffusion: DiffMAE's corruption with MAE's mask-token decoder, one DDIM step from t = T, is MAE's one-pass prediction on the same weights", () => {
      // the same network (MAE's: removed slots are a learned mask token, so they read no x_t and no t)
      // under two corruptions: MAE's (no noise, t = 0, one pass) and DiffMAE's (removed patches noised)
      const maeSpec = presetSpec('mae', 'micro/4');
      const mae = buildModel(maeSpec);
      const oneStep = buildModel({
        ...maeSpec,
        corruption: presetSpec('diffmae', 'micro/4').corruption,
        label: 'diffmae corruption, mae decoder',
      });
      assert.equal(inpaintingOf(mae.corruption), 'one-pass');
      assert.equal(inpaintingOf(oneStep.corruption), 'diffusion');
      const { params } = oneStep.init(Key.key(0), { images: spec([-1, 32, 32, 3]) });
      const x = tf.tensor4d(synthetic({ count: 2, size: 32 }).images, [2, 32, 32, 3]);
      const draw = drawMask(Mask.random(0.75), Key.key(5), 2, mae.grid);
      const sampler = Sampler.ddim({ steps: 1, grid: 'even' });
      assert.deepEqual(samplerSteps(sampler, scheduleOf(oneStep.corruption)!.steps), [[scheduleOf(oneStep.corruption)!.steps, 0]]);
      const diffusion = inpaintWith(oneStep, params, x, draw, { sampler, key: Key.key(9), clip: null });
      const once = predictRemoved(mae, params, x, draw, { mean: [0, 0, 0], std: [1, 1, 1] }, Key.key(9));
      const [d, m, x0] = [diffusion.result.dataSync(), once.pred.dataSync(), once.x0.dataSync()];
      const p = 48;
      let removed = 0;
      for (let i = 0; i < d.length; i++) {
        if (draw.mask[Math.floor(i / p)] === 1) {
          removed++;
          assert.ok(Math.abs(d[i]! - m[i]!) <= 1e-5, `removed value ${i}: one DDIM step ${d[i]} vs MAE ${m[i]}`);
        } else assert.equal(d[i], x0[i], `visible value ${i} is pasted back`);
      }
      assert.equal(removed, 2 * 48 * (64 - 16));
      // and the prediction is not the input: the removed patches were predicted, not copied
      assert.ok(Array.from(d).some((v, i) => draw.mask[Math.floor(i / p)] === 1 && Math.abs(v - x0[i]!) > 1e-3));
      tf.dispose([x, diffusion.result, once.pred, once.x0, once.mask]);
      disposeParams(params);
    });
  });
});

export type { Layer };

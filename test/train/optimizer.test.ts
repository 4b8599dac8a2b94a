import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  tf,
  adamw,
  adamwUpdate,
  initOpt,
  clipByGlobalNorm,
  globalNorm,
  warmupCosine,
  scaledLr,
  trainConfig,
  decaysKernelsOnly,
  disposeParams,
  ConfigError,
} from '../../src/index.js';
import { onCpu, assertClose, values } from '../helpers.js';

describe('AdamW', () => {
  onCpu();
  it('matches a plain-loop AdamW (bias correction, decoupled decay on kernels only) over three steps', () => {
    const cfg = adamw({ beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.05 });
    let params = { lin: { kernel: tf.tensor([0.5, -1, 2]), bias: tf.tensor([0.1, 0.2]) } };
    let state = initOpt(params);
    const ref = { kernel: [0.5, -1, 2], bias: [0.1, 0.2] };
    const m = { kernel: [0, 0, 0], bias: [0, 0] };
    const v = { kernel: [0, 0, 0], bias: [0, 0] };
    const gradsAt = (s: number) => ({ kernel: [0.3 * s, -0.2, 1], bias: [-0.5, 0.25 * s] });
    const lrs = [1e-2, 5e-3, 2e-2];
    lrs.forEach((lr, i) => {
      const g = gradsAt(i + 1);
      for (const name of ['kernel', 'bias'] as const) {
        ref[name] = ref[name].map((p, j) => {
          m[name][j] = 0.9 * m[name][j]! + 0.1 * g[name][j]!;
          v[name][j] = 0.95 * v[name][j]! + 0.05 * g[name][j]! ** 2;
          const mh = m[name][j]! / (1 - 0.9 ** (i + 1));
          const vh = v[name][j]! / (1 - 0.95 ** (i + 1));
          const decayed = name === 'kernel' ? p * (1 - lr * 0.05) : p;
          return decayed - (lr * mh) / (Math.sqrt(vh) + 1e-8);
        });
      }
      const grads = { lin: { kernel: tf.tensor(g.kernel), bias: tf.tensor(g.bias) } };
      const next = adamwUpdate(cfg, params, grads, state, lr);
      disposeParams(params);
      disposeParams(state.m);
      disposeParams(state.v);
      disposeParams(grads);
      params = next.params;
      state = next.state;
    });
    assert.equal(state.step, 3);
    assertClose(values(params.lin.kernel), ref.kernel, 1e-6, 'kernel');
    assertClose(values(params.lin.bias), ref.bias, 1e-6, 'bias');
  });

  it('decays dense kernels only', () => {
    assert.ok(decaysKernelsOnly('encoder.trunk.blocks.0.attn.attn.qkv.kernel'));
    for (const p of ['encoder.cls.tokens', 'decoder.refill.maskToken', 'x.norm.scale', 'x.qkv.bias', 'encoder.embed.pos.table'])
      assert.ok(!decaysKernelsOnly(p), p);
  });

  it('clipping scales to the max norm and leaves small gradients alone', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -10, max: 10, noNaN: true }), { minLength: 1, maxLength: 8 }),
        fc.double({ min: 0.1, max: 5, noNaN: true }),
        (xs, max) => {
          const g = { a: tf.tensor(xs), b: tf.tensor([1, 2]) };
          const norm = Math.sqrt(xs.reduce((s, x) => s + x * x, 0) + 5);
          const { grads, norm: n } = clipByGlobalNorm(g, max);
          assertClose([n.dataSync()[0]!], [norm], 1e-4 * norm, 'norm');
          const after = globalNorm(grads).dataSync()[0]!;
          assertClose([after], [Math.min(norm, max)], 1e-3 * Math.max(1, norm), 'clipped norm');
          disposeParams(g);
          disposeParams(grads);
          n.dispose();
        },
      ),
      { numRuns: 30 },
    );
  });

  it('learning-rate schedule: linear warmup, half cosine, scaling rule', () => {
    const lr = warmupCosine({ peak: 1e-3, warmup: 10, total: 110, min: 1e-5 });
    assert.equal(lr(0), 0);
    assert.ok(Math.abs(lr(5) - 5e-4) < 1e-12);
    assert.equal(lr(10), 1e-3);
    assert.ok(Math.abs(lr(60) - (1e-5 + (1e-3 - 1e-5) * 0.5)) < 1e-12);
    assert.ok(Math.abs(lr(110) - 1e-5) < 1e-12);
    for (let s = 11; s <= 110; s++) assert.ok(lr(s) <= lr(s - 1));
    assert.ok(Math.abs(scaledLr(1.5e-4, 4096) - 2.4e-3) < 1e-15);
  });

  it('bad settings are ConfigErrors naming the field', () => {
    assert.throws(() => adamw({ beta1: 1 }), ConfigError);
    assert.throws(() => trainConfig({ steps: 0, batch: 8 }), /train\.steps = 0/);
    assert.throws(() => trainConfig({ steps: 10, batch: 8, warmup: 11 }), /train\.warmup = 11/);
    assert.throws(() => trainConfig({ steps: 10, batch: 8, baseLr: -1 }), /train\.baseLr = -1/);
    assert.throws(() => trainConfig({ steps: 10, batch: 8, clip: NaN }), /train\.clip = NaN/);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  tf,
  Key,
  Sampler,
  samplerSteps,
  reverseStep,
  stepNoise,
  x0FromEps,
  qSample,
  tableOf,
  Schedule,
  ConfigError,
} from '../../src/index.js';
import { arbKey, arbSchedule } from '../../src/testing/index.js';
import { onCpu, assertClose } from '../helpers.js';

const rand = (k: Key.Key, n: number) => tf.tensor(Key.normal(k, n), [2, n / 2]);

describe('samplers', () => {
  onCpu();

  it("visit T..1 (DDPM), improved-diffusion's respaced grid by default, or 0.1.0's even grid", () => {
    assert.deepEqual(samplerSteps(Sampler.ddim({ steps: 4, grid: 'even' }), 1000), [
      [1000, 750],
      [750, 500],
      [500, 250],
      [250, 0],
    ]);
    assert.deepEqual(samplerSteps(Sampler.ddim({ steps: 4 }), 1000), [
      [1000, 667],
      [667, 334],
      [334, 1],
      [1, 0],
    ]);
    assert.deepEqual(samplerSteps(Sampler.ddim({ steps: 1, grid: 'even' }), 1000), [[1000, 0]]);
    const d = samplerSteps(Sampler.ddpm(), 5);
    assert.deepEqual(d, [
      [5, 4],
      [4, 3],
      [3, 2],
      [2, 1],
      [1, 0],
    ]);
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 2, max: 1000 }),
        fc.constantFrom('space-timesteps' as const, 'even' as const),
        (T, s, grid) => {
          fc.pre(s <= T);
          const st = samplerSteps(Sampler.ddim({ steps: s, grid }), T);
          assert.equal(st.length, s);
          assert.equal(st[0]![0], T);
          assert.equal(st[st.length - 1]![1], 0);
          for (const [i, [t, p]] of st.entries()) {
            assert.ok(t > p);
            if (i > 0) assert.equal(st[i - 1]![1], t);
          }
          if (grid === 'space-timesteps') assert.equal(st[st.length - 1]![0], 1);
        },
      ),
    );
    assert.throws(() => samplerSteps(Sampler.ddim({ steps: 20 }), 10), ConfigError);
    assert.throws(() => samplerSteps(Sampler.ddpm({ steps: 20 }), 10), /sampler\.steps = 20/);
    assert.throws(() => Sampler.ddim({ eta: -1 }), /sampler\.eta = -1/);
    assert.throws(() => Sampler.ddpm({ steps: 0 }), /sampler\.steps = 0/);
  });

  it('law: with the exact x0, DDIM (eta 0) moves along q_sample with the same noise', () => {
    fc.assert(
      fc.property(arbSchedule({ maxSteps: 100 }), arbKey(), fc.integer({ min: 2, max: 100 }), (s, k, raw) => {
        const tab = tableOf(s);
        const t = Math.min(raw, s.steps);
        fc.pre(t >= 1);
        const tPrev = Math.floor(t / 2);
        const [k1, k2] = Key.split(k);
        const x0 = rand(k1!, 8);
        const eps = rand(k2!, 8);
        const xt = qSample(tab, x0, Int32Array.of(t, t), eps);
        const want = qSample(tab, x0, Int32Array.of(tPrev, tPrev), eps);
        const got = reverseStep(tab, Sampler.ddim({ eta: 0 }), xt, x0, t, tPrev, tf.zerosLike(x0));
        assertClose(got.dataSync(), want.dataSync(), 1e-4, 'x_prev', 1e-4);
        tf.dispose([x0, eps, xt, want, got]);
      }),
      { numRuns: 40 },
    );
  });

  it('law: DDIM with eta 1 over consecutive steps is the DDPM posterior step', () => {
    fc.assert(
      fc.property(arbSchedule({ maxSteps: 200 }), arbKey(), fc.integer({ min: 2, max: 200 }), (s, k, raw) => {
        const tab = tableOf(s);
        fc.pre(s.steps >= 2);
        const t = 2 + (raw % (s.steps - 1));
        const [k1, k2, k3] = Key.split(k, 3);
        const [xt, x0, z] = [rand(k1!, 6), rand(k2!, 6), rand(k3!, 6)];
        const a = reverseStep(tab, Sampler.ddim({ eta: 1 }), xt, x0, t, t - 1, z);
        const b = reverseStep(tab, Sampler.ddpm(), xt, x0, t, t - 1, z);
        assertClose(a.dataSync(), b.dataSync(), 2e-4, 'ddim(eta 1) vs ddpm', 1e-3);
        tf.dispose([xt, x0, z, a, b]);
      }),
      { numRuns: 40 },
    );
  });

  it('the last step returns x0, and x0FromEps inverts q_sample', () => {
    const tab = tableOf(Schedule.linear({ steps: 50 }));
    const x0 = rand(Key.key(1), 8);
    const eps = rand(Key.key(2), 8);
    const xt = qSample(tab, x0, Int32Array.of(30, 30), eps);
    assert.deepEqual(reverseStep(tab, Sampler.ddpm(), xt, x0, 1, 0, eps).dataSync(), x0.dataSync());
    assertClose(x0FromEps(tab, xt, eps, 30).dataSync(), x0.dataSync(), 1e-4, 'x0 from eps');
    assert.throws(() => reverseStep(tab, Sampler.ddpm(), xt, x0, 30, 30, eps), /tPrev = 30/);
  });

  it('stepNoise draws z = normal(fold(key, i)) only where a step adds noise; a noisy step without it is a ConfigError', () => {
    const k = Key.key(5);
    assert.equal(stepNoise(Sampler.ddim({ eta: 0 }), k, 3, 500, [2, 4]), null);
    assert.equal(stepNoise(Sampler.ddpm(), k, 3, 0, [2, 4]), null); // the last step lands on x0
    for (const s of [Sampler.ddpm(), Sampler.ddim({ eta: 0.5 })]) {
      const z = stepNoise(s, k, 3, 500, [2, 4])!;
      assert.deepEqual(z.shape, [2, 4]);
      assert.deepEqual(z.dataSync(), Key.normal(Key.fold(k, 3), 8));
      z.dispose();
    }
    const tab = tableOf(Schedule.linear({ steps: 50 }));
    const [x0, xt] = [rand(Key.key(1), 8), rand(Key.key(2), 8)];
    assert.throws(() => reverseStep(tab, Sampler.ddpm(), xt, x0, 30, 29, null), ConfigError);
    assert.throws(() => reverseStep(tab, Sampler.ddim({ eta: 1 }), xt, x0, 30, 20, null), /adds noise/);
    const a = reverseStep(tab, Sampler.ddim({ eta: 0 }), xt, x0, 30, 20, null);
    const b = reverseStep(tab, Sampler.ddim({ eta: 0 }), xt, x0, 30, 20, tf.zerosLike(x0));
    assert.deepEqual(a.dataSync(), b.dataSync());
    tf.dispose([x0, xt, a, b]);
  });
});

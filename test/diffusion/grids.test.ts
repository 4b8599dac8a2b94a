import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  tf,
  Key,
  Sampler,
  Schedule,
  ConfigError,
  generate,
  respacedBetas,
  reverseStep,
  samplerSteps,
  samplerTimesteps,
  spaceTimesteps,
  tableOf,
  type Tensor,
} from '../../src/index.js';
import { onCpu, assertClose } from '../helpers.js';
import {
  alphasCumprodOracle,
  posteriorOracle,
  respacedBetasOracle,
  spaceTimestepsOracle,
  umdCallsOracle,
} from '../reference/gridOracles.js';

const range = (start: number, stop: number, step: number): number[] => {
  const out: number[] = [];
  for (let v = start; step > 0 ? v < stop : v > stop; v += step) out.push(v);
  return out;
};

// sorted(space_timesteps(1000, [250])) from openai/improved-diffusion improved_diffusion/respace.py
// (the same function as facebookresearch/DiT diffusion/respace.py), run under Python 3.
const SPACE_1000_250 = [...range(0, 165, 4), ...range(169, 498, 4), ...range(502, 831, 4), ...range(835, 1000, 4)];

describe('timestep grids (the reference code)', () => {
  onCpu();

  it("space_timesteps(1000, 'ddim25'), (1000, [250]), (300, [10, 15, 20]) are the reference's numbers and the oracle's", () => {
    // improved-diffusion respace.py, space_timesteps, run under Python 3:
    const ddim25 = range(0, 1000, 40);
    assert.deepEqual(spaceTimesteps(1000, 'ddim25'), ddim25);
    assert.deepEqual(spaceTimestepsOracle(1000, 'ddim25'), ddim25);
    assert.equal(SPACE_1000_250.length, 250);
    assert.deepEqual(spaceTimesteps(1000, [250]), SPACE_1000_250);
    assert.deepEqual(spaceTimestepsOracle(1000, [250]), SPACE_1000_250);
    // the docstring's example (three sections of 100), run under Python 3
    const three = [
      0, 11, 22, 33, 44, 55, 66, 77, 88, 99, 100, 107, 114, 121, 128, 135, 142, 149, 157, 164, 171, 178, 185, 192, 199, 200, 205, 210, 216,
      221, 226, 231, 236, 242, 247, 252, 257, 263, 268, 273, 278, 283, 289, 294, 299,
    ];
    assert.deepEqual(spaceTimesteps(300, [10, 15, 20]), three);
    // Python's round sends halves to even: a stride of 2.5 gives 0, round(2.5) = 2, 5
    assert.deepEqual(spaceTimesteps(6, [3]), [0, 2, 5]);
    assert.deepEqual(spaceTimesteps(10, [4, 4]), [0, 1, 3, 4, 5, 6, 8, 9]);
    assert.throws(() => spaceTimesteps(1000, 'ddim600'), /cannot create exactly 600 steps/);
    assert.throws(
      () => spaceTimesteps(10, [6, 2]),
      (e: unknown) => e instanceof ConfigError && /sectionCounts\[0\] = 6/.test(e.message),
    );
  });

  it('law: spaceTimesteps is the oracle on any section counts, or both refuse', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 400 }),
        fc.array(fc.integer({ min: 0, max: 60 }), { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 1, max: 400 }),
        (T, counts, n) => {
          fc.pre(counts.length <= T);
          const run = <A>(f: () => A): A | 'refused' => {
            try {
              return f();
            } catch {
              return 'refused';
            }
          };
          assert.deepEqual(
            run(() => spaceTimesteps(T, counts)),
            run(() => spaceTimestepsOracle(T, counts)),
          );
          assert.deepEqual(
            run(() => spaceTimesteps(T, `ddim${n}`)),
            run(() => spaceTimestepsOracle(T, `ddim${n}`)),
          );
        },
      ),
      { numRuns: 300 },
    );
  });

  it("DDIM's default grid is DiT's space_timesteps(T, [steps]) shifted to t + 1: its last x0 estimate is at t = 1, not T / steps", () => {
    const st = samplerSteps(Sampler.ddim({ steps: 125 }), 1000);
    assert.equal(st.length, 125);
    assert.deepEqual(
      st.map(([t]) => t),
      spaceTimestepsOracle(1000, [125])
        .map((r) => r + 1)
        .reverse(),
    );
    assert.deepEqual(st[st.length - 1], [1, 0]); // 0.1.0 ended with [8, 0]
    assert.deepEqual(samplerSteps(Sampler.ddim({ steps: 125, grid: 'even' }), 1000).at(-1), [8, 0]);
    assert.deepEqual(
      samplerTimesteps(Sampler.ddim({ steps: 25, grid: 'ddim-stride' }), 1000),
      range(0, 1000, 40)
        .map((r) => r + 1)
        .reverse(),
    );
    assert.throws(() => samplerSteps(Sampler.ddim({ steps: 600, grid: 'ddim-stride' }), 1000), /sampler\.steps = 600/);
  });

  it("UMD's grid is ddim_sample_loop's: 125 steps make 126 network calls, 1000, 992, ..., 8, then 1, then x0", () => {
    const st = samplerSteps(Sampler.ddim({ steps: 125, eta: 1, grid: 'arange' }), 1000);
    const calls = umdCallsOracle(1000, 125);
    assert.equal(calls.length, 126);
    assert.equal(st.length, 126);
    assert.deepEqual(
      st,
      calls.map(([t, next]) => [t + 1, next + 1]),
    );
    assert.deepEqual(st.slice(0, 2), [
      [1000, 992],
      [992, 984],
    ]);
    assert.deepEqual(st.slice(-3), [
      [16, 8],
      [8, 1],
      [1, 0],
    ]);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: 1000 }), (T, k) => {
        fc.pre(k <= T);
        const oracle = umdCallsOracle(T, k);
        const fits =
          oracle.slice(0, -1).every(([t, next], i) => t > next && (i === 0 || oracle[i - 1]![1] === t)) && oracle.at(-2)![1] === 0;
        if (!fits) {
          assert.throws(() => samplerSteps(Sampler.ddim({ steps: k, grid: 'arange' }), T), ConfigError);
          return;
        }
        assert.deepEqual(
          samplerSteps(Sampler.ddim({ steps: k, grid: 'arange' }), T),
          oracle.map(([t, next]) => [t + 1, next + 1]),
        );
      }),
      { numRuns: 300 },
    );
  });

  it("respaced DDPM: Sampler.ddpm({ steps }) keeps space_timesteps' steps, and its betas are improved-diffusion's SpacedDiffusion betas", () => {
    const st = samplerSteps(Sampler.ddpm({ steps: 50 }), 1000);
    assert.equal(st.length, 50); // 0.1.0 ran all 1000
    const kept = spaceTimestepsOracle(1000, [50]);
    assert.deepEqual(
      st.map(([t]) => t),
      kept.map((r) => r + 1).reverse(),
    );
    assert.equal(samplerSteps(Sampler.ddpm(), 1000).length, 1000);
    // new_betas of SpacedDiffusion(space_timesteps(1000, [50])) on get_named_beta_schedule(name, 1000),
    // openai/improved-diffusion respace.py and gaussian_diffusion.py, run under Python 3 with numpy:
    const fromReference = {
      linear: {
        head: [9.999999999998899e-5, 0.006165187946595374, 0.014960393696590524],
        tail: [0.3185518409168563, 0.3373148262005994, 0.32980906609465954],
      },
      cosine: {
        head: [4.128422482196914e-5, 0.0018445632572497983, 0.0040260323117503605],
        tail: [0.5474927827423564, 0.7617994917727656, 0.9999974991924032],
      },
    } as const;
    for (const name of ['linear', 'cosine'] as const) {
      const table = tableOf(name === 'linear' ? Schedule.linear() : Schedule.cosine());
      const got = respacedBetas(table, samplerTimesteps(Sampler.ddpm({ steps: 50 }), 1000));
      const want = respacedBetasOracle(alphasCumprodOracle(name, 1000), new Set(kept));
      assertClose(got, want, 1e-12, `${name} respaced betas vs oracle`, 1e-9);
      assertClose(got.slice(0, 3), fromReference[name].head, 1e-12, `${name} head vs improved-diffusion`, 1e-9);
      assertClose(got.slice(-3), fromReference[name].tail, 1e-12, `${name} tail vs improved-diffusion`, 1e-9);
      // over every step they are the schedule's own betas
      assertClose(respacedBetas(table, range(1, 1001, 1)), table.betas.slice(1), 1e-15, `${name} unspaced`, 1e-12);
    }
    assert.throws(() => respacedBetas(tableOf(Schedule.linear()), [3, 3]), /kept\[1\] = 3/);
  });

  it('a respaced DDPM step is the posterior of the respaced process (any tPrev < t, not only t - 1)', () => {
    const table = tableOf(Schedule.cosine());
    const kept = spaceTimestepsOracle(1000, [50]);
    const betas = respacedBetasOracle(alphasCumprodOracle('cosine', 1000), new Set(kept));
    const [xt, x0, z] = [1, 2, 3].map((i) => tf.tensor(Key.normal(Key.key(i), 12), [2, 6])) as [Tensor, Tensor, Tensor];
    for (const i of [1, 10, 25, 49]) {
      const [t, tPrev] = [kept[i]! + 1, kept[i - 1]! + 1];
      const { c0, ct, variance } = posteriorOracle(betas, i);
      const got = reverseStep(table, Sampler.ddpm({ steps: 50 }), xt, x0, t, tPrev, z);
      const [a, b, c] = [x0.dataSync(), xt.dataSync(), z.dataSync()];
      const want = Array.from(a, (v, j) => c0 * v + ct * b[j]! + Math.sqrt(variance) * c[j]!);
      assertClose(got.dataSync(), want, 1e-5, `step ${t} -> ${tPrev}`, 1e-5);
      got.dispose();
    }
    tf.dispose([xt, x0, z]);
  });

  it("generate runs UMD's DDIM and respaced DDPM end to end: the network calls and the result of a float64 loop over the reference formulas", () => {
    const T = 1000;
    const ac = alphasCumprodOracle('cosine', T); // reference index r = tesserae t - 1
    const n = 8;
    const slope = 0.6; // a toy network: x0 = slope * x_t
    const run = (sampler: Sampler): { calls: number[]; x: Float32Array } => {
      const calls: number[] = [];
      const x = generate(
        (xt, t) => {
          calls.push(t);
          return { x0: tf.mul(xt, slope) };
        },
        Schedule.cosine(),
        { tokens: 2, patchDim: 4, classes: undefined },
        { labels: [null], guidance: 1, sampler, key: Key.key(7), clip: null },
      );
      const out = x.dataSync() as Float32Array;
      x.dispose();
      return { calls, x: out };
    };
    const xT = Array.from(Key.normal(Key.fold(Key.key(7), 'xT'), n));

    // UMD: ddim_sample with eta 0 over umdCallsOracle, the last call returning pred_xstart
    const umd = run(Sampler.ddim({ steps: 125, eta: 0, grid: 'arange' }));
    const calls = umdCallsOracle(T, 125);
    assert.deepEqual(
      umd.calls,
      calls.map(([t]) => t + 1),
    );
    let x = [...xT];
    for (const [t, next] of calls) {
      const pred = x.map((v) => slope * v);
      if (next < 0) {
        x = pred;
        break;
      }
      const [ab, abPrev] = [ac[t]!, ac[next]!];
      x = x.map((v, j) => {
        const eps = (v - Math.sqrt(ab) * pred[j]!) / Math.sqrt(1 - ab);
        return pred[j]! * Math.sqrt(abPrev) + Math.sqrt(1 - abPrev) * eps;
      });
    }
    assertClose(umd.x, x, 1e-4, "UMD's DDIM loop", 1e-3);

    // respaced DDPM over space_timesteps(1000, [50]) with the same noise draws as the library's
    const ddpm = run(Sampler.ddpm({ steps: 50 }));
    const kept = spaceTimestepsOracle(T, [50]);
    assert.deepEqual(
      ddpm.calls,
      [...kept].reverse().map((r) => r + 1),
    );
    const betas = respacedBetasOracle(ac, new Set(kept));
    x = [...xT];
    for (let i = kept.length - 1, step = 0; i >= 0; i--, step++) {
      const pred = x.map((v) => slope * v);
      if (i === 0) {
        x = pred;
        break;
      }
      const { c0, ct, variance } = posteriorOracle(betas, i);
      const z = Key.normal(Key.fold(Key.fold(Key.key(7), 'z'), step), n);
      x = x.map((v, j) => c0 * pred[j]! + ct * v + Math.sqrt(variance) * z[j]!);
    }
    assertClose(ddpm.x, x, 1e-4, 'respaced DDPM loop', 1e-3);
  });
});

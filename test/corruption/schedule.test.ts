import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  tf,
  Key,
  Schedule,
  tableOf,
  qSample,
  placeNoise,
  Noise,
  Time,
  sampleTime,
  drawMask,
  Mask,
  maskTensors,
  ConfigError,
  decodeSchedule,
} from '../../src/index.js';
import { arbKey, arbSchedule } from '../../src/testing/index.js';
import { forEachBackend, noLeak, assertClose } from '../helpers.js';

describe('schedules', () => {
  it('law: alphaBar is 1 at t = 0, strictly decreasing and in (0, 1]', () => {
    fc.assert(
      fc.property(arbSchedule(), (s) => {
        const { alphaBar, betas } = tableOf(s);
        assert.equal(alphaBar.length, s.steps + 1);
        assert.equal(alphaBar[0], 1);
        for (let t = 1; t <= s.steps; t++) {
          assert.ok(alphaBar[t]! < alphaBar[t - 1]!, `alphaBar[${t}] = ${alphaBar[t]} >= alphaBar[${t - 1}]`);
          assert.ok(alphaBar[t]! > 0 && alphaBar[t]! <= 1);
          assert.ok(betas[t]! > 0 && betas[t]! < 1);
        }
      }),
      { numRuns: 100 },
    );
  });

  it('linear DDPM schedule: alphaBar_T = prod(1 - beta) for beta from 1e-4 to 0.02', () => {
    const tab = tableOf(Schedule.linear());
    let prod = 1;
    for (let t = 0; t < 1000; t++) prod *= 1 - (1e-4 + ((0.02 - 1e-4) * t) / 999);
    assert.ok(Math.abs(tab.alphaBar[1000]! - prod) < 1e-15);
    assert.ok(Math.abs(tab.alphaBar[1000]! - 4.036e-5) < 1e-7, `alphaBar_T = ${tab.alphaBar[1000]}`);
    assert.ok(Math.abs(tab.betas[1]! - 1e-4) < 1e-12 && Math.abs(tab.betas[1000]! - 0.02) < 1e-12);
  });

  it('cosine schedule follows cos^2 of the shifted time wherever beta is not capped', () => {
    const s = 0.008;
    const f = (u: number): number => Math.cos(((u + s) / (1 + s)) * (Math.PI / 2)) ** 2;
    const tab = tableOf(Schedule.cosine());
    for (const t of [1, 10, 250, 500, 900]) assert.ok(Math.abs(tab.alphaBar[t]! - f(t / 1000) / f(0)) < 1e-9, `t = ${t}`);
    assert.ok(Math.abs(tab.betas[1000]! - 0.999) < 1e-9, 'the last beta is capped');
  });

  it('rho is an exponent on alphaBar', () => {
    const a = tableOf(Schedule.cosine()).alphaBar;
    const b = tableOf(Schedule.cosine({ rho: 2 })).alphaBar;
    for (const t of [0, 100, 700]) assert.ok(Math.abs(b[t]! - a[t]! ** 2) < 1e-12);
  });

  it("rho on the betas (the DiffMAE reproduction's reading): beta_t -> min(beta_t ^ rho, cap), alphaBar their product; alphaBar stays the default", () => {
    // a plain loop from the formulas: linear betas 1e-4..0.02 over T, each raised to rho, capped at 0.999
    const oracle = (T: number, rho: number, beta: (t: number) => number, cap: number): number[] => {
      const ab = [1];
      for (let t = 1; t <= T; t++) ab.push(ab[t - 1]! * (1 - Math.min(beta(t) ** rho, cap)));
      return ab;
    };
    const linear = (t: number) => 1e-4 + ((0.02 - 1e-4) * (t - 1)) / 999;
    const got = tableOf(Schedule.linear({ rho: 0.8, rhoOn: 'betas' }));
    assertClose(got.alphaBar, oracle(1000, 0.8, linear, 0.999), 1e-14, 'linear, rho 0.8 on betas', 1e-10);
    assertClose(
      got.betas.slice(1),
      Array.from({ length: 1000 }, (_, i) => linear(i + 1) ** 0.8),
      1e-14,
      'betas ^ 0.8',
      1e-9,
    );
    // not the alphaBar reading: the two differ at every t >= 1
    const other = tableOf(Schedule.linear({ rho: 0.8 })).alphaBar;
    for (const t of [1, 100, 999]) assert.ok(Math.abs(other[t]! - got.alphaBar[t]!) > 1e-6, `t = ${t}`);
    // the cap is re-applied after rho: cosine's last beta is 0.999, and 0.999 ^ 0.5 > 0.999
    const cos = tableOf(Schedule.cosine({ rho: 0.5, rhoOn: 'betas' }));
    assert.ok(Math.abs(cos.betas[1000]! - 0.999) < 1e-9, `last beta ${cos.betas[1000]}`);
    const f = (u: number) => Math.cos(((u + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
    const cosBeta = (t: number) => Math.min(1 - f(t / 1000) / f((t - 1) / 1000), 0.999);
    assertClose(cos.alphaBar, oracle(1000, 0.5, cosBeta, 0.999), 1e-14, 'cosine, rho 0.5 on betas', 1e-9);
    // the default reading, for existing models, is alphaBar ^ rho
    assert.equal(Schedule.cosine({ rho: 2 }).rhoOn, 'alphaBar');
    assert.equal(Schedule.linear().rhoOn, 'alphaBar');
  });

  it('rhoOn is encoded and decoded; a schedule written without it (before 0.2.0) reads as rho on alphaBar', () => {
    for (const s of [Schedule.linear({ rho: 0.8, rhoOn: 'betas' }), Schedule.cosine({ rho: 1.5, rhoOn: 'alphaBar' }), Schedule.cosine()])
      assert.deepEqual(decodeSchedule('s', JSON.parse(JSON.stringify(s))), s);
    const old = { kind: 'cosine', steps: 1000, s: 0.008, maxBeta: 0.999, rho: 2 };
    assert.deepEqual(decodeSchedule('s', old), Schedule.cosine({ rho: 2 }));
    assert.deepEqual(tableOf(decodeSchedule('s', old)).alphaBar, tableOf(Schedule.cosine({ rho: 2, rhoOn: 'alphaBar' })).alphaBar);
    assert.throws(
      () => decodeSchedule('model.schedule', { ...old, rhoOn: 'sigma' }),
      (e: unknown) => e instanceof ConfigError && e.field === 'model.schedule.rhoOn',
    );
  });

  it('bad schedule parameters are ConfigErrors naming the field', () => {
    assert.throws(
      () => Schedule.linear({ betaStart: 0.1, betaEnd: 0.01 }),
      (e: unknown) => e instanceof ConfigError && e.field === 'schedule.betaStart',
    );
    assert.throws(() => Schedule.cosine({ rho: 0 }), /schedule\.rho = 0/);
    assert.throws(() => Schedule.cosine({ steps: 0 }), /schedule\.steps = 0/);
    assert.throws(() => Schedule.linear({ betaEnd: 1 }), /schedule\.betaEnd = 1/);
    assert.throws(() => Schedule.cosine({ s: NaN }), /schedule\.s = NaN/);
  });

  it('time sampling: zero, fixed, and uniform over 1..T', () => {
    assert.deepEqual(Array.from(sampleTime(Time.zero(), Key.key(0), 3, 1000)), [0, 0, 0]);
    assert.deepEqual(Array.from(sampleTime(Time.fixed(7), Key.key(0), 2, 1000)), [7, 7]);
    const u = sampleTime(Time.uniform(), Key.key(1), 5000, 10);
    assert.deepEqual(
      [...new Set(u)].sort((a, b) => a - b),
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    );
    assert.throws(() => sampleTime(Time.fixed(11), Key.key(0), 1, 10), ConfigError);
  });
});

forEachBackend('noise', (backend) => {
  it('law: q_sample at t = 0 is the identity; at t it matches the closed form', () => {
    fc.assert(
      fc.property(arbSchedule({ maxSteps: 50 }), arbKey(), (s, k) => {
        const [k1, k2, k3] = Key.split(k, 3);
        const shape = [3, 4, 5];
        const x0 = tf.tensor(Key.normal(k1!, 60), shape);
        const eps = tf.tensor(Key.normal(k2!, 60), shape);
        const t = Key.randint(k3!, 3, 0, s.steps + 1);
        t[0] = 0;
        const xt = noLeak(() => qSample(tableOf(s), x0, t, eps));
        const tab = tableOf(s);
        const a = x0.dataSync();
        const e = eps.dataSync();
        const want = Array.from(a, (v, i) => {
          const ti = t[Math.floor(i / 20)]!;
          return tab.sqrtAlphaBar[ti]! * v + tab.sqrtOneMinusAlphaBar[ti]! * e[i]!;
        });
        const got = xt.dataSync();
        assert.deepEqual(Array.from(got.subarray(0, 20)), Array.from(a.subarray(0, 20)), 't = 0 returns x0 exactly');
        assertClose(got, want, backend === 'cpu' ? 1e-5 : 1e-5, 'q_sample', 1e-6);
        tf.dispose([x0, eps, xt]);
      }),
      { numRuns: 30 },
    );
  });

  it('law: noise placed on masked patches leaves visible patches bit-identical', () => {
    fc.assert(
      fc.property(arbKey(), fc.double({ min: 0, max: 0.95, noNaN: true }), (k, r) => {
        const [km, kx, ke, kt] = Key.split(k, 4);
        const d = drawMask(Mask.random(r), km!, 2, { rows: 3, cols: 3 });
        const m = maskTensors(d);
        const x0 = tf.tensor(Key.normal(kx!, 2 * 9 * 6), [2, 9, 6]);
        const eps = tf.tensor(Key.normal(ke!, 2 * 9 * 6), [2, 9, 6]);
        const t = Key.randint(kt!, 2, 1, 1001);
        const xt = noLeak(() => placeNoise(Noise.masked(Schedule.cosine()), x0, m.mask, t, eps));
        const all = noLeak(() => placeNoise(Noise.all(Schedule.cosine()), x0, m.mask, t, eps));
        const [a, b, c] = [x0.dataSync(), xt.dataSync(), all.dataSync()];
        for (let i = 0; i < a.length; i++) {
          const tok = Math.floor(i / 6);
          if (d.mask[tok] === 0) assert.ok(Object.is(a[i], b[i]), `visible value ${i} changed`);
          else assert.equal(b[i], c[i]);
        }
        tf.dispose([x0, eps, xt, all, m.mask, m.idsKeep, m.idsShuffle, m.idsRestore]);
      }),
      { numRuns: 30 },
    );
  });
});

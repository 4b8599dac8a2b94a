import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { combinators, corruption, keys, layerValue, run, stages } from '../../examples/tour.js';
import { useBackend } from '../../src/index.js';

describe('examples/tour', () => {
  before(async () => {
    await useBackend('wasm');
  });

  it('a layer: init gives shapes and plain params, apply computes', () => {
    assert.deepEqual(layerValue(), { outShape: [-1, 8], yShape: [2, 8], kernelShape: [4, 8] });
  });

  it('keys: the same path gives the same numbers, another path others', () => {
    assert.deepEqual(keys(), { same: true, different: true });
  });

  it('combinators and stages: specs from init, params shaped like the record', () => {
    const c = combinators();
    assert.deepEqual(c.encoderOut, [-1, 16, 32]);
    assert.equal(c.blocks, 2);
    assert.deepEqual(c.headsOut, ['x0', 'eps']);
    assert.ok(c.params > 0);
    assert.deepEqual(stages(), { fields: ['latent', 'patches', 'pred'], latent: [-1, 16, 32], pred: [-1, 16, 48] });
  });

  it('UMD corrupts half the batch clean (t = 0) and half noised (t >= 1)', () => {
    const [clean, noised] = corruption();
    assert.deepEqual(clean, { name: 'clean', rows: 4, keep: 4, tMin: 0, noised: false });
    assert.equal(noised!.name, 'noised');
    assert.equal(noised!.keep, 10);
    assert.ok(noised!.tMin >= 1 && noised!.noised);
  });

  it('a tiny MAE trains (the loss falls) and evaluates (accuracies in [0, 1]) without leaking tensors', async () => {
    const r = await run({ steps: 20 });
    assert.equal(r.losses.length, 20);
    assert.ok(r.losses.every(Number.isFinite));
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
    assert.ok(mean(r.losses.slice(-5)) < mean(r.losses.slice(0, 5)), `loss ${r.losses.map((l) => l.toFixed(3)).join(' ')}`);
    for (const a of [r.ridge, r.knn]) assert.ok(a >= 0 && a <= 1, `accuracy ${a}`);
    assert.ok(r.ridge > 0.1, `ridge accuracy ${r.ridge} is above chance (10 classes)`);
    assert.ok(Number.isFinite(r.psnr) && r.psnr > 0, `psnr ${r.psnr}`);
    assert.equal(r.leaked, 0);
  });
});

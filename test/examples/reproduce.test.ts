import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { compare } from '../../examples/reproduce.js';
import { useBackend } from '../../src/index.js';

describe('examples/reproduce', () => {
  before(async () => {
    await useBackend('wasm');
  });

  it('trains MAE, DiffMAE and UMD for the same budget and probes them beside the random-init encoder; training raises the held-out PSNR', async () => {
    const { rows, leaked } = await compare({ steps: 20, count: 200 });
    assert.deepEqual(
      rows.map((r) => [r.method, r.steps]),
      [
        ['random init', 0],
        ['mae', 20],
        ['diffmae', 20],
        ['umd', 20],
      ],
    );
    for (const r of rows) {
      for (const a of [r.ridge, r.knn]) assert.ok(a >= 0 && a <= 1, `${r.method}: accuracy ${a}`);
      assert.ok(Number.isFinite(r.psnr), `${r.method}: PSNR ${r.psnr}`);
    }
    const random = rows[0]!.psnr;
    for (const r of rows.slice(1)) assert.ok(r.psnr > random + 1, `${r.method}: PSNR ${r.psnr} dB vs random init ${random} dB`);
    assert.equal(leaked, 0);
  });
});

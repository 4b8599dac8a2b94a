import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { inpaintPretrained, probeAgainstPixels } from '../../examples/realData.js';
import { useBackend } from '../../src/index.js';

describe('examples/realData', () => {
  before(async () => {
    await useBackend('wasm');
  });

  it('the pretrained DiffMAE and MAE inpaint real test images far better than a flat grey fill', () => {
    for (const name of ['diffmae-fashion', 'mae-fashion']) {
      const psnrs = inpaintPretrained(name, 8);
      assert.equal(psnrs.length, 8);
      const mean = psnrs.reduce((a, b) => a + b, 0) / psnrs.length;
      assert.ok(mean > 13, `${name}: mean masked PSNR ${mean.toFixed(2)} dB`);
    }
  });

  it('the pretrained MAE encoder and the raw pixels both probe far above chance', async () => {
    const r = await probeAgainstPixels('mae-fashion', 1000, 500);
    for (const v of [r.model.knn, r.model.ridge, r.pixels.knn, r.pixels.ridge]) assert.ok(v > 0.5 && v <= 1, JSON.stringify(r));
  });
});

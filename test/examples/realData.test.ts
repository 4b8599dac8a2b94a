import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { inpaintPretrained, meanFillPsnr, probeAgainstPixels } from '../../examples/realData.js';
import { useBackend } from '../../src/index.js';

describe('examples/realData', () => {
  before(async () => {
    await useBackend('wasm');
  });

  it('the pretrained MAE, UMD and DiffMAE inpaint the centre of real test images better than a mean-colour fill', () => {
    const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
    const floor = mean(meanFillPsnr(32)); // about 8.9 dB
    // measured when they were made, on the first 64 test images: MAE 13.7, UMD 14.3, DiffMAE (a DDIM sample, penalised for its sharpness) 11.0 dB
    for (const [name, margin] of [
      ['mae-fashion', 3],
      ['umd-fashion', 3],
      ['diffmae-fashion', 1],
    ] as const) {
      const psnrs = inpaintPretrained(name, 32);
      assert.equal(psnrs.length, 32);
      assert.ok(mean(psnrs) > floor + margin, `${name}: mean masked PSNR ${mean(psnrs).toFixed(2)} dB, mean fill ${floor.toFixed(2)} dB`);
    }
  });

  it('the pretrained MAE encoder and the raw pixels both probe far above chance', async () => {
    const r = await probeAgainstPixels('mae-fashion', 1000, 500);
    for (const v of [r.model.knn, r.model.ridge, r.pixels.knn, r.pixels.ridge]) assert.ok(v > 0.5 && v <= 1, JSON.stringify(r));
  });
});

/**
 * Real data: Fashion-MNIST from Debian's `dataset-fashion-mnist`, the pretrained checkpoints
 * that ship with tesserae, and the probes against the raw-pixel floor.
 * docs/guides/real-data.md includes this file by region; test/examples runs it.
 * Run: node dist/examples/realData.js
 */
import {
  Key,
  Mask,
  channelStats,
  batchTensor,
  disposeParams,
  drawMask,
  evaluate,
  maskedPsnr,
  meanColourFill,
  pixelFeatures,
  predictRemoved,
  probeFeatures,
  tf,
  useBackend,
} from '../src/index.js';
import { FASHION_MNIST_DIR, loadFashionMnist, loadSplits, openModel } from '../src/node/index.js';

/** Inpaints the centre quarter of the first `n` test images with a pretrained checkpoint; the masked-region PSNR of each. */
export const inpaintPretrained = (name: string, n: number): number[] => {
  // #region inpaint
  const test = loadFashionMnist(FASHION_MNIST_DIR, 'test'); // the official 10,000 test images, 28 x 28 x 1
  const m = openModel(`pretrained:${name}`); // e.g. 'diffmae-fashion': a model on [28, 28, 1]
  const images = batchTensor(
    test,
    Int32Array.from({ length: n }, (_, i) => i),
    m.norm,
  );
  const draw = drawMask(Mask.center(0.25), Key.key(1), n, m.model.grid);
  const { pred, x0, mask } = predictRemoved(m.model, m.params, images, draw, m.norm, Key.key(2));
  const psnrs = maskedPsnr(m.model.grid, pred, x0, mask, m.norm); // dB over the removed region
  tf.dispose([images, pred, x0, mask]);
  disposeParams(m.params);
  // #endregion inpaint
  return psnrs;
};

/** The floor for {@link inpaintPretrained}: the removed patches filled with the visible pixels' mean colour (learns nothing). */
export const meanFillPsnr = (n: number): number[] => {
  const test = loadFashionMnist(FASHION_MNIST_DIR, 'test');
  const m = openModel('pretrained:mae-fashion');
  const images = batchTensor(
    test,
    Int32Array.from({ length: n }, (_, i) => i),
    m.norm,
  );
  const draw = drawMask(Mask.center(0.25), Key.key(1), n, m.model.grid);
  const { pred, x0, mask } = predictRemoved(m.model, m.params, images, draw, m.norm, Key.key(2));
  const fill = meanColourFill(m.model.grid, x0, mask);
  const psnrs = maskedPsnr(m.model.grid, fill, x0, mask, m.norm);
  tf.dispose([images, pred, x0, mask, fill]);
  disposeParams(m.params);
  return psnrs;
};

/** k-NN and 10-shot ridge of a pretrained encoder and of raw pixels, on `count` training and `test` test images. */
export const probeAgainstPixels = async (
  name: string,
  count: number,
  test: number,
): Promise<{ model: { knn: number; ridge: number }; pixels: { knn: number; ridge: number } }> => {
  // #region probes
  const { train, held } = loadSplits({ kind: 'fashion-mnist' }, { count, held: test, seed: 0 }); // stratified, seeded
  const m = openModel(`pretrained:${name}`);
  const r = await evaluate(m.model, m.params, train, held, m.norm, { probes: ['knn', 'ridge'], psnrImages: 0 });
  disposeParams(m.params);
  // the floor: the same probes on the normalised pixels
  const norm = channelStats(train);
  const p = probeFeatures(pixelFeatures(train, norm), pixelFeatures(held, norm), { probes: ['knn', 'ridge'] });
  // #endregion probes
  return { model: { knn: r.knn!.accuracy, ridge: r.ridge!.accuracy }, pixels: { knn: p.knn!.accuracy, ridge: p.ridge!.accuracy } };
};

if (process.argv[1]?.endsWith('realData.js')) {
  await useBackend('wasm');
  console.log(
    'masked PSNR (dB), pretrained DiffMAE:',
    inpaintPretrained('diffmae-fashion', 8)
      .map((v) => v.toFixed(2))
      .join(' '),
  );
  console.log(JSON.stringify(await probeAgainstPixels('mae-fashion', 2000, 1000)));
}

/**
 * Reproducing the papers at small scale, from code: the same budget for each method, then the
 * same frozen-feature probes and held-out reconstruction. `tesserae compare` does this at the
 * size of docs/compare (plus generation); this is the loop it runs, at a size a test can afford.
 * docs/guides/reproducing-the-papers.md includes this file by region.
 * Run: node dist/examples/reproduce.js
 */
import {
  buildModel,
  channelStats,
  disposeState,
  evaluate,
  initState,
  presetSpec,
  synthetic,
  tf,
  train,
  trainConfig,
  useBackend,
  type MethodName,
  type ModelSpec,
} from '../src/index.js';

// #region specs
/** One size for every method: a 16 x 16 image, 4 x 4 patches, a 2-block encoder. */
const image = [16, 16, 3] as const;
const encoder = { width: 32, depth: 2, heads: 2 };
const decoder = { width: 32, depth: 1, heads: 2 };
/** A method's preset (its corruption, decoder kind, CLS tokens, positions) on this image, resized: specs are plain data. */
const sized = (method: MethodName): ModelSpec => {
  const s = presetSpec(method, 'micro/4', { image });
  const network = { ...s.network, encoder: { ...s.network.encoder, ...encoder }, decoder: { ...s.network.decoder, ...decoder } };
  return { ...s, network, label: method };
};
// UMD's defaults: r0 0.5, masks 0.75 / 0.375, 4 CLS tokens, learned positions; DiffMAE's decoder: cross-self
export const specs = { mae: sized('mae'), diffmae: sized('diffmae'), umd: sized('umd') } as const;
// #endregion specs

/** One row of the comparison. */
export interface Row {
  readonly method: MethodName | 'random init';
  readonly steps: number;
  readonly ridge: number;
  readonly knn: number;
  readonly psnr: number;
}

/** Trains each method for `steps` steps on the same data and key, then probes it. */
export const compare = async (o: { readonly steps?: number; readonly count?: number } = {}): Promise<{ rows: Row[]; leaked: number }> => {
  const start = tf.memory().numTensors;
  // #region compare
  const trainSet = synthetic({ count: o.count ?? 400, size: 16 });
  const testSet = synthetic({ count: 200, size: 16, start: o.count ?? 400 });
  const norm = channelStats(trainSet);
  const cfg = trainConfig({ steps: o.steps ?? 40, batch: 32, baseLr: 4e-2, warmup: 4, seed: 0 });
  const rows: Row[] = [];
  for (const method of ['mae', 'diffmae', 'umd'] as const) {
    const model = buildModel(specs[method]);
    const init = initState(model, trainSet, cfg);
    if (method === 'mae') {
      // the baseline: the same encoder, untrained
      const r = await evaluate(model, init.params, trainSet, testSet, norm, { probes: ['ridge', 'knn'], psnrImages: 64 });
      rows.push({ method: 'random init', steps: 0, ridge: r.ridge!.accuracy, knn: r.knn!.accuracy, psnr: r.reconstruction!.psnr });
    }
    const final = await train(model, trainSet, cfg, init, {}, norm); // consumes init
    const r = await evaluate(model, final.params, trainSet, testSet, norm, { probes: ['ridge', 'knn'], psnrImages: 64 });
    rows.push({ method, steps: cfg.steps, ridge: r.ridge!.accuracy, knn: r.knn!.accuracy, psnr: r.reconstruction!.psnr });
    disposeState(final);
  }
  // #endregion compare
  return { rows, leaked: tf.memory().numTensors - start };
};

if (import.meta.url === `file://${process.argv[1]}`) {
  await useBackend('auto');
  const { rows } = await compare();
  console.table(rows);
}

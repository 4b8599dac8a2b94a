/**
 * Write your own variant: a hybrid none of the five methods is, as one model spec (a corruption
 * value and a network spec), first-class everywhere a preset is: trained with the library's
 * trainer, saved and reopened as a checkpoint, evaluated with every probe, inpainting removed
 * patches. docs/guides/write-your-own-variant.md includes this file by region, and
 * test/examples/variant.test.ts runs it.
 * Run: node dist/examples/variant.js
 */
import {
  Mask,
  Noise,
  Schedule,
  Time,
  buildModel,
  channelStats,
  disposeParams,
  drawMask,
  encodeCheckpoint,
  evaluate,
  initState,
  Key,
  mixture,
  openModelBytes,
  patches,
  predictRemoved,
  presetSpec,
  batchTensor,
  synthetic,
  term,
  tf,
  train,
  trainConfig,
  useBackend,
  type ModelSpec,
} from '../src/index.js';

// #region variant
/** UMD's network at the micro size, on 16 x 16 images. */
const umd = presetSpec('umd', 'micro/4', { image: [16, 16, 3] });
/** The centre 2 x 2 patches of the 4 x 4 grid, removed in every branch. */
const block = Mask.block({ top: 1, left: 1, height: 2, width: 2 });

/**
 * A quarter of each batch is clean (t = 0): inpaint the block from the visible patches. The rest
 * noises the whole image at low t only (1..100): denoise the visible patches (eps) and inpaint
 * the block (x0), as UMD scores its noised share.
 */
export const spec: ModelSpec = {
  ...umd,
  label: 'block + low-t + clean share',
  corruption: mixture(patches(4), [
    { name: 'clean', weight: 0.25, branch: { mask: block, noise: Noise.none(), time: Time.zero(), objective: [term('x0', 'masked')] } },
    {
      name: 'low-t',
      weight: 0.75,
      branch: {
        mask: block,
        noise: Noise.all(Schedule.cosine()),
        time: Time.range(1, 100),
        objective: [term('eps', 'visible', 0.5), term('x0', 'masked', 0.5)],
      },
    },
  ]),
};

export const model = buildModel(spec); // checks the corruption against the network; heads x0 and eps from the objective
// #endregion variant

/** The loss on one fixed batch with a fixed key: only the params change between calls. */
const fixedLoss = (params: Parameters<typeof model.apply>[0], images: tf.Tensor): number =>
  tf.tidy(() => model.apply(params, { images }, { key: Key.key(7), training: true }).loss.dataSync()[0]!);

/** Trains the variant, saves and reopens it, evaluates it and inpaints with it. */
export const run = async (o: { readonly steps?: number } = {}) => {
  const start = tf.memory().numTensors;
  // #region train
  const trainSet = synthetic({ count: 200, size: 16 });
  const testSet = synthetic({ count: 100, size: 16, start: 200 });
  const norm = channelStats(trainSet);
  const cfg = trainConfig({ steps: o.steps ?? 20, batch: 32, baseLr: 5e-2, warmup: 2 }); // lr = baseLr * 32 / 256
  const losses: number[] = [];
  const final = await train(model, trainSet, cfg, initState(model, trainSet, cfg), { onStep: (s) => void losses.push(s.loss) }, norm);
  // #endregion train
  // #region checkpoint
  // a checkpoint stores the spec: any program reopens the variant without its code
  const bytes = encodeCheckpoint(final, { spec: JSON.stringify(spec), norm: JSON.stringify(norm) });
  const reopened = openModelBytes(bytes, 'variant.safetensors');
  // #endregion checkpoint
  // #region evaluate
  const r = await evaluate(reopened.model, reopened.params, trainSet, testSet, norm, {
    probes: ['ridge', 'knn', 'linear'],
    shots: 5,
    psnrImages: 16, // held-out PSNR of the block, reconstructed in one pass by the clean branch
  });
  const images = batchTensor(testSet, Int32Array.of(0, 1, 2, 3), norm);
  const inpainted = predictRemoved(reopened.model, reopened.params, images, drawMask(block, Key.key(0), 4, model.grid), norm, Key.key(1));
  // #endregion evaluate
  const initial = initState(model, trainSet, cfg); // the same seed gives the same initial params
  const batch = batchTensor(
    trainSet,
    Int32Array.from({ length: 32 }, (_, i) => i),
    norm,
  );
  const before = fixedLoss(initial.params, batch);
  const after = fixedLoss(final.params, batch);
  const afterReopened = fixedLoss(reopened.params, batch);
  tf.dispose([batch, images, inpainted.pred, inpainted.x0, inpainted.mask]);
  for (const s of [initial, final]) [s.params, s.opt.m, s.opt.v].forEach(disposeParams);
  disposeParams(reopened.params);
  return { losses, before, after, afterReopened, result: r, removed: 4, leaked: tf.memory().numTensors - start };
};

if (import.meta.url === `file://${process.argv[1]}`) {
  await useBackend('auto');
  const r = await run();
  console.log({ before: r.before, after: r.after, ...r.result });
}

/**
 * Write your own variant: a hybrid the five methods do not cover, as one corruption value and a
 * network, trained with the library's trainer and evaluated with frozen-feature probes.
 * docs/guides/write-your-own-variant.md includes this file by region.
 * Run: node dist/examples/variant.js
 */
import {
  Key,
  Mask,
  Noise,
  Schedule,
  Time,
  batchTensor,
  channelStats,
  classCount,
  condAe,
  corruptPatches,
  ctx,
  disposeParams,
  initState,
  knnProbe,
  mapBatches,
  methodModel,
  mixture,
  patches,
  patchifyOp,
  ridgeProbe,
  synthetic,
  term,
  tf,
  train,
  trainConfig,
  useBackend,
  validateBranch,
  gridOf,
  type CondAeParams,
  type Features,
  type LabelledImages,
  type Norm,
  type Tensor,
} from '../src/index.js';

// #region variant
/**
 * Half of each batch is MAE at a 90% mask (clean, t = 0). The other half removes the centre
 * quarter of the image, noises the rest, and asks for the clean image everywhere: denoise what
 * is visible, inpaint what is not, with one x0 head.
 */
export const variant = mixture(patches(4), [
  {
    name: 'mae90',
    weight: 0.5,
    branch: { mask: Mask.random(0.9), noise: Noise.none(), time: Time.zero(), objective: [term('x0', 'masked')] },
  },
  {
    name: 'inpaint',
    weight: 0.5,
    branch: { mask: Mask.center(0.25), noise: Noise.all(Schedule.cosine()), time: Time.uniform(), objective: [term('x0', 'all')] },
  },
]);

/** UMD's network: a timestep-conditioned encoder and decoder, with the one head the objective scores. */
export const network = condAe({
  image: [16, 16, 3],
  patch: 4,
  encoder: { width: 32, depth: 2, heads: 2 },
  decoder: { width: 32, depth: 1, heads: 2 },
  clsTokens: 1,
  heads: ['x0'],
});

export const model = methodModel(variant, network, 'mae90+inpaint');
// #endregion variant

// #region features
/** The clean view: no mask, no noise, t = 0. The encoder sees every patch of the image. */
const clean = validateBranch({ mask: Mask.none(), noise: Noise.none(), time: Time.zero(), objective: [term('x0', 'all')] });
const grid = gridOf(variant.patching, [16, 16, 3]);

/** Frozen features: the mean of the encoder's patch tokens, one vector per image. */
export const features = (params: CondAeParams, data: LabelledImages, norm: Norm): Features => {
  const encode = (images: Tensor): Tensor => {
    const view = corruptPatches(clean, Key.key(0), grid, patchifyOp(variant.patching, images));
    return tf.mean(network.encode(params, view, ctx(Key.key(0))).visible, 1);
  };
  const width = 32;
  return {
    count: data.count,
    dim: width,
    data: mapBatches(data, norm, 100, width, encode),
    labels: data.labels,
    classes: classCount(data),
  };
};
// #endregion features

/** The loss on one fixed batch with a fixed key: only the params change between calls. */
const fixedLoss = (params: CondAeParams, data: LabelledImages, norm: Norm): number =>
  tf.tidy(() => {
    const images = batchTensor(
      data,
      Int32Array.from({ length: 32 }, (_, i) => i),
      norm,
    );
    return model.apply(params, { images }, ctx(Key.key(7), true)).loss.dataSync()[0]!;
  });

/** Trains the variant for a few steps and probes its encoder. */
export const run = async (
  o: { readonly steps?: number } = {},
): Promise<{ losses: number[]; before: number; after: number; ridge: number; knn: number; leaked: number }> => {
  const start = tf.memory().numTensors;
  // #region train
  const trainSet = synthetic({ count: 200, size: 16 });
  const testSet = synthetic({ count: 100, size: 16, start: 200 });
  const norm = channelStats(trainSet);
  const cfg = trainConfig({ steps: o.steps ?? 20, batch: 32, baseLr: 5e-2, warmup: 2 }); // lr = baseLr * 32 / 256
  const losses: number[] = [];
  const final = await train(model, trainSet, cfg, initState(model, trainSet, cfg), { onStep: (s) => void losses.push(s.loss) }, norm);
  // #endregion train
  // #region probe
  const fTrain = features(final.params, trainSet, norm);
  const fTest = features(final.params, testSet, norm);
  const ridge = ridgeProbe(fTrain, fTest); // lambda chosen by cross-validation on the training features
  const knn = knnProbe(fTrain, fTest, { k: 10 });
  // #endregion probe
  const initial = initState(model, trainSet, cfg); // the same seed gives the same initial params
  const before = fixedLoss(initial.params, trainSet, norm);
  const after = fixedLoss(final.params, trainSet, norm);
  for (const s of [initial, final]) [s.params, s.opt.m, s.opt.v].forEach(disposeParams);
  return { losses, before, after, ridge: ridge.accuracy, knn: knn.accuracy, leaked: tf.memory().numTensors - start };
};

if (import.meta.url === `file://${process.argv[1]}`) {
  await useBackend('auto');
  const r = await run();
  console.log({ before: r.before, after: r.after, ridge: r.ridge, knn: r.knn });
}

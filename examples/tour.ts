/**
 * All of tesserae on one page: the Layer value, keys, combinators, stage pipelines, the
 * corruption algebra, and running it (a tiny MAE trained a few steps, then evaluated).
 * docs/guides/all-of-tesserae.md includes this file by region. Run: node dist/examples/tour.js
 */
import { identity, pipe } from 'fp-ts/lib/function.js';
import {
  Key,
  Method,
  branch,
  buildModel,
  channelStats,
  corrupt,
  countParams,
  ctx,
  dense,
  disposeCorrupted,
  disposeParams,
  evaluate,
  initState,
  layerNorm,
  lift,
  mlp,
  on,
  residual,
  serial,
  spec,
  stack,
  start,
  synthetic,
  tf,
  stage,
  train,
  trainConfig,
  useBackend,
  vitBlock,
  type ModelSpec,
  type Tensor,
} from '../src/index.js';

/** A layer is a value: `init` computes shapes and params without running model math; `apply` computes. */
export const layerValue = (): { outShape: readonly number[]; yShape: number[]; kernelShape: number[] } => {
  // #region layer
  const d = dense(8);
  const { params, outSpec } = d.init(Key.key(0), spec([-1, 4])); // outSpec.shape: [-1, 8]
  const y = d.apply(params, tf.ones([2, 4]), ctx(Key.key(1))); // [2, 8]
  // params is plain data: { kernel: Tensor [4, 8], bias: Tensor [8] }
  // #endregion layer
  const out = { outShape: outSpec.shape, yShape: y.shape, kernelShape: params.kernel.shape };
  y.dispose();
  disposeParams(params);
  return out;
};

/** Keys are explicit and deterministic: the same key gives the same numbers on every backend and run. */
export const keys = (): { same: boolean; different: boolean } => {
  // #region keys
  const root = Key.key(42);
  const [kInit, kData] = Key.split(root); // two independent keys
  const kEncoder = Key.fold(kInit!, 'encoder'); // a key derived from a name (or a step number)
  const a = Key.uniform(kData!, 3);
  const b = Key.uniform(Key.split(Key.key(42))[1]!, 3); // same path, same numbers
  // #endregion keys
  return { same: a.every((v, i) => v === b[i]), different: Key.uniform(kEncoder, 3)[0] !== a[0] };
};

/** Combinators build bigger layers from records of layers; the record is also the params' shape. */
export const combinators = (): { encoderOut: readonly number[]; blocks: number; headsOut: string[]; params: number } => {
  // #region combinators
  const encoder = serial({
    embed: dense(32), // patches [B, L, 48] -> tokens [B, L, 32]
    blocks: stack(2, () => vitBlock({ width: 32, heads: 2 })), // params: an array of 2
    extra: residual(serial({ norm: layerNorm(), mlp: mlp({ hidden: 64 }) })), // x + f(x)
    act: lift('relu', (x: Tensor) => tf.relu(x), identity), // a function without params; its spec rule: unchanged
    norm: layerNorm(),
  });
  const heads = branch({ x0: dense(48), eps: dense(48) }); // one input, a record of outputs

  const { params, outSpec } = encoder.init(Key.key(0), spec([-1, 16, 48])); // shapes only: [-1, 16, 32]
  // params: { embed: { kernel, bias }, blocks: [block0, block1], extra: {...}, act: {}, norm: { scale, bias } }
  const h = heads.init(Key.key(1), outSpec); // h.outSpec: { x0: [-1, 16, 48], eps: [-1, 16, 48] }
  // #endregion combinators
  const out = {
    encoderOut: outSpec.shape,
    blocks: params.blocks.length,
    headsOut: Object.keys(h.outSpec),
    params: countParams(params),
  };
  disposeParams(params);
  disposeParams(h.params);
  return out;
};

/** Stage pipelines thread a record through named stages; each stage says what it needs and adds. */
export const stages = (): { fields: string[]; latent: readonly number[]; pred: readonly number[] } => {
  // #region stages
  const net = pipe(
    start<{ readonly patches: Tensor }>(),
    stage('encoder', on('patches', serial({ embed: dense(32), norm: layerNorm() }), 'latent')), // needs patches, adds latent
    stage('head', on('latent', dense(48), 'pred')), // needs latent, adds pred
  );
  const { params, outSpec } = net.init(Key.key(0), { patches: spec([-1, 16, 48]) });
  // params: { encoder: {...}, head: {...} }; outSpec: { patches, latent, pred }

  // A head placed before the stage that adds its input does not compile:
  // @ts-expect-error: 'latent' is not in the environment yet
  pipe(start<{ readonly patches: Tensor }>(), stage('head', on('latent', dense(48), 'pred')));
  // #endregion stages
  disposeParams(params);
  return { fields: Object.keys(outSpec).sort(), latent: outSpec.latent.shape, pred: outSpec.pred.shape };
};

/** The corruption algebra interpreted on a batch: one group per branch. */
export const corruption = (): { name: string; rows: number; keep: number; tMin: number; noised: boolean }[] => {
  const data = synthetic({ count: 8, size: 16 });
  const images = tf.tensor4d(data.images, [8, 16, 16, 3]);
  // #region corruption
  const umd = Method.umd({ patch: 4 }); // half clean at 75% masking, half noised at 37.5%
  const groups = corrupt(umd, Key.key(1), images);
  // groups[i]: { name, rows, keep, x0, xt, eps, t, mask, idsKeep, idsShuffle, idsRestore }
  const summary = groups.map((g) => ({
    name: g.name,
    rows: g.rows.length,
    keep: g.keep,
    tMin: Math.min(...g.tHost),
    noised: g.eps !== null,
  }));
  disposeCorrupted(groups);
  // #endregion corruption
  images.dispose();
  return summary;
};

/** A tiny MAE, trained a few steps with the library's trainer and evaluated with frozen-feature probes. */
export const run = async (
  o: { readonly steps?: number } = {},
): Promise<{ losses: number[]; ridge: number; knn: number; psnr: number; leaked: number }> => {
  const before = tf.memory().numTensors;
  // #region train
  // a model is plain data (what a checkpoint stores): the input shape, the corruption, the network
  const modelSpec: ModelSpec = {
    image: [16, 16, 3],
    corruption: Method.mae({ patch: 4 }), // 75% random mask, x0 loss on the removed patches
    network: {
      encoder: { width: 32, depth: 2, heads: 2, clsTokens: 1, clsInit: 'normal', pos: 'sincos', conditioning: 'none' },
      decoder: { kind: 'mask-token', width: 32, depth: 1, heads: 2 },
    },
  };
  const model = buildModel(modelSpec); // the layer the trainer drives
  const trainSet = synthetic({ count: 200, size: 16 });
  const testSet = synthetic({ count: 100, size: 16, start: 200 });
  const norm = channelStats(trainSet); // per-channel mean and std, applied to every batch
  const cfg = trainConfig({ steps: o.steps ?? 20, batch: 32, baseLr: 5e-3, warmup: 2 });
  const losses: number[] = [];
  const final = await train(model, trainSet, cfg, initState(model, trainSet, cfg), { onStep: (s) => void losses.push(s.loss) }, norm);
  // #endregion train
  // #region evaluate
  const result = await evaluate(model, final.params, trainSet, testSet, norm, { probes: ['ridge', 'knn'], shots: 10, psnrImages: 16 });
  // result.ridge.accuracy, result.knn.accuracy in [0, 1]; result.reconstruction.psnr in dB
  disposeParams(final.params);
  disposeParams(final.opt.m);
  disposeParams(final.opt.v);
  // #endregion evaluate
  return {
    losses,
    ridge: result.ridge?.accuracy ?? Number.NaN,
    knn: result.knn?.accuracy ?? Number.NaN,
    psnr: result.reconstruction?.psnr ?? Number.NaN,
    leaked: tf.memory().numTensors - before,
  };
};

if (import.meta.url === `file://${process.argv[1]}`) {
  await useBackend('auto');
  console.log(layerValue(), keys(), combinators(), stages());
  console.table(corruption());
  const r = await run();
  console.log({ first: r.losses[0], last: r.losses.at(-1), ridge: r.ridge, knn: r.knn, psnr: r.psnr });
}

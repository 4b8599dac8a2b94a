/**
 * A small tesserae MAE for the reference-format tests: its spec, params moved off their
 * initial values, and tesserae's own prediction for given images and masking noise.
 */
import {
  tf,
  Key,
  ctx,
  mapParams,
  applyWithMask,
  maskFromNoise,
  keepCount,
  buildModel,
  presetSpec,
  spec,
  disposeParams,
  type ModelSpec,
  type Params,
} from '../../src/index.js';

/** A small MAE: 16 x 16 x 3 images, patch 4 (16 tokens), encoder 16 wide and 2 deep, decoder 8 wide and 2 deep. */
export const smallMae = (o: { readonly normPix?: boolean } = {}): ModelSpec => {
  const s = presetSpec('mae', 'micro/4', { image: [16, 16, 3], ...(o.normPix ? { normPix: true } : {}) });
  return {
    ...s,
    network: {
      ...s.network,
      encoder: { ...s.network.encoder, width: 16, depth: 2, heads: 4 },
      decoder: { ...s.network.decoder, width: 8, depth: 2, heads: 2 },
    },
  };
};
export const smallArch = { side: 4, patch: 4, channels: 3, width: 16, depth: 2, decoderWidth: 8, decoderDepth: 2 };

/** Initialised params with every leaf moved off its initial value (LayerNorm scales of 1 and zero biases would hide a swapped mapping). */
export const perturbedParams = (s: ModelSpec, seed: number): Params => {
  const model = buildModel(s);
  const { params } = model.init(Key.key(seed), { images: spec([-1, ...s.image]) });
  let i = 0;
  const moved = mapParams(params, (t) =>
    tf.tidy(() => tf.add(t, tf.tensor(Key.normal(Key.fold(Key.key(seed + 1), i++), t.size), t.shape).mul(0.2))),
  );
  disposeParams(params);
  return moved;
};

/** tesserae's own prediction for images and per-sample masking noise (the reference convention). */
export const ownPrediction = (s: ModelSpec, params: Params, images: Float32Array, n: number, noise: Float32Array): Float32Array => {
  const model = buildModel(s);
  const l = model.grid.tokens;
  const x = tf.tensor4d(images, [n, s.image[0], s.image[1], s.image[2]!]);
  const out = applyWithMask(
    model.corruption,
    model.network.layer,
    params,
    x,
    maskFromNoise(noise, n, l, keepCount(l, 0.75)),
    ctx(Key.key(0)),
  );
  const pred = Float32Array.from(out.predX0!.dataSync());
  tf.dispose([x, out.loss, out.latent, out.predX0!, out.x0, out.xt, out.mask, out.idsRestore, out.t]);
  return pred;
};

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  tf,
  Key,
  ctx,
  spec,
  synthetic,
  buildModel,
  fromLegacy,
  disposeParams,
  encoderOf,
  extractFeatures,
  ConfigError,
  ShapeError,
  type ModelSpec,
  type Params,
} from '../../src/index.js';
import { noLeak, onWasm } from '../helpers.js';

onWasm();

const enc = { width: 16, depth: 1, heads: 2 };
const specs: ModelSpec[] = [
  { ...fromLegacy({ method: 'mae', config: { image: [16, 16, 3], patch: 4, encoder: enc, decoder: enc } }), label: 'mae' },
  {
    ...fromLegacy({ method: 'diffmae', config: { image: [16, 16, 3], patch: 4, encoder: enc, decoder: { ...enc, kind: 'cross' } } }),
    label: 'diffmae',
  },
  { ...fromLegacy({ method: 'umd', config: { image: [16, 16, 3], patch: 4, encoder: enc, decoder: enc, clsTokens: 2 } }), label: 'umd' },
  {
    ...fromLegacy({ method: 'dit', config: { image: [16, 16, 3], patch: 4, encoder: enc, decoder: { ...enc, depth: 0 }, classes: 10 } }),
    label: 'dit',
  },
];
const norm = { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] };
const data = synthetic({ count: 10, size: 16 });

const init = (s: ModelSpec, seed = 0) => {
  const b = buildModel(s);
  return { b, params: b.init(Key.key(seed), { images: spec([-1, 16, 16, 3]) }).params as Params };
};

describe('frozen features of every method', () => {
  for (const s of specs) {
    it(`${s.label}: [count, width], batch-size independent, no leak, deterministic`, () => {
      const { b, params } = init(s);
      const e = encoderOf(b, 'mean');
      const f = noLeak(() => extractFeatures(e, params, data, norm, { batch: 4 }));
      assert.equal(f.data.length, 10 * 16);
      assert.equal(f.classes, 10);
      assert.deepEqual(Array.from(f.labels), Array.from(data.labels));
      const g = extractFeatures(e, params, data, norm, { batch: 10 });
      f.data.forEach((v, i) => assert.ok(Math.abs(v - g.data[i]!) < 1e-5, `feature ${i}`));
      assert.ok(f.data.some((v) => v !== 0));
      const other = init(s, 1);
      const h = extractFeatures(encoderOf(other.b, 'mean'), other.params, data, norm);
      assert.ok(
        h.data.some((v, i) => Math.abs(v - f.data[i]!) > 1e-4),
        'another init gives other features',
      );
      disposeParams(params);
      disposeParams(other.params);
    });
  }

  it('UMD: cls pooling is the network representation of the clean, unmasked image; mean pooling averages its patch tokens', () => {
    const { b, params } = init(specs[2]!);
    assert.equal(b.spec.network.encoder.clsTokens, 2);
    const images = tf.tensor4d(data.images.slice(0, 2 * 768), [2, 16, 16, 3]);
    const ids = tf.tile(tf.expandDims(tf.range(0, 16, 1, 'int32'), 0), [2, 1]);
    const xt = tf.reshape(tf.transpose(tf.reshape(images, [2, 4, 4, 4, 4, 3]), [0, 1, 3, 2, 4, 5]), [2, 16, 48]);
    const mask = tf.zeros([2, 16]);
    const out = b.network.layer.apply(
      params,
      { xt, mask, idsKeep: ids, idsShuffle: ids, idsRestore: ids, t: tf.zeros([2], 'int32') },
      ctx(Key.key(0)),
    );
    // the network's representation: the mean of its CLS tokens (the first two latent tokens)
    const rep = tf.mean(tf.slice(out.latent, [0, 0, 0], [-1, 2, -1]), 1);
    const cls = encoderOf(b, 'cls');
    const mean = encoderOf(b, 'mean');
    const fc = tf.tidy(() => cls.encode(cls.select(params), images, ctx(Key.key(0))));
    const fm = tf.tidy(() => mean.encode(mean.select(params), images, ctx(Key.key(0))));
    const wantMean = tf.mean(tf.slice(out.latent, [0, 2, 0], [-1, -1, -1]), 1);
    assert.ok(tf.max(tf.abs(tf.sub(fc, rep))).dataSync()[0]! < 1e-5);
    assert.ok(tf.max(tf.abs(tf.sub(fm, wantMean))).dataSync()[0]! < 1e-5);
    tf.dispose([images, ids, xt, mask, out.latent, rep, out.predX0!, out.predEps!, fc, fm, wantMean]);
    disposeParams(params);
  });

  it("auto pooling is each method's own representation: CLS for MAE, DiffMAE and UMD, the patch mean for DiT", () => {
    assert.deepEqual(
      specs.map((s) => encoderOf(buildModel(s)).pool),
      ['cls', 'cls', 'cls', 'mean'],
    );
    // UMD starts from zero CLS tokens and identity (adaLN-Zero) blocks: its representation is 0 at init
    const { b, params } = init(specs[2]!);
    const f = extractFeatures(encoderOf(b), params, data, norm);
    assert.ok(f.data.every((v) => v === 0));
    disposeParams(params);
  });

  it('names bad input: cls pooling without CLS tokens, wrong image size, unknown pooling', () => {
    const { b, params } = init(specs[3]!);
    assert.throws(
      () => encoderOf(b, 'cls'),
      (e: unknown) => e instanceof ConfigError && /no CLS tokens/.test(e.message),
    );
    assert.throws(() => encoderOf(b, 'max' as never), ConfigError);
    assert.throws(() => extractFeatures(encoderOf(b), params, synthetic({ count: 2, size: 32 }), norm), ShapeError);
    disposeParams(params);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  tf,
  Key,
  spec,
  synthetic,
  slice,
  buildModel,
  fromLegacy,
  flatten,
  disposeParams,
  encoderOf,
  classifier,
  classify,
  layerIndex,
  adamw,
  adamwUpdate,
  initOpt,
  train,
  trainConfig,
  channelStats,
  ConfigError,
  ShapeError,
  type ClassifierParams,
  type ModelSpec,
  type Params,
  type TrainState,
} from '../../src/index.js';
import { noLeak, onWasm } from '../helpers.js';

onWasm();

const small: ModelSpec = fromLegacy({
  method: 'mae',
  config: { image: [16, 16, 3], patch: 4, encoder: { width: 32, depth: 2, heads: 2 }, decoder: { width: 16, depth: 1, heads: 2 } },
});

describe('layer-wise learning-rate decay', () => {
  it('indexes embeddings 0, block i as i + 1, the final norm and the head depth + 1', () => {
    assert.equal(layerIndex('backbone.embed.proj.kernel', 2), 0);
    assert.equal(layerIndex('backbone.cls.tokens', 2), 0);
    assert.equal(layerIndex('backbone.time.fc1.kernel', 2), 0);
    assert.equal(layerIndex('backbone.trunk.blocks.0.attn.norm.scale', 2), 1);
    assert.equal(layerIndex('backbone.encoder.blocks.1.mlp.fc2.bias', 2), 2);
    assert.equal(layerIndex('backbone.trunk.norm.scale', 2), 3);
    assert.equal(layerIndex('backbone.encoder.norm.bias', 2), 3);
    assert.equal(layerIndex('head.proj.kernel', 2), 3);
  });

  it('scales every leaf of a real classifier by decay^(depth + 1 - index)', () => {
    const clf = classifier(encoderOf(buildModel(small)), 10);
    const { params } = clf.init(Key.key(0), { images: spec([-1, 16, 16, 3]) });
    const scale = clf.lrScale(0.5);
    const byPath = new Map(flatten(params).map(([p]) => [p, scale(p)]));
    assert.equal(byPath.get('backbone.embed.proj.kernel'), 0.125);
    assert.equal(byPath.get('backbone.trunk.blocks.0.mlp.mlp.fc1.kernel'), 0.25);
    assert.equal(byPath.get('backbone.trunk.blocks.1.attn.attn.qkv.bias'), 0.5);
    assert.equal(byPath.get('backbone.trunk.norm.scale'), 1);
    assert.equal(byPath.get('head.proj.kernel'), 1);
    assert.throws(() => clf.lrScale(0)('head.proj.kernel'), ConfigError);
    disposeParams(params);
  });

  it('AdamW with an lr scale of s moves a leaf as lr * s would', () => {
    const p = { a: tf.tensor1d([1, 2]), b: tf.tensor1d([3, 4]) };
    const g = { a: tf.tensor1d([0.5, -1]), b: tf.tensor1d([0.5, -1]) };
    const opt = initOpt(p);
    const scaled = adamwUpdate(adamw({ lrScale: (path) => (path === 'a' ? 0.25 : 1) }), p, g, opt, 0.1);
    const plain = adamwUpdate(adamw(), p, g, opt, 0.025);
    assert.deepEqual(Array.from(scaled.params.a.dataSync()), Array.from(plain.params.a.dataSync()));
    assert.notDeepEqual(Array.from(scaled.params.b.dataSync()), Array.from(plain.params.b.dataSync()));
    tf.dispose([p.a, p.b, g.a, g.b]);
    [scaled, plain, { params: opt.m, state: opt }].forEach((r) => {
      disposeParams(r.params);
      disposeParams(r.state.m);
      disposeParams(r.state.v);
    });
  });
});

describe('classification on an encoder', () => {
  const data = synthetic({ count: 400, size: 16 });
  const norm = channelStats(data);

  it('its features before the head are the frozen features of the backbone', () => {
    const b = buildModel(small);
    const enc = encoderOf(b);
    const clf = classifier(enc, 10);
    const full = b.init(Key.key(5), { images: spec([-1, 16, 16, 3]) }).params as Params;
    const { params } = clf.init(Key.key(0), { images: spec([-1, 16, 16, 3]) });
    const fromCheckpoint: ClassifierParams = { ...params, backbone: enc.select(full) };
    const images = tf.tensor4d(data.images.slice(0, 4 * 768), [4, 16, 16, 3]);
    const a = tf.tidy(() => enc.encode(enc.select(full), images, { key: Key.key(0), training: false }));
    const logits = tf.tidy(() => clf.apply(fromCheckpoint, { images }, { key: Key.key(0), training: false }).logits);
    assert.deepEqual(logits.shape, [4, 10]);
    assert.equal(a.shape[1], 32);
    // a near-zero head: logits are tiny, and the loss without labels is 0
    assert.ok(tf.max(tf.abs(logits)).dataSync()[0]! < 1e-2);
    tf.dispose([a, logits, images]);
    disposeParams(full);
    disposeParams(params);
  });

  it('trains from random init with the common trainer: loss falls and accuracy beats chance; classify leaks nothing', async () => {
    const clf = classifier(encoderOf(buildModel(small)), 10);
    const trainSet = slice(data, 0, 320);
    const test = slice(data, 320, 400);
    const cfg = trainConfig({ steps: 60, batch: 32, baseLr: 2e-2, warmup: 6, weightDecay: 0.05, seed: 1 });
    const first = clf.init(Key.key(1), { images: spec([-1, 16, 16, 3]) }).params;
    const state0: TrainState<ClassifierParams> = { params: first, opt: initOpt(first), step: 0 };
    const losses: number[] = [];
    const before = tf.memory().numTensors;
    const final = await train(clf, trainSet, cfg, state0, { onStep: (i) => void losses.push(i.loss), lrScale: clf.lrScale(0.75) }, norm);
    assert.equal(tf.memory().numTensors, before, 'training leaks nothing beyond the replaced state');
    const head = losses.slice(0, 5).reduce((a, v) => a + v) / 5;
    const tail = losses.slice(-5).reduce((a, v) => a + v) / 5;
    assert.ok(tail < head - 0.2, `loss ${head} -> ${tail}`);
    const r = noLeak(() => classify(clf, final.params, test, norm, { batch: 32 }));
    assert.equal(r.predicted.length, 80);
    assert.ok(r.accuracy > 0.25, `accuracy ${r.accuracy}`);
    for (let i = 0; i < 80; i++) {
      const row = r.probabilities.subarray(i * 10, i * 10 + 10);
      assert.ok(Math.abs(row.reduce((a, v) => a + v, 0) - 1) < 1e-4);
    }
    disposeParams(final.params);
    disposeParams(final.opt.m);
    disposeParams(final.opt.v);
  });

  it('names bad configuration', () => {
    const enc = encoderOf(buildModel(small));
    assert.throws(() => classifier(enc, 1), ConfigError);
    assert.throws(() => classifier(enc, 10, { labelSmoothing: 1.5 }), ConfigError);
    assert.throws(() => classifier(enc, 10).init(Key.key(0), { images: spec([-1, 32, 32, 3]) }), ShapeError);
  });
});

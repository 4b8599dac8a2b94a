// UMD's condition embedding as its reference code writes it (issue 16, item 2), against plain
// float64 loops from small-vision's embeddings.py, and the UMD preset using it by default.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  tf,
  Key,
  spec,
  ctx,
  ConfigError,
  buildModel,
  presetSpec,
  decodeModelSpec,
  disposeParams,
  flatten,
  lecunNormal,
  adaLnFinal,
  timestepEmbedding,
  timestepFeatures,
  umdTimeFeatures,
  type ModelSpec,
} from '../../src/index.js';
import { timeEmbOracle, trunkOracle } from '../reference/umdOracles.js';
import { assertClose, noLeak, onCpu } from '../helpers.js';

const rows = (t: tf.Tensor): number[][] => t.arraySync() as number[][];

describe("UMD's condition embedding", () => {
  onCpu();

  it('umdTimeFeatures is TimeEmb: sines first, frequencies exp(-k ln 10000 / (half - 1)); not DiT order', () => {
    const ts = [0, 1, 7, 250, 999, 1000];
    for (const width of [4, 16, 64, 192]) {
      const got = umdTimeFeatures(tf.tensor1d(ts, 'int32'), width);
      assertClose(got.dataSync(), timeEmbOracle(ts, width).flat(), 2e-4, `width ${width}`);
      got.dispose();
    }
    // the last frequency is exactly 1/10000 (DiT's stops short of it) and sines come first
    const f = umdTimeFeatures(tf.tensor1d([10000], 'int32'), 8);
    assertClose(
      f.dataSync(),
      [Math.sin(10000), Math.sin(10000 / 10000 ** (1 / 3)), Math.sin(10000 / 10000 ** (2 / 3)), Math.sin(1)].concat([
        Math.cos(10000),
        Math.cos(10000 / 10000 ** (1 / 3)),
        Math.cos(10000 / 10000 ** (2 / 3)),
        Math.cos(1),
      ]),
      2e-3,
    );
    const dit = timestepFeatures(tf.tensor1d([5], 'int32'), 8);
    assert.notDeepEqual(Array.from(dit.dataSync()), Array.from(umdTimeFeatures(tf.tensor1d([5], 'int32'), 8).dataSync()));
    assert.throws(() => umdTimeFeatures(tf.tensor1d([1], 'int32'), 6 + 1), ConfigError);
    tf.dispose([f, dit]);
  });

  it("timestepEmbedding({ style: 'time-emb' }) is TimeEmb then EmbeddingTrunk (width -> 2 width -> width)", () => {
    noLeak(() => {
      const width = 16;
      const layer = timestepEmbedding({ width, style: 'time-emb' });
      const { params } = layer.init(Key.key(3), spec([-1], 'int32'));
      assert.deepEqual(params.fc1.kernel.shape, [width, 2 * width]);
      assert.deepEqual(params.fc2.kernel.shape, [2 * width, width]);
      const ts = [0, 3, 500, 1000];
      const t = tf.tensor1d(ts, 'int32');
      const got = layer.apply(params, t, ctx(Key.key(0)));
      const w = (p: { kernel: tf.Tensor; bias: tf.Tensor }) => ({ kernel: rows(p.kernel), bias: Array.from(p.bias.dataSync()) });
      assertClose(got.dataSync(), trunkOracle(timeEmbOracle(ts, width), w(params.fc1), w(params.fc2)).flat(), 1e-4);
      tf.dispose([got, t]);
      disposeParams(params);
    });
  });

  it('lecunNormal: truncated at two deviations, variance 1 / fanIn, the same for the same key', () => {
    const t = lecunNormal(Key.key(5), [64, 512]);
    const v = Array.from(t.dataSync());
    const bound = (2 * Math.sqrt(1 / 64)) / 0.8796256610342398;
    assert.ok(v.every((x) => Math.abs(x) <= bound + 1e-7));
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    const variance = v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length;
    assert.ok(Math.abs(variance * 64 - 1) < 0.03, `variance x fanIn = ${variance * 64}`);
    assert.deepEqual(Array.from(lecunNormal(Key.key(5), [64, 512]).dataSync()), v);
    assert.throws(() => lecunNormal(Key.key(0), [4]), ConfigError);
  });

  it("the UMD preset embeds the reference's way, embedding 'timestep-embedder' gives 0.1.0's tree, and the field survives JSON", () => {
    const shapes = (s: ModelSpec) => {
      const p = buildModel(s).init(Key.key(0), { images: spec([-1, 32, 32, 3]) }).params;
      const out = Object.fromEntries(flatten(p).map(([k, t]) => [k, t.shape.join('x')]));
      disposeParams(p);
      return out;
    };
    const umd = presetSpec('umd', 'micro/4');
    assert.equal(umd.network.encoder.embedding, 'time-emb');
    const ft = { ...umd, network: { ...umd.network, encoder: { ...umd.network.encoder, classes: 10 } } };
    const a = shapes(ft);
    assert.equal(a['time.fc1.kernel'], '64x128');
    assert.equal(a['time.fc2.kernel'], '128x64');
    assert.equal(a['label.trunk.fc1.kernel'], '64x128');
    const dit = presetSpec('umd', 'micro/4', { embedding: 'timestep-embedder' });
    const b = shapes({ ...dit, network: { ...dit.network, encoder: { ...dit.network.encoder, classes: 10 } } });
    assert.equal(b['time.fc1.kernel'], '256x64');
    assert.equal(b['label.trunk.fc1.kernel'], '64x64');
    assert.equal(presetSpec('dit', 'micro/4').network.encoder.embedding, undefined);
    assert.deepEqual(decodeModelSpec('spec', JSON.parse(JSON.stringify(umd))), umd);
    assert.throws(
      () => decodeModelSpec('spec', { ...umd, network: { ...umd.network, encoder: { ...umd.network.encoder, embedding: 'jax' } } }),
      (e: unknown) => e instanceof ConfigError && e.field === 'spec.network.encoder.embedding' && e.value === 'jax',
    );
    const mae = presetSpec('mae', 'micro/4');
    assert.throws(
      () => buildModel({ ...mae, network: { ...mae.network, encoder: { ...mae.network.encoder, embedding: 'time-emb' } } }),
      (e: unknown) => e instanceof ConfigError && e.field === 'network.encoder.embedding',
    );
  });

  it("adaNorm 'affine': UMD's LayerNorms with their own scale and bias before every modulation, and its final projection N(0, 0.02)", () => {
    const shapes = (s: ModelSpec) => {
      const p = buildModel(s).init(Key.key(0), { images: spec([-1, 32, 32, 3]) }).params;
      const out = Object.fromEntries(flatten(p).map(([k, t]) => [k, t]));
      const std = (k: string) => {
        const v = Array.from(out[k]!.dataSync());
        return Math.sqrt(v.reduce((a, b) => a + b * b, 0) / v.length);
      };
      const r = {
        keys: Object.keys(out),
        projStd: std('decoder.final.proj.kernel'),
      };
      disposeParams(p);
      return r;
    };
    const umd = presetSpec('umd', 'micro/4');
    assert.equal(umd.network.encoder.adaNorm, 'affine');
    const a = shapes(umd);
    for (const k of [
      'encoder.blocks.0.norm1.scale',
      'encoder.blocks.3.norm2.bias',
      'decoder.blocks.1.norm1.scale',
      'decoder.final.norm.scale',
    ])
      assert.ok(a.keys.includes(k), k);
    assert.ok(Math.abs(a.projStd - 0.02) < 0.002, `final projection std ${a.projStd}`);
    const plain = shapes(presetSpec('umd', 'micro/4', { adaNorm: 'plain' }));
    assert.ok(!plain.keys.some((k) => /norm[12]\.|final\.norm\./.test(k)));
    assert.equal(plain.projStd, 0);
    assert.equal(presetSpec('umd', 'micro/4', { conditioning: 'token' }).network.encoder.adaNorm, undefined);
    const token = presetSpec('umd', 'micro/4', { conditioning: 'token' });
    assert.throws(
      () => buildModel({ ...token, network: { ...token.network, encoder: { ...token.network.encoder, adaNorm: 'affine' } } }),
      (e: unknown) => e instanceof ConfigError && e.field === 'network.encoder.adaNorm',
    );
  });

  it("adaLnFinal's affine LayerNorm scales before the projection: out - bias doubles with scale 2", () => {
    noLeak(() => {
      const x = tf.randomNormal([2, 3, 8], 0, 1, 'float32', 7);
      const c = tf.randomNormal([2, 8], 0, 1, 'float32', 8);
      const affine = adaLnFinal({ width: 8, outDim: 4, affine: true });
      const plain = adaLnFinal({ width: 8, outDim: 4 });
      const { params } = affine.init(Key.key(4), { x: spec([-1, 3, 8]), c: spec([-1, 8]) });
      const scaled = { ...params, norm: { scale: tf.fill([8], 2), bias: tf.zeros([8]) } };
      const a = affine.apply(scaled, { x, c }, ctx(Key.key(0)));
      const b = plain.apply({ ada: params.ada, proj: params.proj }, { x, c }, ctx(Key.key(0)));
      const bias = params.proj.bias;
      const [lhs, rhs] = tf.tidy(() => [Array.from(tf.sub(a, bias).dataSync()), Array.from(tf.mul(tf.sub(b, bias), 2).dataSync())]);
      assertClose(lhs!, rhs!, 1e-5);
      tf.dispose([x, c, a, b, scaled.norm.scale, scaled.norm.bias]);
      disposeParams(params);
    });
  });
});

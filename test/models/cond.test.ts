import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  tf,
  Key,
  ctx,
  spec,
  specTree,
  condModel,
  COND_PRESETS,
  adaLnBlock,
  labelEmbedding,
  synthetic,
  flatten,
  unflatten,
  disposeParams,
  ConfigError,
  type CondConfig,
  type CondMethod,
} from '../../src/index.js';
import { forEachBackend, noLeak, onCpu } from '../helpers.js';

const tiny = (extra: Partial<CondConfig> = {}): CondConfig => ({
  image: [16, 16, 3],
  patch: 4,
  encoder: { width: 16, depth: 2, heads: 2 },
  decoder: { width: 16, depth: 1, heads: 2 },
  clsTokens: 2,
  ...extra,
});
const batch = () => {
  const d = synthetic({ count: 4, size: 16 });
  return { images: tf.tensor4d(d.images, [4, 16, 16, 3]), labels: tf.tensor1d(d.labels, 'int32') };
};

forEachBackend('UMD, MaskDiT and DiT: one network, three configurations', () => {
  const cases: [CondMethod, Partial<CondConfig>][] = [
    ['umd', {}],
    ['umd', { conditioning: 'token', pos: 'sincos', classes: 10, labelDropout: 0.5 }],
    ['maskdit', {}],
    ['dit', { decoder: { width: 16, depth: 0, heads: 2 }, clsTokens: 0 }],
    ['dit', { decoder: { width: 16, depth: 0, heads: 2 }, clsTokens: 0, conditioning: 'token', classes: 3 }],
  ];
  for (const [method, extra] of cases) {
    it(`${method} ${JSON.stringify(extra)}: finite loss, a gradient for every parameter, no leak`, () => {
      const model = condModel(method, tiny(extra));
      const { params } = model.init(Key.key(0), { images: spec([-1, 16, 16, 3]) });
      const { images, labels } = batch();
      const input = extra.classes === undefined ? { images } : { images, labels: tf.tensor1d([0, 1, 2, 1], 'int32') };
      const out = noLeak(() => model.apply(params, input, ctx(Key.key(1), true)));
      assert.ok(Number.isFinite(out.loss.dataSync()[0]!));
      const flat = flatten(params);
      const { value, grads } = tf.engine().gradients(
        () => model.apply(unflatten(params, new Map(flat)), input, ctx(Key.key(1), true)).loss,
        flat.map(([, t]) => t),
        undefined,
        true,
      );
      grads.forEach((g, i) => assert.ok(g, `no gradient for ${flat[i]![0]}`));
      tf.dispose([value, ...grads.filter((g): g is tf.Tensor => !!g), images, labels, out.loss]);
      disposeParams(params);
    });
  }
});

describe('conditioned models', () => {
  onCpu();

  it('heads follow the objectives: UMD x0 and eps, MaskDiT x0 and eps, DiT eps', () => {
    assert.deepEqual(condModel('umd', COND_PRESETS.umd['micro/4']).heads, ['x0', 'eps']);
    assert.deepEqual(condModel('maskdit', COND_PRESETS.maskdit['micro/4']).heads, ['x0', 'eps']);
    assert.deepEqual(condModel('dit', COND_PRESETS.dit['micro/4']).heads, ['eps']);
    const dit = condModel('dit', COND_PRESETS.dit['micro/4']);
    assert.equal(dit.corruption.branches[0]!.branch.mask.kind, 'none');
  });

  it('the network spec from init equals the real shapes; the representation is the mean of the CLS tokens', () => {
    const model = condModel('umd', tiny());
    const { params, outSpec } = model.network.init(Key.key(0), {
      xt: spec([4, 16, 48]),
      idsKeep: spec([4, -1], 'int32'),
      idsShuffle: spec([4, 16], 'int32'),
      idsRestore: spec([4, 16], 'int32'),
      t: spec([4], 'int32'),
    });
    const ids = tf.tensor2d(
      Int32Array.from({ length: 64 }, (_, i) => i % 16),
      [4, 16],
      'int32',
    );
    const out = model.network.apply(
      params,
      { xt: tf.zeros([4, 16, 48]), idsKeep: ids, idsShuffle: ids, idsRestore: ids, t: tf.zeros([4], 'int32') },
      ctx(Key.key(0)),
    );
    assert.deepEqual(specTree(out).predX0, outSpec.predX0);
    assert.deepEqual(out.rep.shape, [4, 16]);
    assert.deepEqual(out.latent.shape, [4, 2 + 16, 16]);
    const cls = tf.mean(tf.slice(out.latent, [0, 0, 0], [-1, 2, -1]), 1);
    assert.deepEqual(out.rep.dataSync(), cls.dataSync());
    // adaLN-Zero and a zero final layer: every prediction starts at 0
    assert.ok(Array.from(out.predEps!.dataSync()).every((v) => v === 0));
    disposeParams(params);
  });

  it('an adaLN-Zero block starts as the identity', () => {
    const b = adaLnBlock({ width: 8, heads: 2 });
    const { params } = b.init(Key.key(0), { x: spec([2, 5, 8]), c: spec([2, 8]) });
    const x = tf.randomNormal([2, 5, 8], 0, 1, 'float32', 1);
    const y = b.apply(params, { x, c: tf.randomNormal([2, 8], 0, 1, 'float32', 2) }, ctx(Key.key(0)));
    assert.deepEqual(y.x.dataSync(), x.dataSync());
  });

  it('label dropout is drawn from the key, only while training; a missing label is the null class', () => {
    const e = labelEmbedding({ classes: 3, width: 4, dropout: 0.5 });
    const { params } = e.init(Key.key(0), spec([64], 'int32'));
    const y = tf.tensor1d(
      Int32Array.from({ length: 64 }, (_, i) => i % 3),
      'int32',
    );
    const a = e.apply(params, y, ctx(Key.key(1), true)).dataSync();
    const b = e.apply(params, y, ctx(Key.key(1), true)).dataSync();
    const eval_ = e.apply(params, y, ctx(Key.key(1), false)).dataSync();
    const table = params.table.arraySync() as number[][];
    assert.deepEqual(a, b);
    let dropped = 0;
    for (let i = 0; i < 64; i++) {
      const row = Array.from(a.subarray(i * 4, i * 4 + 4));
      if (row.join() === table[3]!.join()) dropped++;
      assert.deepEqual(Array.from(eval_.subarray(i * 4, i * 4 + 4)), table[i % 3]);
    }
    assert.ok(dropped > 16 && dropped < 48, `dropped ${dropped} of 64`);
    assert.throws(() => labelEmbedding({ classes: 3, width: 4, dropout: 2 }), /labelEmbedding\.dropout = 2/);
  });

  it('bad configurations are named', () => {
    assert.throws(
      () => condModel('umd', tiny({ decoder: { width: 8, depth: 0, heads: 2 } })),
      (e: unknown) => e instanceof ConfigError && e.field === 'decoder.width',
    );
    assert.throws(() => condModel('gan' as CondMethod, tiny()), /method = "gan"/);
    assert.throws(() => condModel('umd', tiny({ cleanShare: 2 })), /umd\.cleanShare = 2/);
  });
});

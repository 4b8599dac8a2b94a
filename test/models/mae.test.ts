import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  tf,
  Key,
  ctx,
  spec,
  specTree,
  mae,
  MAE_PRESETS,
  countParams,
  disposeParams,
  synthetic,
  ShapeError,
  ConfigError,
  type MaePreset,
} from '../../src/index.js';
import { forEachBackend, noLeak } from '../helpers.js';

const small: MaePreset[] = ['micro/4', 'small/4', 'tiny/4'];

forEachBackend('MAE presets', () => {
  for (const name of small) {
    it(`${name}: init spec equals the real shapes of { loss, pred, mask, idsRestore, latent }, no NaN, no leak`, () => {
      const model = mae(name);
      const { params, outSpec } = model.init(Key.key(0), { images: spec([2, 32, 32, 3]) });
      const images = tf.tensor4d(synthetic({ count: 2 }).images, [2, 32, 32, 3]);
      const out = noLeak(() => model.apply(params, { images }, ctx(Key.key(1), true)));
      const real = specTree(out);
      assert.deepEqual(real.loss, outSpec.loss);
      assert.deepEqual(real.pred, outSpec.pred);
      assert.deepEqual(real.mask, outSpec.mask);
      assert.deepEqual(real.idsRestore, outSpec.idsRestore);
      assert.deepEqual(real.latent.shape, [2, 1 + 16, MAE_PRESETS[name].encoder.width]);
      assert.ok(Number.isFinite(out.loss.dataSync()[0]!));
      assert.ok(out.pred.dataSync().every(Number.isFinite));
      assert.equal(
        Array.from(out.mask.dataSync()).reduce((a, b) => a + b, 0),
        2 * 48,
      );
      tf.dispose([images, out.loss, out.pred, out.mask, out.idsRestore, out.latent]);
      disposeParams(params);
    });
  }
});

describe('MAE model', () => {
  it('the same key gives the same mask and loss; another key another mask', () => {
    const model = mae('micro/4');
    const { params } = model.init(Key.key(0), { images: spec([-1, 32, 32, 3]) });
    const images = tf.tensor4d(synthetic({ count: 3 }).images, [3, 32, 32, 3]);
    const a = model.apply(params, { images }, ctx(Key.key(5)));
    const b = model.apply(params, { images }, ctx(Key.key(5)));
    const c = model.apply(params, { images }, ctx(Key.key(6)));
    assert.equal(a.loss.dataSync()[0], b.loss.dataSync()[0]);
    assert.deepEqual(a.mask.dataSync(), b.mask.dataSync());
    assert.notDeepEqual(a.mask.dataSync(), c.mask.dataSync());
    tf.dispose([images, ...[a, b, c].flatMap((o) => [o.loss, o.pred, o.mask, o.idsRestore, o.latent])]);
    disposeParams(params);
  });

  it('ViT-B/16 has the published architecture: 85,647,360 encoder + 26,008,320 decoder parameters (fixed position tables excluded)', () => {
    const model = mae('vit-b/16');
    const { params, outSpec } = model.init(Key.key(0), { images: spec([-1, 224, 224, 3]) });
    assert.equal(countParams(params.encoder), 85_647_360);
    assert.equal(countParams(params.decoder), 26_008_320);
    assert.deepEqual(outSpec.pred.shape, [-1, 196, 768]);
    disposeParams(params);
  });

  it('images of the wrong size and unknown presets are rejected by name', () => {
    assert.throws(
      () => mae('micro/4').init(Key.key(0), { images: spec([-1, 28, 28, 3]) }),
      (e: unknown) => e instanceof ShapeError && /32, 32, 3/.test(e.message),
    );
    assert.throws(
      () => mae('huge/99' as MaePreset),
      (e: unknown) => e instanceof ConfigError && e.value === 'huge/99',
    );
    assert.throws(() => mae({ ...MAE_PRESETS['micro/4'], patch: 5 }), /patch = 5/);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { tf, Key, term, objectiveLoss, normPixTarget, regionMse, ConfigError } from '../../src/index.js';
import { arbKey } from '../../src/testing/index.js';
import { onCpu, noLeak, assertClose } from '../helpers.js';

describe('objectives', () => {
  onCpu();

  it('law: a masked-region loss ignores the predictions on visible patches', () => {
    fc.assert(
      fc.property(arbKey(), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 2, max: 9 }), (k, n, l) => {
        const [k1, k2, k3, k4] = Key.split(k, 4);
        const mask = tf.tensor(
          Key.uniform(k1!, n * l).map((u) => (u < 0.5 ? 1 : 0)),
          [n, l],
        );
        const x0 = tf.tensor(Key.normal(k2!, n * l * 4), [n, l, 4]);
        const pred = tf.tensor(Key.normal(k3!, n * l * 4), [n, l, 4]);
        const visibleNoise = tf.mul(tf.tensor(Key.normal(k4!, n * l * 4), [n, l, 4]), tf.expandDims(tf.sub(1, mask), -1));
        const obj = [term('x0', 'masked')];
        const a = noLeak(() => objectiveLoss(obj, { x0: pred }, { x0, eps: null, mask }));
        const b = objectiveLoss(obj, { x0: tf.add(pred, visibleNoise) }, { x0, eps: null, mask });
        assert.equal(a.dataSync()[0], b.dataSync()[0]);
        tf.dispose([mask, x0, pred, visibleNoise, a, b]);
      }),
      { numRuns: 50 },
    );
  });

  it('regionMse is sum(per-patch MSE * mask) / sum(mask), and 0 on an empty region', () => {
    const pred = tf.tensor([
      [
        [1, 1],
        [0, 0],
        [3, 1],
      ],
    ]);
    const target = tf.zeros([1, 3, 2]);
    const mask = tf.tensor([[1, 0, 1]]);
    assert.equal(regionMse(pred, target, mask).dataSync()[0], (1 + 5) / 2);
    assert.equal(regionMse(pred, target, tf.zeros([1, 3])).dataSync()[0], 0);
    assert.equal(regionMse(pred, target, null).dataSync()[0], (1 + 0 + 5) / 3);
  });

  it('normPix normalises each patch by its mean and unbiased variance', () => {
    const x = tf.tensor([[[1, 2, 3, 6]]]);
    const mean = 3;
    const v = ((1 - mean) ** 2 + (2 - mean) ** 2 + 0 + (6 - mean) ** 2) / 3;
    assertClose(
      normPixTarget(x).dataSync(),
      [1, 2, 3, 6].map((a) => (a - mean) / Math.sqrt(v + 1e-6)),
      1e-6,
    );
  });

  it('a weighted sum of terms; missing predictions and eps targets without noise are errors', () => {
    const x0 = tf.zeros([1, 2, 2]);
    const eps = tf.ones([1, 2, 2]);
    const mask = tf.tensor([[1, 0]]);
    const pred = { x0: tf.fill([1, 2, 2], 2), eps: tf.zeros([1, 2, 2]) };
    const loss = objectiveLoss([term('eps', 'visible', 0.5), term('x0', 'masked', 0.5)], pred, { x0, eps, mask });
    assert.equal(loss.dataSync()[0], 0.5 * 1 + 0.5 * 4);
    assert.throws(() => objectiveLoss([term('eps', 'all')], { x0: pred.x0 }, { x0, eps, mask }), ConfigError);
    assert.throws(() => objectiveLoss([term('eps', 'all')], pred, { x0, eps: null, mask }), /needs noise/);
    assert.throws(() => term('eps', 'all', 1, { normPix: true }), /loss\.normPix/);
    assert.throws(() => term('x0', 'all', -1), /loss\.weight = -1/);
  });
});

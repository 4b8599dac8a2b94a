import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tf, flatten, unflatten, mapParams, countParams, disposeParams, zipParams, ConfigError, ShapeError } from '../../src/index.js';
import { onCpu, values } from '../helpers.js';

describe('params trees', () => {
  onCpu();
  it('flatten names leaves by dotted paths in a stable order and unflatten inverts it', () => {
    const p = { embed: { kernel: tf.ones([2, 3]), bias: tf.zeros([3]) }, blocks: [{ w: tf.ones([1]) }, { w: tf.ones([2]) }] };
    const flat = flatten(p);
    assert.deepEqual(
      flat.map(([k]) => k),
      ['embed.kernel', 'embed.bias', 'blocks.0.w', 'blocks.1.w'],
    );
    assert.equal(countParams(p), 6 + 3 + 1 + 2);
    const back = unflatten(p, new Map(flat));
    assert.equal(back.embed.kernel, p.embed.kernel);
    assert.equal(back.blocks[1]!.w, p.blocks[1]!.w);
    const doubled = mapParams(p, (t) => tf.mul(t, 2));
    assert.deepEqual(values(doubled.embed.kernel), [2, 2, 2, 2, 2, 2]);
    const sum = zipParams(p, doubled, (a, b) => tf.add(a, b));
    assert.deepEqual(values(sum.blocks[1]!.w), [3, 3]);
    for (const q of [p, doubled, sum]) disposeParams(q);
  });

  it('unflatten names a missing leaf and a leaf of the wrong shape', () => {
    const p = { a: tf.ones([2]) };
    assert.throws(
      () => unflatten(p, new Map()),
      (e: unknown) => e instanceof ConfigError && e.value === 'a',
    );
    const wrong = tf.ones([3]);
    assert.throws(
      () => unflatten(p, new Map([['a', wrong]])),
      (e: unknown) => e instanceof ShapeError && /params\.a/.test(e.message),
    );
    disposeParams(p);
    wrong.dispose();
  });
});

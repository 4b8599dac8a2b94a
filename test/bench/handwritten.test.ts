import assert from 'node:assert/strict';
import { it } from 'node:test';
import { tf, Key, ctx, spec, buildModel, presetSpec, synthetic, flatten, unflatten, disposeParams } from '../../src/index.js';
import { handMaeLayer } from '../../bench/handwritten.js';
import { forEachBackend } from '../helpers.js';

forEachBackend('the hand-written MAE (the DSL-overhead baseline)', () => {
  it('is the same model as buildModel(presetSpec(mae)): loss and gradients bit-identical to the DSL model', () => {
    const s = presetSpec('mae', 'micro/4');
    const model = buildModel(s);
    // what bench/speed.ts builds the hand-written layer from
    const hand = handMaeLayer({ image: model.image, ...s.network }, model.corruption, model.init);
    const { params } = model.init(Key.key(0), { images: spec([-1, 32, 32, 3]) });
    const images = tf.tensor4d(synthetic({ count: 4 }).images, [4, 32, 32, 3]);
    const flat = flatten(params);
    const k = Key.key(3);
    const f =
      (which: 'dsl' | 'hand') =>
      (...leaves: tf.Tensor[]) => {
        const p = unflatten(params, new Map(flat.map(([n], i) => [n, leaves[i]!])));
        return (which === 'dsl' ? model : hand).apply(p, { images }, ctx(k, true)).loss;
      };
    const a = tf.valueAndGrads(f('dsl'))(flat.map(([, t]) => t));
    const b = tf.valueAndGrads(f('hand'))(flat.map(([, t]) => t));
    assert.ok(Number.isFinite(a.value.dataSync()[0]!));
    assert.equal(a.value.dataSync()[0], b.value.dataSync()[0]);
    a.grads.forEach((g, i) => assert.deepEqual(g.dataSync(), b.grads[i]!.dataSync(), flat[i]![0]));
    tf.dispose([images, a.value, b.value, ...a.grads, ...b.grads]);
    disposeParams(params);
  });
});

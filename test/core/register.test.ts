import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tf } from '../../src/index.js';
import { onCpu } from '../helpers.js';

describe('importing tesserae registers what tfjs-core alone does not', () => {
  onCpu();
  it('gradients for the kernels the layers use', () => {
    for (const k of [
      'BatchMatMul',
      'Softmax',
      'Erf',
      'Add',
      'Multiply',
      'Sum',
      'Mean',
      'Reshape',
      'Transpose',
      'GatherV2',
      'Rsqrt',
      'Pack',
      'Unpack',
      'Sigmoid',
      'SquaredDifference',
      'PadV2',
    ]) {
      assert.ok(tf.getGradient(k), `no gradient for ${k}`);
    }
    const g = tf.grad((x: tf.Tensor) => tf.sum(tf.square(x)))(tf.tensor([1, 2, 3]));
    assert.deepEqual(Array.from(g.dataSync()), [2, 4, 6]);
  });
  it('the chained tensor methods some tfjs gradients call', () => {
    const t = tf.ones([2, 2]) as tf.Tensor & { reshape?: unknown; split?: unknown };
    assert.equal(typeof t.reshape, 'function');
    assert.equal(typeof t.split, 'function');
  });
});

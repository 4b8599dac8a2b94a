import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tf, sincos2d, sincos1d, timestepFeatures } from '../../src/index.js';
import { sincos2dRef } from '../reference/oracles.js';
import { assertClose, onCpu } from '../helpers.js';

describe('position and timestep embeddings', () => {
  onCpu();
  it('2D sin-cos follows the reference channel order: first half columns, second half rows', () => {
    for (const [gh, gw, d] of [
      [4, 4, 16],
      [3, 5, 8],
      [8, 8, 192],
    ] as const) {
      assertClose(sincos2d(gh, gw, d), sincos2dRef(gh, gw, d).flat(), 1e-6, `${gh}x${gw}x${d}`);
    }
    const t = sincos2d(2, 3, 8);
    // token 1 = row 0, column 1: sin(1 * w_0) = sin 1 in channel 0; row half starts with sin(0) = 0
    assert.ok(Math.abs(t[8]! - Math.sin(1)) < 1e-7 && t[8 + 4] === 0);
  });

  it('1D sin-cos puts sines then cosines', () => {
    assertClose(sincos1d(4, [2]), [Math.sin(2), Math.sin(2 / 100), Math.cos(2), Math.cos(2 / 100)], 1e-12);
  });

  it('timestep features are DiT order: cosines then sines of t * 10000^(-k/half)', () => {
    const f = timestepFeatures(tf.tensor1d([0, 3], 'int32'), 4);
    assertClose(f.dataSync(), [1, 1, 0, 0, Math.cos(3), Math.cos(0.03), Math.sin(3), Math.sin(0.03)], 1e-6);
  });
});

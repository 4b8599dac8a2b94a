import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  tf,
  Key,
  spec,
  patches,
  gridOf,
  patchifyOp,
  unpatchifyOp,
  patchify,
  unpatchify,
  ConfigError,
  ShapeError,
} from '../../src/index.js';
import { arbImageGeometry } from '../../src/testing/index.js';
import { forEachBackend, noLeak } from '../helpers.js';

forEachBackend('patchify', () => {
  it('law: unpatchify(patchify(x)) == x exactly, for random shapes and patch sizes', () => {
    fc.assert(
      fc.property(
        arbImageGeometry({ maxPatch: 5, maxGrid: 4, maxChannels: 4 }),
        fc.integer({ min: 1, max: 3 }),
        fc.nat(1000),
        (geo, n, seed) => {
          const x = tf.tensor(Key.normal(Key.key(seed), n * geo.height * geo.width * geo.channels), [
            n,
            geo.height,
            geo.width,
            geo.channels,
          ]);
          const g = gridOf(geo.patching, [geo.height, geo.width, geo.channels]);
          const back = noLeak(() => tf.tidy(() => unpatchifyOp(g, patchifyOp(geo.patching, x))));
          assert.deepEqual(back.dataSync(), x.dataSync());
          tf.dispose([x, back]);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('uses the reference layout: token i*w + j holds pixel (i*p + r, j*p + c, ch) at (r*p + c)*C + ch', () => {
    const [n, h, w, ch, p] = [2, 6, 9, 2, 3];
    const data = Float32Array.from({ length: n * h * w * ch }, (_, i) => i);
    const x = tf.tensor(data, [n, h, w, ch]);
    const t = patchifyOp(patches(p), x);
    assert.deepEqual(t.shape, [n, (h / p) * (w / p), p * p * ch]);
    const v = t.dataSync();
    const gw = w / p;
    const tokens = (h / p) * gw;
    for (let b = 0; b < n; b++)
      for (let i = 0; i < h / p; i++)
        for (let j = 0; j < gw; j++)
          for (let r = 0; r < p; r++)
            for (let c = 0; c < p; c++)
              for (let k = 0; k < ch; k++) {
                const got = v[((b * tokens + i * gw + j) * p * p + r * p + c) * ch + k];
                const want = data[((b * h + i * p + r) * w + j * p + c) * ch + k];
                assert.equal(got, want);
              }
    tf.dispose([x, t]);
  });
});

describe('patchify specs and errors', () => {
  it('init specs match real shapes and keep an unknown batch', () => {
    const l = patchify(patches(4));
    assert.deepEqual(l.init(Key.key(0), spec([-1, 32, 16, 3])).outSpec.shape, [-1, 32, 48]);
    const u = unpatchify(patches(4), [32, 16, 3]);
    assert.deepEqual(u.init(Key.key(0), spec([7, 32, 48])).outSpec.shape, [7, 32, 16, 3]);
  });

  it('a patch size that does not divide the image is a ConfigError naming it', () => {
    assert.throws(
      () => gridOf(patches(5), [32, 30, 3]),
      (e: unknown) => e instanceof ConfigError && e.field === 'patch' && e.value === 5 && /height 32/.test(e.message),
    );
    assert.throws(() => patchify(patches(3)).init(Key.key(0), spec([1, 9, 10, 3])), /must divide the image width 10/);
    assert.throws(() => patches(0), ConfigError);
    assert.throws(() => patchify(patches(2)).init(Key.key(0), spec([4, 4, 3])), ShapeError);
  });
});

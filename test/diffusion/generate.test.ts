import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  tf,
  Key,
  spec,
  buildModel,
  fromLegacy,
  COND_PRESETS,
  generateWith,
  Sampler,
  Schedule,
  disposeParams,
  mapParams,
  ConfigError,
  type CondConfig,
  type Params,
} from '../../src/index.js';
import { onCpu, assertClose } from '../helpers.js';

const cfg: CondConfig = {
  ...COND_PRESETS.umd['micro/4'],
  image: [16, 16, 3],
  encoder: { width: 16, depth: 1, heads: 2 },
  decoder: { width: 16, depth: 1, heads: 2 },
  classes: 3,
  schedule: Schedule.cosine({ steps: 20 }),
};

describe('class-conditional generation with classifier-free guidance', () => {
  onCpu();
  const model = buildModel(fromLegacy({ method: 'umd', config: cfg }));
  let params: Params;
  before(() => {
    const { params: p0 } = model.init(Key.key(0), { images: spec([-1, 16, 16, 3]) });
    // adaLN-Zero starts at zero, so labels cannot matter yet: give the modulation layers weights
    let i = 0;
    params = mapParams(p0, (t, path) =>
      path.includes('ada') || path.includes('final') ? tf.randomNormal(t.shape, 0, 0.3, 'float32', i++) : tf.clone(t),
    );
    disposeParams(p0);
  });
  after(() => disposeParams(params));
  const run = (labels: (number | null)[], guidance: number) =>
    generateWith(model, params, { labels, guidance, sampler: Sampler.ddim({ steps: 5, eta: 1 }), key: Key.key(4), clip: null });

  it('is deterministic and leaks nothing', () => {
    const before = tf.memory().numTensors;
    const a = run([0, 1], 3);
    const b = run([0, 1], 3);
    assert.equal(tf.memory().numTensors, before + 2);
    assert.deepEqual(a.dataSync(), b.dataSync());
    assert.deepEqual(a.shape, [2, 16, 48]);
    tf.dispose([a, b]);
  });

  it('law: guidance 0 is the unconditional model and guidance 1 the conditional one', () => {
    const g0 = run([2, 2], 0);
    const uncond = run([null, null], 1);
    assertClose(g0.dataSync(), uncond.dataSync(), 1e-5, 'guidance 0 vs null class');
    const g1 = run([2, 2], 1);
    const g3 = run([2, 2], 3);
    const other = run([0, 0], 1);
    const diff = (a: tf.Tensor, b: tf.Tensor) => Math.max(...Array.from(a.dataSync(), (v, i) => Math.abs(v - b.dataSync()[i]!)));
    assert.ok(diff(g1, other) > 1e-3, 'the class changes the samples');
    assert.ok(diff(g1, g3) > 1e-3, 'guidance changes the samples');
    tf.dispose([g0, uncond, g1, g3, other]);
  });

  it('labels are validated against the model', () => {
    assert.throws(
      () => run([3], 1),
      (e: unknown) => e instanceof ConfigError && e.field === 'labels[0]',
    );
    const { classes: _classes, ...unconditional } = cfg;
    const plain = buildModel(fromLegacy({ method: 'umd', config: unconditional }));
    assert.throws(
      () => generateWith(plain, params, { labels: [0], guidance: 1, sampler: Sampler.ddim({ steps: 2 }), key: Key.key(0), clip: null }),
      /has no classes/,
    );
  });
});

// DiT's preset as DiT's reference code builds it (issue 16, item 3): a linear schedule, fixed 2D
// sin-cos positions, a plain label table, tanh GELU in the blocks; 0.1.0's DiT stays reachable
// through the named options.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  tf,
  Key,
  spec,
  ConfigError,
  buildModel,
  presetSpec,
  decodeModelSpec,
  disposeParams,
  flatten,
  geluTanh,
  mlp,
  ctx,
  modelFlops,
  scheduleOf,
  type ModelSpec,
} from '../../src/index.js';
import { assertClose, onCpu } from '../helpers.js';

const withClasses = (s: ModelSpec): ModelSpec => ({ ...s, network: { ...s.network, encoder: { ...s.network.encoder, classes: 10 } } });
const tree = (s: ModelSpec) => {
  const p = buildModel(s).init(Key.key(0), { images: spec([-1, 32, 32, 3]) }).params;
  const out = Object.fromEntries(flatten(p).map(([k, t]) => [k, t.shape.join('x')]));
  disposeParams(p);
  return out;
};

describe("DiT's preset follows DiT's reference", () => {
  onCpu();

  it("geluTanh is DiT's nn.GELU(approximate='tanh'), and differs from exact GELU", () => {
    const xs = [-3, -1, -0.5, 0, 0.5, 1, 2, 4];
    const want = xs.map((x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))));
    const t = tf.tensor1d(xs);
    const got = geluTanh(t);
    assertClose(got.dataSync(), want, 1e-6);
    // exact GELU at x = 1 is 0.841345; the approximation 0.841192
    assert.ok(Math.abs(got.dataSync()[5]! - 0.841345) > 1e-4);
    tf.dispose([t, got]);
  });

  it('linear schedule, sin-cos positions, the label table alone and tanh GELU by default', () => {
    const s = presetSpec('dit', 'micro/4');
    const sched = scheduleOf(s.corruption);
    assert.equal(sched?.kind, 'linear');
    assert.equal(s.network.encoder.pos, 'sincos');
    assert.equal(s.network.encoder.labelEmbedding, 'table');
    assert.equal(s.network.encoder.activation, 'gelu-tanh');
    const t = tree(withClasses(s));
    assert.equal(t['label.embed.table'], '11x64');
    assert.equal(t['label.trunk.fc1.kernel'], undefined, 'no label trunk');
    assert.equal(t['encoder.pos'], undefined, 'no learned positions');
    // 0.1.0's DiT: the label trunk and learned positions come back
    const old = presetSpec('dit', 'micro/4', { labelEmbedding: 'table-mlp', pos: 'learned' });
    const u = tree(withClasses(old));
    assert.equal(u['label.trunk.fc1.kernel'], '64x64');
    assert.equal(u['encoder.pos'], '1x64x64');
    // the label trunk's FLOPs are counted only where it exists
    assert.ok(modelFlops(withClasses(old)).forward > modelFlops(withClasses(s)).forward);
    assert.deepEqual(decodeModelSpec('spec', JSON.parse(JSON.stringify(s))), s);
  });

  it('the activation reaches the MLP (same weights, different outputs); bad values name the field', () => {
    const s = presetSpec('dit', 'micro/4');
    const x = tf.randomNormal([2, 5, 8], 0, 2, 'float32', 4);
    const exact = mlp({ hidden: 16 });
    const tanh = mlp({ hidden: 16, activation: 'gelu-tanh' });
    const { params } = exact.init(Key.key(3), spec([-1, 5, 8]));
    const a = exact.apply(params, x, ctx(Key.key(0)));
    const b = tanh.apply(params, x, ctx(Key.key(0)));
    const diff = tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!;
    assert.ok(diff > 1e-5 && diff < 0.05, `max difference ${diff}`);
    tf.dispose([x, a, b]);
    disposeParams(params);
    assert.throws(
      () => decodeModelSpec('spec', { ...s, network: { ...s.network, encoder: { ...s.network.encoder, activation: 'relu' } } }),
      (e: unknown) => e instanceof ConfigError && e.field === 'spec.network.encoder.activation' && e.value === 'relu',
    );
    const mae = presetSpec('mae', 'micro/4');
    assert.throws(
      () => buildModel({ ...mae, network: { ...mae.network, encoder: { ...mae.network.encoder, activation: 'gelu-tanh' } } }),
      (e: unknown) => e instanceof ConfigError && e.field === 'network.encoder.activation',
    );
  });

  it("UMD's DiT baseline is the UMD preset without its clean share or mask: one unmasked noised branch on UMD's network", () => {
    const s = presetSpec('umd', 'micro/4', { cleanShare: 0, noisedRatio: 0 });
    assert.deepEqual(
      s.corruption.branches.map((b) => [b.name, b.weight, b.branch.mask.kind, b.branch.noise.placement]),
      [['noised', 1, 'none', 'all']],
    );
    assert.deepEqual(s.network, presetSpec('umd', 'micro/4').network);
    assert.equal(scheduleOf(s.corruption)?.kind, 'cosine');
  });
});

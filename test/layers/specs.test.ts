import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  tf,
  Key,
  ctx,
  spec,
  specTree,
  dense,
  denseNoBias,
  layerNorm,
  selfAttention,
  crossAttention,
  mlp,
  sincosPosEmbed,
  learnedPosEmbed,
  timestepEmbedding,
  patchEmbed,
  patches,
  vitBlock,
  serial,
  stack,
  residual,
  patchify,
  unpatchify,
  disposeParams,
  ConfigError,
  ShapeError,
  type TensorSpec,
  type SomeLayer,
  type Tensor,
} from '../../src/index.js';
import { forEachBackend, noLeak } from '../helpers.js';

type Case = { name: string; layer: SomeLayer<Tensor, Tensor>; input: () => Tensor };
const img = (): Tensor => tf.randomUniform([2, 8, 12, 3], 0, 1, 'float32', 1);
const tok =
  (n = 5, w = 12): (() => Tensor) =>
  () =>
    tf.randomNormal([2, n, w], 0, 1, 'float32', 2);
const cases: Case[] = [
  { name: 'dense', layer: dense(7), input: tok() },
  { name: 'denseNoBias', layer: denseNoBias(3), input: tok() },
  { name: 'layerNorm', layer: layerNorm(), input: tok() },
  { name: 'selfAttention', layer: selfAttention({ width: 12, heads: 3 }), input: tok() },
  { name: 'mlp', layer: mlp({ hidden: 20 }), input: tok() },
  { name: 'sincosPosEmbed', layer: sincosPosEmbed([2, 3]), input: tok(6) },
  { name: 'learnedPosEmbed', layer: learnedPosEmbed(), input: tok(6) },
  { name: 'timestepEmbedding', layer: timestepEmbedding({ width: 16, freqDim: 8 }), input: () => tf.tensor1d([0, 999], 'int32') },
  { name: 'patchEmbed', layer: patchEmbed(patches(4), { width: 12 }), input: img },
  { name: 'patchify', layer: patchify(patches(4)), input: img },
  { name: 'unpatchify', layer: unpatchify(patches(4), [8, 12, 3]), input: () => tf.zeros([2, 6, 48]) },
  { name: 'vitBlock', layer: vitBlock({ width: 12, heads: 2 }), input: tok() },
  {
    name: 'encoder',
    layer: serial({
      embed: patchEmbed(patches(4), { width: 12 }),
      blocks: stack(2, () => vitBlock({ width: 12, heads: 3 })),
      norm: layerNorm(),
    }),
    input: img,
  },
  { name: 'residual mlp', layer: residual(mlp({ hidden: 4 })), input: tok() },
];

forEachBackend('every layer', () => {
  for (const c of cases) {
    it(`${c.name}: the spec from init equals the real output shape, and apply leaks nothing`, () => {
      const x = c.input();
      const s: TensorSpec = { shape: x.shape, dtype: x.dtype as 'float32' };
      const { params, outSpec } = c.layer.init(Key.key(0), s as never);
      const y = noLeak(() => c.layer.apply(params as never, x, ctx(Key.key(1))));
      assert.deepEqual(specTree(y), outSpec);
      assert.ok(!Array.from(y.dataSync()).some((v) => !Number.isFinite(v)), 'finite output');
      // with an unknown batch the spec keeps -1
      const unknown = c.layer.init(Key.key(0), { ...s, shape: [-1, ...s.shape.slice(1)] } as never);
      assert.equal((unknown.outSpec as TensorSpec).shape[0], -1);
      tf.dispose([x, y]);
      disposeParams(params);
      disposeParams(unknown.params);
    });
  }

  it('cross-attention: spec equals shape, no leak', () => {
    const l = crossAttention({ width: 8, heads: 4 });
    const x = tf.ones([2, 3, 8]);
    const memory = tf.ones([2, 7, 5]);
    const { params, outSpec } = l.init(Key.key(0), specTree({ x, memory }));
    const y = noLeak(() => l.apply(params, { x, memory }, ctx(Key.key(0))));
    assert.deepEqual(specTree(y), outSpec);
    tf.dispose([x, memory, y]);
    disposeParams(params);
  });
});

describe('layer configuration errors name the field and the value', () => {
  it('heads that do not divide the width', () => {
    assert.throws(
      () => selfAttention({ width: 10, heads: 3 }),
      (e: unknown) => e instanceof ConfigError && e.field === 'selfAttention.heads' && e.value === 3 && /width 10/.test(e.message),
    );
    assert.throws(() => vitBlock({ width: 12, heads: 5 }), /heads = 5: must divide selfAttention\.width 12/);
  });
  it('non-finite and non-positive sizes', () => {
    assert.throws(() => dense(0), /dense\.units = 0/);
    assert.throws(() => dense(NaN), /dense\.units = NaN/);
    assert.throws(() => layerNorm({ eps: -1 }), /layerNorm\.eps = -1/);
    assert.throws(() => mlp({ hidden: 2.5 }), /mlp\.hidden = 2\.5/);
    assert.throws(() => vitBlock({ width: 8, heads: 2, mlpRatio: Infinity }), /vitBlock\.mlpRatio = Infinity/);
  });
  it('wrong input shapes at init and apply', () => {
    assert.throws(() => selfAttention({ width: 8, heads: 2 }).init(Key.key(0), spec([2, 3, 6])), ShapeError);
    const d = dense(4);
    const { params } = d.init(Key.key(0), spec([2, 3]));
    const x = tf.ones([2, 5]);
    assert.throws(
      () => d.apply(params, x, ctx(Key.key(0))),
      (e: unknown) => e instanceof ShapeError && /dense input/.test(e.message),
    );
    assert.throws(() => sincosPosEmbed([2, 2]).init(Key.key(0), spec([1, 5, 8])), ShapeError);
    assert.throws(() => sincosPosEmbed([2, 2]).init(Key.key(0), spec([1, 4, 6])), /sincos2d\.dim = 6/);
    tf.dispose([x]);
    disposeParams(params);
  });
  it('same key, same params; different keys, different params', () => {
    const l = vitBlock({ width: 8, heads: 2 });
    const a = l.init(Key.key(3), spec([1, 4, 8])).params;
    const b = l.init(Key.key(3), spec([1, 4, 8])).params;
    const c = l.init(Key.key(4), spec([1, 4, 8])).params;
    assert.deepEqual(a.attn.attn.qkv.kernel.dataSync(), b.attn.attn.qkv.kernel.dataSync());
    assert.notDeepEqual(a.attn.attn.qkv.kernel.dataSync(), c.attn.attn.qkv.kernel.dataSync());
    for (const p of [a, b, c]) disposeParams(p);
  });
});

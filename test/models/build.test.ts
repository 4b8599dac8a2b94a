// One model spec for every method and hybrid: corruption values serialise and parse back (a
// round-trip law), a hybrid built from the algebra is a model like the presets, and the pairings
// that cannot work are refused when the model is built, with the branch named.
import { spec as variantSpec } from '../../examples/variant.js';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  baseLrFor,
  METHODS,
  SIZES,
  tf,
  Key,
  ctx,
  spec,
  ConfigError,
  Mask,
  Noise,
  Time,
  term,
  mixture,
  patches,
  buildModel,
  decodeCorruption,
  decodeModelSpec,
  presetSpec,
  encoderOf,
  extractFeatures,
  heldOutEval,
  heldOutKind,
  inpaintingOf,
  sampleTime,
  synthetic,
  disposeParams,
  patchifyOp,
  drawMask,
  maskTensors,
  corruptPatches,
  type ModelOut,
  type ModelSpec,
} from '../../src/index.js';
import { arbCorruption } from '../../src/testing/index.js';
import { noLeak, onCpu } from '../helpers.js';

/** Frees a model output: the loss and every group's intermediates. */
const disposeOut = (out: ModelOut): void =>
  tf.dispose([
    out.loss,
    ...out.groups.flatMap((g) => [
      g.loss,
      g.latent,
      g.x0,
      g.xt,
      g.mask,
      g.idsRestore,
      g.t,
      ...(g.predX0 ? [g.predX0] : []),
      ...(g.predEps ? [g.predEps] : []),
    ]),
  ]);

/** The hybrid of the variant guide (examples/variant.ts): a block mask, whole-image noise at low t, and a clean share, on 16 x 16 images. */
const hybrid = (): ModelSpec => variantSpec;

describe('corruption values as JSON', () => {
  it('decodeCorruption(JSON of c) deep-equals c, for every corruption (the round-trip law)', () => {
    fc.assert(
      fc.property(arbCorruption(4, 4), (c) => {
        assert.deepEqual(decodeCorruption('c', JSON.parse(JSON.stringify(c))), c);
      }),
      { numRuns: 300, seed: 14 },
    );
  });

  it('a model spec round-trips too, the hybrid included', () => {
    for (const s of [hybrid(), presetSpec('diffmae', 'micro/4', { topDown: true, target: 'eps' }), presetSpec('dit', 'small/4')])
      assert.deepEqual(decodeModelSpec('spec', JSON.parse(JSON.stringify(s))), s);
  });

  it('Time.range draws every t in lo..hi and nothing else', () => {
    const t = sampleTime(Time.range(3, 7), Key.key(0), 2000, 1000);
    assert.deepEqual(
      [...new Set(t)].sort((a, b) => a - b),
      [3, 4, 5, 6, 7],
    );
    assert.throws(() => sampleTime(Time.range(3, 1200), Key.key(0), 4, 1000), ConfigError);
    assert.throws(() => Time.range(5, 4), ConfigError);
  });
});

describe('a hybrid is a model like the presets', () => {
  onCpu();

  it('builds, trains a step without leaking, encodes features, and evaluates held-out reconstruction', () => {
    const m = buildModel(hybrid());
    assert.equal(inpaintingOf(m.corruption), 'one-pass');
    assert.equal(heldOutKind(m.corruption), 'masked');
    const { params } = m.init(Key.key(0), { images: spec([-1, 16, 16, 3]) });
    const data = synthetic({ count: 8, size: 16 });
    const images = tf.tensor4d(data.images, [8, 16, 16, 3]);
    const loss = noLeak(() => {
      const out = m.apply(params, { images }, ctx(Key.key(1), true));
      assert.deepEqual(out.names, ['clean', 'low-t']);
      const v = out.loss.dataSync()[0]!;
      disposeOut(out);
      return v;
    });
    assert.ok(Number.isFinite(loss) && loss > 0);
    // the low-t branch only ever draws t in 1..100
    const out = m.apply(params, { images }, ctx(Key.key(1), true));
    const t = out.groups[1]!.t.dataSync();
    assert.ok(t.length > 0 && [...t].every((v) => v >= 1 && v <= 100));
    disposeOut(out);
    const f = extractFeatures(encoderOf(m), params, data, { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] });
    assert.equal(f.dim, 64);
    const e = heldOutEval(m, params, images, { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] }, Key.key(2));
    assert.ok(Number.isFinite(e.psnr));
    tf.dispose(images);
    disposeParams(params);
  });
});

describe('pairings that cannot work are refused when the model is built', () => {
  it('a noisy-query decoder with a clean branch that scores the removed patches: the decoder would be handed the answer', () => {
    const dm = presetSpec('diffmae', 'micro/4');
    const withClean = mixture(patches(4), [
      { name: 'noised', weight: 0.5, branch: dm.corruption.branches[0]!.branch },
      {
        name: 'clean',
        weight: 0.5,
        branch: { mask: Mask.random(0.75), noise: Noise.none(), time: Time.zero(), objective: [term('x0', 'masked')] },
      },
    ]);
    for (const kind of ['cross', 'cross-self', 'noisy-query'] as const)
      assert.throws(
        () => buildModel({ ...dm, corruption: withClean, network: { ...dm.network, decoder: { ...dm.network.decoder, kind } } }),
        (e: unknown) => e instanceof ConfigError && e.field === 'corruption.branches[1] ("clean")' && /handed the answer/.test(e.message),
        kind,
      );
    // the same clean branch with a mask-token decoder, or scoring only the visible patches, is fine
    assert.doesNotThrow(() =>
      buildModel({ ...dm, corruption: withClean, network: { ...dm.network, decoder: { ...dm.network.decoder, kind: 'mask-token' } } }),
    );
    const visibleOnly = mixture(patches(4), [
      { name: 'noised', weight: 0.5, branch: dm.corruption.branches[0]!.branch },
      {
        name: 'clean',
        weight: 0.5,
        branch: { mask: Mask.random(0.75), noise: Noise.none(), time: Time.zero(), objective: [term('x0', 'visible')] },
      },
    ]);
    assert.doesNotThrow(() => buildModel({ ...dm, corruption: visibleOnly }));
  });

  it('the leak is real: on a clean branch, a noisy-query decoder sees the hidden patches; a mask-token decoder does not', () => {
    const clean = { mask: Mask.random(0.75), noise: Noise.none(), time: Time.zero(), objective: [term('x0', 'masked')] } as const;
    const hiddenChange = (s: ModelSpec): number => {
      const m = buildModel(s);
      const { params } = m.init(Key.key(0), { images: spec([-1, 32, 32, 3]) });
      const r = tf.tidy(() => {
        const a = patchifyOp(m.corruption.patching, tf.tensor4d(synthetic({ count: 2 }).images, [2, 32, 32, 3]));
        const other = patchifyOp(m.corruption.patching, tf.tensor4d(synthetic({ count: 2, start: 10 }).images, [2, 32, 32, 3]));
        const draw = drawMask(clean.mask, Key.key(3), 2, m.grid);
        const removed = tf.expandDims(maskTensors(draw).mask, -1);
        // the same visible patches, other content in the hidden ones
        const b = tf.add(tf.mul(a, tf.sub(1, removed)), tf.mul(other, removed));
        const pred = (x0: tf.Tensor) =>
          m.network.layer.apply(params, corruptPatches(clean, Key.key(4), m.grid, x0, { draw }), ctx(Key.key(5))).predX0!;
        return tf.max(tf.abs(tf.mul(tf.sub(pred(a), pred(b)), removed)));
      });
      const v = r.dataSync()[0]!;
      r.dispose();
      disposeParams(params);
      return v;
    };
    assert.ok(hiddenChange(presetSpec('diffmae', 'micro/4')) > 1e-3, 'the cross-self decoder reads the hidden patches of a clean branch');
    assert.equal(hiddenChange(presetSpec('mae', 'micro/4')), 0, 'the mask-token decoder never sees them');
  });

  it('heads that do not cover the objective are refused with the branch named', () => {
    const umd = presetSpec('umd', 'micro/4');
    assert.throws(
      () => buildModel({ ...umd, network: { ...umd.network, heads: ['x0'] } }),
      (e: unknown) => e instanceof ConfigError && e.field === 'corruption.branches[1] ("noised").objective' && e.value === 'eps',
    );
    assert.doesNotThrow(() => buildModel({ ...umd, network: { ...umd.network, heads: ['x0', 'eps'] } }));
  });

  it('a mask that leaves no patch visible on the grid is refused when the model is built, with the branch named', () => {
    const s = presetSpec('mae', 'micro/4', { maskRatio: 0.999 }); // 64 tokens: keeps floor(64 * 0.001) = 0
    assert.throws(
      () => buildModel(s),
      (e: unknown) =>
        e instanceof ConfigError && e.field === 'corruption.branches[0] ("mae").mask' && /leaves no visible patch/.test(e.message),
    );
    assert.doesNotThrow(() => buildModel(presetSpec('mae', 'micro/4', { maskRatio: 0.98 })));
  });

  it('a mask that removes nothing with an objective on the masked patches only is refused', () => {
    assert.throws(() => presetSpec('mae', 'micro/4', { maskRatio: 0 }), /masks nothing/);
    assert.throws(() => presetSpec('umd', 'micro/4', { cleanRatio: 0 }), /masks nothing/);
    assert.doesNotThrow(() => presetSpec('maskdit', 'micro/4', { maskRatio: 0 }));
  });
});

describe('each preset carries the learning rate of its size', () => {
  it('baseLrFor reads the size of the encoder, for every method, and the nearest size for a network of its own width', () => {
    for (const m of METHODS) {
      assert.equal(baseLrFor(presetSpec(m, 'micro/4')), SIZES.micro.baseLr, m);
      assert.equal(baseLrFor(presetSpec(m, 'small/4', { image: [28, 28, 1] })), SIZES.small.baseLr, m);
      assert.equal(baseLrFor(presetSpec(m, 'vit-b/16')), 1.5e-4, m);
    }
    const own = presetSpec('mae', 'micro/4');
    const width = (w: number) => ({ ...own, network: { ...own.network, encoder: { ...own.network.encoder, width: w } } });
    assert.equal(baseLrFor(width(80)), SIZES.micro.baseLr); // ln(80/64) < ln(128/80)
    assert.equal(baseLrFor(width(96)), SIZES.small.baseLr); // ln(128/96) < ln(96/64)
    assert.equal(baseLrFor(width(4096)), SIZES.H.baseLr);
  });
});

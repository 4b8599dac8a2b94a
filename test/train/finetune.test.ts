import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  tf,
  Key,
  spec,
  COND_PRESETS,
  finetuneSpec,
  transplant,
  buildModel,
  fromLegacy,
  synthetic,
  train,
  trainConfig,
  initState,
  disposeState,
  channelStats,
  flatten,
  emaUpdate,
  encodeCheckpoint,
  decodeCheckpoint,
  disposeParams,
  ConfigError,
  ctx,
  decodeModelSpec,
  mapParams,
  type ModelSpec,
} from '../../src/index.js';
import { onCpu, assertClose } from '../helpers.js';

const pre: ModelSpec = fromLegacy({
  method: 'umd',
  config: {
    ...COND_PRESETS.umd['micro/4'],
    image: [16, 16, 3],
    encoder: { width: 16, depth: 1, heads: 2 },
    decoder: { width: 16, depth: 1, heads: 2 },
  },
});

describe('class-conditional fine-tuning', () => {
  onCpu();

  it('the fine-tuning spec adds classes and label dropout, shrinks the clean share and unmasks the noised one', () => {
    const s = finetuneSpec(pre, { classes: 10 });
    // the same network (UMD's: a conditioned encoder), now with classes and label dropout
    assert.equal(pre.network.encoder.conditioning, 'adaln');
    assert.deepEqual(s.network, { ...pre.network, encoder: { ...pre.network.encoder, classes: 10, labelDropout: 0.1 } });
    assert.equal(s.image, pre.image);
    const m = buildModel(s);
    assert.equal(m.classes, 10);
    const [clean, noised] = m.corruption.branches;
    assert.ok(Math.abs(clean!.weight - 0.05) < 1e-12);
    assert.equal(noised!.branch.mask.kind, 'none');
    assert.deepEqual(
      noised!.branch.objective.map((t) => [t.target, t.region, t.weight]),
      [
        ['eps', 'all', 0.5],
        ['x0', 'all', 0.5],
      ],
    );
    assert.throws(
      () =>
        finetuneSpec(
          fromLegacy({
            method: 'mae',
            config: { image: [16, 16, 3], patch: 4, encoder: { width: 8, depth: 1, heads: 2 }, decoder: { width: 8, depth: 1, heads: 2 } },
          }),
          { classes: 2 },
        ),
      ConfigError,
    );
  });

  it("the clean share conditions on the null class (UMD's reference), or on the labels with cleanLabels: 'label'", () => {
    const images = tf.tidy(() => tf.clipByValue(tf.add(tf.mul(tf.randomNormal([8, 16, 16, 3], 0, 1, 'float32', 3), 0.25), 0.5), 0, 1));
    const labelsA = tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 7], 'int32');
    const labelsB = tf.tensor1d([9, 8, 7, 6, 5, 4, 3, 2], 'int32');
    const groupLosses = (cleanLabels: 'null' | 'label' | undefined) => {
      const s = finetuneSpec(pre, { classes: 10, labelDropout: 0, cleanShare: 0.5, ...(cleanLabels ? { cleanLabels } : {}) });
      assert.equal(s.corruption.branches[0]!.branch.condition, cleanLabels ?? 'null');
      assert.equal(s.corruption.branches[1]!.branch.condition, undefined);
      // the field survives JSON, as a checkpoint stores it
      assert.deepEqual(decodeModelSpec('spec', JSON.parse(JSON.stringify(s))), s);
      const m = buildModel(s);
      const init = m.init(Key.key(1), { images: spec([-1, 16, 16, 3]) }).params;
      // adaLN-zero starts with the conditioning switched off: move every weight off its init
      let n = 0;
      const params = mapParams(init, (t) => tf.tidy(() => tf.add(t, tf.randomNormal(t.shape, 0, 0.05, 'float32', n++))));
      disposeParams(init);
      const run = (labels: tf.Tensor) =>
        tf.tidy(() => m.apply(params, { images, labels }, ctx(Key.key(2))).groups.map((g) => g.loss.dataSync()[0]!));
      const out = { a: run(labelsA), b: run(labelsB) };
      disposeParams(params);
      return out;
    };
    const byNull = groupLosses(undefined);
    assert.equal(byNull.a[0], byNull.b[0], 'the clean group does not see the labels');
    assert.notEqual(byNull.a[1], byNull.b[1], 'the noised group does');
    const byLabel = groupLosses('label');
    assert.notEqual(byLabel.a[0], byLabel.b[0], 'with cleanLabels label the clean group sees them');
    assert.throws(
      () =>
        decodeModelSpec('spec', {
          ...JSON.parse(JSON.stringify(finetuneSpec(pre, { classes: 10 }))),
          corruption: {
            ...JSON.parse(JSON.stringify(finetuneSpec(pre, { classes: 10 }).corruption)),
            branches: [
              {
                name: 'clean',
                weight: 1,
                branch: {
                  mask: { kind: 'random', ratio: 0.75 },
                  noise: { placement: 'none' },
                  time: { kind: 'zero' },
                  objective: [{ target: 'x0', region: 'masked' }],
                  condition: 'nul',
                },
              },
            ],
          },
        }),
      (e: unknown) => e instanceof ConfigError && e.field === 'spec.corruption.branches[0].branch.condition' && e.value === 'nul',
    );
    for (const t of [images, labelsA, labelsB]) t.dispose();
  });

  it('transplant keeps every pre-trained weight and initialises only the new label layers', () => {
    const a = buildModel(pre).init(Key.key(0), { images: spec([-1, 16, 16, 3]) }).params;
    const ft = finetuneSpec(pre, { classes: 10 });
    const b = buildModel(ft).init(Key.key(9), { images: spec([-1, 16, 16, 3]) }).params;
    const { params, fresh } = transplant(a, b);
    assert.deepEqual(fresh, [
      'label.embed.table',
      'label.trunk.fc1.kernel',
      'label.trunk.fc1.bias',
      'label.trunk.fc2.kernel',
      'label.trunk.fc2.bias',
    ]);
    const byPath = new Map(flatten(params));
    for (const [k, t] of flatten(a)) assert.deepEqual(byPath.get(k)!.dataSync(), t.dataSync(), k);
    if (a instanceof tf.Tensor || Array.isArray(a)) throw new Error('a model has named params');
    const extra = tf.ones([1]);
    assert.throws(() => transplant({ ...a, extra }, b), /has no place/);
    extra.dispose();
    for (const p of [a, b, params]) disposeParams(p);
  });

  it('the EMA follows decay * ema + (1 - decay) * params and survives a checkpoint', async () => {
    const model = buildModel(finetuneSpec(pre, { classes: 10 }));
    const data = synthetic({ count: 16, size: 16 });
    const cfg = trainConfig({ steps: 2, batch: 4, baseLr: 1e-2, warmup: 0, ema: 0.9, seed: 0 });
    const s0 = initState(model, data, cfg);
    assert.ok(s0.ema);
    const final = await train(model, data, { ...cfg, steps: 1 }, s0, {}, channelStats(data));
    // one step from ema = params0: ema1 = 0.9 params0 + 0.1 params1
    const params0 = initState(model, data, cfg);
    const want = emaUpdate(params0.params, final.params, 0.9);
    for (const [[k, e], [, w]] of flatten(final.ema!).map((x, i) => [x, flatten(want)[i]!] as const))
      assertClose(e.dataSync(), w.dataSync(), 1e-6, k);
    const back = decodeCheckpoint(encodeCheckpoint(final), 'c', final.params);
    assert.ok(back.state.ema);
    assert.deepEqual(
      flatten(back.state.ema).map(([, t]) => Array.from(t.dataSync())),
      flatten(final.ema!).map(([, t]) => Array.from(t.dataSync())),
    );
    for (const s of [final, params0, back.state]) disposeState(s);
    disposeParams(want);
  });
});

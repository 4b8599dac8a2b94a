// The five methods' losses and gradients are those of 0.1.0, bit for bit. The fixtures
// (test/fixtures/v0.1.0, recorded by scripts/record-regression.mjs on the 0.1.0 model code) hold
// eleven small models saved as 0.1.0 checkpoints and, for each, the SHA-256 of the loss and of
// every gradient of one training-mode pass at a fixed key on fixed images. Here the checkpoints
// are opened with today's code (so 0.1.0 files still open), the same pass is recomputed, and
// today's init at the fixtures' key is checked against the params 0.1.0 initialised.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import {
  tf,
  Key,
  ctx,
  flatten,
  unflatten,
  disposeParams,
  openModelBytes,
  spec,
  presetSpec,
  fromLegacy,
  type ModelSpec,
  Schedule,
  MAE_PRESETS,
  DIFFMAE_PRESETS,
  COND_PRESETS,
  type MethodName,
} from '../../src/index.js';
import { onCpu } from '../helpers.js';

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'fixtures', 'v0.1.0');
type Recorded = { readonly loss: string; readonly lossValue: number; readonly grads: Readonly<Record<string, string>> };
const recorded = JSON.parse(readFileSync(join(dir, 'regression.json'), 'utf8')) as Record<string, Recorded>;
const hash = (a: Float32Array | Int32Array | Uint8Array): string =>
  createHash('sha256')
    .update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength))
    .digest('hex');

describe('losses and gradients are those of 0.1.0, bit for bit', () => {
  onCpu();
  it('covers every fixture', () => {
    const files = readdirSync(dir).filter((f) => f.endsWith('.safetensors'));
    assert.deepEqual(files.map((f) => f.replace('.safetensors', '')).sort(), Object.keys(recorded).sort());
  });
  for (const [name, want] of Object.entries(recorded)) {
    it(name, () => {
      const file = join(dir, `${name}.safetensors`);
      const opened = openModelBytes(new Uint8Array(readFileSync(file)), file);
      const shape = opened.model.image;
      const n = 4;
      const images = tf.tensor(Key.uniform(Key.key(1), n * shape.reduce((a, b) => a * b, 1)), [n, ...shape]);
      const labels = opened.model.classes ? tf.tensor1d([0, 1, 2, 3], 'int32') : undefined;
      const flat = flatten(opened.params);
      const f = (...leaves: tf.Tensor[]) => {
        const p = unflatten(opened.params, new Map(flat.map(([k], i) => [k, leaves[i]!])));
        return opened.model.apply(p, labels ? { images, labels } : { images }, ctx(Key.key(2), true)).loss;
      };
      const { value, grads } = tf.valueAndGrads(f)(flat.map(([, t]) => t));
      assert.equal(value.dataSync()[0], want.lossValue);
      assert.equal(hash(value.dataSync() as Float32Array), want.loss);
      assert.deepEqual(Object.keys(want.grads).sort(), flat.map(([k]) => k).sort(), 'the same parameter tree');
      flat.forEach(([k], i) => assert.equal(hash(grads[i]!.dataSync() as Float32Array), want.grads[k], `gradient of ${k}`));
      // the fixture's params are 0.1.0's init at key 0: today's init at key 0 gives the same bits
      const fresh = opened.model.init(Key.key(0), { images: spec([-1, ...shape]) }).params;
      const saved = new Map(flat.map(([k, t]) => [k, hash(t.dataSync() as Float32Array)]));
      for (const [k, t] of flatten(fresh)) assert.equal(hash(t.dataSync() as Float32Array), saved.get(k), `init of ${k}`);
      disposeParams(fresh);
      tf.dispose([images, value, ...grads, ...(labels ? [labels] : [])]);
      disposeParams(opened.params);
    });
  }
});

describe('the presets are those of 0.1.0', () => {
  it('every 0.1.0 preset of every method gives the same corruption and network as the 0.1.0 configuration', () => {
    const legacy: [MethodName, string, Parameters<typeof fromLegacy>[0]][] = [
      ...Object.entries(MAE_PRESETS).map(([p, config]): [MethodName, string, Parameters<typeof fromLegacy>[0]] => [
        'mae',
        p,
        { method: 'mae', config },
      ]),
      ...Object.entries(DIFFMAE_PRESETS).map(([p, config]): [MethodName, string, Parameters<typeof fromLegacy>[0]] => [
        'diffmae',
        p,
        { method: 'diffmae', config },
      ]),
      ...(['umd', 'maskdit', 'dit'] as const).flatMap((m) =>
        Object.entries(COND_PRESETS[m]).map(([p, config]): [MethodName, string, Parameters<typeof fromLegacy>[0]] => [
          m,
          p,
          { method: m, config },
        ]),
      ),
    ];
    assert.ok(legacy.length >= 20);
    for (const [m, p, old] of legacy) {
      // UMD now embeds t as its reference does; embedding 'timestep-embedder' is 0.1.0's UMD exactly
      // DiT now follows DiT's reference; these options are 0.1.0's DiT
      const umd01 = { embedding: 'timestep-embedder', adaNorm: 'plain' } as const;
      const dit01 = { schedule: Schedule.cosine(), pos: 'learned', labelEmbedding: 'table-mlp', activation: 'gelu' } as const;
      const { label, ...now } = presetSpec(m, p, m === 'umd' ? umd01 : m === 'dit' ? dit01 : {});
      assert.equal(label, `${m} ${p}`);
      const expected = JSON.parse(JSON.stringify(fromLegacy(old))) as ModelSpec;
      const named = m === 'umd' ? umd01 : m === 'dit' ? { labelEmbedding: 'table-mlp', activation: 'gelu' } : {};
      const withField = { ...expected, network: { ...expected.network, encoder: { ...expected.network.encoder, ...named } } };
      assert.deepEqual(JSON.parse(JSON.stringify(now)), withField, `${m} ${p}`);
      if (m === 'umd') assert.equal(presetSpec(m, p).network.encoder.embedding, 'time-emb', p);
    }
  });
});

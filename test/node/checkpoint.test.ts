// saveModelCheckpoint: a state trained in code saved with no hand-written metadata opens with
// openModel (model, weights, norm, step), and a norm that would not open is refused before
// anything is written.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { buildModel, ConfigError, disposeParams, flatten, initOpt, Key, presetSpec, spec, type ModelSpec } from '../../src/index.js';
import { openModel, readCheckpointMetadata, saveModelCheckpoint } from '../../src/node/index.js';
import { onCpu } from '../helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'tesserae-save-model-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const base = presetSpec('umd', 'micro/4', { image: [8, 8, 1] });
const small: ModelSpec = {
  ...base,
  network: {
    ...base.network,
    encoder: { ...base.network.encoder, width: 16, depth: 1, heads: 2 },
    decoder: { ...base.network.decoder, width: 16, depth: 1, heads: 2 },
  },
};

describe('saveModelCheckpoint', () => {
  onCpu();

  it('writes what openModel needs: the model, the weights, the norm and the step', () => {
    const model = buildModel(small);
    const { params } = model.init(Key.key(4), { images: spec([-1, 8, 8, 1]) });
    const state = { params, opt: { ...initOpt(params), step: 7 }, step: 7 };
    const norm = { mean: [0.25], std: [0.5] };
    const path = saveModelCheckpoint(join(dir, 'a'), state, { model, norm, metadata: { note: 'mine' } });
    assert.equal(path, join(dir, 'a', 'step-000007.safetensors'));
    assert.ok(existsSync(join(dir, 'a', 'latest.safetensors')));
    const opened = openModel(path);
    assert.deepEqual(JSON.parse(JSON.stringify(opened.spec)), JSON.parse(JSON.stringify(small)));
    assert.deepEqual(opened.norm, norm);
    assert.equal(opened.step, 7);
    assert.equal(opened.weights, 'params');
    assert.equal(opened.metadata['note'], 'mine');
    assert.deepEqual(
      flatten(opened.params).map(([k, t]) => [k, Array.from(t.dataSync())]),
      flatten(params).map(([k, t]) => [k, Array.from(t.dataSync())]),
    );
    disposeParams(opened.params);
    // a spec works as well as a built model
    const again = saveModelCheckpoint(join(dir, 'b'), state, { model: small, norm });
    assert.equal(openModel(again).spec.label, 'umd micro/4');
    disposeParams(params);
  });

  it('refuses a norm that openModel would refuse, and writes nothing', () => {
    const model = buildModel(small);
    const { params } = model.init(Key.key(5), { images: spec([-1, 8, 8, 1]) });
    const state = { params, opt: initOpt(params), step: 0 };
    const cases: [{ mean: number[]; std: number[] }, RegExp][] = [
      [
        { mean: [0, 0, 0], std: [1, 1, 1] },
        /norm\.mean = \[0, 0, 0\]: needs one value per input channel: 1 for images of shape \[8, 8, 1\]/,
      ],
      [{ mean: [0], std: [0] }, /norm\.std\[0\] = 0: must be positive and finite/],
      [{ mean: [NaN], std: [1] }, /norm\.mean\[0\] = NaN: must be finite/],
    ];
    for (const [norm, pattern] of cases) {
      const out = join(dir, 'bad');
      assert.throws(
        () => saveModelCheckpoint(out, state, { model, norm }),
        (e: unknown) => e instanceof ConfigError && pattern.test(e.message),
        JSON.stringify(norm),
      );
      assert.ok(!existsSync(join(out, 'latest.safetensors')));
    }
    // the metadata it writes is the spec and the norm (and the metadata given)
    const path = saveModelCheckpoint(join(dir, 'c'), state, { model, norm: { mean: [0], std: [1] } });
    const meta = readCheckpointMetadata(path);
    assert.equal(meta['norm'], '{"mean":[0],"std":[1]}');
    assert.equal(meta['spec'], JSON.stringify(small));
    disposeParams(params);
  });
});

// Records the regression fixtures of test/models/regression.test.ts: for each case, a small model
// of one method initialised at key 0, saved as a checkpoint the way `tesserae train` of 0.1.0
// writes one (test/fixtures/v0.1.0/<case>.safetensors), and the loss and the SHA-256 of every
// gradient of one training-mode forward pass at a fixed key on fixed images
// (test/fixtures/v0.1.0/regression.json). It was run once, on the 0.1.0 model code (commit
// f9f13b4), on the cpu backend; the test recomputes the same numbers with the current code and
// requires them bit for bit. Run: node scripts/record-regression.mjs (after a build).
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as T from '../dist/src/index.js';

const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'test', 'fixtures', 'v0.1.0');
await T.useBackend('cpu');
const { tf } = T;
const img = [8, 8, 3];
const enc = { width: 16, depth: 2, heads: 2 };
const small = { image: img, patch: 2, encoder: enc };
export const CASES = {
  mae: { method: 'mae', config: { ...small, decoder: { width: 8, depth: 1, heads: 2 } } },
  'mae-normpix': { method: 'mae', config: { ...small, decoder: { width: 8, depth: 1, heads: 2 }, normPix: true } },
  'mae-video': { method: 'mae', config: { ...small, image: [4, 8, 8, 3], tubelet: 2, decoder: { width: 8, depth: 1, heads: 2 } } },
  diffmae: { method: 'diffmae', config: { ...small, decoder: { kind: 'cross-self', width: 8, depth: 1, heads: 2 } } },
  'diffmae-cross-topdown': {
    method: 'diffmae',
    config: {
      ...small,
      decoder: { kind: 'cross', width: 8, depth: 2, heads: 2, topDown: true },
      target: 'eps',
      schedule: T.Schedule.linear(),
    },
  },
  'diffmae-joint': { method: 'diffmae', config: { ...small, decoder: { kind: 'joint', width: 8, depth: 1, heads: 2 } } },
  umd: { method: 'umd', config: { ...small, decoder: { width: 16, depth: 1, heads: 2 }, clsTokens: 4 } },
  'umd-classes': {
    method: 'umd',
    config: {
      ...small,
      decoder: { width: 16, depth: 1, heads: 2 },
      clsTokens: 4,
      classes: 4,
      labelDropout: 0.1,
      cleanShare: 0.25,
      noisedRatio: 0,
    },
  },
  maskdit: { method: 'maskdit', config: { ...small, decoder: { width: 16, depth: 1, heads: 2 } } },
  dit: { method: 'dit', config: { ...small, decoder: { width: 16, depth: 0, heads: 2 }, pos: 'sincos' } },
  'dit-token': { method: 'dit', config: { ...small, decoder: { width: 16, depth: 0, heads: 2 }, conditioning: 'token', classes: 4 } },
};
const hex = (a) =>
  createHash('sha256')
    .update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength))
    .digest('hex');
const results = {};
for (const [name, spec] of Object.entries(CASES)) {
  const built = T.buildModel(spec);
  const shape = spec.config.image;
  const { params } = built.model.init(T.Key.key(0), { images: T.spec([-1, ...shape]) });
  const n = 4;
  const images = tf.tensor(T.Key.uniform(T.Key.key(1), n * shape.reduce((a, b) => a * b, 1)), [n, ...shape]);
  const labels = spec.config.classes ? tf.tensor1d([0, 1, 2, 3], 'int32') : undefined;
  const flat = T.flatten(params);
  const f = (...leaves) => {
    const p = T.unflatten(params, new Map(flat.map(([k], i) => [k, leaves[i]])));
    return built.model.apply(p, labels ? { images, labels } : { images }, T.ctx(T.Key.key(2), true)).loss;
  };
  const { value, grads } = tf.valueAndGrads(f)(flat.map(([, t]) => t));
  results[name] = {
    loss: hex(value.dataSync()),
    lossValue: value.dataSync()[0],
    grads: Object.fromEntries(flat.map(([k], i) => [k, hex(grads[i].dataSync())])),
  };
  const state = { params, opt: T.initOpt(params), step: 0 };
  const meta = {
    method: spec.method,
    model: JSON.stringify(spec.config),
    train: JSON.stringify({ seed: 0 }),
    norm: JSON.stringify({ mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] }),
    data: JSON.stringify({ kind: shape.length === 4 ? 'synthetic-video' : 'synthetic' }),
  };
  // one full training checkpoint (with optimiser moments), the rest weights-only, to keep the fixtures small
  writeFileSync(join(out, `${name}.safetensors`), name === 'umd' ? T.encodeCheckpoint(state, meta) : T.encodeWeights(params, 0, meta));
  tf.dispose([images, value, ...grads, ...(labels ? [labels] : [])]);
  T.disposeState(state);
  console.log(name, results[name].lossValue);
}
writeFileSync(join(out, 'regression.json'), JSON.stringify(results, null, 1) + '\n');

import assert from 'node:assert/strict';
import { it } from 'node:test';
import {
  tf,
  Key,
  ctx,
  mae,
  Method,
  applyWithMask,
  maskFromNoise,
  keepCount,
  inferMaeConfig,
  importMaeReference,
  exportMaeReference,
  disposeParams,
  FormatError,
  flatten,
  spec,
} from '../../src/index.js';
import { maeForward } from '../reference/maeOracle.js';
import { randomReferenceWeights } from '../reference/maeWeights.js';
import { forEachBackend, assertClose } from '../helpers.js';

const arch = { side: 4, patch: 2, channels: 3, width: 8, depth: 2, decoderWidth: 8, decoderDepth: 1 };

forEachBackend('MAE against the plain-loop reference forward pass', (backend) => {
  for (const normPix of [false, true]) {
    it(`import + forward reproduce the oracle's pred, mask and loss (normPix ${normPix})`, () => {
      const w = randomReferenceWeights(Key.key(11), arch);
      const cfg = inferMaeConfig(w, 'w.safetensors', { heads: 2, decoderHeads: 4, normPix, maskRatio: 0.75 });
      assert.deepEqual(cfg.image, [8, 8, 3]);
      assert.equal(cfg.encoder.depth, 2);
      const params = importMaeReference(w, 'w.safetensors', cfg);
      const n = 3;
      const l = 16;
      const images = Key.uniform(Key.key(12), n * 8 * 8 * 3);
      const noise = Key.uniform(Key.key(13), n * l);
      const want = maeForward(w, images, n, noise, { heads: 2, decoderHeads: 4, maskRatio: 0.75, normPix });
      const model = mae(cfg);
      const x = tf.tensor4d(images, [n, 8, 8, 3]);
      const out = applyWithMask(
        model.corruption,
        model.network,
        params,
        x,
        maskFromNoise(noise, n, l, keepCount(l, 0.75)),
        ctx(Key.key(0)),
      );
      const tol = backend === 'cpu' ? 1e-4 : 2e-4;
      assertClose(out.predX0!.dataSync(), want.pred.flat(2), tol, 'pred', 1e-4);
      assert.deepEqual(Array.from(out.mask.dataSync()), want.mask.flat());
      assertClose([out.loss.dataSync()[0]!], [want.loss], tol, 'loss', 1e-4);
      tf.dispose([x, out.loss, out.latent, out.predX0!, out.x0, out.mask, out.idsRestore, out.t]);
      disposeParams(params);
    });
  }
});

it('export inverts import exactly, and the structure matches a freshly initialised model', () => {
  const w = randomReferenceWeights(Key.key(21), arch);
  const cfg = inferMaeConfig(w, 'w', { heads: 2, decoderHeads: 2 });
  const params = importMaeReference(w, 'w', cfg);
  const back = exportMaeReference(params, cfg);
  assert.deepEqual([...back.keys()].sort(), [...w.keys()].sort());
  for (const [k, v] of w) {
    assert.deepEqual(back.get(k)!.shape, v.shape, k);
    if (k.endsWith('pos_embed')) assertClose(back.get(k)!.data, v.data, 1e-6, k);
    else assert.deepEqual(back.get(k)!.data, v.data, k);
  }
  const fresh = mae(cfg).init(Key.key(0), { images: spec([-1, 8, 8, 3]) }).params;
  assert.deepEqual(
    flatten(params).map(([k, t]) => [k, t.shape]),
    flatten(fresh).map(([k, t]) => [k, t.shape]),
  );
  disposeParams(params);
  disposeParams(fresh);
});

it('bad reference weights get a FormatError naming the file and the tensor', () => {
  const w = randomReferenceWeights(Key.key(31), arch);
  const cfg = inferMaeConfig(w, 'w', { heads: 2, decoderHeads: 2 });
  const missing = new Map(w);
  missing.delete('blocks.1.attn.proj.bias');
  assert.throws(
    () => importMaeReference(missing, 'x.safetensors', cfg),
    (e: unknown) => e instanceof FormatError && e.file === 'x.safetensors' && /blocks\.1\.attn\.proj\.bias/.test(e.message),
  );
  const wrong = new Map(w);
  wrong.set('decoder_pred.weight', { shape: [11, 8], data: new Float32Array(88) });
  assert.throws(() => importMaeReference(wrong, 'x', cfg), /decoder_pred\.weight" has shape \[11, 8\], expected \[12, 8\]/);
  const learned = new Map(w);
  learned.set('pos_embed', { shape: [1, 17, 8], data: Key.normal(Key.key(1), 17 * 8) });
  assert.throws(() => importMaeReference(learned, 'x', cfg), /pos_embed is not the fixed 2D sin-cos table/);
  const noDecoder = new Map([...w].filter(([k]) => !k.startsWith('decoder_blocks')));
  assert.throws(() => inferMaeConfig(noDecoder, 'enc.safetensors', { heads: 2, decoderHeads: 2 }), /no decoder blocks/);
  assert.ok(Method.mae({ patch: 2 }));
});

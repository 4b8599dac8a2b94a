// Writing an MAE under facebookresearch/mae's names: exactly the reference's key set and shapes
// for the architecture, PyTorch layouts, and a round trip through the reader that `tesserae
// reconstruct` uses that predicts what tesserae's own model predicts (and what the plain-loop
// oracle of the reference forward pass computes). Models the reference cannot express, DiT
// included, are ConfigErrors naming each difference and the formats they can use.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  tf,
  Key,
  ctx,
  mae,
  applyWithMask,
  maskFromNoise,
  keepCount,
  presetSpec,
  disposeParams,
  inferMaeConfig,
  importMaeReference,
  readSafetensors,
  referenceTensors,
  referenceMaeConfig,
  referenceProblems,
  exportFormats,
  exportReference,
  onVideo,
  ConfigError,
  ShapeError,
  type ModelSpec,
  type Params,
} from '../../src/index.js';
import { maeForward } from '../reference/maeOracle.js';
import { ownPrediction, perturbedParams, smallArch as arch, smallMae } from '../reference/maeSpec.js';
import { randomReferenceWeights } from '../reference/maeWeights.js';
import { sincos2dRef } from '../reference/oracles.js';
import { assertClose, onCpu } from '../helpers.js';

describe('MAE weights under facebookresearch/mae names', () => {
  onCpu();

  it("has exactly the reference's names and shapes for the architecture, in PyTorch layouts", () => {
    const s = smallMae();
    const params = perturbedParams(s, 3);
    const named = referenceTensors(s, params);
    const want = randomReferenceWeights(Key.key(0), arch);
    assert.deepEqual([...named.keys()].sort(), [...want.keys()].sort());
    for (const [k, v] of want) assert.deepEqual(named.get(k)!.shape, v.shape, k);
    const leaf = new Map(
      Object.entries({
        qkv: ['encoder', 'trunk', 'blocks', '0', 'attn', 'attn', 'qkv', 'kernel'],
        patch: ['encoder', 'embed', 'proj', 'kernel'],
        pred: ['decoder', 'head', 'pred', 'kernel'],
        norm2: ['decoder', 'trunk', 'body', 'blocks', '1', 'mlp', 'norm', 'scale'],
      }),
    );
    const find = (path: readonly string[]): tf.Tensor => {
      let p: Params = params;
      for (const k of path) p = (p as { readonly [k: string]: Params })[k]!;
      return p as tf.Tensor;
    };
    // Linear: weight [out, in] is the kernel [in, out] transposed
    const qkv = find(leaf.get('qkv')!).arraySync() as number[][];
    const w = named.get('blocks.0.attn.qkv.weight')!;
    assert.deepEqual(w.shape, [48, 16]);
    for (let o = 0; o < 48; o++) for (let i = 0; i < 16; i++) assert.equal(w.data[o * 16 + i], Math.fround(qkv[i]![o]!));
    const pred = find(leaf.get('pred')!).arraySync() as number[][];
    const pw = named.get('decoder_pred.weight')!;
    for (let o = 0; o < 48; o++) for (let i = 0; i < 8; i++) assert.equal(pw.data[o * 8 + i], Math.fround(pred[i]![o]!));
    // patch embedding: conv weight [D, C, p, p] from the kernel row (r p + c) C + ch
    const kernel = find(leaf.get('patch')!).arraySync() as number[][];
    const conv = named.get('patch_embed.proj.weight')!;
    for (let d = 0; d < 16; d++)
      for (let ch = 0; ch < 3; ch++)
        for (let r = 0; r < 4; r++)
          for (let c = 0; c < 4; c++)
            assert.equal(conv.data[((d * 3 + ch) * 4 + r) * 4 + c], Math.fround(kernel[(r * 4 + c) * 3 + ch]![d]!));
    assert.deepEqual(Array.from(named.get('decoder_blocks.1.norm2.weight')!.data), Array.from(find(leaf.get('norm2')!).dataSync()));
    // position tables as the reference stores them: a zero row for the CLS token, then the sin-cos table
    for (const [name, d] of [
      ['pos_embed', 16],
      ['decoder_pos_embed', 8],
    ] as const) {
      const pos = named.get(name)!;
      assert.deepEqual(pos.shape, [1, 17, d]);
      assert.deepEqual(Array.from(pos.data.subarray(0, d)), new Array<number>(d).fill(0));
      assertClose(pos.data.subarray(d), sincos2dRef(4, 4, d).flat(), 1e-6, name);
    }
    disposeParams(params);
  });

  for (const normPix of [false, true]) {
    it(`read back as reconstruct reads it, predicts what tesserae's model predicts (norm-pix ${normPix})`, () => {
      const s = smallMae({ normPix });
      const params = perturbedParams(s, 7);
      const n = 3;
      const images = Key.uniform(Key.key(8), n * 16 * 16 * 3);
      const noise = Key.uniform(Key.key(9), n * 16);
      const own = ownPrediction(s, params, images, n, noise);
      const bytes = exportReference({ spec: s, params });
      const file = readSafetensors(bytes, 'ref.safetensors');
      assert.equal(file.metadata['num_heads'], '4');
      assert.equal(file.metadata['decoder_num_heads'], '2');
      assert.equal(file.metadata['norm_pix_loss'], String(normPix));
      const named = new Map(
        [...file.tensors].map(([k, t]) => {
          assert.equal(t.dtype, 'F32', k);
          return [k, { shape: [...t.shape], data: t.data as Float32Array }];
        }),
      );
      const cfg = inferMaeConfig(named, 'ref.safetensors', { heads: 4, decoderHeads: 2, normPix, maskRatio: 0.75 });
      assert.deepEqual(cfg, referenceMaeConfig(s));
      const back = importMaeReference(named, 'ref.safetensors', cfg);
      const m = mae(cfg);
      const x = tf.tensor4d(images, [n, 16, 16, 3]);
      const out = applyWithMask(m.corruption, m.network, back, x, maskFromNoise(noise, n, 16, keepCount(16, 0.75)), ctx(Key.key(0)));
      assertClose(out.predX0!.dataSync(), own, 1e-5, 'pred (read back)', 1e-5);
      // and the plain-loop oracle of models_mae.py's forward pass on the exported tensors agrees
      const oracle = maeForward(named, images, n, noise, { heads: 4, decoderHeads: 2, maskRatio: 0.75, normPix });
      assertClose(own, oracle.pred.flat(2), 2e-4, 'pred (oracle)', 1e-4);
      tf.dispose([x, out.loss, out.latent, out.predX0!, out.x0, out.xt, out.mask, out.idsRestore, out.t]);
      disposeParams(back);
      // float16: the same names, half the bytes
      const half = readSafetensors(exportReference({ spec: s, params }, { dtype: 'float16' }), 'half');
      assert.deepEqual([...half.tensors.keys()], [...file.tensors.keys()]);
      assert.ok([...half.tensors].every(([k, t]) => t.dtype === (k.endsWith('pos_embed') ? 'F32' : 'F16')));
      disposeParams(params);
    });
  }

  it('refuses params that are not the spec’s model', () => {
    const s = smallMae();
    const wider: ModelSpec = { ...s, network: { ...s.network, decoder: { ...s.network.decoder, width: 12 } } };
    const params = perturbedParams(wider, 1);
    assert.throws(() => referenceTensors(s, params), ShapeError);
    disposeParams(params);
  });

  it('a model the reference cannot express is a ConfigError naming each difference and the formats it can use', () => {
    const mae16 = smallMae();
    assert.deepEqual(referenceProblems(mae16), []);
    assert.deepEqual(exportFormats(mae16), ['tesserae', 'reference']);
    const dit = presetSpec('dit', 'micro/4');
    // 0.1.0's DiT: learned positions, a label MLP, exact GELU
    const dit01 = presetSpec('dit', 'micro/4', { pos: 'learned', labelEmbedding: 'table-mlp', activation: 'gelu' });
    const ditClasses: ModelSpec = { ...dit01, network: { ...dit01.network, encoder: { ...dit01.network.encoder, classes: 10 } } };
    const cases: [ModelSpec, RegExp[]][] = [
      [dit, [/DiT/, /affine LayerNorm \(encoder\.norm\)/]],
      [dit01, [/position embeddings are learned/, /exact GELU/]],
      [ditClasses, [/MLP \(label\.trunk\.fc1, label\.trunk\.fc2\)/, /y_embedder\.embedding_table/]],
      [presetSpec('umd', 'micro/4'), [/encoder is conditioned \(adaln\)/, /4 CLS tokens/, /adds noise/, /scores eps/]],
      [presetSpec('diffmae', 'micro/4'), [/decoder is cross-self/, /adds noise/]],
      [onVideo(presetSpec('mae', 'micro/4'), 4), [/input is video/]],
      [presetSpec('mae', 'micro/4', { image: [32, 16, 3] }), [/32 x 16; the reference MAE takes square images/]],
    ];
    // the preset that follows DiT's reference lists none of the differences it no longer has
    const withLabels: ModelSpec = { ...dit, network: { ...dit.network, encoder: { ...dit.network.encoder, classes: 10 } } };
    assert.doesNotMatch(referenceProblems(withLabels).join('; '), /position embeddings|GELU|label\.trunk/);
    for (const [s, patterns] of cases) {
      assert.deepEqual(exportFormats(s), ['tesserae'], s.label);
      assert.throws(
        () => referenceMaeConfig(s),
        (e: unknown) => {
          assert.ok(e instanceof ConfigError, String(e));
          assert.equal(e.field, 'format');
          assert.match(e.message, /^format = "reference": cannot write .* under facebookresearch\/mae's names: /);
          assert.match(e.message, /Formats it can use: tesserae$/);
          for (const p of patterns) assert.match(e.message, p, s.label);
          return true;
        },
      );
    }
  });
});

/**
 * MAE written directly in tfjs-core, without the DSL (no Layer values, combinators, stage
 * pipelines or per-layer tidy scopes), using the same primitive ops. It exists to measure the
 * DSL's overhead: `dslOverhead` = DSL step time / this step time. A test checks that its loss is
 * bit-identical to the DSL model's, so the two are the same model.
 */
import {
  tf,
  applyDense,
  attend,
  corrupt,
  gatherTokens,
  gelu,
  layerNormOp,
  objectiveLoss,
  repeatTokens,
  sincos2d,
  spec,
  gridOf,
  Key,
  type Ctx,
  type DenseParams,
  type InputShape,
  type Layer,
  type MaeParams,
  type Model,
  type ModelIn,
  type Params,
  type Tensor,
  type VitBlockParams,
} from '../src/index.js';

/** What the hand-written MAE reads of a model: the input shape and the encoder's and decoder's widths and heads. */
export interface HandMaeShape {
  readonly image: InputShape;
  readonly encoder: { readonly width: number; readonly heads: number };
  readonly decoder: { readonly width: number; readonly heads: number };
}

const heads = (p: DenseParams, x: Tensor, parts: number, h: number): Tensor[] => {
  const [b, n] = x.shape as [number, number, number];
  const w = p.kernel.shape[1]! / parts;
  return Array.from({ length: parts }, (_, i) => {
    const y = applyDense({ kernel: tf.slice(p.kernel, [0, i * w], [-1, w]), bias: tf.slice(p.bias, [i * w], [w]) }, x);
    return tf.transpose(tf.reshape(y, [b, n, h, w / h]), [0, 2, 1, 3]);
  });
};

const merge = (x: Tensor): Tensor => {
  const [b, h, n, d] = x.shape as [number, number, number, number];
  return tf.reshape(tf.transpose(x, [0, 2, 1, 3]), [b, n, h * d]);
};

const block = (x: Tensor, p: VitBlockParams, h: number): Tensor => {
  const a = layerNormOp(x, p.attn.norm.scale, p.attn.norm.bias, 1e-6);
  const [q, k, v] = heads(p.attn.attn.qkv, a, 3, h) as [Tensor, Tensor, Tensor];
  const x1 = tf.add(x, applyDense(p.attn.attn.proj, merge(attend(q, k, v))));
  const m = layerNormOp(x1, p.mlp.norm.scale, p.mlp.norm.bias, 1e-6);
  return tf.add(x1, applyDense(p.mlp.mlp.fc2, gelu(applyDense(p.mlp.mlp.fc1, m))));
};

/** The MAE loss, written out. */
export const handMaeLoss = (cfg: HandMaeShape, method: Parameters<typeof corrupt>[0], p: MaeParams, images: Tensor, key: Key.Key): Tensor =>
  tf.tidy(() => {
    const [g] = corrupt(method, Key.fold(key, 'corrupt'), images);
    const grid = gridOf(method.patching, cfg.image);
    const l = grid.tokens;
    const e = cfg.encoder;
    const dd = cfg.decoder;
    const tokens = tf.add(applyDense(p.encoder.embed.proj, g!.xt), tf.tensor(sincos2d(grid.rows, grid.cols, e.width), [1, l, e.width]));
    let x = tf.concat([repeatTokens(p.encoder.cls.tokens, tokens.shape[0]!), gatherTokens(tokens, g!.idsKeep, g!.idsRestore)], 1);
    for (const bp of p.encoder.trunk.blocks) x = block(x, bp, e.heads);
    const latent = layerNormOp(x, p.encoder.trunk.norm.scale, p.encoder.trunk.norm.bias, 1e-6);
    const d = applyDense(p.decoder.embed, latent);
    const [b, n] = d.shape as [number, number, number];
    const shuffled = tf.concat([tf.slice(d, [0, 1, 0], [-1, -1, -1]), repeatTokens(p.decoder.refill.maskToken, b, l - (n - 1))], 1);
    let y = tf.concat([tf.slice(d, [0, 0, 0], [-1, 1, -1]), gatherTokens(shuffled, g!.idsRestore, g!.idsShuffle)], 1);
    y = tf.add(
      y,
      tf.pad(tf.tensor(sincos2d(grid.rows, grid.cols, dd.width), [1, l, dd.width]), [
        [0, 0],
        [1, 0],
        [0, 0],
      ]),
    );
    for (const bp of p.decoder.trunk.body.blocks) y = block(y, bp, dd.heads);
    y = layerNormOp(y, p.decoder.trunk.body.norm.scale, p.decoder.trunk.body.norm.bias, 1e-6);
    const pred = applyDense(p.decoder.head.pred, tf.slice(y, [0, 1, 0], [-1, -1, -1]));
    return objectiveLoss(g!.branch.objective, { x0: pred }, g!);
  });

/**
 * The hand-written MAE as a minimal layer, so the same trainer drives it. `init` is the DSL MAE
 * model's: its params tree is the one {@link handMaeLoss} reads (test/bench/handwritten.test.ts
 * holds the two to bit-identical losses and gradients).
 */
export const handMaeLayer = (
  cfg: HandMaeShape,
  method: Parameters<typeof corrupt>[0],
  init: Model['init'],
): Layer<Params, ModelIn, { readonly loss: Tensor }> => ({
  name: 'handMae',
  init: (key, inSpec) => ({ params: init(key, inSpec).params, outSpec: { loss: spec([]) } }),
  apply: (p: Params, x: ModelIn, c: Ctx) => ({ loss: handMaeLoss(cfg, method, p as unknown as MaeParams, x.images, c.key) }),
});

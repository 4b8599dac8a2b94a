/**
 * Reference MAE weights (facebookresearch/mae state-dict names and PyTorch layouts) to tesserae
 * params and back. The architecture is inferred from the tensor shapes; head counts are given.
 *
 * Layouts: a PyTorch Linear weight is [out, in] (ours: kernel [in, out]); the patch embedding is
 * a Conv2d weight [D, C, p, p] (ours: kernel [p*p*C, D], row = (r*p + c)*C + ch). pos_embed and
 * decoder_pos_embed are the fixed 2D sin-cos tables; they are checked, not loaded.
 *
 * @since 0.1.0
 */
import { positiveInt } from '../core/check.js';
import { FormatError } from '../core/errors.js';
import { tf, type Tensor } from '../core/tf.js';
import { flatten } from '../core/params.js';
import { sincos2d } from '../layers/posEmbed.js';
import type { DenseParams } from '../layers/dense.js';
import type { LayerNormParams } from '../layers/layerNorm.js';
import type { VitBlockParams } from '../vision/vitBlock.js';
import type { MaeConfig, MaeParams } from './mae.js';

/**
 * Float32 tensors by reference name (what a safetensors reader gives, converted to float32).
 *
 * @since 0.1.0
 */
export type NamedArrays = ReadonlyMap<string, { readonly shape: readonly number[]; readonly data: Float32Array }>;

const get = (t: NamedArrays, file: string, name: string, shape?: readonly number[]) => {
  const e = t.get(name);
  if (!e) throw new FormatError(file, `missing tensor ${JSON.stringify(name)}`);
  if (shape && (e.shape.length !== shape.length || e.shape.some((d, i) => d !== shape[i]))) {
    throw new FormatError(file, `tensor ${JSON.stringify(name)} has shape [${e.shape.join(', ')}], expected [${shape.join(', ')}]`);
  }
  if (e.data.length !== e.shape.reduce((a, b) => a * b, 1))
    throw new FormatError(file, `tensor ${JSON.stringify(name)} holds ${e.data.length} values for shape [${e.shape.join(', ')}]`);
  return e;
};

const countBlocks = (t: NamedArrays, prefix: string): number => {
  let n = 0;
  while (t.has(`${prefix}.${n}.norm1.weight`)) n++;
  return n;
};

/**
 * The MAE configuration that reference weights describe.
 *
 * @example
 * inferMaeConfig(tensors, 'mae_pretrain_vit_base.safetensors', { heads: 12, decoderHeads: 16 })
 * @since 0.1.0
 */
export const inferMaeConfig = (
  t: NamedArrays,
  file: string,
  o: { readonly heads: number; readonly decoderHeads: number; readonly normPix?: boolean; readonly maskRatio?: number },
): MaeConfig => {
  const pe = get(t, file, 'patch_embed.proj.weight');
  if (pe.shape.length !== 4 || pe.shape[2] !== pe.shape[3])
    throw new FormatError(file, `patch_embed.proj.weight has shape [${pe.shape.join(', ')}], expected [D, C, p, p]`);
  const [width, channels, p] = pe.shape as [number, number, number, number];
  const pos = get(t, file, 'pos_embed');
  const tokens = (pos.shape[1] ?? 1) - 1;
  const side = Math.round(Math.sqrt(tokens));
  if (pos.shape.length !== 3 || side * side !== tokens || pos.shape[2] !== width) {
    throw new FormatError(file, `pos_embed has shape [${pos.shape.join(', ')}], expected [1, 1 + side^2, ${width}]`);
  }
  const depth = countBlocks(t, 'blocks');
  const decoderDepth = countBlocks(t, 'decoder_blocks');
  if (depth === 0) throw new FormatError(file, 'no encoder blocks (blocks.0.norm1.weight is missing)');
  if (decoderDepth === 0)
    throw new FormatError(
      file,
      'no decoder blocks (decoder_blocks.0.norm1.weight is missing): reconstruction needs the pre-training decoder',
    );
  const dWidth = get(t, file, 'decoder_embed.weight').shape[0]!;
  const hidden = get(t, file, 'blocks.0.mlp.fc1.weight').shape[0]!;
  const dHidden = get(t, file, 'decoder_blocks.0.mlp.fc1.weight').shape[0]!;
  return {
    image: [side * p, side * p, channels],
    patch: p,
    encoder: { width, depth, heads: positiveInt('heads', o.heads), mlpRatio: hidden / width },
    decoder: { width: dWidth, depth: decoderDepth, heads: positiveInt('decoder heads', o.decoderHeads), mlpRatio: dHidden / dWidth },
    ...(o.maskRatio === undefined ? {} : { maskRatio: o.maskRatio }),
    normPix: o.normPix ?? false,
  };
};

/** [out, in] -> kernel [in, out] */
const linear = (t: NamedArrays, file: string, name: string, inW: number, outW: number): DenseParams => {
  const w = get(t, file, `${name}.weight`, [outW, inW]);
  const b = get(t, file, `${name}.bias`, [outW]);
  return tf.tidy(() => ({ kernel: tf.transpose(tf.tensor2d(w.data, [outW, inW])), bias: tf.tensor1d(b.data) }));
};

const norm = (t: NamedArrays, file: string, name: string, d: number): LayerNormParams => ({
  scale: tf.tensor1d(get(t, file, `${name}.weight`, [d]).data),
  bias: tf.tensor1d(get(t, file, `${name}.bias`, [d]).data),
});

const block = (t: NamedArrays, file: string, prefix: string, d: number, hidden: number): VitBlockParams => ({
  attn: {
    norm: norm(t, file, `${prefix}.norm1`, d),
    attn: { qkv: linear(t, file, `${prefix}.attn.qkv`, d, 3 * d), proj: linear(t, file, `${prefix}.attn.proj`, d, d) },
  },
  mlp: {
    norm: norm(t, file, `${prefix}.norm2`, d),
    mlp: { fc1: linear(t, file, `${prefix}.mlp.fc1`, d, hidden), fc2: linear(t, file, `${prefix}.mlp.fc2`, hidden, d) },
  },
});

const checkPos = (t: NamedArrays, file: string, name: string, side: number, d: number): void => {
  const e = get(t, file, name, [1, 1 + side * side, d]);
  const table = sincos2d(side, side, d);
  let worst = 0;
  for (let i = 0; i < d; i++) worst = Math.max(worst, Math.abs(e.data[i]!));
  for (let i = 0; i < table.length; i++) worst = Math.max(worst, Math.abs(e.data[d + i]! - table[i]!));
  if (worst > 1e-4)
    throw new FormatError(
      file,
      `${name} is not the fixed 2D sin-cos table (max difference ${worst.toPrecision(3)}); tesserae's MAE uses the fixed table`,
    );
};

/**
 * Loads reference-named weights as MAE params for `cfg` (from {@link inferMaeConfig}).
 *
 * @example
 * const params = importMaeReference(tensors, file, cfg)
 * @since 0.1.0
 */
export const importMaeReference = (t: NamedArrays, file: string, cfg: MaeConfig): MaeParams => {
  const { width: d, depth } = cfg.encoder;
  const { width: dd, depth: ddepth } = cfg.decoder;
  const [, , c] = cfg.image;
  const p = cfg.patch;
  const side = cfg.image[0] / p;
  const pd = p * p * c;
  checkPos(t, file, 'pos_embed', side, d);
  checkPos(t, file, 'decoder_pos_embed', side, dd);
  const hidden = Math.round(d * (cfg.encoder.mlpRatio ?? 4));
  const dHidden = Math.round(dd * (cfg.decoder.mlpRatio ?? 4));
  const made: Tensor[] = [];
  try {
    const pe = get(t, file, 'patch_embed.proj.weight', [d, c, p, p]);
    const patchKernel = tf.tidy(() => tf.reshape(tf.transpose(tf.tensor4d(pe.data, [d, c, p, p]), [2, 3, 1, 0]), [pd, d]));
    made.push(patchKernel);
    const params: MaeParams = {
      encoder: {
        embed: { proj: { kernel: patchKernel, bias: tf.tensor1d(get(t, file, 'patch_embed.proj.bias', [d]).data) }, pos: {} },
        mask: {},
        cls: { tokens: tf.tensor3d(get(t, file, 'cls_token', [1, 1, d]).data, [1, 1, d]) },
        trunk: {
          blocks: Array.from({ length: depth }, (_, i) => block(t, file, `blocks.${i}`, d, hidden)),
          norm: norm(t, file, 'norm', d),
        },
      },
      decoder: {
        embed: linear(t, file, 'decoder_embed', d, dd),
        refill: { maskToken: tf.tensor3d(get(t, file, 'mask_token', [1, 1, dd]).data, [1, 1, dd]) },
        trunk: {
          pos: {},
          body: {
            blocks: Array.from({ length: ddepth }, (_, i) => block(t, file, `decoder_blocks.${i}`, dd, dHidden)),
            norm: norm(t, file, 'decoder_norm', dd),
          },
        },
        head: { drop: {}, pred: linear(t, file, 'decoder_pred', dd, pd) },
      },
      heads: {},
    };
    return params;
  } catch (e) {
    tf.dispose(made);
    throw e;
  }
};

/**
 * MAE params as reference-named float32 arrays (PyTorch layouts), including the fixed position
 * tables: the inverse of {@link importMaeReference}.
 *
 * @example
 * const named = exportMaeReference(params, cfg)
 * @since 0.1.0
 */
export const exportMaeReference = (params: MaeParams, cfg: MaeConfig): Map<string, { shape: number[]; data: Float32Array }> => {
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  const put = (name: string, x: Tensor): void => {
    out.set(name, { shape: [...x.shape], data: Float32Array.from(x.dataSync()) });
  };
  const lin = (name: string, q: DenseParams): void => {
    const w = tf.transpose(q.kernel);
    put(`${name}.weight`, w);
    w.dispose();
    put(`${name}.bias`, q.bias);
  };
  const ln = (name: string, q: LayerNormParams): void => {
    put(`${name}.weight`, q.scale);
    put(`${name}.bias`, q.bias);
  };
  const blk = (prefix: string, b: VitBlockParams): void => {
    ln(`${prefix}.norm1`, b.attn.norm);
    lin(`${prefix}.attn.qkv`, b.attn.attn.qkv);
    lin(`${prefix}.attn.proj`, b.attn.attn.proj);
    ln(`${prefix}.norm2`, b.mlp.norm);
    lin(`${prefix}.mlp.fc1`, b.mlp.mlp.fc1);
    lin(`${prefix}.mlp.fc2`, b.mlp.mlp.fc2);
  };
  const [, , c] = cfg.image;
  const p = cfg.patch;
  const side = cfg.image[0] / p;
  const d = cfg.encoder.width;
  const dd = cfg.decoder.width;
  const pos = (dim: number): Float32Array => {
    const table = new Float32Array((1 + side * side) * dim);
    table.set(sincos2d(side, side, dim), dim);
    return table;
  };
  out.set('cls_token', { shape: [1, 1, d], data: Float32Array.from(params.encoder.cls.tokens.dataSync()) });
  out.set('pos_embed', { shape: [1, 1 + side * side, d], data: pos(d) });
  const conv = tf.transpose(tf.reshape(params.encoder.embed.proj.kernel, [p, p, c, d]), [3, 2, 0, 1]);
  put('patch_embed.proj.weight', conv);
  conv.dispose();
  put('patch_embed.proj.bias', params.encoder.embed.proj.bias);
  params.encoder.trunk.blocks.forEach((b, i) => blk(`blocks.${i}`, b));
  ln('norm', params.encoder.trunk.norm);
  put('mask_token', params.decoder.refill.maskToken);
  out.set('decoder_pos_embed', { shape: [1, 1 + side * side, dd], data: pos(dd) });
  lin('decoder_embed', params.decoder.embed);
  params.decoder.trunk.body.blocks.forEach((b, i) => blk(`decoder_blocks.${i}`, b));
  ln('decoder_norm', params.decoder.trunk.body.norm);
  lin('decoder_pred', params.decoder.head.pred);
  if (out.size !== flatten(params).length + 2)
    throw new FormatError('export', `exported ${out.size} tensors for ${flatten(params).length} params + 2 position tables`);
  return out;
};

/**
 * Multi-head attention, self and cross, written with tfjs-core ops: projections as 2D
 * products, scores as matMul on [B, H, N, d], softmax over keys.
 *
 * @since 0.1.0
 */
import { positiveInt, divides } from '../core/check.js';
import { ShapeError } from '../core/errors.js';
import { split } from '../core/key.js';
import { layer, type Layer } from '../core/layer.js';
import { expectRank, spec } from '../core/spec.js';
import { tf, type Tensor } from '../core/tf.js';
import { applyDense, initDense, type DenseParams } from './dense.js';

/**
 * Scaled dot-product attention: softmax(q k^T / sqrt(d)) v for q [B, H, Nq, d],
 * k and v [B, H, Nk, d]. Returns [B, H, Nq, d].
 *
 * @example
 * attend(q, k, v)
 * @since 0.1.0
 */
export const attend = (q: Tensor, k: Tensor, v: Tensor): Tensor =>
  tf.tidy(() => {
    const d = q.shape[q.rank - 1]!;
    const scores = tf.matMul(tf.mul(q, 1 / Math.sqrt(d)), k, false, true);
    return tf.matMul(tf.softmax(scores), v);
  });

/**
 * The `parts` projections of a fused dense layer (kernel [Din, parts * D], columns ordered
 * (part, head, channel): the reference ViT qkv layout) applied to x [B, N, Din], each as heads
 * [B, H, N, d]. The kernel's column blocks are sliced (small) and applied one by one, instead
 * of splitting the fused output (large): tfjs' WASM SplitV and strided Slice move activations
 * at a few hundred MB/s, while a rank-4 transpose is fast.
 */
const projectHeads = (p: DenseParams, x: Tensor, parts: number, heads: number): Tensor[] => {
  const [b, n] = x.shape as [number, number, number];
  const w = p.kernel.shape[1]! / parts;
  return Array.from({ length: parts }, (_, i) => {
    const kernel = parts === 1 ? p.kernel : tf.slice(p.kernel, [0, i * w], [-1, w]);
    const bias = parts === 1 ? p.bias : tf.slice(p.bias, [i * w], [w]);
    const y = applyDense({ kernel, bias }, x);
    return tf.transpose(tf.reshape(y, [b, n, heads, w / heads]), [0, 2, 1, 3]);
  });
};

/** [B, H, N, d] -> [B, N, H*d] */
const mergeHeads = (x: Tensor): Tensor => {
  const [b, h, n, d] = x.shape as [number, number, number, number];
  return tf.reshape(tf.transpose(x, [0, 2, 1, 3]), [b, n, h * d]);
};

/**
 * Configuration of the attention layers.
 *
 * @since 0.1.0
 */
export interface AttentionConfig {
  /** Model width D (input and output). */
  readonly width: number;
  /** Number of heads H; must divide the width. */
  readonly heads: number;
}

const checkAttention = (name: string, cfg: AttentionConfig): void => {
  positiveInt(`${name}.width`, cfg.width);
  positiveInt(`${name}.heads`, cfg.heads);
  divides(`${name}.heads`, cfg.heads, cfg.width, `${name}.width`);
};

/** Params of {@link selfAttention}: fused qkv [D, 3D] and output projection [D, D]. */
export type SelfAttentionParams = { readonly qkv: DenseParams; readonly proj: DenseParams };

/**
 * Multi-head self-attention on tokens [B, N, D] with a fused qkv projection (bias on). The qkv
 * output columns are ordered (q|k|v, head, channel), the reference ViT layout.
 *
 * @example
 * const attn = selfAttention({ width: 192, heads: 3 })
 * @since 0.1.0
 */
export const selfAttention = (cfg: AttentionConfig, name = 'selfAttention'): Layer<SelfAttentionParams, Tensor, Tensor> => {
  checkAttention(name, cfg);
  const { width, heads } = cfg;
  return layer<SelfAttentionParams, Tensor, Tensor>(
    name,
    (key, inSpec) => {
      expectRank(`${name} input`, inSpec, 3, [null, null, width]);
      const [kq, kp] = split(key);
      return { params: { qkv: initDense(kq!, width, 3 * width), proj: initDense(kp!, width, width) }, outSpec: inSpec };
    },
    (p, x) => {
      if (x.rank !== 3 || x.shape[2] !== width) throw new ShapeError(`${name} input`, `[B, N, ${width}]`, x.shape);
      const [q, k, v] = projectHeads(p.qkv, x, 3, heads) as [Tensor, Tensor, Tensor];
      return applyDense(p.proj, mergeHeads(attend(q, k, v)));
    },
  );
};

/** Params of {@link crossAttention}: q [D, D], fused kv [Dm, 2D], output projection [D, D]. */
export type CrossAttentionParams = { readonly q: DenseParams; readonly kv: DenseParams; readonly proj: DenseParams };

/** Input of {@link crossAttention}: queries x [B, Nq, D], memory [B, Nk, Dm]. */
export type CrossAttentionInput = { readonly x: Tensor; readonly memory: Tensor };

/**
 * Multi-head cross-attention: queries from `x` [B, Nq, D], keys and values from `memory`
 * [B, Nk, Dm] (Dm read from the spec). Returns [B, Nq, D].
 *
 * @example
 * const xattn = crossAttention({ width: 128, heads: 4 })
 * xattn.apply(p, { x: queries, memory: latent }, c)
 * @since 0.1.0
 */
export const crossAttention = (cfg: AttentionConfig, name = 'crossAttention'): Layer<CrossAttentionParams, CrossAttentionInput, Tensor> => {
  checkAttention(name, cfg);
  const { width, heads } = cfg;
  return layer<CrossAttentionParams, CrossAttentionInput, Tensor>(
    name,
    (key, inSpec) => {
      const xs = expectRank(`${name} x`, inSpec.x, 3, [null, null, width]);
      const ms = expectRank(`${name} memory`, inSpec.memory, 3, [xs[0]!, null, null]);
      const [kq, kkv, kp] = split(key, 3);
      return {
        params: { q: initDense(kq!, width, width), kv: initDense(kkv!, ms[2]!, 2 * width), proj: initDense(kp!, width, width) },
        outSpec: spec(xs, inSpec.x.dtype),
      };
    },
    (p, { x, memory }) => {
      if (x.rank !== 3 || x.shape[2] !== width) throw new ShapeError(`${name} x`, `[B, Nq, ${width}]`, x.shape);
      if (memory.rank !== 3 || memory.shape[0] !== x.shape[0])
        throw new ShapeError(`${name} memory`, `[${x.shape[0]}, Nk, Dm]`, memory.shape);
      const [q] = projectHeads(p.q, x, 1, heads) as [Tensor];
      const [k, v] = projectHeads(p.kv, memory, 2, heads) as [Tensor, Tensor];
      return applyDense(p.proj, mergeHeads(attend(q, k, v)));
    },
  );
};

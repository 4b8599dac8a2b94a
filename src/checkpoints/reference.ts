/**
 * Weights under the reference implementations' names: an MAE of tesserae written as a
 * facebookresearch/mae (timm) state dict, in PyTorch layouts, that `tesserae reconstruct` and
 * `models_mae.py` load. The mapping is the inverse of the one `reconstruct` reads
 * (`models/maeReference.ts`). A model the reference cannot express is refused, naming what
 * differs. DiT is refused too: tesserae's DiT network does not map one-to-one onto
 * facebookresearch/DiT's `models.py` (see {@link referenceProblems}).
 *
 * @since 0.2.0
 */
import { ConfigError } from '../core/errors.js';
import { key } from '../core/key.js';
import { disposeParams, flatten, unflatten, type Params } from '../core/params.js';
import { spec as tensorSpec } from '../core/spec.js';
import { floatToHalf } from '../io/dtypes.js';
import { writeSafetensors, type SafeTensor } from '../io/safetensors.js';
import { mae, type MaeConfig } from '../models/mae.js';
import { exportMaeReference } from '../models/maeReference.js';
import type { ModelSpec } from '../models/spec.js';

/**
 * The formats `tesserae export` writes: `tesserae` (a weights-only tesserae checkpoint with the
 * model's metadata) and `reference` (facebookresearch/mae state-dict names and layouts).
 *
 * @example
 * EXPORT_FORMATS.includes('reference') // true
 * @since 0.2.0
 */
export const EXPORT_FORMATS = ['tesserae', 'reference'] as const;

/**
 * An export format (see {@link EXPORT_FORMATS}).
 *
 * @since 0.2.0
 */
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** The differences between a conditioned one-trunk network (tesserae's DiT) and facebookresearch/DiT's `DiT`. */
const ditProblems = (s: ModelSpec): string[] => {
  const e = s.network.encoder;
  const out = [
    "its trunk ends with an affine LayerNorm (encoder.norm) before the final layer; DiT's blocks go straight to final_layer, whose norm_final has no weights",
  ];
  if (e.classes !== undefined && e.labelEmbedding !== 'table')
    out.push(
      'its class embedding passes through an MLP (label.trunk.fc1, label.trunk.fc2) before it is added to the timestep embedding; DiT adds y_embedder.embedding_table rows as they are',
    );
  if (e.embedding === 'time-emb')
    out.push("its timestep embedding is UMD's TimeEmb with 2 x width trunks; DiT's t_embedder is 256 frequencies, then width -> width");
  if (e.activation !== 'gelu-tanh') out.push("its blocks' MLPs use exact GELU; DiT's use the tanh approximation");
  if (e.pos !== 'sincos') out.push(`its position embeddings are ${e.pos}; DiT's pos_embed is the fixed 2D sin-cos table`);
  if (e.conditioning !== 'adaln') out.push(`its condition enters as a ${e.conditioning}; DiT's blocks use adaLN-Zero`);
  if (e.clsTokens > 0) out.push(`it has ${e.clsTokens} CLS tokens; DiT has none`);
  const heads = s.network.heads ?? [...new Set(s.corruption.branches.flatMap((b) => b.branch.objective.map((t) => t.target)))];
  if (heads.length !== 1 || heads[0] !== 'eps')
    out.push(
      `its heads are ${heads.join(' and ')}, one block of patch values each; DiT's final_layer.linear predicts eps (with learn_sigma, eps and the variance interleaved per pixel)`,
    );
  return out;
};

/**
 * Why a model cannot be written under facebookresearch/mae's names (one reason per
 * difference), or an empty list when it can: the reference is an image MAE with square inputs,
 * one CLS token, the fixed sin-cos positions, an unconditioned encoder, the mask-token joint
 * decoder and an x0 head, trained on masked clean images (mask ratio and norm-pix are loss
 * options: any value is fine). A conditioned one-trunk network (tesserae's DiT) gets the
 * differences from facebookresearch/DiT instead.
 *
 * @example
 * referenceProblems(presetSpec('mae', 'micro/4')) // []
 * referenceProblems(presetSpec('dit', 'micro/4')) // ['its trunk ends with an affine LayerNorm ...', ...]
 * @since 0.2.0
 */
export const referenceProblems = (s: ModelSpec): string[] => {
  const e = s.network.encoder;
  const d = s.network.decoder;
  if (e.conditioning !== 'none' && d.kind === 'none')
    return ['it is a one-trunk conditioned network (DiT) and does not map one-to-one onto facebookresearch/DiT', ...ditProblems(s)];
  const out: string[] = [];
  if (s.image.length !== 3) out.push('its input is video; the reference MAE takes images');
  else if (s.image[0] !== s.image[1]) out.push(`its images are ${s.image[0]} x ${s.image[1]}; the reference MAE takes square images`);
  if (e.conditioning !== 'none') out.push(`its encoder is conditioned (${e.conditioning}); the reference MAE's is not`);
  if (d.kind !== 'mask-token') out.push(`its decoder is ${d.kind}; the reference MAE's is the mask-token joint decoder`);
  if (e.clsTokens !== 1) out.push(`it has ${e.clsTokens} CLS tokens; the reference MAE has one`);
  if (e.pos !== 'sincos') out.push(`its position embeddings are ${e.pos}; the reference MAE's are the fixed 2D sin-cos table`);
  if (s.network.heads && (s.network.heads.length !== 1 || s.network.heads[0] !== 'x0'))
    out.push(`its heads are ${s.network.heads.join(', ')}; the reference MAE predicts x0 only`);
  s.corruption.branches.forEach((wb, i) => {
    const where = `corruption branch ${i} (${JSON.stringify(wb.name)})`;
    if (wb.branch.noise.placement !== 'none') out.push(`${where} adds noise; the reference MAE only masks`);
    const other = wb.branch.objective.find((t) => t.target !== 'x0');
    if (other) out.push(`${where} scores ${other.target}; the reference MAE predicts x0 only`);
  });
  return out;
};

/**
 * The export formats a model can be written in: always `tesserae`, and `reference` when
 * {@link referenceProblems} finds nothing.
 *
 * @example
 * exportFormats(presetSpec('umd', 'micro/4')) // ['tesserae']
 * @since 0.2.0
 */
export const exportFormats = (s: ModelSpec): ExportFormat[] =>
  referenceProblems(s).length === 0 ? ['tesserae', 'reference'] : ['tesserae'];

/**
 * The facebookresearch/mae configuration of a model spec; a {@link ConfigError} on `format`
 * naming every difference (and the formats the model can use) when the reference cannot
 * express it.
 *
 * @example
 * referenceMaeConfig(presetSpec('mae', 'micro/4')).decoder // { width: 64, depth: 2, heads: 4, mlpRatio: 4 }
 * @since 0.2.0
 */
export const referenceMaeConfig = (s: ModelSpec): MaeConfig => {
  const problems = referenceProblems(s);
  if (problems.length > 0)
    throw new ConfigError(
      'format',
      'reference',
      `cannot write ${s.label ?? 'this model'} under facebookresearch/mae's names: ${problems.join('; ')}. Formats it can use: ${exportFormats(s).join(', ')}`,
    );
  const { width, depth, heads, mlpRatio } = s.network.encoder;
  const dec = s.network.decoder;
  const branch = s.corruption.branches[0]!.branch;
  return {
    image: [s.image[0], s.image[1], s.image[2]!],
    patch: s.corruption.patching.size,
    // the reference's mlp_ratio defaults to 4, as tesserae's
    encoder: { width, depth, heads, mlpRatio: mlpRatio ?? 4 },
    decoder: { width: dec.width, depth: dec.depth, heads: dec.heads, mlpRatio: dec.mlpRatio ?? 4 },
    ...(branch.mask.kind === 'random' ? { maskRatio: branch.mask.ratio } : {}),
    normPix: branch.objective.some((t) => t.normPix),
  };
};

/**
 * A model's weights as facebookresearch/mae names and PyTorch layouts, float32 (see
 * {@link exportMaeReference} for the layouts): `cls_token`, `pos_embed` [1, 1 + L, D] (the fixed
 * table with the CLS row of zeros, as the reference stores it), `patch_embed.proj.weight`
 * [D, C, p, p], `blocks.N.*` (timm's fused `attn.qkv`), `norm`, `mask_token`, `decoder_embed`,
 * `decoder_pos_embed`, `decoder_blocks.N.*`, `decoder_norm`, `decoder_pred`. The params are
 * checked against the structure the spec describes. Refuses what {@link referenceMaeConfig} refuses.
 *
 * @example
 * const named = referenceTensors(presetSpec('mae', 'micro/4'), params)
 * named.get('blocks.0.attn.qkv.weight')?.shape // [192, 64]
 * @since 0.2.0
 */
export const referenceTensors = (s: ModelSpec, params: Params): Map<string, { shape: number[]; data: Float32Array }> => {
  const cfg = referenceMaeConfig(s);
  const template = mae(cfg).init(key(0), { images: tensorSpec([-1, ...cfg.image]) }).params;
  try {
    const leaves = flatten(params);
    const want = flatten(template).length;
    if (leaves.length !== want)
      throw new ConfigError(
        'params',
        `${leaves.length} tensors`,
        `the MAE the spec describes has ${want}: they are not this model's params`,
      );
    // the same tree, typed as MAE params; unflatten checks every path and shape
    return exportMaeReference(unflatten(template, new Map(leaves)), cfg);
  } finally {
    disposeParams(template);
  }
};

/**
 * A model's weights as a facebookresearch/mae state dict in safetensors bytes (float32, or
 * float16 with `dtype: 'float16'` except the two fixed position tables, which stay float32), loadable by `tesserae reconstruct` and, in PyTorch, by
 * `MaskedAutoencoderViT.load_state_dict(safetensors.torch.load_file(path))`. The metadata says
 * what the reference's constructor needs that the shapes do not (head counts, norm-pix).
 *
 * @example
 * const bytes = exportReference(openModelBytes(file, 'mae.safetensors'))
 * @since 0.2.0
 */
export const exportReference = (
  m: { readonly spec: ModelSpec; readonly params: Params },
  options: { readonly dtype?: 'float32' | 'float16' } = {},
): Uint8Array => {
  const named = referenceTensors(m.spec, m.params);
  const cfg = referenceMaeConfig(m.spec);
  const half = options.dtype === 'float16';
  // the fixed position tables stay float32: readers check them against the sin-cos table (to 1e-4)
  const entries = [...named].map(([k, v]): [string, SafeTensor] => [
    k,
    half && !k.endsWith('pos_embed')
      ? { dtype: 'F16', shape: v.shape, data: Uint16Array.from(v.data, floatToHalf) }
      : { dtype: 'F32', shape: v.shape, data: v.data },
  ]);
  return writeSafetensors(entries, {
    format: 'pt',
    source: 'facebookresearch/mae models_mae.MaskedAutoencoderViT',
    num_heads: String(cfg.encoder.heads),
    decoder_num_heads: String(cfg.decoder.heads),
    norm_pix_loss: String(cfg.normPix ?? false),
  });
};

/**
 * Patch embedding: patchify, then a linear map p*p*C -> D (equivalent to the reference
 * Conv2d(kernel p, stride p); its weight [D, C, p, p] maps to this kernel by
 * kernel[(r*p + c)*C + ch, d] = weight[d, ch, r, c]).
 *
 * @since 0.1.0
 */
import { positiveInt } from '../core/check.js';
import type { Layer } from '../core/layer.js';
import { layer } from '../core/layer.js';
import { spec } from '../core/spec.js';
import type { Tensor } from '../core/tf.js';
import { applyDense, initDense, type DenseParams } from '../layers/dense.js';
import { batchGrid, patchifyOp, type Patching } from './patchify.js';

/** Params of {@link patchEmbed}. */
export type PatchEmbedParams = { readonly proj: DenseParams };

/**
 * images [N, H, W, C] -> tokens [N, L, width].
 *
 * @example
 * const embed = patchEmbed(patches(4), { width: 192 })
 * @since 0.1.0
 */
export const patchEmbed = (
  patching: Patching,
  cfg: { readonly width: number },
  name = 'patchEmbed',
): Layer<PatchEmbedParams, Tensor, Tensor> => {
  const width = positiveInt(`${name}.width`, cfg.width);
  return layer<PatchEmbedParams, Tensor, Tensor>(
    name,
    (key, inSpec) => {
      const g = batchGrid(patching, inSpec.shape);
      return { params: { proj: initDense(key, g.patchDim, width) }, outSpec: spec([inSpec.shape[0]!, g.tokens, width]) };
    },
    (p, images) => applyDense(p.proj, patchifyOp(patching, images)),
  );
};

/**
 * Embeds already-patchified tokens [N, L, p*p*C] -> [N, L, width] with patch-embedding params
 * (for pipelines that patchify once and embed clean and noisy patches alike).
 *
 * @example
 * embedPatches(params.embed, noisyPatches)
 * @since 0.1.0
 */
export const embedPatches = (p: PatchEmbedParams, tokens: Tensor): Tensor => applyDense(p.proj, tokens);

/**
 * Analytic FLOP counts: 2·M·K·N for every matrix product of a model's forward pass (dense
 * layers, attention scores and values), per image; a training step is three times the forward
 * count (the backward pass runs two products per forward product). Elementwise work is not
 * counted, as is conventional.
 *
 * @since 0.1.0
 */
import { key } from '../core/key.js';
import { drawMask } from '../corruption/mask.js';
import { targetsOf } from '../corruption/questions.js';
import { headsFor } from '../models/network.js';
import type { ModelSpec } from '../models/spec.js';
import { gridOf } from '../vision/patchify.js';
import type { VitSize } from '../vision/vit.js';

const block = (n: number, d: number, ratio: number): number => 2 * n * d * 3 * d + 4 * n * n * d + 2 * n * d * d + 4 * n * d * ratio * d;

const trunk = (n: number, s: VitSize): number => s.depth * block(n, s.width, s.mlpRatio ?? 4);

const crossBlock = (m: number, nMem: number, dMem: number, d: number, ratio: number, self: boolean): number =>
  (self ? 2 * m * d * 3 * d + 4 * m * m * d + 2 * m * d * d : 0) +
  2 * m * d * d +
  2 * nMem * dMem * 2 * d +
  4 * m * nMem * d +
  2 * m * d * d +
  4 * m * d * ratio * d;

/**
 * FLOPs of one forward pass and one training step of the model a spec describes, per image:
 * the branches of its corruption weighted by their share of the batch (each branch's mask sets
 * how many tokens the encoder sees), the network by its structure (encoder conditioning, decoder
 * kind, heads).
 *
 * @example
 * modelFlops(presetSpec('mae', 'micro/4')).train
 * @since 0.1.0
 */
export const modelFlops = (spec: ModelSpec): { readonly forward: number; readonly train: number } => {
  const g = gridOf(spec.corruption.patching, spec.image);
  const { encoder: e, decoder: dec } = spec.network;
  const heads = (spec.network.heads ? headsFor(spec.network.heads) : headsFor(targetsOf(spec.corruption))).length;
  const d = e.width;
  const dd = dec.width;
  const nCls = e.clsTokens;
  const l = g.tokens;
  const out = g.patchDim * heads;
  const perBranch = (keep: number): number => {
    if (e.conditioning === 'none') {
      const enc = 2 * l * g.patchDim * d + trunk(keep + nCls, e);
      const joint = 2 * (keep + nCls) * d * dd + trunk(l + nCls, dec) + 2 * l * dd * out;
      const queries = 2 * l * g.patchDim * dd + 2 * 256 * dd + 2 * dd * dd;
      const m = l - keep;
      switch (dec.kind) {
        case 'mask-token':
          return enc + joint;
        case 'noisy-query':
          return enc + queries + joint;
        case 'cross':
        case 'cross-self':
          return (
            enc + queries + dec.depth * crossBlock(m, keep + nCls, d, dd, dec.mlpRatio ?? 4, dec.kind === 'cross-self') + 2 * m * dd * out
          );
        case 'none':
          return enc;
      }
    }
    const token = e.conditioning === 'token';
    const decDepth = dec.kind === 'none' ? 0 : dec.depth;
    // the condition: the time embedding's two dense layers (DiT's: 256 -> d -> d; UMD's: d -> 2d -> d),
    // and with classes the one-hot table product and, unless the table is all (DiT's), its trunk
    const wide = e.embedding === 'time-emb';
    const time = wide ? 2 * d * 2 * d + 2 * 2 * d * d : 2 * 256 * d + 2 * d * d;
    const labelTrunk = e.labelEmbedding === 'table' ? 0 : wide ? 2 * d * 2 * d + 2 * 2 * d * d : 2 * d * d + 2 * d * d;
    const cond = time + (e.classes === undefined ? 0 : 2 * (e.classes + 1) * d + labelTrunk);
    const adaBlocks = token ? 0 : 2 * d * 6 * d * e.depth + 2 * d * 6 * dd * decDepth;
    const final = token ? 2 * l * dd * out : 2 * d * 2 * dd + 2 * l * dd * out;
    const enc = 2 * l * g.patchDim * d + trunk(keep + nCls + (token ? 1 : 0), e) + (token ? 2 * d * d : 0);
    const prefix = nCls > 0 ? 1 : 0;
    const decoder =
      decDepth === 0
        ? 0
        : 2 * (keep + prefix) * d * dd + trunk(l + prefix + (token ? 1 : 0), { ...dec, depth: decDepth }) + (token ? 2 * d * dd : 0);
    return cond + adaBlocks + enc + decoder + final;
  };
  const forward = spec.corruption.branches.reduce((sum, wb) => sum + wb.weight * perBranch(drawMask(wb.branch.mask, key(0), 1, g).keep), 0);
  return { forward, train: 3 * forward };
};

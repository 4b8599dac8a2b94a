/**
 * Analytic FLOP counts: 2·M·K·N for every matrix product of a model's forward pass (dense
 * layers, attention scores and values), per image; a training step is three times the forward
 * count (the backward pass runs two products per forward product). Elementwise work is not
 * counted, as is conventional.
 *
 * @since 0.1.0
 */
import { key } from '../core/key.js';
import { drawMask, keepCount, type Mask } from '../corruption/mask.js';
import type { DiffMaeConfig } from '../models/diffmae.js';
import type { MaeConfig } from '../models/mae.js';
import type { ModelSpec } from '../models/registry.js';
import { gridOf, patchingFor, type Grid, type InputShape } from '../vision/patchify.js';
import type { VitSize } from '../vision/vit.js';
import { condCorruption, type CondConfig, type CondMethod } from '../models/cond.js';

/** A pre-norm ViT block on n tokens of width d. */
const block = (n: number, d: number, ratio: number): number => 2 * n * d * 3 * d + 4 * n * n * d + 2 * n * d * d + 4 * n * d * ratio * d;

const trunk = (n: number, s: VitSize): number => s.depth * block(n, s.width, s.mlpRatio ?? 4);

/** A cross block: m queries of width d reading nMem memory tokens of width dMem. */
const crossBlock = (m: number, nMem: number, dMem: number, d: number, ratio: number, self: boolean): number =>
  (self ? 2 * m * d * 3 * d + 4 * m * m * d + 2 * m * d * d : 0) +
  2 * m * d * d +
  2 * nMem * dMem * 2 * d +
  4 * m * nMem * d +
  2 * m * d * d +
  4 * m * d * ratio * d;

/** The grid of a configuration, and the tokens its mask keeps (random masks: floor(L (1 - ratio))). */
const gridAndKeep = (c: {
  readonly image: InputShape;
  readonly patch: number;
  readonly tubelet?: number;
  readonly mask?: Mask;
  readonly maskRatio?: number;
}): { g: Grid; keep: number } => {
  const g = gridOf(patchingFor(c.image, c.patch, c.tubelet), c.image);
  return { g, keep: c.mask ? drawMask(c.mask, key(0), 1, g).keep : keepCount(g.tokens, c.maskRatio ?? 0.75) };
};

const encoder = (c: { readonly encoder: VitSize }, keep: number, tokens: number, patchDim: number): number =>
  2 * tokens * patchDim * c.encoder.width + trunk(keep + 1, c.encoder);

/**
 * Forward FLOPs per image of an MAE configuration.
 *
 * @example
 * maeForwardFlops(MAE_PRESETS['micro/4']) // about 22.9e6
 * @since 0.1.0
 */
export const maeForwardFlops = (c: MaeConfig): number => {
  const { g, keep } = gridAndKeep(c);
  const d = c.encoder.width;
  const dd = c.decoder.width;
  return encoder(c, keep, g.tokens, g.patchDim) + 2 * (keep + 1) * d * dd + trunk(g.tokens + 1, c.decoder) + 2 * g.tokens * dd * g.patchDim;
};

/**
 * Forward FLOPs per image of a DiffMAE configuration.
 *
 * @example
 * diffmaeForwardFlops(DIFFMAE_PRESETS['micro/4'])
 * @since 0.1.0
 */
export const diffmaeForwardFlops = (c: DiffMaeConfig): number => {
  const { g, keep } = gridAndKeep(c);
  const m = g.tokens - keep;
  const d = c.encoder.width;
  const dd = c.decoder.width;
  const ratio = c.decoder.mlpRatio ?? 4;
  const queries = 2 * g.tokens * g.patchDim * dd + 2 * 256 * dd + 2 * dd * dd;
  const dec =
    c.decoder.kind === 'joint'
      ? 2 * (keep + 1) * d * dd + trunk(g.tokens + 1, c.decoder) + 2 * g.tokens * dd * g.patchDim
      : c.decoder.depth * crossBlock(m, keep + 1, d, dd, ratio, c.decoder.kind === 'cross-self') + 2 * m * dd * g.patchDim;
  return encoder(c, keep, g.tokens, g.patchDim) + queries + dec;
};

/**
 * Forward FLOPs per image of a conditioned model (UMD, MaskDiT, DiT): the mixture's branches
 * weighted by their share of the batch.
 *
 * @example
 * condForwardFlops('umd', COND_PRESETS.umd['micro/4'])
 * @since 0.1.0
 */
export const condForwardFlops = (method: CondMethod, c: CondConfig): number => {
  const g = gridOf(patchingFor(c.image, c.patch, c.tubelet), c.image);
  const corruption = condCorruption(method, c);
  const heads = new Set(corruption.branches.flatMap((b) => b.branch.objective.map((t) => t.target))).size;
  const d = c.encoder.width;
  const dd = c.decoder.width;
  const nCls = c.clsTokens ?? 0;
  const token = (c.conditioning ?? 'adaln') === 'token';
  const adaln = !token;
  const cond = 2 * 256 * d + 2 * d * d + (c.classes === undefined ? 0 : 2 * (c.classes + 1) * d + 2 * d * d + 2 * d * d);
  const adaBlocks = adaln ? 2 * d * 6 * d * c.encoder.depth + 2 * d * 6 * dd * c.decoder.depth : 0;
  const final = adaln ? 2 * d * 2 * dd + 2 * g.tokens * dd * g.patchDim * heads : 2 * g.tokens * dd * g.patchDim * heads;
  return corruption.branches.reduce((sum, wb) => {
    const m = wb.branch.mask;
    const keep = m.kind === 'random' ? keepCount(g.tokens, m.ratio) : drawMask(m, key(0), 1, g).keep;
    const enc = 2 * g.tokens * g.patchDim * d + trunk(keep + nCls + (token ? 1 : 0), c.encoder) + (token ? 2 * d * d : 0);
    const dec =
      c.decoder.depth === 0
        ? 0
        : 2 * (keep + (nCls > 0 ? 1 : 0)) * d * dd +
          trunk(g.tokens + (nCls > 0 ? 1 : 0) + (token ? 1 : 0), c.decoder) +
          (token ? 2 * d * dd : 0);
    return sum + wb.weight * (cond + adaBlocks + enc + dec + final);
  }, 0);
};

/**
 * FLOPs per image of a model spec: forward, and a training step (3x forward).
 *
 * @example
 * modelFlops({ method: 'mae', config: MAE_PRESETS['micro/4'] }).train
 * @since 0.1.0
 */
export const modelFlops = (spec: ModelSpec): { readonly forward: number; readonly train: number } => {
  const forward =
    spec.method === 'mae'
      ? maeForwardFlops(spec.config)
      : spec.method === 'diffmae'
        ? diffmaeForwardFlops(spec.config)
        : condForwardFlops(spec.method, spec.config);
  return { forward, train: 3 * forward };
};

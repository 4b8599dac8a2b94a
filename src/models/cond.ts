/**
 * UMD, MaskDiT and DiT as configurations: each is a corruption from the algebra (Method.umd,
 * Method.maskdit, Method.dit) and the one conditioned autoencoder of vision/condAe.ts, with the
 * heads its objective needs. Nothing here is method-specific code: a method is its settings.
 *
 * @since 0.1.0
 */
import { ConfigError } from '../core/errors.js';
import type { Mask } from '../corruption/mask.js';
import { layer, type Layer } from '../core/layer.js';
import { spec, type SpecOf } from '../core/spec.js';
import type { Corruption } from '../corruption/corruption.js';
import type { Target } from '../corruption/objective.js';
import { Schedule } from '../corruption/schedule.js';
import { condAe, type CondAe, type CondAeConfig, type CondAeParams } from '../vision/condAe.js';
import { condCorruption } from './presets.js';
import { checkInputSpec, methodModel, type ModelIn, type ModelOut, type NetworkIn, type NetworkOut } from './model.js';

/** The methods this module builds. */
export type CondMethod = 'umd' | 'maskdit' | 'dit';

/**
 * A conditioned-model configuration: the network's settings (those of {@link CondAeConfig} but
 * the heads, which the objectives decide) and the corruption's.
 *
 * @since 0.1.0
 */
export interface CondConfig extends Omit<CondAeConfig, 'heads'> {
  readonly schedule?: Schedule;
  /** UMD: the clean share r0 and the two mask ratios (the noised ratio 0 means no mask). */
  readonly cleanShare?: number;
  readonly cleanRatio?: number;
  readonly noisedRatio?: number;
  /** UMD: mask kinds of the two shares (default random at their ratios; e.g. tube masks on video). */
  readonly cleanMask?: Mask;
  readonly noisedMask?: Mask;
  /** MaskDiT: the mask ratio (default 0.5) or kind. */
  readonly maskRatio?: number;
  readonly mask?: Mask;
}

const small = (w: number, depth: number, heads: number, decDepth: number): Pick<CondConfig, 'image' | 'patch' | 'encoder' | 'decoder'> => ({
  image: [32, 32, 3],
  patch: 4,
  encoder: { width: w, depth, heads },
  decoder: { width: w, depth: decDepth, heads },
});

/**
 * Presets: UMD-B/4 at 64 x 64 (the paper's setting) and small sizes at 32 x 32, for each method.
 * UMD: 4 zero-initialised CLS tokens, learned positions, adaLN-Zero, decoder of the encoder's
 * width. DiT: one trunk (decoder depth 0). MaskDiT: encoder and decoder, 50% mask.
 *
 * @example
 * condModel('umd', COND_PRESETS.umd['micro/4'])
 * @since 0.1.0
 */
export const COND_PRESETS = {
  umd: {
    'B/4': {
      image: [64, 64, 3],
      patch: 4,
      encoder: { width: 768, depth: 12, heads: 12 },
      decoder: { width: 768, depth: 4, heads: 12 },
      clsTokens: 4,
    },
    'tiny/4': { ...small(192, 12, 3, 4), clsTokens: 4 },
    'small/4': { ...small(128, 6, 4, 2), clsTokens: 4 },
    'micro/4': { ...small(64, 4, 4, 2), clsTokens: 4 },
  },
  dit: {
    'B/4': { image: [64, 64, 3], patch: 4, encoder: { width: 768, depth: 12, heads: 12 }, decoder: { width: 768, depth: 0, heads: 12 } },
    'tiny/4': small(192, 16, 3, 0),
    'small/4': small(128, 8, 4, 0),
    'micro/4': small(64, 6, 4, 0),
  },
  maskdit: {
    'B/4': { image: [64, 64, 3], patch: 4, encoder: { width: 768, depth: 12, heads: 12 }, decoder: { width: 768, depth: 4, heads: 12 } },
    'tiny/4': small(192, 12, 3, 4),
    'small/4': small(128, 6, 4, 2),
    'micro/4': small(64, 4, 4, 2),
  },
} as const satisfies Record<CondMethod, Record<string, CondConfig>>;

export { condCorruption };

/** The heads a corruption's objectives use, x0 first. */
const headsOf = (c: Corruption): Target[] => {
  const used = new Set(c.branches.flatMap((b) => b.branch.objective.map((t) => t.target)));
  return (['x0', 'eps'] as const).filter((t) => used.has(t));
};

/**
 * A conditioned model: `{ images, labels? }` -> {@link ModelOut}, with its configuration,
 * corruption and network attached.
 *
 * @since 0.1.0
 */
export type CondModel = Layer<CondAeParams, ModelIn, ModelOut> & {
  readonly method: CondMethod;
  readonly config: CondConfig;
  readonly corruption: Corruption;
  readonly network: CondAe;
  readonly heads: readonly Target[];
};

/**
 * Builds UMD, MaskDiT or DiT from a configuration.
 *
 * @example
 * const umd = condModel('umd', COND_PRESETS.umd['micro/4'])
 * @since 0.1.0
 */
export const condModel = (method: CondMethod, cfg: CondConfig): CondModel => {
  if (!['umd', 'maskdit', 'dit'].includes(method)) throw new ConfigError('method', method, 'must be umd, maskdit or dit');
  const corruption = condCorruption(method, cfg);
  const heads = headsOf(corruption);
  const aeConfig: CondAeConfig = {
    image: cfg.image,
    patch: cfg.patch,
    ...(cfg.tubelet === undefined ? {} : { tubelet: cfg.tubelet }),
    encoder: cfg.encoder,
    decoder: cfg.decoder,
    clsTokens: cfg.clsTokens ?? 0,
    pos: cfg.pos ?? 'learned',
    conditioning: cfg.conditioning ?? 'adaln',
    ...(cfg.classes === undefined ? {} : { classes: cfg.classes }),
    ...(cfg.labelDropout === undefined ? {} : { labelDropout: cfg.labelDropout }),
    heads,
  };
  const network = condAe(aeConfig);
  const inner = methodModel(corruption, network as unknown as Layer<CondAeParams, NetworkIn, NetworkOut>, method);
  const l = layer<CondAeParams, ModelIn, ModelOut>(
    method,
    (key, inSpec) => {
      checkInputSpec(inSpec.images, cfg.image);
      return { params: inner.init(key, inSpec).params, outSpec: { loss: spec([]), groups: [], names: [] } as unknown as SpecOf<ModelOut> };
    },
    (params, x, c) => inner.apply(params, x, c),
  );
  return Object.assign(l, { method, config: cfg, corruption, network, heads });
};

/**
 * DiffMAE (Wei et al., ICCV 2023) as a configuration: the `Method.diffmae` corruption (noise on
 * the removed patches only, t ~ U{1..T}), the same visible-token encoder as MAE, and a decoder
 * that denoises the removed patches: "cross" or "cross-self" (queries attend to the encoder,
 * optionally top-down) or "joint" (MAE-style self-attention). The loss predicts x0 (pixels) by
 * default, eps as an option.
 *
 * @since 0.1.0
 */
import { pipe } from 'fp-ts/lib/function.js';
import { positiveInt } from '../core/check.js';
import type { Params } from '../core/params.js';
import { ConfigError } from '../core/errors.js';
import type { Mask } from '../corruption/mask.js';
import { layer, type Layer } from '../core/layer.js';
import { spec, type SpecOf } from '../core/spec.js';
import type { Tensor } from '../core/tf.js';
import { lift } from '../combinators/lift.js';
import { start, stage } from '../combinators/stage.js';
import type { Corruption } from '../corruption/corruption.js';
import type { Target } from '../corruption/objective.js';
import { Schedule } from '../corruption/schedule.js';
import { diffDecoder, type DiffDecoderConfig } from '../vision/cross.js';
import { gridOf, patchingFor, tokenGrid, type InputShape } from '../vision/patchify.js';
import { visibleEncoder, visibleEncoderWithFeatures, type VitSize } from '../vision/vit.js';
import { Method } from './methods.js';
import { checkInputSpec, methodModel, type ModelIn, type ModelOut, type NetworkIn, type NetworkOut } from './model.js';

/**
 * A DiffMAE configuration.
 *
 * @since 0.1.0
 */
export interface DiffMaeConfig {
  /** Input shape: [H, W, C] for images, [T, H, W, C] for videos. */
  readonly image: InputShape;
  /** Patch size in pixels. */
  readonly patch: number;
  /** Video only: frames per tubelet token (default 2). */
  readonly tubelet?: number;
  readonly encoder: VitSize;
  readonly decoder: DiffDecoderConfig;
  /** Default 0.75 (0.9 for video in the paper). */
  readonly maskRatio?: number;
  /** The mask kind (default random at `maskRatio`; e.g. `Mask.tube(0.9)` for video). */
  readonly mask?: Mask;
  /** Default: cosine, T = 1000. */
  readonly schedule?: Schedule;
  /** What the decoder predicts (default x0, as the paper). */
  readonly target?: Target;
}

/**
 * DiffMAE presets: the paper's ViT-B and ViT-L pre-training sizes and the small sizes of the
 * MAE presets at 32 x 32, all with a cross-self decoder.
 *
 * @example
 * diffmae('micro/4')
 * @since 0.1.0
 */
export const DIFFMAE_PRESETS = {
  'vit-b/16': {
    image: [224, 224, 3],
    patch: 16,
    encoder: { width: 768, depth: 12, heads: 12 },
    decoder: { kind: 'cross-self', width: 512, depth: 8, heads: 16 },
  },
  'vit-l/16': {
    image: [224, 224, 3],
    patch: 16,
    encoder: { width: 1024, depth: 24, heads: 16 },
    decoder: { kind: 'cross-self', width: 512, depth: 8, heads: 16 },
  },
  'tiny/4': {
    image: [32, 32, 3],
    patch: 4,
    encoder: { width: 192, depth: 12, heads: 3 },
    decoder: { kind: 'cross-self', width: 128, depth: 4, heads: 4 },
  },
  'small/4': {
    image: [32, 32, 3],
    patch: 4,
    encoder: { width: 128, depth: 6, heads: 4 },
    decoder: { kind: 'cross-self', width: 64, depth: 2, heads: 4 },
  },
  'micro/4': {
    image: [32, 32, 3],
    patch: 4,
    encoder: { width: 64, depth: 4, heads: 4 },
    decoder: { kind: 'cross-self', width: 64, depth: 2, heads: 4 },
  },
} as const satisfies Record<string, DiffMaeConfig>;

/** A DiffMAE preset name. */
export type DiffMaePreset = keyof typeof DIFFMAE_PRESETS;

/** The stages of a DiffMAE network, kept apart so that sampling runs the encoder once. */
export interface DiffMaeParts {
  readonly encoder: Layer<
    Readonly<Record<string, Params>>,
    NetworkIn,
    { readonly latent: Tensor; readonly encoderFeatures?: readonly Tensor[] }
  >;
  readonly decoder: ReturnType<typeof diffDecoder>;
}

/**
 * The DiffMAE network: encoder -> decoder -> the head of the configured target.
 *
 * @example
 * const { network, parts } = diffmaeNetwork(DIFFMAE_PRESETS['micro/4'])
 * @since 0.1.0
 */
export const diffmaeNetwork = (cfg: DiffMaeConfig) => {
  const grid = gridOf(patchingFor(cfg.image, cfg.patch, cfg.tubelet), cfg.image);
  const g = tokenGrid(grid);
  const topDown = cfg.decoder.topDown ?? false;
  if (topDown && cfg.decoder.kind === 'joint') throw new ConfigError('decoder.topDown', true, 'applies to the cross decoders only');
  if (topDown && cfg.decoder.depth > cfg.encoder.depth)
    throw new ConfigError('decoder.depth', cfg.decoder.depth, `top-down decoding needs at most the encoder depth ${cfg.encoder.depth}`);
  const encoder = (topDown
    ? visibleEncoderWithFeatures({ ...cfg.encoder, grid: g })
    : visibleEncoder({ ...cfg.encoder, grid: g })) as unknown as DiffMaeParts['encoder'];
  const decoder = diffDecoder(cfg.decoder, { grid: g, outDim: grid.patchDim, clsTokens: 1 });
  const target = cfg.target ?? 'x0';
  const heads = lift(
    target === 'x0' ? 'x0Head' : 'epsHead',
    (e: { readonly out: Tensor }) => (target === 'x0' ? { predX0: e.out } : { predEps: e.out }),
    (s) => (target === 'x0' ? { predX0: s.out } : { predEps: s.out }),
  );
  const network = pipe(start<NetworkIn>(), stage('encoder', encoder), stage('decoder', decoder), stage('heads', heads));
  return { network: network as unknown as Layer<DiffMaeParams, NetworkIn, NetworkOut>, parts: { encoder, decoder } as DiffMaeParts };
};

/** The params of a DiffMAE model: one record per stage. */
export type DiffMaeParams = {
  readonly encoder: Readonly<Record<string, Params>>;
  readonly decoder: Readonly<Record<string, Params>>;
  readonly heads: Readonly<Record<never, never>>;
};

/**
 * A DiffMAE model: `{ images }` -> {@link ModelOut}, with its configuration, corruption and
 * network parts attached.
 *
 * @since 0.1.0
 */
export type DiffMaeModel = Layer<DiffMaeParams, ModelIn, ModelOut> & {
  readonly config: DiffMaeConfig;
  readonly corruption: Corruption;
  readonly network: Layer<DiffMaeParams, NetworkIn, NetworkOut>;
  readonly parts: DiffMaeParts;
};

/**
 * Builds a DiffMAE model from a configuration (or a preset name).
 *
 * @example
 * const model = diffmae({ ...DIFFMAE_PRESETS['micro/4'], schedule: Schedule.linear() })
 * @since 0.1.0
 */
export const diffmae = (config: DiffMaeConfig | DiffMaePreset): DiffMaeModel => {
  if (typeof config === 'string' && !Object.prototype.hasOwnProperty.call(DIFFMAE_PRESETS, config))
    throw new ConfigError('preset', config, `must be one of ${Object.keys(DIFFMAE_PRESETS).join(', ')}`);
  const cfg: DiffMaeConfig = typeof config === 'string' ? DIFFMAE_PRESETS[config] : config;
  positiveInt('diffmae.patch', cfg.patch);
  const corruption = Method.diffmae({
    patch: patchingFor(cfg.image, cfg.patch, cfg.tubelet),
    ...(cfg.mask ? { mask: cfg.mask } : {}),
    maskRatio: cfg.maskRatio ?? 0.75,
    schedule: cfg.schedule ?? Schedule.cosine(),
    target: cfg.target ?? 'x0',
  });
  const { network, parts } = diffmaeNetwork(cfg);
  const inner = methodModel(corruption, network, 'diffmae');
  const l = layer<DiffMaeParams, ModelIn, ModelOut>(
    'diffmae',
    (key, inSpec) => {
      checkInputSpec(inSpec.images, cfg.image);
      const r = inner.init(key, inSpec);
      return { params: r.params, outSpec: { loss: spec([]), groups: [], names: [] } as unknown as SpecOf<ModelOut> };
    },
    (params, x, c) => inner.apply(params, x, c),
  );
  return Object.assign(l, { config: cfg, corruption, network, parts });
};

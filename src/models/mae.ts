/**
 * MAE (He et al.) as a configuration: the `Method.mae` corruption, a ViT encoder on the visible
 * tokens with a CLS token, the joint self-attention decoder with a learned mask token, and the
 * x0 loss on masked patches (optionally norm-pix). Presets are data.
 *
 * @since 0.1.0
 */
import { pipe } from 'fp-ts/lib/function.js';
import { positiveInt } from '../core/check.js';
import { ConfigError } from '../core/errors.js';
import type { Mask } from '../corruption/mask.js';
import { layer, type Layer } from '../core/layer.js';
import { spec, type SpecOf } from '../core/spec.js';
import type { Tensor } from '../core/tf.js';
import { lift } from '../combinators/lift.js';
import { start, stage } from '../combinators/stage.js';
import type { Corruption } from '../corruption/corruption.js';
import { gridOf, patchingFor, tokenGrid, type InputShape } from '../vision/patchify.js';
import { jointDecoder, visibleEncoder, type VitSize } from '../vision/vit.js';
import { Method } from './methods.js';
import { checkInputSpec, methodModel, type ModelIn, type NetworkIn } from './model.js';

/**
 * An MAE configuration.
 *
 * @since 0.1.0
 */
export interface MaeConfig {
  /** Input shape: [H, W, C] for images, [T, H, W, C] for videos. */
  readonly image: InputShape;
  /** Patch size in pixels. */
  readonly patch: number;
  /** Video only: frames per tubelet token (default 2). */
  readonly tubelet?: number;
  readonly encoder: VitSize;
  readonly decoder: VitSize;
  /** Default 0.75. */
  readonly maskRatio?: number;
  /** The mask kind (default random at `maskRatio`; e.g. `Mask.tube(0.9)` for video). */
  readonly mask?: Mask;
  /** Normalise each target patch by its own mean and variance (default false). */
  readonly normPix?: boolean;
}

/**
 * MAE presets: the paper's sizes (decoder 512 wide, 8 deep, 16 heads) and small ones that
 * train on a CPU at 32 x 32 with patch 4.
 *
 * @example
 * mae(MAE_PRESETS['micro/4'])
 * @since 0.1.0
 */
export const MAE_PRESETS = {
  'vit-b/16': {
    image: [224, 224, 3],
    patch: 16,
    encoder: { width: 768, depth: 12, heads: 12 },
    decoder: { width: 512, depth: 8, heads: 16 },
    normPix: true,
  },
  'vit-l/16': {
    image: [224, 224, 3],
    patch: 16,
    encoder: { width: 1024, depth: 24, heads: 16 },
    decoder: { width: 512, depth: 8, heads: 16 },
    normPix: true,
  },
  'vit-h/14': {
    image: [224, 224, 3],
    patch: 14,
    encoder: { width: 1280, depth: 32, heads: 16 },
    decoder: { width: 512, depth: 8, heads: 16 },
    normPix: true,
  },
  'tiny/4': { image: [32, 32, 3], patch: 4, encoder: { width: 192, depth: 12, heads: 3 }, decoder: { width: 128, depth: 4, heads: 4 } },
  'small/4': { image: [32, 32, 3], patch: 4, encoder: { width: 128, depth: 6, heads: 4 }, decoder: { width: 64, depth: 2, heads: 4 } },
  'micro/4': { image: [32, 32, 3], patch: 4, encoder: { width: 64, depth: 4, heads: 4 }, decoder: { width: 64, depth: 2, heads: 4 } },
} as const satisfies Record<string, MaeConfig>;

/** A preset name. */
export type MaePreset = keyof typeof MAE_PRESETS;

/**
 * The MAE network: encoder -> decoder -> the x0 head.
 *
 * @example
 * const net = maeNetwork(MAE_PRESETS['tiny/4'])
 * @since 0.1.0
 */
export const maeNetwork = (cfg: MaeConfig) => {
  const grid = gridOf(patchingFor(cfg.image, cfg.patch, cfg.tubelet), cfg.image);
  const g = tokenGrid(grid);
  return pipe(
    start<NetworkIn>(),
    stage('encoder', visibleEncoder({ ...cfg.encoder, grid: g })),
    stage('decoder', jointDecoder({ ...cfg.decoder, grid: g, outDim: grid.patchDim })),
    stage(
      'heads',
      lift(
        'x0Head',
        (e: { readonly out: Tensor }) => ({ predX0: e.out }),
        (s) => ({ predX0: s.out }),
      ),
    ),
  );
};

/** The params of an MAE model. */
export type MaeParams = ReturnType<typeof maeNetwork> extends Layer<infer P, infer _I, infer _O> ? P : never;

/**
 * MAE's named intermediates.
 *
 * @since 0.1.0
 */
export type MaeOut = {
  /** Loss on the masked patches. */
  readonly loss: Tensor;
  /** Decoder output for every patch [B, L, P]. */
  readonly pred: Tensor;
  /** [B, L], 1 = removed. */
  readonly mask: Tensor;
  /** [B, L] int32. */
  readonly idsRestore: Tensor;
  /** Encoder output [B, 1 + keep, D]. */
  readonly latent: Tensor;
};

/**
 * An MAE model: a layer from `{ images }` to {@link MaeOut}, with its corruption, network and
 * configuration attached.
 *
 * @since 0.1.0
 */
export type MaeModel = Layer<MaeParams, ModelIn, MaeOut> & {
  readonly config: MaeConfig;
  readonly corruption: Corruption;
  readonly network: ReturnType<typeof maeNetwork>;
};

/**
 * Builds an MAE model from a configuration (or a preset name).
 *
 * @example
 * const model = mae('micro/4')
 * const { params } = model.init(Key.key(0), { images: spec([-1, 32, 32, 3]) })
 * const { loss, pred, mask, idsRestore, latent } = model.apply(params, { images }, ctx(Key.key(1), true))
 * @since 0.1.0
 */
export const mae = (config: MaeConfig | MaePreset): MaeModel => {
  const cfg: MaeConfig = typeof config === 'string' ? MAE_PRESETS[config] : config;
  if (typeof config === 'string' && !Object.prototype.hasOwnProperty.call(MAE_PRESETS, config))
    throw new ConfigError('preset', config, `must be one of ${Object.keys(MAE_PRESETS).join(', ')}`);
  positiveInt('mae.patch', cfg.patch);
  const corruption = Method.mae({
    patch: patchingFor(cfg.image, cfg.patch, cfg.tubelet),
    maskRatio: cfg.maskRatio ?? 0.75,
    normPix: cfg.normPix ?? false,
    ...(cfg.mask ? { mask: cfg.mask } : {}),
  });
  const network = maeNetwork(cfg);
  const inner = methodModel(corruption, network, 'mae');
  const l = layer<MaeParams, ModelIn, MaeOut>(
    'mae',
    (key, inSpec) => {
      checkInputSpec(inSpec.images, cfg.image);
      const b = inSpec.images.shape[0];
      const r = inner.init(key, inSpec);
      const grid = gridOf(corruption.patching, cfg.image);
      return {
        params: r.params as MaeParams,
        outSpec: {
          loss: spec([]),
          pred: spec([b!, grid.tokens, grid.patchDim]),
          mask: spec([b!, grid.tokens]),
          idsRestore: spec([b!, grid.tokens], 'int32'),
          latent: spec([b!, -1, cfg.encoder.width]),
        } as SpecOf<MaeOut>,
      };
    },
    (params, x, c) => {
      const out = inner.apply(params, x, c);
      const g = out.groups[0]!;
      return { loss: out.loss, pred: g.predX0!, mask: g.mask, idsRestore: g.idsRestore, latent: g.latent };
    },
  );
  return Object.assign(l, { config: cfg, corruption, network });
};

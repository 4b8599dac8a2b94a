/**
 * Presets: the one place that knows method names. A preset is a method rule applied to a row of
 * the sizes table, at a resolution that follows the data: `presetSpec('umd', 'micro/4', {
 * image: [28, 28, 1] })` is UMD's corruption and network at the micro size with patch 4 on
 * 28 x 28 grayscale images. Everything it returns is a plain {@link ModelSpec}; overrides are
 * spreads of that value (or the options below), not per-method code elsewhere.
 *
 * The rules reproduce 0.1.0's presets exactly (a regression test holds them to the 0.1.0
 * checkpoints), except where a method's reference code differs and the option that restores
 * 0.1.0 is named: UMD embeds t as its reference does and has its affine LayerNorms
 * (`embedding: 'timestep-embedder', adaNorm: 'plain'` give 0.1.0's);
 * DiT has its reference's linear schedule, fixed sin-cos positions, plain label table and tanh
 * GELU (`schedule: Schedule.cosine(), pos: 'learned', labelEmbedding: 'table-mlp', activation:
 * 'gelu'` give 0.1.0's). {@link fromLegacy} reads the `method` + `model` metadata of 0.1.0
 * checkpoints into the same specs.
 *
 * @since 0.2.0
 */
import { ConfigError } from '../core/errors.js';
import type { Corruption } from '../corruption/corruption.js';
import { Mask } from '../corruption/mask.js';
import type { Target } from '../corruption/objective.js';
import { Schedule } from '../corruption/schedule.js';
import { patchingFor, type InputShape } from '../vision/patchify.js';
import type { VitSize } from '../vision/vit.js';
import type { Activation } from '../layers/ops.js';
import type { TimeEmbedStyle } from '../layers/timeEmbed.js';
import type { CondConfig } from './cond.js';
import type { DiffMaeConfig } from './diffmae.js';
import type { MaeConfig } from './mae.js';
import { Method } from './methods.js';
import type { EncoderSpec, ModelSpec, NetworkSpec } from './spec.js';

/**
 * The method names the presets table knows.
 *
 * @example
 * METHODS.map((m) => presetSpec(m, 'micro/4'))
 * @since 0.1.0
 */
export const METHODS = ['mae', 'diffmae', 'umd', 'maskdit', 'dit'] as const;
/** A method name. */
export type MethodName = (typeof METHODS)[number];

/**
 * One row of the sizes table: the encoder, MAE's light decoder, the depth of the joint decoder
 * of the conditioned methods (UMD, MaskDiT: as wide as the encoder), the depth of a one-trunk
 * network (DiT), and the base learning rate that trains this size (lr = baseLr x batch / 256).
 *
 * @since 0.2.0
 */
export interface Size {
  readonly encoder: VitSize;
  readonly decoder: VitSize;
  readonly jointDepth: number;
  readonly trunkDepth: number;
  /**
   * The base learning rate `tesserae train` uses for this size without `--base-lr`. The small
   * sizes' rates are measured on this project's budgets (a few hundred steps of batch 64;
   * `npm run bench:lr`, docs/results/learning-rates.md); B, L and H carry MAE's 1.5e-4, which
   * belongs with its recipe (batch 4096, 40 warm-up epochs).
   */
  readonly baseLr: number;
}

/**
 * The sizes, orthogonal to method and resolution (as big_vision's `decode_variant`).
 *
 * @example
 * SIZES.micro.encoder // { width: 64, depth: 4, heads: 4 }
 * @since 0.2.0
 */
export const SIZES = {
  micro: {
    encoder: { width: 64, depth: 4, heads: 4 },
    decoder: { width: 64, depth: 2, heads: 4 },
    jointDepth: 2,
    trunkDepth: 6,
    baseLr: 6e-3,
  },
  small: {
    encoder: { width: 128, depth: 6, heads: 4 },
    decoder: { width: 64, depth: 2, heads: 4 },
    jointDepth: 2,
    trunkDepth: 8,
    baseLr: 3e-3,
  },
  tiny: {
    encoder: { width: 192, depth: 12, heads: 3 },
    decoder: { width: 128, depth: 4, heads: 4 },
    jointDepth: 4,
    trunkDepth: 16,
    baseLr: 1.5e-3,
  },
  B: {
    encoder: { width: 768, depth: 12, heads: 12 },
    decoder: { width: 512, depth: 8, heads: 16 },
    jointDepth: 4,
    trunkDepth: 12,
    baseLr: 1.5e-4,
  },
  L: {
    encoder: { width: 1024, depth: 24, heads: 16 },
    decoder: { width: 512, depth: 8, heads: 16 },
    jointDepth: 4,
    trunkDepth: 24,
    baseLr: 1.5e-4,
  },
  H: {
    encoder: { width: 1280, depth: 32, heads: 16 },
    decoder: { width: 512, depth: 8, heads: 16 },
    jointDepth: 4,
    trunkDepth: 32,
    baseLr: 1.5e-4,
  },
} as const satisfies Record<string, Size>;

/**
 * The base learning rate for a model: that of the size in {@link SIZES} with the spec's encoder
 * width (the nearest width, on a log scale, for a network of its own size). `tesserae train`
 * and `finetune` use it when `--base-lr` is not given.
 *
 * @example
 * baseLrFor(presetSpec('mae', 'micro/4')) // 6e-3
 * baseLrFor(presetSpec('umd', 'vit-b/16')) // 1.5e-4
 * @since 0.2.0
 */
export const baseLrFor = (spec: ModelSpec): number => {
  const width = spec.network.encoder.width;
  const rows: readonly Size[] = Object.values(SIZES);
  const distance = (s: Size) => Math.abs(Math.log(s.encoder.width / width));
  return rows.reduce((best, s) => (distance(s) < distance(best) ? s : best)).baseLr;
};

/** A size name. */
export type SizeName = keyof typeof SIZES;

/** The reference-scale names of 0.1.0 and the papers, with their resolution and options. */
const REFERENCE: Readonly<
  Record<string, { readonly size: SizeName; readonly patch: number; readonly image: InputShape; readonly normPix?: boolean }>
> = {
  'vit-b/16': { size: 'B', patch: 16, image: [224, 224, 3], normPix: true },
  'vit-l/16': { size: 'L', patch: 16, image: [224, 224, 3], normPix: true },
  'vit-h/14': { size: 'H', patch: 14, image: [224, 224, 3], normPix: true },
  'B/4': { size: 'B', patch: 4, image: [64, 64, 3] },
};

/**
 * Options a preset takes. Each method accepts some of them ({@link methodOptions}); giving one
 * it does not take is a {@link ConfigError}.
 *
 * @since 0.2.0
 */
export interface PresetOptions {
  /** Input shape (default [32, 32, 3], or the reference resolution of a reference preset). */
  readonly image?: InputShape;
  /** Video: frames per tubelet token (default 2). */
  readonly tubelet?: number;
  /** Masks of this kind at the method's ratios (tube and frame for video). */
  readonly maskKind?: 'random' | 'tube' | 'frame';
  readonly maskRatio?: number;
  readonly normPix?: boolean;
  readonly decoder?: 'cross' | 'cross-self' | 'joint';
  readonly topDown?: boolean;
  readonly schedule?: Schedule;
  readonly target?: Target;
  readonly cleanShare?: number;
  readonly cleanRatio?: number;
  readonly noisedRatio?: number;
  readonly clsTokens?: number;
  readonly conditioning?: 'adaln' | 'token';
  readonly pos?: 'learned' | 'sincos';
  /** How t and the class become the condition (UMD default `time-emb`, its reference's; DiT and MaskDiT `timestep-embedder`). */
  readonly embedding?: TimeEmbedStyle;
  /** How a class becomes a vector (DiT default `table`, its reference's; UMD and MaskDiT `table-mlp`). */
  readonly labelEmbedding?: 'table' | 'table-mlp';
  /** The blocks' MLP activation (DiT default `gelu-tanh`, its reference's; UMD and MaskDiT `gelu`). */
  readonly activation?: Activation;
  /** adaLN's LayerNorms (UMD default `affine`, its reference's; DiT and MaskDiT `plain`). */
  readonly adaNorm?: 'plain' | 'affine';
}

const COMMON = ['image', 'tubelet', 'maskKind'] as const;

/**
 * Which options each method takes.
 *
 * @example
 * methodOptions.umd.includes('cleanShare') // true
 * @since 0.2.0
 */
export const methodOptions: Readonly<Record<MethodName, readonly (keyof PresetOptions)[]>> = {
  mae: [...COMMON, 'maskRatio', 'normPix'],
  diffmae: [...COMMON, 'maskRatio', 'decoder', 'topDown', 'schedule', 'target'],
  umd: [
    ...COMMON,
    'schedule',
    'cleanShare',
    'cleanRatio',
    'noisedRatio',
    'clsTokens',
    'conditioning',
    'pos',
    'embedding',
    'labelEmbedding',
    'activation',
    'adaNorm',
  ],
  maskdit: [...COMMON, 'maskRatio', 'schedule', 'conditioning', 'pos', 'embedding', 'labelEmbedding', 'activation', 'adaNorm'],
  dit: [...COMMON, 'schedule', 'conditioning', 'pos', 'embedding', 'labelEmbedding', 'activation', 'adaNorm'],
};

const own = <T>(table: Readonly<Record<string, T>>, k: string): T | undefined =>
  Object.prototype.hasOwnProperty.call(table, k) ? table[k] : undefined;

/** A preset name as size, patch and default image: `micro/4`, `B/16`, or a reference name such as `vit-b/16`. */
const parsePreset = (name: string): { size: Size; patch: number; image: InputShape; normPix?: boolean } => {
  const ref = own(REFERENCE, name);
  if (ref) return { size: SIZES[ref.size], patch: ref.patch, image: ref.image, ...(ref.normPix ? { normPix: true } : {}) };
  const m = /^([A-Za-z]+)\/([1-9][0-9]*)$/.exec(name);
  const size = m ? own<Size>(SIZES, m[1]!) : undefined;
  if (!m || !size)
    throw new ConfigError(
      'preset',
      name,
      `must be SIZE/PATCH with SIZE one of ${Object.keys(SIZES).join(', ')} (e.g. micro/4), or one of ${Object.keys(REFERENCE).join(', ')}`,
    );
  return { size, patch: Number(m[2]), image: [32, 32, 3] };
};

const plainEncoder = (s: VitSize): EncoderSpec => ({ ...s, clsTokens: 1, clsInit: 'normal', pos: 'sincos', conditioning: 'none' });

/** The network a 0.1.0 MAE or DiffMAE configuration describes. */
const unconditioned = (encoder: VitSize, decoder: NetworkSpec['decoder']): NetworkSpec => ({ encoder: plainEncoder(encoder), decoder });

const maeSpec = (c: MaeConfig): ModelSpec => ({
  image: c.image,
  corruption: Method.mae({
    patch: patchingFor(c.image, c.patch, c.tubelet),
    maskRatio: c.maskRatio ?? 0.75,
    normPix: c.normPix ?? false,
    ...(c.mask ? { mask: c.mask } : {}),
  }),
  network: unconditioned(c.encoder, { kind: 'mask-token', ...c.decoder }),
});

const diffmaeSpec = (c: DiffMaeConfig): ModelSpec => {
  const { kind, topDown, ...size } = c.decoder;
  return {
    image: c.image,
    corruption: Method.diffmae({
      patch: patchingFor(c.image, c.patch, c.tubelet),
      ...(c.mask ? { mask: c.mask } : {}),
      maskRatio: c.maskRatio ?? 0.75,
      schedule: c.schedule ?? Schedule.cosine(),
      target: c.target ?? 'x0',
    }),
    network: unconditioned(c.encoder, {
      kind: kind === 'joint' ? 'noisy-query' : kind,
      ...size,
      ...(topDown === undefined ? {} : { topDown }),
    }),
  };
};

const condSpec = (method: 'umd' | 'maskdit' | 'dit', c: CondConfig): ModelSpec => {
  const corruption: Corruption = condCorruption(method, c);
  return {
    image: c.image,
    corruption,
    network: {
      encoder: {
        ...c.encoder,
        clsTokens: c.clsTokens ?? 0,
        clsInit: 'zeros',
        pos: c.pos ?? 'learned',
        conditioning: c.conditioning ?? 'adaln',
        ...(c.classes === undefined ? {} : { classes: c.classes }),
        ...(c.labelDropout === undefined ? {} : { labelDropout: c.labelDropout }),
      },
      decoder: c.decoder.depth === 0 ? { kind: 'none', ...c.decoder } : { kind: 'mask-token', ...c.decoder },
    },
  };
};

/**
 * The corruption of a 0.1.0 conditioned method's configuration.
 *
 * @example
 * condCorruption('umd', COND_PRESETS.umd['micro/4']).branches.map((b) => b.name) // ['clean', 'noised']
 * @since 0.1.0
 */
export const condCorruption = (method: 'umd' | 'maskdit' | 'dit', cfg: CondConfig): Corruption => {
  const schedule = cfg.schedule ?? Schedule.cosine();
  const patch = patchingFor(cfg.image, cfg.patch, cfg.tubelet);
  if (method === 'umd') {
    return Method.umd({
      patch,
      schedule,
      cleanShare: cfg.cleanShare ?? 0.5,
      cleanRatio: cfg.cleanRatio ?? 0.75,
      noisedRatio: cfg.noisedRatio ?? 0.375,
      ...(cfg.cleanMask ? { cleanMask: cfg.cleanMask } : {}),
      ...(cfg.noisedMask ? { noisedMask: cfg.noisedMask } : {}),
    });
  }
  return method === 'dit'
    ? Method.dit({ patch, schedule })
    : Method.maskdit({ patch, schedule, maskRatio: cfg.maskRatio ?? 0.5, ...(cfg.mask ? { mask: cfg.mask } : {}) });
};

/**
 * A 0.1.0 model description (the `method` and `model` entries of a 0.1.0 checkpoint, or one of
 * 0.1.0's configuration objects) as a {@link ModelSpec}: the same corruption and network, so the
 * checkpoint's tensors load unchanged.
 *
 * @example
 * fromLegacy({ method: 'mae', config: MAE_PRESETS['micro/4'] })
 * @since 0.2.0
 */
export const fromLegacy = (
  legacy:
    | { readonly method: 'mae'; readonly config: MaeConfig }
    | { readonly method: 'diffmae'; readonly config: DiffMaeConfig }
    | { readonly method: 'umd' | 'maskdit' | 'dit'; readonly config: CondConfig },
): ModelSpec => {
  switch (legacy.method) {
    case 'mae':
      return maeSpec(legacy.config);
    case 'diffmae':
      return diffmaeSpec(legacy.config);
    default:
      return condSpec(legacy.method, legacy.config);
  }
};

const maskOf = (kind: PresetOptions['maskKind'], ratio: number): Mask | undefined =>
  kind === undefined || kind === 'random' ? undefined : kind === 'tube' ? Mask.tube(ratio) : Mask.frame(ratio);

/** `T` with its possibly-undefined fields made optional (and never undefined), as {@link defined} returns it. */
type Defined<T> = { readonly [K in keyof T as undefined extends T[K] ? never : K]: T[K] } & {
  readonly [K in keyof T as undefined extends T[K] ? K : never]?: Exclude<T[K], undefined>;
};

/** The object without its undefined fields (for exact optional properties). */
const defined = <T extends object>(o: T): Defined<T> =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Defined<T>;

/**
 * A method's preset as a spec: `name` is `SIZE/PATCH` (sizes: {@link SIZES}) or a reference
 * name (`vit-b/16`, `vit-l/16`, `vit-h/14`, `B/4`); the options override the method's defaults.
 *
 * @example
 * presetSpec('mae', 'micro/4')
 * presetSpec('umd', 'small/4', { image: [28, 28, 1], cleanShare: 0.25 })
 * @since 0.1.0
 */
export const presetSpec = (method: MethodName, name: string, o: PresetOptions = {}): ModelSpec => {
  if (!(METHODS as readonly string[]).includes(method)) throw new ConfigError('method', method, `must be one of ${METHODS.join(', ')}`);
  for (const [k, v] of Object.entries(o))
    if (v !== undefined && !(methodOptions[method] as readonly string[]).includes(k))
      throw new ConfigError(k, v, `is not an option of ${method} (its options: ${methodOptions[method].join(', ')})`);
  const p = parsePreset(name);
  const image = o.image ?? p.image;
  const video = image.length === 4 ? { tubelet: o.tubelet ?? 2 } : {};
  if (o.tubelet !== undefined && image.length !== 4)
    throw new ConfigError('tubelet', o.tubelet, 'applies to video inputs [T, H, W, C] only');
  if ((o.maskKind === 'tube' || o.maskKind === 'frame') && image.length !== 4)
    throw new ConfigError('maskKind', o.maskKind, 'tube and frame masks need video');
  const base = { image, patch: p.patch, ...video, encoder: p.size.encoder };
  const label = `${method} ${name}`;
  const withLabel = (s: ModelSpec): ModelSpec => ({ ...s, label });
  switch (method) {
    case 'mae': {
      const maskRatio = o.maskRatio ?? 0.75;
      const mask = maskOf(o.maskKind, maskRatio);
      return withLabel(maeSpec(defined({ ...base, decoder: p.size.decoder, maskRatio, normPix: o.normPix ?? p.normPix ?? false, mask })));
    }
    case 'diffmae': {
      const maskRatio = o.maskRatio ?? 0.75;
      const decoder = { kind: o.decoder ?? 'cross-self', ...p.size.decoder, ...(o.topDown ? { topDown: true } : {}) } as const;
      const mask = maskOf(o.maskKind, maskRatio);
      return withLabel(diffmaeSpec(defined({ ...base, decoder, maskRatio, schedule: o.schedule, target: o.target, mask })));
    }
    case 'umd':
    case 'maskdit':
    case 'dit': {
      const e = p.size.encoder;
      const decoder =
        method === 'dit' ? { width: e.width, depth: 0, heads: e.heads } : { width: e.width, depth: p.size.jointDepth, heads: e.heads };
      const encoder = method === 'dit' ? { ...e, depth: p.size.trunkDepth } : e;
      const cleanRatio = o.cleanRatio ?? 0.75;
      const noisedRatio = o.noisedRatio ?? 0.375;
      const maskRatio = o.maskRatio ?? 0.5;
      const masks =
        method === 'umd'
          ? { cleanMask: maskOf(o.maskKind, cleanRatio), noisedMask: noisedRatio === 0 ? undefined : maskOf(o.maskKind, noisedRatio) }
          : method === 'maskdit'
            ? { mask: maskOf(o.maskKind, maskRatio) }
            : {};
      if (method === 'dit' && o.maskKind !== undefined && o.maskKind !== 'random')
        throw new ConfigError('maskKind', o.maskKind, 'DiT has no mask');
      const config: CondConfig = defined({
        ...base,
        encoder,
        decoder,
        ...(method === 'umd'
          ? { clsTokens: o.clsTokens ?? 4, cleanShare: o.cleanShare, cleanRatio: o.cleanRatio, noisedRatio: o.noisedRatio }
          : {}),
        ...(method === 'maskdit' ? { maskRatio: o.maskRatio } : {}),
        ...masks,
        // DiT's reference: a linear schedule and fixed sin-cos positions (0.1.0's DiT: cosine, learned)
        schedule: o.schedule ?? (method === 'dit' ? Schedule.linear() : undefined),
        conditioning: o.conditioning,
        pos: o.pos ?? (method === 'dit' ? 'sincos' : undefined),
      });
      const s = condSpec(method, config);
      // UMD's reference embeds t its own way (0.1.0's presets, and `fromLegacy`, use DiT's)
      const embedding = o.embedding ?? (method === 'umd' ? 'time-emb' : undefined);
      // DiT's reference: a plain label table and tanh GELU
      const labelEmbedding = o.labelEmbedding ?? (method === 'dit' ? 'table' : undefined);
      const activation = o.activation ?? (method === 'dit' ? 'gelu-tanh' : undefined);
      // UMD's reference: affine LayerNorms before the modulations (with adaLN only)
      const adaNorm = o.adaNorm ?? (method === 'umd' && (o.conditioning ?? 'adaln') === 'adaln' ? 'affine' : undefined);
      const extra = defined({ embedding, labelEmbedding, activation, adaNorm });
      return withLabel({ ...s, network: { ...s.network, encoder: { ...s.network.encoder, ...extra } } });
    }
  }
};

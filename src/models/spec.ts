/**
 * A model is data: `{ image, corruption, network }`, plain JSON that every checkpoint stores and
 * that is validated when read. The corruption is a value of the algebra (`src/corruption`); the
 * network spec names the encoder (size, CLS tokens, positions, conditioning) and the decoder
 * (mask-token joint, noisy-query joint, cross, cross-self, or none); the heads follow from the
 * objective's targets. No method name appears here: MAE, DiffMAE, UMD, MaskDiT and DiT are
 * entries of the presets table (`models/presets.ts`), and a user's hybrid is a spec like them.
 *
 * @since 0.2.0
 */
import { bool, choice, has, integer, list, number, optional, record, text } from '../core/decode.js';
import { ConfigError } from '../core/errors.js';
import { decodeCorruption } from '../corruption/codec.js';
import type { Corruption } from '../corruption/corruption.js';
import type { Target } from '../corruption/objective.js';
import type { Activation } from '../layers/ops.js';
import type { TimeEmbedStyle } from '../layers/timeEmbed.js';
import type { InputShape } from '../vision/patchify.js';
import type { VitSize } from '../vision/vit.js';

/**
 * The encoder: a ViT over the visible tokens.
 *
 * @since 0.2.0
 */
export interface EncoderSpec extends VitSize {
  /** CLS tokens prepended to the visible tokens (MAE and DiffMAE 1, UMD 4, DiT 0). */
  readonly clsTokens: number;
  /** How CLS tokens start: normal(0.02) (MAE) or zeros (UMD). */
  readonly clsInit: 'normal' | 'zeros';
  /** Position embeddings: the fixed 2D sin-cos table (MAE) or learned (UMD). */
  readonly pos: 'sincos' | 'learned';
  /** How the timestep (and class) enter: not at all (MAE, DiffMAE: the decoder reads t), adaLN-Zero, or a prepended token. */
  readonly conditioning: 'none' | 'adaln' | 'token';
  /** Class-conditional models: the number of classes (a null class is added for guidance). */
  readonly classes?: number;
  /** Probability of dropping a label to the null class while training. */
  readonly labelDropout?: number;
  /**
   * Conditioned encoders: how t and the class become the condition vector,
   * `timestep-embedder` (DiT's `TimestepEmbedder`; also what an absent field means, as in every
   * spec before this field) or `time-emb` (UMD's reference `TimeEmb` embedding and 2 x width trunks). See {@link condAe}.
   */
  readonly embedding?: TimeEmbedStyle;
  /** Conditioned encoders with classes: `table-mlp` (absent: a table, then a dense trunk) or `table` (DiT's: the row alone). */
  readonly labelEmbedding?: 'table' | 'table-mlp';
  /** Conditioned encoders: the blocks' MLP activation, `gelu` (absent: exact) or `gelu-tanh` (DiT's). */
  readonly activation?: Activation;
  /** adaLN encoders: the LayerNorms before each modulation, `plain` (absent: DiT's) or `affine` (UMD's reference). See {@link condAe}. */
  readonly adaNorm?: 'plain' | 'affine';
}

/**
 * The decoder kinds: `mask-token` (MAE's joint decoder: visible tokens plus a learned mask token
 * at each removed slot; UMD's when the encoder is conditioned), `noisy-query` (DiffMAE's joint
 * decoder: the removed slots carry their embedded noisy patch), `cross` and `cross-self`
 * (DiffMAE: noisy queries attend to the encoder, and among themselves for cross-self), `none`
 * (DiT: the encoder's tokens go straight to the heads).
 *
 * @since 0.2.0
 */
export type DecoderKind = 'mask-token' | 'noisy-query' | 'cross' | 'cross-self' | 'none';

/**
 * The decoder.
 *
 * @since 0.2.0
 */
export interface DecoderSpec extends VitSize {
  readonly kind: DecoderKind;
  /** Cross decoders: decoder block i reads encoder block (depth - 1 - i). */
  readonly topDown?: boolean;
}

/**
 * A network: an encoder, a decoder, and (optionally) the heads; by default the heads are the
 * targets the corruption's objectives use, x0 first.
 *
 * @since 0.2.0
 */
export interface NetworkSpec {
  readonly encoder: EncoderSpec;
  readonly decoder: DecoderSpec;
  readonly heads?: readonly Target[];
}

/**
 * A model: the input shape, the corruption, the network. Plain JSON (`label` is a free-form
 * name for people, such as the preset it came from; nothing branches on it).
 *
 * @since 0.2.0
 */
export interface ModelSpec {
  readonly image: InputShape;
  readonly corruption: Corruption;
  readonly network: NetworkSpec;
  readonly label?: string;
}

/**
 * Limits of a decoded spec: far above any model that fits in memory here.
 *
 * @example
 * SPEC_SPEC_LIMITS.depth // 1024
 * @since 0.2.0
 */
export const SPEC_LIMITS = {
  side: 16384,
  frames: 4096,
  channels: 64,
  width: 16384,
  depth: 1024,
  heads: 1024,
  classes: 1_000_000,
  tokens: 64,
} as const;

/**
 * Reads an input shape: [H, W, C] or [T, H, W, C].
 *
 * @example
 * decodeInputShape('image', [32, 32, 3]) // [32, 32, 3]
 * @since 0.2.0
 */
export const decodeInputShape = (path: string, v: unknown): InputShape => {
  const dims = list(path, v, (p, d) => integer(p, d, 1, SPEC_LIMITS.side), 4);
  if (dims.length !== 3 && dims.length !== 4) throw new ConfigError(path, v, 'must be [H, W, C] or [T, H, W, C]');
  if (dims[dims.length - 1]! > SPEC_LIMITS.channels)
    throw new ConfigError(`${path}[${dims.length - 1}]`, dims[dims.length - 1], `must be at most ${SPEC_LIMITS.channels} channels`);
  return dims.length === 3 ? [dims[0]!, dims[1]!, dims[2]!] : [dims[0]!, dims[1]!, dims[2]!, dims[3]!];
};

/**
 * Reads a ViT size (width, depth, heads, optional MLP ratio) from the fields of an object; the
 * heads must divide the width.
 *
 * @example
 * decodeVitSize('encoder', { width: 64, depth: 4, heads: 4 }, 1)
 * @since 0.2.0
 */
export const decodeVitSize = (path: string, o: Readonly<Record<string, unknown>>, minDepth: number): VitSize => {
  const width = integer(`${path}.width`, o['width'], 1, SPEC_LIMITS.width);
  const depth = integer(`${path}.depth`, o['depth'], minDepth, SPEC_LIMITS.depth);
  const heads = integer(`${path}.heads`, o['heads'], 1, SPEC_LIMITS.heads);
  if (width % heads !== 0) throw new ConfigError(`${path}.heads`, heads, `must divide the width ${width}`);
  return { width, depth, heads, ...optional(o, path, 'mlpRatio', (p, x) => number(p, x, 1 / 64, 64)) };
};

/**
 * Reads an encoder spec.
 *
 * @example
 * decodeEncoder('network.encoder', { width: 64, depth: 4, heads: 4, clsTokens: 1, clsInit: 'normal', pos: 'sincos', conditioning: 'none' })
 * @since 0.2.0
 */
export const decodeEncoder = (path: string, v: unknown): EncoderSpec => {
  const o = record(path, v, [
    'width',
    'depth',
    'heads',
    'mlpRatio',
    'clsTokens',
    'clsInit',
    'pos',
    'conditioning',
    'classes',
    'labelDropout',
    'embedding',
    'labelEmbedding',
    'activation',
    'adaNorm',
  ]);
  return {
    ...decodeVitSize(path, o, 1),
    clsTokens: integer(`${path}.clsTokens`, o['clsTokens'], 0, SPEC_LIMITS.tokens),
    clsInit: choice(`${path}.clsInit`, o['clsInit'], ['normal', 'zeros'] as const),
    pos: choice(`${path}.pos`, o['pos'], ['sincos', 'learned'] as const),
    conditioning: choice(`${path}.conditioning`, o['conditioning'], ['none', 'adaln', 'token'] as const),
    ...optional(o, path, 'classes', (p, x) => integer(p, x, 1, SPEC_LIMITS.classes)),
    ...optional(o, path, 'labelDropout', (p, x) => number(p, x, 0, 1)),
    ...optional(o, path, 'embedding', (p, x) => choice(p, x, ['timestep-embedder', 'time-emb'] as const)),
    ...optional(o, path, 'labelEmbedding', (p, x) => choice(p, x, ['table', 'table-mlp'] as const)),
    ...optional(o, path, 'activation', (p, x) => choice(p, x, ['gelu', 'gelu-tanh'] as const)),
    ...optional(o, path, 'adaNorm', (p, x) => choice(p, x, ['plain', 'affine'] as const)),
  };
};

/**
 * Reads a decoder spec.
 *
 * @example
 * decodeDecoder('network.decoder', { kind: 'cross-self', width: 64, depth: 2, heads: 4 })
 * @since 0.2.0
 */
export const decodeDecoder = (path: string, v: unknown): DecoderSpec => {
  const o = record(path, v, ['kind', 'width', 'depth', 'heads', 'mlpRatio', 'topDown']);
  const kind = choice(`${path}.kind`, o['kind'], ['mask-token', 'noisy-query', 'cross', 'cross-self', 'none'] as const);
  return { kind, ...decodeVitSize(path, o, kind === 'none' ? 0 : 1), ...optional(o, path, 'topDown', bool) };
};

/**
 * Reads a network spec.
 *
 * @example
 * decodeNetwork('network', JSON.parse(JSON.stringify(presetSpec('mae', 'micro/4').network)))
 * @since 0.2.0
 */
export const decodeNetwork = (path: string, v: unknown): NetworkSpec => {
  const o = record(path, v, ['encoder', 'decoder', 'heads']);
  return {
    encoder: decodeEncoder(`${path}.encoder`, o['encoder']),
    decoder: decodeDecoder(`${path}.decoder`, o['decoder']),
    ...optional(o, path, 'heads', (p, x) => list(p, x, (q, t) => choice(q, t, ['x0', 'eps'] as const), 2)),
  };
};

/**
 * Reads a model spec from untrusted JSON: every field type- and range-checked, unknown fields
 * refused, the corruption validated as the algebra's constructors validate it. A
 * {@link ConfigError} names the bad field (wrap it with `inFile` to name a file).
 *
 * @example
 * decodeModelSpec('spec', JSON.parse(JSON.stringify(presetSpec('umd', 'micro/4')))) // deep-equals the preset
 * @since 0.2.0
 */
export const decodeModelSpec = (path: string, v: unknown): ModelSpec => {
  const o = record(path, v, ['image', 'corruption', 'network', 'label']);
  return {
    image: decodeInputShape(`${path}.image`, o['image']),
    corruption: decodeCorruption(`${path}.corruption`, o['corruption']),
    network: decodeNetwork(`${path}.network`, o['network']),
    ...(has(o, 'label') ? { label: text(`${path}.label`, o['label']) } : {}),
  };
};

/**
 * `buildNetwork`: the network a {@link NetworkSpec} describes, built from the combinators. The
 * structure decides what is built, never a method name:
 *
 * | encoder conditioning | decoder                           | built from                                       |
 * |----------------------|-----------------------------------|--------------------------------------------------|
 * | none                 | mask-token                        | `visibleEncoder` + `jointDecoder` (MAE)          |
 * | none                 | noisy-query, cross, cross-self    | `visibleEncoder` + `diffDecoder` (DiffMAE)       |
 * | adaln or token       | mask-token, or none (one trunk)   | `condAe` (UMD, MaskDiT, DiT)                     |
 *
 * Every network answers the same questions: its heads, whether it reads the corrupted content of
 * removed slots (the answer-leak check of `buildModel`), the params its encoder uses, `encode`
 * (pooled features of clean images, for probes), and `conditionOn` (the decoder run on given
 * visible patches, the encoder once, for inpainting).
 *
 * @since 0.2.0
 */
import { pipe } from 'fp-ts/lib/function.js';
import { lift } from '../combinators/lift.js';
import { start, stage } from '../combinators/stage.js';
import { ConfigError } from '../core/errors.js';
import type { Ctx, Layer } from '../core/layer.js';
import type { Params } from '../core/params.js';
import { tf, type Tensor } from '../core/tf.js';
import type { Target } from '../corruption/objective.js';
import type { NetworkIn, NetworkOut } from './model.js';
import { condAe, type CondAeParams } from '../vision/condAe.js';
import { diffDecoder } from '../vision/cross.js';
import { inputShape, tokenGrid, type Grid } from '../vision/patchify.js';
import { jointDecoder, visibleEncoder, visibleEncoderWithFeatures, type EncoderIn } from '../vision/vit.js';
import type { NetworkSpec } from './spec.js';

/**
 * How features are pooled: the mean of the CLS tokens, or of the patch tokens.
 *
 * @since 0.2.0
 */
export type FeaturePool = 'cls' | 'mean';

/**
 * The decoder of a network run against fixed visible patches: the encoder ran once, `decode`
 * runs the rest for corrupted patches `xt` at timesteps `t`.
 *
 * @since 0.2.0
 */
export interface Conditioned {
  readonly decode: (xt: Tensor, t: Tensor, c: Ctx) => NetworkOut;
  readonly dispose: () => void;
}

/**
 * A built network.
 *
 * @since 0.2.0
 */
export interface Network {
  readonly spec: NetworkSpec;
  readonly layer: Layer<Params, NetworkIn, NetworkOut>;
  /** Output heads, in order. */
  readonly heads: readonly Target[];
  /** Whether the network reads `xt` at removed slots (noisy queries): such a network must not score a removed slot whose `xt` is clean. */
  readonly readsRemoved: boolean;
  /** The params `encode` reads. */
  readonly encoderParams: (p: Params) => Params;
  /** Pooled features [n, width] of clean patches [n, L, P] (every token visible, t = 0, the null class). */
  readonly encode: (encoderParams: Params, patches: Tensor, pool: FeaturePool, c: Ctx) => Tensor;
  /** The network with its encoder run once on `base` (clean patches and the mask): for inpainting. */
  readonly conditionOn: (params: Params, base: NetworkIn, c: Ctx) => Conditioned;
}

/**
 * The heads of an objective: the targets its terms use, x0 first.
 *
 * @example
 * headsFor(['eps', 'x0']) // ['x0', 'eps']
 * @since 0.2.0
 */
export const headsFor = (targets: Iterable<Target>): Target[] => {
  const used = new Set(targets);
  return (['x0', 'eps'] as const).filter((t) => used.has(t));
};

/** The heads stage of the unconditioned networks: the decoder output split into one prediction per head. */
const headsStage = (heads: readonly Target[]) => {
  const split = (out: Tensor): Tensor[] => (heads.length === 1 ? [out] : tf.split(out, heads.length, 2));
  const named = <T>(parts: readonly T[]): { predX0?: T; predEps?: T } =>
    Object.fromEntries(heads.map((h, i) => [h === 'x0' ? 'predX0' : 'predEps', parts[i]!])) as { predX0?: T; predEps?: T };
  return lift(
    heads.length === 1 ? `${heads[0]}Head` : 'heads',
    (e: { readonly out: Tensor }) => named(split(e.out)),
    (s) => {
      const [b, l, p] = s.out.shape as [number, number, number];
      return named(heads.map(() => ({ ...s.out, shape: [b, l, p / heads.length] })));
    },
  );
};

const allIds = (n: number, l: number): Tensor => tf.tile(tf.expandDims(tf.range(0, l, 1, 'int32'), 0), [n, 1]);

const pooled = (latent: Tensor, nCls: number, pool: FeaturePool): Tensor =>
  pool === 'cls'
    ? tf.mean(tf.slice(latent, [0, 0, 0], [-1, nCls, -1]), 1)
    : tf.mean(nCls > 0 ? tf.slice(latent, [0, nCls, 0], [-1, -1, -1]) : latent, 1);

type EncoderOut = { readonly latent: Tensor; readonly encoderFeatures?: readonly Tensor[] | undefined };
type EncoderLayer = Layer<Params, EncoderIn, EncoderOut>;
type DecoderLayer = Layer<Params, NetworkIn & EncoderOut, { readonly out: Tensor }>;

/**
 * Builds the network a spec describes for a patch grid and the targets the objective scores
 * (the heads, unless the spec lists them). A combination this library cannot build is a
 * {@link ConfigError} naming the field.
 *
 * @example
 * buildNetwork(presetSpec('mae', 'micro/4').network, gridOf(patches(4), [32, 32, 3]), ['x0'])
 * @since 0.2.0
 */
export const buildNetwork = (spec: NetworkSpec, grid: Grid, targets: readonly Target[]): Network => {
  const heads = spec.heads ? headsFor(spec.heads) : headsFor(targets);
  if (heads.length === 0) throw new ConfigError('network.heads', spec.heads ?? targets, 'needs at least one head (x0 or eps)');
  const missing = targets.find((t) => !heads.includes(t));
  if (missing) throw new ConfigError('network.heads', heads, `do not include ${missing}, a target of the objective`);
  const e = spec.encoder;
  const d = spec.decoder;
  const g = tokenGrid(grid);
  const outDim = grid.patchDim * heads.length;
  if (e.conditioning === 'none') {
    if (e.classes !== undefined)
      throw new ConfigError('network.encoder.classes', e.classes, 'class labels need a conditioned encoder (adaln or token)');
    for (const field of ['labelEmbedding', 'activation', 'adaNorm'] as const)
      if (e[field] !== undefined)
        throw new ConfigError(`network.encoder.${field}`, e[field], 'applies to conditioned encoders (adaln or token) only');
    if (e.embedding !== undefined)
      throw new ConfigError(
        'network.encoder.embedding',
        e.embedding,
        'the condition embedding belongs to a conditioned encoder (adaln or token)',
      );
    if (d.kind === 'none')
      throw new ConfigError(
        'network.decoder.kind',
        'none',
        'an unconditioned encoder needs a decoder (mask-token, noisy-query, cross or cross-self)',
      );
    const encCfg = {
      width: e.width,
      depth: e.depth,
      heads: e.heads,
      ...(e.mlpRatio === undefined ? {} : { mlpRatio: e.mlpRatio }),
      grid: g,
      clsTokens: e.clsTokens,
      clsInit: e.clsInit,
      pos: e.pos,
    };
    const dec = { width: d.width, depth: d.depth, heads: d.heads, ...(d.mlpRatio === undefined ? {} : { mlpRatio: d.mlpRatio }) };
    const topDown = d.topDown ?? false;
    if (topDown && (d.kind === 'mask-token' || d.kind === 'noisy-query'))
      throw new ConfigError('network.decoder.topDown', true, 'applies to the cross decoders only');
    if (topDown && d.depth > e.depth)
      throw new ConfigError('network.decoder.depth', d.depth, `top-down decoding needs at most the encoder depth ${e.depth}`);
    const encoder = (topDown ? visibleEncoderWithFeatures(encCfg) : visibleEncoder(encCfg)) as unknown as EncoderLayer;
    const decoder =
      d.kind === 'mask-token'
        ? (jointDecoder({ ...dec, grid: g, outDim, clsTokens: e.clsTokens }) as unknown as DecoderLayer)
        : (diffDecoder(
            { ...dec, kind: d.kind === 'noisy-query' ? 'joint' : d.kind, topDown },
            { grid: g, outDim, clsTokens: e.clsTokens },
          ) as unknown as DecoderLayer);
    const layer = pipe(
      start<NetworkIn>(),
      stage('encoder', encoder),
      stage('decoder', decoder),
      stage('heads', headsStage(heads)),
    ) as unknown as Layer<Params, NetworkIn, NetworkOut>;
    const headsLayer = headsStage(heads);
    const encoderOf = (p: Params): Params => (p as { readonly encoder: Params }).encoder;
    return {
      spec,
      layer,
      heads,
      readsRemoved: d.kind !== 'mask-token',
      encoderParams: encoderOf,
      encode: (p, patches, pool, c) => {
        const n = patches.shape[0]!;
        const ids = allIds(n, grid.tokens);
        const { latent } = encoder.apply(p, { xt: patches, idsKeep: ids, idsRestore: ids }, c);
        return pooled(latent, e.clsTokens, pool);
      },
      conditionOn: (params, base, c) => {
        const p = params as { readonly encoder: Params; readonly decoder: Params };
        const enc = encoder.apply(p.encoder, base, c);
        return {
          decode: (xt, t, c2) => {
            const out = decoder.apply(p.decoder, { ...base, ...enc, xt, t }, c2);
            return headsLayer.apply({}, out, c2) as NetworkOut;
          },
          // the encoder pipeline returns its input fields and every intermediate: free what it made
          dispose: () => {
            const given = new Set<unknown>(Object.values(base));
            const made = Object.values(enc as unknown as Record<string, Tensor | readonly Tensor[]>).flat();
            tf.dispose(made.filter((t) => !given.has(t)));
          },
        };
      },
    };
  }
  if (d.kind !== 'mask-token' && d.kind !== 'none')
    throw new ConfigError('network.decoder.kind', d.kind, 'a conditioned encoder (adaln or token) takes a mask-token decoder or none');
  if (e.adaNorm !== undefined && e.conditioning !== 'adaln')
    throw new ConfigError(
      'network.encoder.adaNorm',
      e.adaNorm,
      `applies to adaLN blocks; this encoder is conditioned by ${e.conditioning}`,
    );
  if (e.clsInit !== 'zeros')
    throw new ConfigError('network.encoder.clsInit', e.clsInit, 'a conditioned encoder starts its CLS tokens at zeros');
  const image = inputShape(grid);
  const net = condAe({
    image,
    patch: grid.patch,
    ...(grid.video ? { tubelet: grid.tubelet } : {}),
    encoder: { width: e.width, depth: e.depth, heads: e.heads, ...(e.mlpRatio === undefined ? {} : { mlpRatio: e.mlpRatio }) },
    decoder:
      d.kind === 'none'
        ? { width: e.width, depth: 0, heads: e.heads }
        : { width: d.width, depth: d.depth, heads: d.heads, ...(d.mlpRatio === undefined ? {} : { mlpRatio: d.mlpRatio }) },
    clsTokens: e.clsTokens,
    pos: e.pos,
    conditioning: e.conditioning,
    ...(e.classes === undefined ? {} : { classes: e.classes }),
    ...(e.labelDropout === undefined ? {} : { labelDropout: e.labelDropout }),
    ...(e.embedding === undefined ? {} : { embedding: e.embedding }),
    ...(e.labelEmbedding === undefined ? {} : { labelEmbedding: e.labelEmbedding }),
    ...(e.activation === undefined ? {} : { activation: e.activation }),
    ...(e.adaNorm === undefined ? {} : { adaNorm: e.adaNorm }),
    heads,
  });
  const layer = net as unknown as Layer<Params, NetworkIn, NetworkOut>;
  return {
    spec,
    layer,
    heads,
    readsRemoved: false,
    encoderParams: (p) => {
      const q = p as CondAeParams;
      return { time: q.time, ...(q.label ? { label: q.label } : {}), encoder: q.encoder } as unknown as Params;
    },
    encode: (p, patches, pool, c) => {
      if (pool === 'cls' && e.clsTokens === 0) throw new ConfigError('pool', pool, 'this network has no CLS tokens; use mean');
      const n = patches.shape[0]!;
      const ids = allIds(n, grid.tokens);
      const r = net.encode(
        p as unknown as CondAeParams,
        {
          xt: patches,
          idsKeep: ids,
          idsShuffle: ids,
          idsRestore: ids,
          t: tf.zeros([n], 'int32'),
          labels: e.classes === undefined ? undefined : tf.fill([n], e.classes, 'int32'),
        },
        c,
      );
      return pool === 'cls' ? r.rep : tf.mean(r.visible, 1);
    },
    conditionOn: (params, base) => ({
      decode: (xt, t, c2) => layer.apply(params, { ...base, xt, t }, c2),
      dispose: () => undefined,
    }),
  };
};

/**
 * Timestep embeddings: sinusoidal features of t, then dense -> SiLU -> dense, in two styles,
 * named after the reference classes. `timestep-embedder` (DiT's `TimestepEmbedder`): 256 features, cosines first, f_k = 10000^(-k / 128), then
 * 256 -> width -> width with N(0, 0.02) kernels. `time-emb` (UMD's reference, small-vision's `TimeEmb`
 * and `EmbeddingTrunk`): `width` features, sines first, f_k = exp(-k ln(10000) / (width/2 - 1)),
 * then width -> 2 width -> width with flax's default (LeCun normal) kernels.
 *
 * @since 0.1.0
 */
import { positiveInt, positive } from '../core/check.js';
import { ConfigError } from '../core/errors.js';
import { split } from '../core/key.js';
import { layer, type Layer } from '../core/layer.js';
import { spec, expectRank } from '../core/spec.js';
import { tf, type Tensor } from '../core/tf.js';
import { lecunNormal, normalInit } from '../core/initializers.js';
import { applyDense, initDense, type DenseParams } from './dense.js';

/**
 * Sinusoidal features of timesteps t [B] (any numeric dtype): [cos(t f_k), sin(t f_k)] with
 * f_k = maxPeriod^(-k / (dim/2)), k < dim/2 (DiT's order: cosines first). Returns [B, dim].
 *
 * @example
 * timestepFeatures(tf.tensor1d([0, 500], 'int32'), 256)
 * @since 0.1.0
 */
export const timestepFeatures = (t: Tensor, dim: number, maxPeriod = 10000): Tensor => {
  if (dim % 2 !== 0) throw new ConfigError('timestepFeatures.dim', dim, 'must be even');
  const half = dim / 2;
  const freqs = new Float32Array(half);
  for (let k = 0; k < half; k++) freqs[k] = Math.exp((-Math.log(maxPeriod) * k) / half);
  return tf.tidy(() => {
    const args = tf.mul(tf.reshape(tf.cast(t, 'float32'), [-1, 1]), tf.tensor(freqs, [1, half]));
    return tf.concat([tf.cos(args), tf.sin(args)], 1);
  });
};

/**
 * UMD's sinusoidal features of timesteps t [B] (small-vision's `TimeEmb`): [sin(t f_k),
 * cos(t f_k)] with f_k = exp(-k ln(maxPeriod) / (dim/2 - 1)), k < dim/2 (sines first; the
 * last frequency is exactly 1 / maxPeriod). Returns [B, dim].
 *
 * @example
 * umdTimeFeatures(tf.tensor1d([0, 500], 'int32'), 64)
 * @since 0.2.0
 */
export const umdTimeFeatures = (t: Tensor, dim: number, maxPeriod = 10000): Tensor => {
  if (dim % 2 !== 0 || dim < 4) throw new ConfigError('umdTimeFeatures.dim', dim, 'must be even and at least 4');
  const half = dim / 2;
  const freqs = new Float32Array(half);
  for (let k = 0; k < half; k++) freqs[k] = Math.exp((-Math.log(maxPeriod) * k) / (half - 1));
  return tf.tidy(() => {
    const args = tf.mul(tf.reshape(tf.cast(t, 'float32'), [-1, 1]), tf.tensor(freqs, [1, half]));
    return tf.concat([tf.sin(args), tf.cos(args)], 1);
  });
};

/**
 * How a timestep embedding is made (see the module comment): DiT's or UMD's reference.
 *
 * @since 0.2.0
 */
export type TimeEmbedStyle = 'timestep-embedder' | 'time-emb';

/**
 * Configuration of {@link timestepEmbedding}.
 *
 * @since 0.1.0
 */
export interface TimestepEmbeddingConfig {
  /** Output width. */
  readonly width: number;
  /** DiT's embedder (`timestep-embedder`, the default) or UMD's (`time-emb`). */
  readonly style?: TimeEmbedStyle;
  /** Width of the sinusoidal features (default 256 for `timestep-embedder`, `width` for `time-emb`). */
  readonly freqDim?: number;
  /** Longest period of the features (default 10000). */
  readonly maxPeriod?: number;
}

/** Params of {@link timestepEmbedding}. */
export type TimestepEmbeddingParams = { readonly fc1: DenseParams; readonly fc2: DenseParams };

/**
 * t [B] (int32) -> [B, width]: sinusoidal features -> dense -> SiLU -> dense(width). `timestep-embedder`:
 * hidden width `width`, kernels N(0, 0.02) as in DiT; `time-emb`: hidden width 2 x `width`, LeCun
 * normal kernels, as UMD's reference.
 *
 * @example
 * const temb = timestepEmbedding({ width: 192 })
 * const umd = timestepEmbedding({ width: 192, style: 'time-emb' })
 * @since 0.1.0
 */
export const timestepEmbedding = (
  cfg: TimestepEmbeddingConfig,
  name = 'timestepEmbedding',
): Layer<TimestepEmbeddingParams, Tensor, Tensor> => {
  const width = positiveInt(`${name}.width`, cfg.width);
  const style = cfg.style ?? 'timestep-embedder';
  const freqDim = positiveInt(`${name}.freqDim`, cfg.freqDim ?? (style === 'time-emb' ? width : 256));
  const hidden = style === 'time-emb' ? 2 * width : width;
  const features = style === 'time-emb' ? umdTimeFeatures : timestepFeatures;
  if (freqDim % 2 !== 0) throw new ConfigError(`${name}.freqDim`, freqDim, 'must be even');
  const maxPeriod = positive(`${name}.maxPeriod`, cfg.maxPeriod ?? 10000);
  return layer<TimestepEmbeddingParams, Tensor, Tensor>(
    name,
    (key, inSpec) => {
      const s = expectRank(`${name} input`, inSpec, 1, [], 'rank 1 ([B] timesteps)');
      const [k1, k2] = split(key);
      const init = { kernelInit: style === 'time-emb' ? lecunNormal : normalInit(0.02) };
      return {
        params: { fc1: initDense(k1!, freqDim, hidden, init), fc2: initDense(k2!, hidden, width, init) },
        outSpec: spec([s[0]!, width]),
      };
    },
    (p, t) => {
      const h = applyDense(p.fc1, features(t, freqDim, maxPeriod));
      return applyDense(p.fc2, tf.mul(h, tf.sigmoid(h)));
    },
  );
};

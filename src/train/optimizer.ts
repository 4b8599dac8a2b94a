/**
 * AdamW (Loshchilov & Hutter) as pure functions over param trees: `update` returns new params and
 * state and leaves the old ones to the caller (the trainer disposes them).
 *
 * @since 0.1.0
 */
import { finite, positive, unit } from '../core/check.js';
import { ConfigError } from '../core/errors.js';
import { flatten, mapParams, type Params } from '../core/params.js';
import { tf, type Tensor } from '../core/tf.js';

/**
 * AdamW settings. Defaults are MAE's: betas (0.9, 0.95), eps 1e-8, weight decay 0.05 on dense
 * kernels only (no decay on biases, norms, tokens or position embeddings).
 *
 * @since 0.1.0
 */
export interface AdamWConfig {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  /** Whether the leaf at a path decays (default: paths ending in `kernel`). */
  readonly decay: (path: string) => boolean;
  /** Learning-rate multiplier of the leaf at a path (default 1; layer-wise decay sets it). */
  readonly lrScale: (path: string) => number;
}

/**
 * The default decay rule: only dense (and patch-embedding) kernels decay.
 *
 * @example
 * decaysKernelsOnly('encoder.trunk.seq.blocks.0.attn.attn.qkv.kernel') // true
 * @since 0.1.0
 */
export const decaysKernelsOnly = (path: string): boolean => path === 'kernel' || path.endsWith('.kernel');

const unitScale = (): number => 1;

/**
 * AdamW settings with defaults.
 *
 * @example
 * adamw({ weightDecay: 0.05 })
 * @since 0.1.0
 */
export const adamw = (o: Partial<AdamWConfig> = {}): AdamWConfig => {
  const cfg = {
    beta1: o.beta1 ?? 0.9,
    beta2: o.beta2 ?? 0.95,
    eps: o.eps ?? 1e-8,
    weightDecay: o.weightDecay ?? 0.05,
    decay: o.decay ?? decaysKernelsOnly,
    lrScale: o.lrScale ?? unitScale,
  };
  unit('adamw.beta1', cfg.beta1);
  unit('adamw.beta2', cfg.beta2);
  if (cfg.beta1 === 1 || cfg.beta2 === 1) throw new ConfigError('adamw.beta', [cfg.beta1, cfg.beta2], 'betas must be < 1');
  positive('adamw.eps', cfg.eps);
  finite('adamw.weightDecay', cfg.weightDecay);
  if (cfg.weightDecay < 0) throw new ConfigError('adamw.weightDecay', cfg.weightDecay, 'must be >= 0');
  return cfg;
};

/**
 * Optimiser state: the number of updates taken and the two moment trees.
 *
 * @since 0.1.0
 */
export interface OptState<P extends Params> {
  readonly step: number;
  readonly m: P;
  readonly v: P;
}

/**
 * Fresh state: zero moments, step 0.
 *
 * @example
 * const opt = initOpt(params)
 * @since 0.1.0
 */
export const initOpt = <P extends Params>(params: P): OptState<P> => ({
  step: 0,
  m: mapParams(params, (t) => tf.zerosLike(t)),
  v: mapParams(params, (t) => tf.zerosLike(t)),
});

/**
 * One AdamW update with learning rate `lr`. Returns new params and state (new tensors); the
 * inputs are untouched.
 *
 * @example
 * const next = adamwUpdate(cfg, params, grads, opt, 1e-3)
 * @since 0.1.0
 */
export const adamwUpdate = <P extends Params>(
  cfg: AdamWConfig,
  params: P,
  grads: P,
  state: OptState<P>,
  lr: number,
): { params: P; state: OptState<P> } => {
  finite('lr', lr);
  const t = state.step + 1;
  const bc1 = 1 - cfg.beta1 ** t;
  const bc2 = 1 - cfg.beta2 ** t;
  const g = new Map(flatten(grads));
  const m = new Map(flatten(state.m));
  const v = new Map(flatten(state.v));
  const newM = new Map<string, Tensor>();
  const newV = new Map<string, Tensor>();
  const newParams = mapParams(params, (p, path) =>
    tf.tidy(() => {
      const gi = g.get(path);
      const mi = m.get(path);
      const vi = v.get(path);
      if (!gi || !mi || !vi) throw new ConfigError('adamw', path, 'gradient or moment missing for this parameter');
      const m2 = tf.add(tf.mul(mi, cfg.beta1), tf.mul(gi, 1 - cfg.beta1));
      const v2 = tf.add(tf.mul(vi, cfg.beta2), tf.mul(tf.square(gi), 1 - cfg.beta2));
      newM.set(path, tf.keep(m2));
      newV.set(path, tf.keep(v2));
      const stepDir = tf.div(tf.div(m2, bc1), tf.add(tf.sqrt(tf.div(v2, bc2)), cfg.eps));
      const rate = lr * cfg.lrScale(path);
      const decayed = cfg.weightDecay > 0 && cfg.decay(path) ? tf.mul(p, 1 - rate * cfg.weightDecay) : p;
      return tf.sub(decayed, tf.mul(stepDir, rate));
    }),
  );
  return {
    params: newParams,
    state: { step: t, m: mapParams(state.m, (_t, path) => newM.get(path)!), v: mapParams(state.v, (_t, path) => newV.get(path)!) },
  };
};

/**
 * The global L2 norm of a gradient tree, as a scalar tensor.
 *
 * @example
 * globalNorm(grads).dataSync()[0]
 * @since 0.1.0
 */
export const globalNorm = (grads: Params): Tensor =>
  tf.tidy(() => tf.sqrt(flatten(grads).reduce<Tensor>((acc, [, g]) => tf.add(acc, tf.sum(tf.square(g))), tf.scalar(0))));

/**
 * Gradients scaled so that their global norm is at most `maxNorm` (and the norm before
 * clipping). New tensors; the inputs are untouched.
 *
 * @example
 * const { grads: clipped, norm } = clipByGlobalNorm(grads, 1.0)
 * @since 0.1.0
 */
export const clipByGlobalNorm = <P extends Params>(grads: P, maxNorm: number): { grads: P; norm: Tensor } => {
  positive('clip', maxNorm);
  const norm = globalNorm(grads);
  const scale = tf.tidy(() => tf.minimum(1, tf.div(maxNorm, tf.add(norm, 1e-6))));
  const out = mapParams(grads, (g) => tf.mul(g, scale));
  scale.dispose();
  return { grads: out, norm };
};

/**
 * Class-conditional fine-tuning (UMD's recipe): a pre-trained model becomes class-conditional
 * (a label embedding with a null class is added), the noised share is unmasked, the clean share
 * shrinks, labels drop to the null class at random for classifier-free guidance; the weights
 * carry over, the optimiser starts fresh, and the run keeps an EMA.
 *
 * @since 0.1.0
 */
import { ConfigError } from '../core/errors.js';
import { flatten, mapParams, type Params } from '../core/params.js';
import { tf, type Tensor } from '../core/tf.js';
import type { ModelSpec } from '../models/registry.js';

/**
 * The fine-tuning spec of a UMD (or DiT, MaskDiT) spec: `classes` classes, label dropout (default
 * 0.1), clean share (default 0.05), no mask on the noised share (UMD).
 *
 * @example
 * finetuneSpec(pretrained, { classes: 10 })
 * @since 0.1.0
 */
export const finetuneSpec = (
  spec: ModelSpec,
  o: { readonly classes: number; readonly labelDropout?: number; readonly cleanShare?: number },
): ModelSpec => {
  if (spec.method === 'mae' || spec.method === 'diffmae')
    throw new ConfigError('method', spec.method, 'class-conditional fine-tuning needs a conditioned model (umd, maskdit, dit)');
  return {
    method: spec.method,
    config: {
      ...spec.config,
      classes: o.classes,
      labelDropout: o.labelDropout ?? 0.1,
      ...(spec.method === 'umd' ? { cleanShare: o.cleanShare ?? 0.05, noisedRatio: 0 } : {}),
    },
  };
};

/**
 * The params of a fine-tuning model, taken from pre-trained params wherever the paths match
 * (shapes must agree) and from `fresh` elsewhere (the new label layers). Returns new tensors and
 * the list of fresh paths; throws if a pre-trained path has no place or the wrong shape.
 *
 * @example
 * const { params, fresh } = transplant(pretrained, model.init(k, inSpec).params)
 * @since 0.1.0
 */
export const transplant = <P extends Params>(pretrained: Params, fresh: P): { params: P; fresh: string[] } => {
  const old = new Map(flatten(pretrained));
  const used = new Set<string>();
  const freshPaths: string[] = [];
  const params = mapParams(fresh, (t, path) => {
    const o: Tensor | undefined = old.get(path);
    if (!o) {
      freshPaths.push(path);
      return tf.clone(t);
    }
    if (o.shape.join() !== t.shape.join())
      throw new ConfigError(`params.${path}`, o.shape, `the fine-tuning model expects [${t.shape.join(', ')}]`);
    used.add(path);
    return tf.clone(o);
  });
  const stray = [...old.keys()].filter((k) => !used.has(k));
  if (stray.length) throw new ConfigError('params', stray[0], 'a pre-trained parameter has no place in the fine-tuning model');
  return { params, fresh: freshPaths };
};

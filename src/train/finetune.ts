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
import { mixture, type Branch, type BranchCondition } from '../corruption/corruption.js';
import { Mask } from '../corruption/mask.js';
import { cleanBranch } from '../corruption/questions.js';
import type { ModelSpec } from '../models/spec.js';

/**
 * The fine-tuning spec of a spec with a conditioned encoder: `classes` classes and label dropout
 * (default 0.1) on the encoder; when the corruption mixes a clean branch with noised ones (UMD's
 * structure), the clean share becomes `cleanShare` (default 0.05) and the noised branches lose
 * their mask (their terms score every patch), and the clean share conditions on the null class
 * (`cleanLabels`, default `'null'`; `'label'` gives it the images' labels, as tesserae 0.2.0's
 * first fine-tunes did), as the reference recipe does. A spec whose encoder is not conditioned is
 * a {@link ConfigError}.
 *
 * @example
 * finetuneSpec(pretrained, { classes: 10 })
 * finetuneSpec(pretrained, { classes: 10, cleanLabels: 'label' })
 * @since 0.1.0
 */
export const finetuneSpec = (
  spec: ModelSpec,
  o: { readonly classes: number; readonly labelDropout?: number; readonly cleanShare?: number; readonly cleanLabels?: BranchCondition },
): ModelSpec => {
  const e = spec.network.encoder;
  if (e.conditioning === 'none')
    throw new ConfigError(
      'network.encoder.conditioning',
      e.conditioning,
      'class-conditional fine-tuning needs a conditioned encoder (adaln or token)',
    );
  const c = spec.corruption;
  const clean = cleanBranch(c);
  const mixed = clean !== undefined && c.branches.length > 1;
  const share = o.cleanShare ?? 0.05;
  const unmasked = (b: Branch): Branch =>
    b.noise.placement === 'none' ? b : { ...b, mask: Mask.none(), objective: b.objective.map((t) => ({ ...t, region: 'all' as const })) };
  const corruption = mixed
    ? mixture(
        c.patching,
        c.branches
          .map((wb) =>
            wb === clean
              ? { ...wb, weight: share, branch: { ...wb.branch, condition: o.cleanLabels ?? 'null' } }
              : { ...wb, weight: (1 - share) * (wb.weight / (1 - clean.weight)), branch: unmasked(wb.branch) },
          )
          .filter((wb) => wb.weight > 0),
        c.split,
      )
    : c;
  return {
    ...spec,
    corruption,
    network: { ...spec.network, encoder: { ...e, classes: o.classes, labelDropout: o.labelDropout ?? 0.1 } },
    label: `fine-tuned ${spec.label ?? 'model'}`,
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

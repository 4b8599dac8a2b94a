/**
 * Questions about a corruption, answered from the value alone: its clean branch, its noised
 * branches and their schedule, the targets it scores, whether it masks. Evaluation, the command
 * line and diffusion ask these and never a method's name, so a user's hybrid is treated exactly
 * as the presets are.
 *
 * @since 0.2.0
 */
import type { Corruption, WeightedBranch } from './corruption.js';
import type { Target } from './objective.js';
import type { Schedule } from './schedule.js';

/**
 * The targets the corruption's objectives score (each once, x0 first).
 *
 * @example
 * targetsOf(Method.umd({ patch: 4 })) // ['x0', 'eps']
 * @since 0.2.0
 */
export const targetsOf = (c: Corruption): Target[] => {
  const used = new Set(c.branches.flatMap((b) => b.branch.objective.map((t) => t.target)));
  return (['x0', 'eps'] as const).filter((t) => used.has(t));
};

/**
 * The clean (t = 0) branch that masks and scores the removed patches with an x0 term: the step
 * a model reconstructs removed patches from visible ones in one pass (MAE; UMD's clean share).
 * Undefined when there is none.
 *
 * @example
 * cleanBranch(Method.umd({ patch: 4 }))?.name // 'clean'
 * @since 0.2.0
 */
export const cleanBranch = (c: Corruption): WeightedBranch | undefined =>
  c.branches.find(
    (b) =>
      b.branch.noise.placement === 'none' &&
      b.branch.mask.kind !== 'none' &&
      b.branch.objective.some((t) => t.target === 'x0' && t.region !== 'visible'),
  );

/**
 * The first branch that adds noise, or undefined (MAE has none).
 *
 * @example
 * noisedBranch(Method.dit({ patch: 4 }))?.branch.noise.placement // 'all'
 * @since 0.2.0
 */
export const noisedBranch = (c: Corruption): WeightedBranch | undefined => c.branches.find((b) => b.branch.noise.placement !== 'none');

/**
 * The noise schedule of the corruption's noised branches (the first one's), or undefined.
 *
 * @example
 * scheduleOf(Method.diffmae({ patch: 4 }))?.kind // 'cosine'
 * @since 0.2.0
 */
export const scheduleOf = (c: Corruption): Schedule | undefined => {
  const b = noisedBranch(c)?.branch.noise;
  return b && b.placement !== 'none' ? b.schedule : undefined;
};

/**
 * The branch that noises only the removed patches (DiffMAE): the one whose reverse process
 * inpaints, the visible patches pasted back at every step. Undefined when there is none.
 *
 * @example
 * maskedNoiseBranch(Method.diffmae({ patch: 4 }))?.name // 'main'
 * @since 0.2.0
 */
export const maskedNoiseBranch = (c: Corruption): WeightedBranch | undefined =>
  c.branches.find((b) => b.branch.noise.placement === 'masked');

/**
 * A branch that noises the whole image (UMD's noised share, MaskDiT, DiT): a model trained on
 * it denoises whole images, so it can generate, and be evaluated by denoising.
 *
 * @example
 * wholeImageBranch(Method.dit({ patch: 4 }))?.name // 'main'
 * @since 0.2.0
 */
export const wholeImageBranch = (c: Corruption): WeightedBranch | undefined => c.branches.find((b) => b.branch.noise.placement === 'all');

/**
 * Whether any branch removes patches.
 *
 * @example
 * masks(Method.dit({ patch: 4 })) // false
 * @since 0.2.0
 */
export const masks = (c: Corruption): boolean => c.branches.some((b) => b.branch.mask.kind !== 'none');

/**
 * How a model of this corruption reconstructs removed patches: `one-pass` from its clean branch,
 * `diffusion` by the reverse process on the removed patches (masked noise), or `none`.
 * `one-pass` wins when both exist.
 *
 * @example
 * inpaintingOf(Method.diffmae({ patch: 4 })) // 'diffusion'
 * @since 0.2.0
 */
export const inpaintingOf = (c: Corruption): 'one-pass' | 'diffusion' | 'none' =>
  cleanBranch(c) ? 'one-pass' : maskedNoiseBranch(c) ? 'diffusion' : 'none';

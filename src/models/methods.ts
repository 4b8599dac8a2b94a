/**
 * The methods as values of the corruption algebra. Each function returns a
 * {@link Corruption}: patches, then branches of mask, noise, time and objective. Compare them
 * side by side: MAE is the t = 0 point of the algebra, DiT the ratio = 0 point, UMD a mixture
 * of the two kinds of step.
 *
 * | method  | mask              | noise on | time       | objective                          |
 * |---------|-------------------|----------|------------|------------------------------------|
 * | MAE     | random 0.75       | nothing  | 0          | x0 on masked                       |
 * | DiffMAE | random 0.75       | masked   | U{1..T}    | x0 on masked (or eps)              |
 * | UMD     | r0: random 0.75   | nothing  | 0          | x0 on masked                       |
 * |         | 1-r0: random 0.375| all      | U{1..T}    | 1/2 eps on visible + 1/2 x0 masked |
 * | MaskDiT | random 0.5        | all      | U{1..T}    | eps on visible + 0.1 x0 masked     |
 * | DiT     | none              | all      | U{1..T}    | eps on all                         |
 *
 * @since 0.1.0
 */
import { unit } from '../core/check.js';
import { corruption, mixture, type Corruption, type WeightedBranch } from '../corruption/corruption.js';
import { Mask } from '../corruption/mask.js';
import { Noise } from '../corruption/noise.js';
import { term, type Target } from '../corruption/objective.js';
import { Schedule } from '../corruption/schedule.js';
import { Time } from '../corruption/time.js';
import { patches, type Patching } from '../vision/patchify.js';

/**
 * Options every method takes.
 *
 * @since 0.1.0
 */
export interface MethodOptions {
  /** Patch size in pixels (square image patches), or a patching value such as `tubelets(2, 16)` for video. */
  readonly patch: number | Patching;
}

const patchingOf = (o: MethodOptions): Patching => (typeof o.patch === 'number' ? patches(o.patch) : o.patch);

/**
 * Method constructors. All options but `patch` default to the papers' values.
 *
 * @example
 * Method.mae({ patch: 16 })
 * Method.diffmae({ patch: 16, schedule: Schedule.linear() })
 * Method.umd({ patch: 4 })
 * Method.mae({ patch: tubelets(2, 16), mask: Mask.tube(0.9) }) // video MAE: only the patching and the mask change
 * @since 0.1.0
 */
export const Method = {
  /** MAE (He et al.): clean visible patches, x0 loss on the masked ones. */
  mae: (o: MethodOptions & { readonly maskRatio?: number; readonly mask?: Mask; readonly normPix?: boolean }): Corruption =>
    corruption(
      patchingOf(o),
      {
        mask: o.mask ?? Mask.random(o.maskRatio ?? 0.75),
        noise: Noise.none(),
        time: Time.zero(),
        objective: [term('x0', 'masked', 1, { normPix: o.normPix ?? false })],
      },
      'mae',
    ),

  /** DiffMAE (Wei et al.): noise on the masked patches only, t ~ U{1..T}, x0 (or eps) loss on them. */
  diffmae: (
    o: MethodOptions & { readonly maskRatio?: number; readonly mask?: Mask; readonly schedule?: Schedule; readonly target?: Target },
  ): Corruption =>
    corruption(
      patchingOf(o),
      {
        mask: o.mask ?? Mask.random(o.maskRatio ?? 0.75),
        noise: Noise.masked(o.schedule ?? Schedule.cosine()),
        time: Time.uniform(),
        objective: [term(o.target ?? 'x0', 'masked')],
      },
      'diffmae',
    ),

  /**
   * UMD (Hansen-Estruch et al.): a share `cleanShare` of each batch clean at `cleanRatio` (the
   * t = 0 step), the rest noised over the whole image at `noisedRatio`.
   */
  umd: (
    o: MethodOptions & {
      readonly cleanShare?: number;
      readonly cleanRatio?: number;
      readonly noisedRatio?: number;
      /** Mask kinds of the two shares (default random at their ratios; e.g. tube masks on video). */
      readonly cleanMask?: Mask;
      readonly noisedMask?: Mask;
      readonly schedule?: Schedule;
    },
  ): Corruption => {
    const r0 = unit('umd.cleanShare', o.cleanShare ?? 0.5);
    const clean: WeightedBranch = {
      name: 'clean',
      weight: r0,
      branch: {
        mask: o.cleanMask ?? Mask.random(o.cleanRatio ?? 0.75),
        noise: Noise.none(),
        time: Time.zero(),
        objective: [term('x0', 'masked')],
      },
    };
    // With no mask on the noised share (class-conditional fine-tuning), both heads are scored
    // over every patch, as the reference code does when its mask is off.
    const unmasked = (o.noisedRatio ?? 0.375) === 0;
    const noised: WeightedBranch = {
      name: 'noised',
      weight: 1 - r0,
      branch: {
        mask: unmasked ? Mask.none() : (o.noisedMask ?? Mask.random(o.noisedRatio ?? 0.375)),
        noise: Noise.all(o.schedule ?? Schedule.cosine()),
        time: Time.uniform(),
        objective: unmasked ? [term('eps', 'all', 0.5), term('x0', 'all', 0.5)] : [term('eps', 'visible', 0.5), term('x0', 'masked', 0.5)],
      },
    };
    return mixture(
      patchingOf(o),
      [clean, noised].filter((b) => b.weight > 0),
    );
  },

  /** MaskDiT (Zheng et al.): 50% mask, whole-image noise, denoising on visible + 0.1 masked reconstruction. */
  maskdit: (o: MethodOptions & { readonly maskRatio?: number; readonly mask?: Mask; readonly schedule?: Schedule }): Corruption =>
    corruption(
      patchingOf(o),
      {
        mask: o.mask ?? Mask.random(o.maskRatio ?? 0.5),
        noise: Noise.all(o.schedule ?? Schedule.cosine()),
        time: Time.uniform(),
        objective: [term('eps', 'visible'), term('x0', 'masked', 0.1, { normPix: true })],
      },
      'maskdit',
    ),

  /** DiT (Peebles & Xie): no mask, whole-image noise, eps loss everywhere. */
  dit: (o: MethodOptions & { readonly schedule?: Schedule }): Corruption =>
    corruption(
      patchingOf(o),
      { mask: Mask.none(), noise: Noise.all(o.schedule ?? Schedule.cosine()), time: Time.uniform(), objective: [term('eps', 'all')] },
      'dit',
    ),
} as const;

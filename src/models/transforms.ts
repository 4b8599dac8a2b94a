/**
 * Edits of a model spec that every spec takes, whatever its method: the same spec on video, and
 * the same masks of another kind. They are functions of the value (the corruption's branches),
 * never of a method name.
 *
 * @since 0.2.0
 */
import { ConfigError } from '../core/errors.js';
import { validateBranch } from '../corruption/corruption.js';
import { Mask } from '../corruption/mask.js';
import { tubelets, type InputShape } from '../vision/patchify.js';
import type { ModelSpec } from './spec.js';

/**
 * A spec on video: clips of `frames` frames of the spec's image size, cut into tubelets of
 * `tubelet` frames (default 2). Only the input shape and the patching change.
 *
 * @example
 * onVideo(presetSpec('mae', 'micro/4'), 8) // image [8, 32, 32, 3], tubelets of 2 x 4 x 4
 * @since 0.1.0
 */
export const onVideo = (spec: ModelSpec, frames: number, tubelet = 2): ModelSpec => {
  const i = spec.image;
  const image: InputShape = i.length === 4 ? [frames, i[1], i[2], i[3]] : [frames, i[0], i[1], i[2]];
  const c = spec.corruption;
  return { ...spec, image, corruption: Object.freeze({ ...c, patching: tubelets(tubelet, c.patching.size) }) };
};

/**
 * A spec whose random masks become masks of `kind` (random, tube or frame) at the same ratios,
 * in every branch. A corruption without masks accepts only `random` (a no-op).
 *
 * @example
 * withMaskKind(onVideo(presetSpec('diffmae', 'micro/4'), 8), 'tube')
 * @since 0.1.0
 */
export const withMaskKind = (spec: ModelSpec, kind: 'random' | 'tube' | 'frame'): ModelSpec => {
  const c = spec.corruption;
  if (kind === 'random') return spec;
  if (!c.branches.some((b) => b.branch.mask.kind === 'random'))
    throw new ConfigError('mask kind', kind, 'this corruption has no random mask to change');
  const branches = c.branches.map((wb) => {
    const m = wb.branch.mask;
    const mask = m.kind !== 'random' ? m : kind === 'tube' ? Mask.tube(m.ratio) : Mask.frame(m.ratio);
    return Object.freeze({ ...wb, branch: validateBranch({ ...wb.branch, mask }) });
  });
  // the weights are already normalised: kept as they are, bit for bit
  return { ...spec, corruption: Object.freeze({ ...c, branches: Object.freeze(branches) }) };
};

/**
 * The corruption algebra: a {@link Corruption} is patches, then a weighted mixture of
 * {@link Branch}es, each a mask, a noise, a time and an objective. MAE, DiffMAE, UMD, MaskDiT
 * and DiT are values of this type (see `models/methods.ts`); a new hybrid is a new value.
 *
 * {@link corrupt} interprets a corruption on a batch: it splits the batch between branches,
 * then per branch draws the mask, the timesteps and the noise, and returns the corrupted
 * patches with everything a model and a loss need.
 *
 * @since 0.1.0
 */
import { oneOf, positive, positiveInt } from '../core/check.js';
import { ConfigError, ShapeError } from '../core/errors.js';
import { fold, normal, split, uniform, type Key } from '../core/key.js';
import { tf, type Tensor } from '../core/tf.js';
import { batchGrid, patchifyOp, type Grid, type Patching } from '../vision/patchify.js';
import { drawMask, maskTensors, type Mask, type MaskDraw } from './mask.js';
import { placeNoise, type Noise } from './noise.js';
import type { Objective } from './objective.js';
import { sampleTime, type Time } from './time.js';

/**
 * One way to corrupt a sample, with the objective that scores the model on it.
 *
 * @since 0.1.0
 */
export interface Branch {
  readonly mask: Mask;
  readonly noise: Noise;
  readonly time: Time;
  readonly objective: Objective;
  /**
   * The class a class-conditional network sees on this branch: the image's `label` (the
   * default, also when absent) or the `null` class, as UMD's reference conditions its clean
   * share during class-conditional fine-tuning (small-vision `ae.py`: `y = num_classes` when no
   * label is passed). Unconditioned networks ignore it.
   */
  readonly condition?: BranchCondition;
}

/**
 * What class a branch conditions on: the image's label or the null class.
 *
 * @since 0.2.0
 */
export type BranchCondition = 'label' | 'null';

/**
 * A branch, validated: noise and time must agree (t = 0 means clean, so no noise goes with
 * time `zero` and only it), an eps target needs noise, and a `masked` region needs a mask.
 *
 * @example
 * validateBranch({ mask: Mask.random(0.75), noise: Noise.none(), time: Time.zero(), objective: [term('x0', 'masked')] })
 * @since 0.1.0
 */
export const validateBranch = (b: Branch): Branch => {
  if (b.objective.length === 0) throw new ConfigError('branch.objective', b.objective, 'needs at least one loss term');
  const clean = b.noise.placement === 'none';
  if (clean && b.time.kind !== 'zero')
    throw new ConfigError('branch.time', b.time.kind, "noise 'none' needs time 'zero' (t = 0 is the clean step)");
  if (!clean && b.time.kind === 'zero')
    throw new ConfigError(
      'branch.time',
      b.time.kind,
      `noise '${b.noise.placement}' needs timesteps >= 1; t = 0 is reserved for clean inputs`,
    );
  if (!clean && b.time.kind === 'fixed' && b.time.t === 0) throw new ConfigError('branch.time.t', 0, 'noised branches need t >= 1');
  if (!clean && b.time.kind === 'range' && b.time.lo === 0) throw new ConfigError('branch.time.lo', 0, 'noised branches need t >= 1');
  if (!clean && b.time.kind === 'range' && b.time.hi > b.noise.schedule.steps)
    throw new ConfigError('branch.time.hi', b.time.hi, `must be <= the schedule's ${b.noise.schedule.steps} steps`);
  if (!clean && b.time.kind === 'fixed' && b.time.t > b.noise.schedule.steps)
    throw new ConfigError('branch.time.t', b.time.t, `must be <= the schedule's ${b.noise.schedule.steps} steps`);
  b.objective.forEach((t, i) => {
    if (t.target === 'eps' && clean)
      throw new ConfigError(`branch.objective[${i}].target`, 'eps', 'a clean branch has no noise to predict');
    if (t.region !== 'all' && b.mask.kind === 'none')
      throw new ConfigError(`branch.objective[${i}].region`, t.region, "mask 'none' has no masked or visible split; use region 'all'");
  });
  if ('ratio' in b.mask && b.mask.ratio === 0 && b.objective.every((t) => t.region === 'masked'))
    throw new ConfigError(
      'branch.mask.ratio',
      0,
      'masks nothing, and the objective scores the masked patches only: its loss would be empty; give a ratio in (0, 1)',
    );
  if (b.noise.placement === 'masked' && b.mask.kind === 'none')
    throw new ConfigError('branch.noise.placement', 'masked', "needs a mask; mask 'none' removes nothing");
  return Object.freeze({ ...b, objective: Object.freeze([...b.objective]) });
};

/**
 * A branch with its share of the batch.
 *
 * @since 0.1.0
 */
export interface WeightedBranch {
  readonly name: string;
  /** Share of the batch; the weights of a corruption sum to 1. */
  readonly weight: number;
  readonly branch: Branch;
}

/**
 * How a mixture splits a batch: `exact` gives branch i the contiguous rows
 * [floor(B c_{i-1}), floor(B c_i)) for cumulative weights c (deterministic, the UMD reference
 * split); `sample` draws each row's branch independently with the key.
 *
 * @since 0.1.0
 */
export type Split = 'exact' | 'sample';

/**
 * A corruption: patches, then a mixture of branches.
 *
 * @since 0.1.0
 */
export interface Corruption {
  readonly patching: Patching;
  readonly branches: readonly WeightedBranch[];
  readonly split: Split;
}

/**
 * A corruption with a single branch (validated by {@link validateBranch}).
 *
 * @example
 * corruption(patches(16), { mask: Mask.random(0.75), noise: Noise.none(), time: Time.zero(), objective: [term('x0', 'masked')] })
 * @since 0.1.0
 */
export const corruption = (patching: Patching, b: Branch, name = 'main'): Corruption =>
  Object.freeze({ patching, branches: Object.freeze([{ name, weight: 1, branch: validateBranch(b) }]), split: 'exact' as const });

/**
 * A weighted mixture of branches. Weights must be positive and finite; they are normalised to
 * sum to 1. Names must be distinct (they key each branch's randomness).
 *
 * @example
 * mixture(patches(4), [
 *   { name: 'clean', weight: 0.5, branch: clean },
 *   { name: 'noised', weight: 0.5, branch: noised },
 * ])
 * @since 0.1.0
 */
export const mixture = (patching: Patching, branches: readonly WeightedBranch[], split: Split = 'exact'): Corruption => {
  if (branches.length === 0) throw new ConfigError('mixture.branches', branches, 'needs at least one branch');
  oneOf('mixture.split', split, ['exact', 'sample'] as const);
  const names = new Set<string>();
  branches.forEach((b, i) => {
    positive(`mixture.branches[${i}].weight`, b.weight);
    if (names.has(b.name)) throw new ConfigError(`mixture.branches[${i}].name`, b.name, 'branch names must be distinct');
    names.add(b.name);
  });
  const total = branches.reduce((s, b) => s + b.weight, 0);
  return Object.freeze({
    patching,
    branches: Object.freeze(
      branches.map((b) => Object.freeze({ name: b.name, weight: b.weight / total, branch: validateBranch(b.branch) })),
    ),
    split,
  });
};

/**
 * Which branch each of `batch` rows gets (an index into `c.branches`).
 *
 * @example
 * assignBranches(umdCorruption, Key.key(0), 8) // Int32Array [0, 0, 0, 0, 1, 1, 1, 1]
 * @since 0.1.0
 */
export const assignBranches = (c: Corruption, key: Key, batch: number): Int32Array => {
  positiveInt('batch', batch);
  const out = new Int32Array(batch);
  const cum: number[] = [];
  c.branches.reduce((s, b) => (cum.push(s + b.weight), s + b.weight), 0);
  cum[cum.length - 1] = 1;
  if (c.split === 'exact') {
    let start = 0;
    cum.forEach((cu, i) => {
      const end = i === cum.length - 1 ? batch : Math.floor(batch * cu + 1e-9);
      out.fill(i, start, Math.max(start, end));
      start = Math.max(start, end);
    });
    return out;
  }
  const u = uniform(key, batch);
  for (let n = 0; n < batch; n++) {
    let i = 0;
    while (i < cum.length - 1 && u[n]! >= cum[i]!) i++;
    out[n] = i;
  }
  return out;
};

/**
 * One branch's share of a corrupted batch.
 *
 * @since 0.1.0
 */
export interface Corrupted {
  readonly name: string;
  readonly branch: Branch;
  /** Rows of the batch in this group (host data). */
  readonly rows: Int32Array;
  /** rows.length / batch: this group's weight in the batch loss. */
  readonly weight: number;
  readonly grid: Grid;
  /** Tokens kept per sample. */
  readonly keep: number;
  /** Clean patches [n, L, P]. */
  readonly x0: Tensor;
  /** Corrupted patches [n, L, P]: x0 where no noise is placed. */
  readonly xt: Tensor;
  /** The noise [n, L, P], null for a clean branch. */
  readonly eps: Tensor | null;
  /** Timesteps [n] int32 (0 = clean). */
  readonly t: Tensor;
  /** The same timesteps on the host. */
  readonly tHost: Int32Array;
  /** [n, L] float32, 1 = removed. */
  readonly mask: Tensor;
  /** [n, keep] int32. */
  readonly idsKeep: Tensor;
  /** [n, L] int32. */
  readonly idsShuffle: Tensor;
  /** [n, L] int32. */
  readonly idsRestore: Tensor;
  /** The mask as host data. */
  readonly draw: MaskDraw;
}

/**
 * Options of {@link corruptPatches}.
 *
 * @since 0.1.0
 */
export interface CorruptOptions {
  /** The group's name (default 'main'). */
  readonly name?: string;
  /** The batch rows of this group (default 0..n-1). */
  readonly rows?: Int32Array;
  /** The whole batch size, for the group weight (default n). */
  readonly batch?: number;
  /** A mask drawn beforehand (for example from given noise with {@link maskFromNoise}); default: drawn from the branch's mask. */
  readonly draw?: MaskDraw;
}

/**
 * Corrupts one group of clean patches x0 [n, L, P] with a branch. Keys: the mask, the time and
 * the noise each get their own key split from `key`.
 *
 * @example
 * corruptPatches(b, Key.key(0), grid, x0)
 * @since 0.1.0
 */
export const corruptPatches = (b: Branch, key: Key, grid: Grid, x0: Tensor, o: CorruptOptions = {}): Corrupted => {
  if (x0.rank !== 3 || x0.shape[1] !== grid.tokens || x0.shape[2] !== grid.patchDim) {
    throw new ShapeError('patches', `[n, ${grid.tokens}, ${grid.patchDim}]`, x0.shape);
  }
  const n = x0.shape[0]!;
  const [km, kt, ke] = split(key, 3) as [Key, Key, Key];
  const draw = o.draw ?? drawMask(b.mask, km, n, grid);
  if (draw.batch !== n || draw.length !== grid.tokens)
    throw new ShapeError('mask draw', `[${n}, ${grid.tokens}]`, [draw.batch, draw.length]);
  const steps = b.noise.placement === 'none' ? 0 : b.noise.schedule.steps;
  const tHost = sampleTime(b.time, kt, n, steps);
  // Only tensors cross the tidy boundary (tidy walks typed arrays element by element).
  const made = tf.tidy(() => {
    const m = maskTensors(draw);
    const eps = b.noise.placement === 'none' ? null : tf.tensor(normal(ke, x0.size), x0.shape);
    const xt = placeNoise(b.noise, x0, m.mask, tHost, eps);
    const t = tf.tensor1d(tHost, 'int32');
    return eps === null ? { ...m, xt, t } : { ...m, xt, t, eps };
  });
  return {
    name: o.name ?? 'main',
    branch: b,
    rows: o.rows ?? Int32Array.from({ length: n }, (_, i) => i),
    weight: n / (o.batch ?? n),
    grid,
    keep: draw.keep,
    x0,
    xt: made.xt,
    eps: 'eps' in made ? made.eps : null,
    t: made.t,
    tHost,
    mask: made.mask,
    idsKeep: made.idsKeep,
    idsShuffle: made.idsShuffle,
    idsRestore: made.idsRestore,
    draw,
  };
};

/**
 * Interprets a corruption on images [B, H, W, C] (videos [B, T, H, W, C] under tubelets): one {@link Corrupted} per branch that got
 * rows (empty groups are left out). The same key gives the same split, masks, timesteps and
 * noise.
 *
 * @example
 * const groups = corrupt(Method.mae({ patch: 4 }), Key.key(0), images)
 * @since 0.1.0
 */
export const corrupt = (c: Corruption, key: Key, images: Tensor): Corrupted[] => {
  const grid = batchGrid(c.patching, images.shape);
  const batch = images.shape[0]!;
  const assignment = assignBranches(c, fold(key, 'split'), batch);
  const groups: Corrupted[] = [];
  const all = patchifyOp(c.patching, images);
  try {
    c.branches.forEach((wb, i) => {
      const rows = Int32Array.from(assignment.keys()).filter((r) => assignment[r] === i);
      if (rows.length === 0) return;
      const x0 = rows.length === batch ? all : tf.tidy(() => tf.gather(all, tf.tensor1d(rows, 'int32')));
      groups.push(corruptPatches(wb.branch, fold(key, wb.name), grid, x0, { name: wb.name, rows, batch }));
    });
  } finally {
    if (!groups.some((g) => g.x0 === all)) all.dispose();
  }
  return groups;
};

/**
 * Disposes the tensors of corrupted groups.
 *
 * @example
 * disposeCorrupted(groups)
 * @since 0.1.0
 */
export const disposeCorrupted = (groups: readonly Corrupted[]): void => {
  for (const g of groups) {
    for (const t of [g.x0, g.xt, g.eps, g.t, g.mask, g.idsKeep, g.idsShuffle, g.idsRestore]) {
      if (t !== null && !t.isDisposed) t.dispose();
    }
  }
};

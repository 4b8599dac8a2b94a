/**
 * A method's model: a corruption (the algebra value) interpreted on a batch, then one network
 * run per branch group, then each group's objective, weighted by its share of the batch. The
 * network knows nothing about masks or schedules beyond the tensors it is handed (DiT's rule).
 *
 * @since 0.1.0
 */
import { ConfigError, ShapeError } from '../core/errors.js';
import { fold } from '../core/key.js';
import { layer, subCtx, type Ctx, type Layer } from '../core/layer.js';
import type { Params } from '../core/params.js';
import { spec, type SpecOf, type TensorSpec } from '../core/spec.js';
import { tf, type Tensor } from '../core/tf.js';
import { corrupt, corruptPatches, type Corrupted, type Corruption, type CorruptOptions } from '../corruption/corruption.js';
import { objectiveLoss } from '../corruption/objective.js';
import { batchGrid, patchifyOp, type Grid, type InputShape } from '../vision/patchify.js';

/**
 * What a network is handed for one group (all [n, ...] for the group's n samples).
 *
 * @since 0.1.0
 */
export type NetworkIn = {
  /** Corrupted patches [n, L, P]. */
  readonly xt: Tensor;
  /** [n, L], 1 = removed. */
  readonly mask: Tensor;
  readonly idsKeep: Tensor;
  readonly idsShuffle: Tensor;
  readonly idsRestore: Tensor;
  /** Timesteps [n] int32, 0 = clean. */
  readonly t: Tensor;
  /** Class labels [n] int32, for conditional models. */
  readonly labels?: Tensor | undefined;
};

/**
 * What a network returns: the encoder output and a prediction per head it has.
 *
 * @since 0.1.0
 */
export type NetworkOut = {
  readonly latent: Tensor;
  /** Predicted clean patches [n, L, P]. */
  readonly predX0?: Tensor;
  /** Predicted noise [n, L, P]. */
  readonly predEps?: Tensor;
};

/**
 * Inputs of a model: images [B, H, W, C] (and, for conditional models, labels [B]).
 *
 * @since 0.1.0
 */
export type ModelIn = { readonly images: Tensor; readonly labels?: Tensor };

/**
 * One group's results.
 *
 * @since 0.1.0
 */
export type GroupOut = {
  readonly loss: Tensor;
  readonly latent: Tensor;
  readonly predX0: Tensor | null;
  readonly predEps: Tensor | null;
  /** Clean patches [n, L, P] (the target). */
  readonly x0: Tensor;
  readonly xt: Tensor;
  readonly mask: Tensor;
  readonly idsRestore: Tensor;
  readonly t: Tensor;
};

/**
 * A model's results: the batch loss and, per group, its intermediates (in the order of the
 * corruption's branches that got rows; `names` says which).
 *
 * @since 0.1.0
 */
export type ModelOut = { readonly loss: Tensor; readonly groups: readonly GroupOut[]; readonly names: readonly string[] };

/**
 * The network-input spec for a grid (batch and keep unknown).
 *
 * @example
 * networkInSpec(gridOf(patches(4), [32, 32, 3])).xt.shape // [-1, 64, 48]
 */
export const networkInSpec = (g: Grid): SpecOf<NetworkIn> => ({
  xt: spec([-1, g.tokens, g.patchDim]),
  mask: spec([-1, g.tokens]),
  idsKeep: spec([-1, -1], 'int32'),
  idsShuffle: spec([-1, g.tokens], 'int32'),
  idsRestore: spec([-1, g.tokens], 'int32'),
  t: spec([-1], 'int32'),
});

const imageGrid = (c: Corruption, s: TensorSpec): Grid => batchGrid(c.patching, s.shape);

/**
 * Checks that a batch spec [B, ...shape] matches a model's configured input shape; a
 * {@link ShapeError} names the expected shape otherwise.
 *
 * @example
 * checkInputSpec(inSpec.images, [32, 32, 3])
 * @since 0.1.0
 */
export const checkInputSpec = (s: TensorSpec, shape: InputShape): void => {
  const rest = s.shape.slice(1);
  if (rest.length !== shape.length || rest.some((d, i) => d !== shape[i]))
    throw new ShapeError('images', `[B, ${shape.join(', ')}] (the configured input shape)`, s.shape);
};

/**
 * Runs a network on one corrupted group and scores it with the group's objective.
 *
 * @example
 * const out = runGroup(network, params, group, ctx(Key.key(0), true))
 * @since 0.1.0
 */
export const runGroup = <P extends Params>(
  network: Layer<P, NetworkIn, NetworkOut>,
  params: P,
  g: Corrupted,
  c: Ctx,
  labels?: Tensor,
): GroupOut =>
  tf.tidy(() => {
    const out = network.apply(params, labels ? { ...g, labels } : g, c);
    const pred = { ...(out.predX0 ? { x0: out.predX0 } : {}), ...(out.predEps ? { eps: out.predEps } : {}) };
    const loss = objectiveLoss(g.branch.objective, pred, g);
    return {
      loss,
      latent: out.latent,
      predX0: out.predX0 ?? null,
      predEps: out.predEps ?? null,
      x0: g.x0,
      xt: g.xt,
      mask: g.mask,
      idsRestore: g.idsRestore,
      t: g.t,
    } as unknown as tf.TensorContainer;
  }) as unknown as GroupOut;

/**
 * A model from a corruption and a network: `apply(params, { images }, ctx)` corrupts the batch
 * with `ctx.key`, runs the network on every group, and returns the weighted loss with every
 * group's intermediates. `init(key, { images: spec })` initialises the network for the grid the
 * images make.
 *
 * @example
 * const model = methodModel(Method.mae({ patch: 4 }), network)
 * @since 0.1.0
 */
export const methodModel = <P extends Params>(
  corruption: Corruption,
  network: Layer<P, NetworkIn, NetworkOut>,
  name = 'model',
): Layer<P, ModelIn, ModelOut> =>
  layer<P, ModelIn, ModelOut>(
    name,
    (key, inSpec) => {
      const r = network.init(key, networkInSpec(imageGrid(corruption, inSpec.images)));
      return { params: r.params, outSpec: { loss: spec([]), groups: [], names: [] } as unknown as SpecOf<ModelOut> };
    },
    (params, { images, labels }, c) => {
      const groups = corrupt(corruption, fold(c.key, 'corrupt'), images);
      const batch = images.shape[0]!;
      const outs = groups.map((g) => {
        // a branch that conditions on the null class gets no labels (the network fills in the null class)
        const rowLabels =
          labels === undefined || g.branch.condition === 'null'
            ? undefined
            : g.rows.length === batch
              ? labels
              : tf.gather(labels, tf.tensor1d(g.rows, 'int32'));
        return runGroup(network, params, g, subCtx(c, g.name), rowLabels);
      });
      const loss =
        outs.length === 1 && groups[0]!.weight === 1
          ? outs[0]!.loss
          : outs.reduce<Tensor>((acc, o, i) => tf.add(acc, tf.mul(o.loss, groups[i]!.weight)), tf.scalar(0));
      return { loss, groups: outs, names: groups.map((g) => g.name) };
    },
  );

/**
 * Runs a model's network on images with a mask drawn beforehand (the reference reconstruction
 * setting: masks from given noise), for a single-branch corruption.
 *
 * @example
 * const out = applyWithMask(Method.mae({ patch: 16 }), network, params, images, maskFromNoise(u, n, l, keep), ctx(Key.key(0)))
 * @since 0.1.0
 */
export const applyWithMask = <P extends Params>(
  corruption: Corruption,
  network: Layer<P, NetworkIn, NetworkOut>,
  params: P,
  images: Tensor,
  draw: NonNullable<CorruptOptions['draw']>,
  c: Ctx,
): GroupOut => {
  if (corruption.branches.length !== 1)
    throw new ConfigError('corruption.branches', corruption.branches.length, 'a given mask needs a single-branch corruption');
  const grid = batchGrid(corruption.patching, images.shape);
  const x0 = patchifyOp(corruption.patching, images);
  const g = corruptPatches(corruption.branches[0]!.branch, fold(c.key, 'corrupt'), grid, x0, { draw });
  try {
    return runGroup(network, params, g, c);
  } finally {
    // runGroup returns x0, xt, mask, idsRestore and t; the rest is ours to free
    tf.dispose([g.idsKeep, g.idsShuffle, ...(g.eps ? [g.eps] : [])]);
  }
};

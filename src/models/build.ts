/**
 * `buildModel`: the model a {@link ModelSpec} describes, whatever it is: one of the presets or
 * a user's hybrid. It checks that the corruption and the network fit together (the answer-leak
 * pairing, heads that cover the targets) before anything is initialised, and returns one shape
 * of model that training, checkpoints, evaluation, inpainting and sampling all take.
 *
 * @since 0.2.0
 */
import { ConfigError, ShapeError } from '../core/errors.js';
import { layer, type Layer } from '../core/layer.js';
import type { Params } from '../core/params.js';
import { spec, type SpecOf } from '../core/spec.js';
import type { Corruption } from '../corruption/corruption.js';
import { targetsOf } from '../corruption/questions.js';
import { drawMask, requireVisible } from '../corruption/mask.js';
import { key } from '../core/key.js';
import { gridOf, type Grid, type InputShape } from '../vision/patchify.js';
import { checkInputSpec, methodModel, type ModelIn, type ModelOut } from './model.js';
import { buildNetwork, type Network } from './network.js';
import type { ModelSpec, NetworkSpec } from './spec.js';

/**
 * A built model: its spec, the corruption, the patch grid, the network and the layer the trainer
 * drives (`init(key, { images })`, `apply(params, { images, labels }, ctx)` returning the loss
 * and every group's intermediates).
 *
 * @since 0.2.0
 */
export interface Model extends Layer<Params, ModelIn, ModelOut> {
  readonly spec: ModelSpec;
  readonly image: InputShape;
  readonly corruption: Corruption;
  readonly grid: Grid;
  readonly network: Network;
  /** Class-conditional models: the number of classes; undefined otherwise. */
  readonly classes: number | undefined;
}

/**
 * Checks that a corruption and a network fit together, naming the branch where they do not:
 * a network that reads the removed slots' `xt` (noisy queries) must not be paired with a branch
 * that leaves those slots clean and scores them (for such a branch `xt` is `x0` there: the
 * decoder would be handed the answer); and every target of the objective needs a head.
 *
 * @example
 * checkCompatible(Method.mae({ patch: 4 }), presetSpec('diffmae', 'micro/4').network) // throws: the clean branch would leak
 * @since 0.2.0
 */
export const checkCompatible = (c: Corruption, network: NetworkSpec): void => {
  const readsRemoved = network.decoder.kind !== 'mask-token' && network.decoder.kind !== 'none';
  c.branches.forEach((wb, i) => {
    const b = wb.branch;
    const where = `corruption.branches[${i}] (${JSON.stringify(wb.name)})`;
    const scoresRemoved = b.objective.some((t) => t.region !== 'visible');
    if (readsRemoved && b.mask.kind !== 'none' && b.noise.placement === 'none' && scoresRemoved)
      throw new ConfigError(
        where,
        `noise ${b.noise.placement}, decoder ${network.decoder.kind}`,
        `the ${network.decoder.kind} decoder embeds xt at the removed slots, and this branch leaves them clean (xt = x0) while scoring them: the decoder would be handed the answer. Noise the removed patches (Noise.masked or Noise.all) or use a mask-token decoder`,
      );
    if (network.heads) {
      const missing = b.objective.find((t) => !network.heads!.includes(t.target));
      if (missing)
        throw new ConfigError(`${where}.objective`, missing.target, `has no head: the network's heads are ${network.heads.join(', ')}`);
    }
  });
};

/**
 * Builds a model from its spec: checks the corruption against the network
 * ({@link checkCompatible}), builds the network for the patch grid and heads for the objective's
 * targets, and wraps both into the model layer.
 *
 * @example
 * const model = buildModel(presetSpec('umd', 'micro/4'))
 * const { params } = model.init(Key.key(0), { images: spec([-1, 32, 32, 3]) })
 * @since 0.2.0
 */
export const buildModel = (s: ModelSpec): Model => {
  const grid = gridOf(s.corruption.patching, s.image);
  checkCompatible(s.corruption, s.network);
  // every mask must leave a patch visible on this grid (random masks keep floor(L (1 - r)))
  s.corruption.branches.forEach((wb, i) =>
    requireVisible(
      drawMask(wb.branch.mask, key(0), 1, grid),
      JSON.stringify(wb.branch.mask),
      `corruption.branches[${i}] (${JSON.stringify(wb.name)}).mask`,
    ),
  );
  const network = buildNetwork(s.network, grid, targetsOf(s.corruption));
  const inner = methodModel(s.corruption, network.layer, 'model');
  const l = layer<Params, ModelIn, ModelOut>(
    'model',
    (key, inSpec) => {
      checkInputSpec(inSpec.images, s.image);
      if (inSpec.labels && inSpec.labels.shape.length !== 1) throw new ShapeError('labels', '[B]', inSpec.labels.shape);
      const r = inner.init(key, inSpec);
      const groups = s.corruption.branches.map(() => ({
        loss: spec([]),
        latent: spec([-1, -1, s.network.encoder.width]),
        predX0: network.heads.includes('x0') ? spec([-1, grid.tokens, grid.patchDim]) : null,
        predEps: network.heads.includes('eps') ? spec([-1, grid.tokens, grid.patchDim]) : null,
        x0: spec([-1, grid.tokens, grid.patchDim]),
        xt: spec([-1, grid.tokens, grid.patchDim]),
        mask: spec([-1, grid.tokens]),
        idsRestore: spec([-1, grid.tokens], 'int32'),
        t: spec([-1], 'int32'),
      }));
      // how many rows each group gets depends on the batch's split (exact or sampled), so the row count is -1
      return {
        params: r.params,
        outSpec: { loss: spec([]), groups, names: s.corruption.branches.map((wb) => wb.name) } as unknown as SpecOf<ModelOut>,
      };
    },
    (params, x, c) => inner.apply(params, x, c),
  );
  return Object.assign(l, {
    spec: s,
    image: s.image,
    corruption: s.corruption,
    grid,
    network,
    classes: s.network.encoder.classes,
  });
};

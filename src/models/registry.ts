/**
 * Models by name: a serialisable {@link ModelSpec} (method + configuration) that checkpoints
 * carry in their metadata, and the function that builds the model from it.
 *
 * @since 0.1.0
 */
import { ConfigError } from '../core/errors.js';
import { Mask } from '../corruption/mask.js';
import type { Layer } from '../core/layer.js';
import type { Params } from '../core/params.js';
import type { Tensor } from '../core/tf.js';
import { diffmae, DIFFMAE_PRESETS, type DiffMaeConfig, type DiffMaeModel } from './diffmae.js';
import { mae, MAE_PRESETS, type MaeConfig, type MaeModel } from './mae.js';
import type { ModelIn } from './model.js';
import { condModel, COND_PRESETS, type CondConfig, type CondMethod, type CondModel } from './cond.js';

/**
 * A model by method and configuration: plain data.
 *
 * @since 0.1.0
 */
export type ModelSpec =
  | { readonly method: 'mae'; readonly config: MaeConfig }
  | { readonly method: 'diffmae'; readonly config: DiffMaeConfig }
  | { readonly method: CondMethod; readonly config: CondConfig };

/**
 * The methods {@link buildModel} knows.
 *
 * @example
 * METHODS.map((m) => presetSpec(m, 'micro/4'))
 */
export const METHODS = ['mae', 'diffmae', 'umd', 'maskdit', 'dit'] as const;
/** A method name. */
export type MethodName = (typeof METHODS)[number];

/**
 * A built model: the layer the trainer drives, and the typed model for method-specific code.
 *
 * @since 0.1.0
 */
export type BuiltModel =
  | { readonly method: 'mae'; readonly model: MaeModel }
  | { readonly method: 'diffmae'; readonly model: DiffMaeModel }
  | { readonly method: CondMethod; readonly model: CondModel };

/**
 * Builds the model a spec describes.
 *
 * @example
 * buildModel({ method: 'mae', config: MAE_PRESETS['micro/4'] })
 * @since 0.1.0
 */
export const buildModel = (spec: ModelSpec): BuiltModel =>
  spec.method === 'mae'
    ? { method: 'mae', model: mae(spec.config) }
    : spec.method === 'diffmae'
      ? { method: 'diffmae', model: diffmae(spec.config) }
      : { method: spec.method, model: condModel(spec.method, spec.config) };

/**
 * The layer a trainer drives, whatever the method.
 *
 * @example
 * trainable(buildModel(spec))
 * @since 0.1.0
 */
export const trainable = (b: BuiltModel): Layer<Params, ModelIn, { readonly loss: Tensor }> =>
  b.model as unknown as Layer<Params, ModelIn, { readonly loss: Tensor }>;

/**
 * A preset of a method as a spec.
 *
 * @example
 * presetSpec('diffmae', 'micro/4')
 * @since 0.1.0
 */
export const presetSpec = (method: MethodName, preset: string): ModelSpec => {
  // own properties only: '__proto__', 'constructor' or 'toString' name no preset
  const has = (table: object): boolean => Object.prototype.hasOwnProperty.call(table, preset);
  if (method === 'mae') {
    if (!has(MAE_PRESETS)) throw new ConfigError('--preset', preset, `must be one of ${Object.keys(MAE_PRESETS).join(', ')}`);
    return { method, config: MAE_PRESETS[preset as keyof typeof MAE_PRESETS] };
  }
  if (method === 'diffmae') {
    if (!has(DIFFMAE_PRESETS)) throw new ConfigError('--preset', preset, `must be one of ${Object.keys(DIFFMAE_PRESETS).join(', ')}`);
    return { method, config: DIFFMAE_PRESETS[preset as keyof typeof DIFFMAE_PRESETS] };
  }
  const table: Record<string, CondConfig> = COND_PRESETS[method];
  const config = has(table) ? table[preset] : undefined;
  if (!config) throw new ConfigError('--preset', preset, `must be one of ${Object.keys(table).join(', ')}`);
  return { method, config };
};

/**
 * A spec on video: clips of `frames` frames of the configured image size, cut into tubelets of
 * `tubelet` frames (default 2). Only the input shape and the patching change.
 *
 * @example
 * onVideo(presetSpec('mae', 'micro/4'), 8) // image [8, 32, 32, 3], tubelet 2
 * @since 0.1.0
 */
export const onVideo = (spec: ModelSpec, frames: number, tubelet = 2): ModelSpec => {
  const image = spec.config.image;
  const hwc = (image.length === 4 ? image.slice(1) : image) as readonly [number, number, number];
  const config = { ...spec.config, image: [frames, ...hwc] as const, tubelet };
  return { method: spec.method, config } as ModelSpec;
};

/**
 * A spec whose masks are of `kind` (random, tube or frame) at the method's own ratios: MAE,
 * DiffMAE and MaskDiT get `mask`, UMD gets `cleanMask` and `noisedMask`; DiT has no mask and
 * accepts only `random` (a no-op).
 *
 * @example
 * withMaskKind(onVideo(presetSpec('diffmae', 'micro/4'), 8), 'tube')
 * @since 0.1.0
 */
export const withMaskKind = (spec: ModelSpec, kind: 'random' | 'tube' | 'frame'): ModelSpec => {
  const make = (ratio: number): Mask => (kind === 'random' ? Mask.random(ratio) : kind === 'tube' ? Mask.tube(ratio) : Mask.frame(ratio));
  switch (spec.method) {
    case 'mae':
    case 'diffmae':
      return { ...spec, config: { ...spec.config, mask: make(spec.config.maskRatio ?? 0.75) } } as ModelSpec;
    case 'maskdit':
      return { ...spec, config: { ...spec.config, mask: make(spec.config.maskRatio ?? 0.5) } };
    case 'umd': {
      const noised = spec.config.noisedRatio ?? 0.375;
      return {
        ...spec,
        config: {
          ...spec.config,
          cleanMask: make(spec.config.cleanRatio ?? 0.75),
          ...(noised === 0 ? {} : { noisedMask: make(noised) }),
        },
      };
    }
    case 'dit':
      if (kind !== 'random') throw new ConfigError('mask kind', kind, 'DiT has no mask');
      return spec;
  }
};

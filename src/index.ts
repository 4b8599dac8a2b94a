/**
 * tesserae: a composable, functional model-definition DSL on TensorFlow.js for self-supervised
 * vision. This entry point is universal (Node and browsers); Node-only helpers (files, PNG
 * writing to disk) live in `tesserae/node`, fast-check arbitraries in `tesserae/testing`.
 *
 * @module tesserae
 */
// core
export * from './core/errors.js';
export * as Check from './core/check.js';
export * as Decode from './core/decode.js';
export * as Key from './core/key.js';
export type { Key as PRNGKey } from './core/key.js';
export * from './core/spec.js';
export * from './core/params.js';
export * from './core/layer.js';
export * from './core/initializers.js';
export { tf, type Tensor } from './core/tf.js';
// combinators
export * from './combinators/serial.js';
export * from './combinators/stack.js';
export * from './combinators/parallel.js';
export * from './combinators/branch.js';
export * from './combinators/residual.js';
export * from './combinators/lift.js';
export * from './combinators/chain.js';
export * from './combinators/stage.js';
export type { AnyLayer, ParamsRecord, Merge, UnionToIntersection } from './combinators/types.js';
// layers
export * from './layers/ops.js';
export * from './layers/dense.js';
export * from './layers/layerNorm.js';
export * from './layers/attention.js';
export * from './layers/mlp.js';
export * from './layers/posEmbed.js';
export * from './layers/timeEmbed.js';
// vision
export * from './vision/patchify.js';
export * from './vision/patchEmbed.js';
export * from './vision/vitBlock.js';
export * from './vision/tokens.js';
export * from './vision/vit.js';
export * from './vision/cross.js';
export * from './vision/fit.js';
// corruption
export * from './corruption/mask.js';
export * from './corruption/schedule.js';
export * from './corruption/noise.js';
export * from './corruption/time.js';
export * from './corruption/objective.js';
export * from './corruption/corruption.js';
export * from './corruption/codec.js';
export * from './corruption/questions.js';
// models
export * from './models/methods.js';
export * from './models/model.js';
export * from './train/optimizer.js';
export * from './train/schedule.js';
export * from './train/step.js';
export * from './train/trainer.js';
export * from './train/checkpoint.js';
export * from './train/finetune.js';
export * from './eval/reconstruction.js';
export * from './eval/heldout.js';
export * from './eval/flops.js';
export * from './eval/features.js';
export * from './eval/probes.js';
export * from './eval/classify.js';
export * from './eval/samples.js';
export * from './eval/evaluate.js';
export * from './eval/ssim.js';
export * from './eval/baselines.js';
export * from './data/batches.js';
export * from './data/split.js';
export * from './models/mae.js';
export * from './models/maeReference.js';
export * from './models/diffmae.js';
export * from './models/spec.js';
export * from './models/presets.js';
export * from './models/network.js';
export * from './models/build.js';
export * from './models/transforms.js';
export * from './models/sampling.js';
export * from './checkpoints/open.js';
export * from './checkpoints/reference.js';
export * from './models/specSchema.js';
export * from './models/cond.js';
export * from './vision/condAe.js';
export * from './layers/conditioning.js';
export * from './diffusion/sampler.js';
export * from './diffusion/inpaint.js';
export * from './diffusion/generate.js';
// data and images
export * from './io/png.js';
export * from './io/pngDecode.js';
export * from './io/npy.js';
export * from './io/idx.js';
export * from './io/safetensors.js';
export * from './io/plot.js';
export * from './io/images.js';
export * from './data/synthetic.js';
// backends
export * from './backends/index.js';

/**
 * Classification on top of any method's encoder, as in MAE's fine-tuning recipe scaled down:
 * the encoder's pooled features, a LayerNorm and a linear head (initialised near zero),
 * softmax cross-entropy with label smoothing, and layer-wise learning-rate decay (block i of
 * a depth-L encoder trains at lr * decay^(L + 1 - (i + 1)); embeddings at decay^(L + 1); the
 * final norm and the head at the full rate). The classifier is an ordinary layer from
 * `{ images, labels }` to `{ loss, logits }`, so the same trainer trains it.
 *
 * @since 0.1.0
 */
import { positiveInt, unit } from '../core/check.js';
import { ConfigError, ShapeError } from '../core/errors.js';
import { normalInit } from '../core/initializers.js';
import { fold, key as makeKey, type Key } from '../core/key.js';
import { ctx as makeCtx, layer, subCtx, type Ctx, type Layer } from '../core/layer.js';
import type { Params } from '../core/params.js';
import { spec, type SpecOf } from '../core/spec.js';
import { tf, type Tensor } from '../core/tf.js';
import type { LabelledImages } from '../data/labelled.js';
import { applyDense, initDense, type DenseParams } from '../layers/dense.js';
import { layerNormOp, type LayerNormParams } from '../layers/layerNorm.js';
import type { ModelIn } from '../models/model.js';
import { mapBatches, type Encoder } from './features.js';
import type { Norm } from './heldout.js';

/**
 * A classifier's params: the encoder's own params and the head.
 *
 * @since 0.1.0
 */
export type ClassifierParams = {
  readonly backbone: Params;
  readonly head: { readonly norm: LayerNormParams; readonly proj: DenseParams };
};

/**
 * A classifier's output: the loss (when labels are given, else 0) and logits [B, classes].
 *
 * @since 0.1.0
 */
export type ClassifierOut = { readonly loss: Tensor; readonly logits: Tensor };

/**
 * A classifier layer, with the learning-rate scale of each parameter path for layer-wise decay.
 *
 * @since 0.1.0
 */
export type Classifier = Layer<ClassifierParams, ModelIn, ClassifierOut> & {
  readonly encoder: Encoder;
  readonly classes: number;
  /** The pooled encoder features [B, width] the head reads (call inside `tf.tidy`). */
  readonly features: (params: ClassifierParams, images: Tensor, c: Ctx) => Tensor;
  /** lr multiplier of the leaf at `path` under layer-wise decay `decay` (1 = no decay). */
  readonly lrScale: (decay: number) => (path: string) => number;
};

/**
 * The layer index of a parameter path in a depth-`depth` encoder: 0 for embeddings, tokens and
 * the condition; i + 1 for block i; depth + 1 for the final norm and the head.
 *
 * @example
 * layerIndex('backbone.trunk.blocks.3.mlp.mlp.fc1.kernel', 4) // 4
 * @since 0.1.0
 */
export const layerIndex = (path: string, depth: number): number => {
  const block = /(?:^|\.)blocks\.(\d+)\./.exec(path);
  if (block) return Number(block[1]) + 1;
  if (path.startsWith('head.') || /(?:^|\.)norm\.(?:scale|bias)$/.test(path)) return depth + 1;
  return 0;
};

/**
 * A classifier on an encoder. `init` draws fresh encoder params (a random-init baseline);
 * replace `backbone` with a checkpoint's encoder params to fine-tune.
 *
 * @example
 * const clf = classifier(encoderOf(model), 10)
 * @since 0.1.0
 */
export const classifier = (enc: Encoder, classes: number, options: { readonly labelSmoothing?: number } = {}): Classifier => {
  positiveInt('classes', classes);
  if (classes < 2) throw new ConfigError('classes', classes, 'a classifier needs at least two classes');
  const smoothing = unit('labelSmoothing', options.labelSmoothing ?? 0.1);
  const features = (p: ClassifierParams, images: Tensor, c: Ctx): Tensor => enc.encode(p.backbone, images, subCtx(c, 'backbone'));
  const l = layer<ClassifierParams, ModelIn, ClassifierOut>(
    'classifier',
    (k, inSpec) => {
      const [, h, w, c] = inSpec.images.shape;
      if (h !== enc.image[0] || w !== enc.image[1] || c !== enc.image[2])
        throw new ShapeError('images', `[B, ${enc.image.join(', ')}]`, inSpec.images.shape);
      const params: ClassifierParams = {
        backbone: enc.init(fold(k, 'backbone')),
        head: {
          norm: { scale: tf.ones([enc.width]), bias: tf.zeros([enc.width]) },
          proj: initDense(fold(k, 'head'), enc.width, classes, { kernelInit: normalInit(2e-5) }),
        },
      };
      return { params, outSpec: { loss: spec([]), logits: spec([inSpec.images.shape[0]!, classes]) } as SpecOf<ClassifierOut> };
    },
    (p, { images, labels }, c) => {
      const f = features(p, images, c);
      const logits = applyDense(p.head.proj, layerNormOp(f, p.head.norm.scale, p.head.norm.bias, 1e-6));
      if (!labels) return { loss: tf.scalar(0), logits };
      const target = tf.add(tf.mul(tf.oneHot(labels, classes), 1 - smoothing), smoothing / classes);
      const loss = tf.neg(tf.mean(tf.sum(tf.mul(target, tf.logSoftmax(logits)), 1)));
      return { loss, logits };
    },
  );
  const lrScale =
    (decay: number) =>
    (path: string): number => {
      unit('layerDecay', decay);
      if (decay === 0) throw new ConfigError('layerDecay', decay, 'must be in (0, 1]');
      return decay ** (enc.depth + 1 - layerIndex(path, enc.depth));
    };
  return Object.assign(l, { encoder: enc, classes, lrScale, features });
};

/**
 * Predictions of a classifier over a dataset, in batches: the predicted class and the softmax
 * probabilities [count, classes] as host arrays; leaves no tensors behind.
 *
 * @example
 * const { predicted } = classify(clf, params, test, norm)
 * @since 0.1.0
 */
export const classify = (
  clf: Classifier,
  params: ClassifierParams,
  data: LabelledImages,
  norm: Norm,
  options: { readonly batch?: number; readonly key?: Key } = {},
): { readonly predicted: Int32Array; readonly probabilities: Float32Array; readonly accuracy: number } => {
  const c = makeCtx(options.key ?? makeKey(0));
  const probabilities = mapBatches(data, norm, options.batch ?? 256, clf.classes, (images) =>
    tf.softmax(clf.apply(params, { images }, c).logits),
  );
  const predicted = new Int32Array(data.count);
  let hit = 0;
  for (let i = 0; i < data.count; i++) {
    let best = 0;
    for (let k = 1; k < clf.classes; k++) if (probabilities[i * clf.classes + k]! > probabilities[i * clf.classes + best]!) best = k;
    predicted[i] = best;
    if (best === data.labels[i]) hit++;
  }
  return { predicted, probabilities, accuracy: data.count === 0 ? 0 : hit / data.count };
};

/**
 * The one place tesserae imports TensorFlow.js core. Importing it also registers what
 * tfjs-core alone does not: the gradients of its kernels and the chained tensor methods that
 * some gradients call (see `register.ts`). `#tfjs-register` resolves through package.json
 * `imports`:
 *
 * - in Node (`node` condition) to dist/tfjs-register.mjs, a prebundle of register.ts made by
 *   scripts/build.mjs, because Node cannot load tfjs-core's ESM files (extensionless imports);
 * - in a bundler (`default`) to register.ts compiled, whose tfjs-core imports the bundler
 *   resolves itself.
 *
 * Either way the registrations land in tfjs' global registries, which every copy of tfjs-core
 * in a process shares (the engine, kernel and gradient registries and the Tensor class live on
 * a global), so the prebundle's private copy of the ops it needs is harmless.
 *
 * @since 0.1.0
 */
import * as tf from '@tensorflow/tfjs-core';
import '#tfjs-register';

export { tf };

/** A tfjs tensor of any rank. */
export type Tensor = tf.Tensor;

/**
 * Side effects tfjs-core leaves to its users: registering the gradients of its kernels and
 * the chained tensor methods (`x.reshape(...)`) that a few of those gradients call.
 *
 * Bundlers (Vite, webpack, esbuild for the browser) load this module as it is: package.json
 * maps `#tfjs-register` to it under the `default` condition. Node cannot load the two tfjs-core
 * files it imports (ESM with extensionless imports), so scripts/build.mjs prebundles this very
 * file into dist/tfjs-register.mjs, which `#tfjs-register` names under the `node` condition.
 *
 * @since 0.1.0
 */
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js';

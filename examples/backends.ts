/**
 * Backends and memory: choosing a backend as a value, reading results without leaking, and
 * finding a leak. docs/guides/backends-and-memory.md includes this file by region.
 * Run: node dist/examples/backends.js
 */
import {
  BackendError,
  Key,
  activeBackend,
  ctx,
  disposeParams,
  mae,
  spec,
  synthetic,
  tf,
  useBackend,
  type BackendName,
} from '../src/index.js';

/** Picks a backend: the best available with `auto`, or one by name, falling back with the reason. */
export const choose = async (wanted: BackendName): Promise<{ backend: BackendName; fellBack: string | null }> => {
  // #region choose
  let fellBack: string | null = null;
  try {
    await useBackend(wanted); // 'webgpu', 'node-gpu', 'wasm' or 'cpu'
  } catch (e) {
    if (!(e instanceof BackendError)) throw e;
    fellBack = e.message; // names the package to install, e.g. "npm i @tensorflow/tfjs-node-gpu (...)"
    await useBackend('auto'); // node-gpu, then a hardware webgpu, then wasm, then cpu
  }
  // #endregion choose
  return { backend: activeBackend()!, fellBack };
};

/** One forward pass that leaves exactly its result alive, read asynchronously. */
export const forwardTidy = async (): Promise<{ loss: number; leaked: number }> => {
  // #region tidy
  const model = mae('micro/4');
  const { params } = model.init(Key.key(0), { images: spec([-1, 32, 32, 3]) });
  const before = tf.memory().numTensors;
  const images = tf.tensor4d(synthetic({ count: 4 }).images, [4, 32, 32, 3]);
  // everything apply creates is freed by tidy except what it returns
  const loss = tf.tidy(() => model.apply(params, { images }, ctx(Key.key(1))).loss);
  const value = (await loss.data())[0]!; // async: works on every backend, WebGPU included
  tf.dispose([loss, images]);
  const leaked = tf.memory().numTensors - before; // 0
  disposeParams(params); // params are the only long-lived tensors; free them when done
  // #endregion tidy
  return { loss: value, leaked };
};

/**
 * Counts the tensors a call leaves alive beyond the ones it returns: the check every tesserae
 * test runs around its steps. Wrap a suspect step; a positive count is a leak, and wrapping
 * smaller pieces narrows it down.
 */
export const leaks = <T>(fn: () => T): { result: T; leaked: number } => {
  // #region leaks
  const before = tf.memory().numTensors;
  const result = fn();
  const returned = new Set<number>();
  const walk = (x: unknown): void => {
    if (x instanceof tf.Tensor) returned.add(x.id);
    else if (x && typeof x === 'object') Object.values(x).forEach(walk);
  };
  walk(result); // tensors in the result are the caller's to dispose, not leaks
  const leaked = tf.memory().numTensors - before - returned.size;
  // #endregion leaks
  return { result, leaked };
};

/** A deliberately leaky step (an intermediate made outside tidy) and its fix. */
export const leakyAndFixed = (): { leaky: number; fixed: number } => {
  const x = tf.ones([8, 8]);
  // #region fix
  const leaky = leaks(() => tf.sum(tf.square(x))); // tf.square(x) is never disposed: 1 leak
  const fixed = leaks(() => tf.tidy(() => tf.sum(tf.square(x)))); // tidy frees the intermediate
  // #endregion fix
  tf.dispose([leaky.result, fixed.result, x]);
  return { leaky: leaky.leaked, fixed: fixed.leaked };
};

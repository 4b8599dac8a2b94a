/**
 * Choosing and initialising a tfjs backend. The embedded defaults ship with tesserae: `wasm`
 * (XNNPACK SIMD kernels, the fast one on a CPU) and `cpu` (pure JavaScript, always there).
 * `auto` picks the best of these that initialises.
 *
 * @since 0.1.0
 */
import { BackendError } from '../core/errors.js';
import { tf } from '../core/tf.js';
import { installWasmKernels } from '../kernels/wasmKernels.js';

/** Our WASM kernels are on unless TESSERAE_WASM_KERNELS=0 (for A/B measurements). */
const kernelsEnabled = (): boolean =>
  (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.['TESSERAE_WASM_KERNELS'] !== '0';

/**
 * A backend name.
 *
 * @since 0.1.0
 */
export type BackendName = 'cpu' | 'wasm';

/**
 * What {@link useBackend} accepts.
 *
 * @since 0.1.0
 */
export type BackendChoice = BackendName | 'auto';

const loaders: Record<BackendName, () => Promise<unknown>> = {
  cpu: () => import('@tensorflow/tfjs-backend-cpu'),
  wasm: () => import('@tensorflow/tfjs-backend-wasm'),
};

const packages: Record<BackendName, string> = {
  cpu: '@tensorflow/tfjs-backend-cpu',
  wasm: '@tensorflow/tfjs-backend-wasm',
};

const tryBackend = async (name: BackendName): Promise<string | null> => {
  try {
    await loaders[name]();
  } catch (e) {
    return `cannot import ${packages[name]} (${(e as Error).message}); install it with npm i ${packages[name]}`;
  }
  try {
    const ok = await tf.setBackend(name);
    if (!ok) return 'the backend failed to initialise';
    await tf.ready();
    // The CPU backend advertises tfjs-node on first use in Node; tesserae chooses backends itself.
    const backend = tf.backend() as unknown as { firstUse?: boolean };
    if (name === 'cpu' && 'firstUse' in backend) backend.firstUse = false;
    if (name === 'wasm' && kernelsEnabled()) await installWasmKernels();
    return null;
  } catch (e) {
    return `initialisation failed: ${(e as Error).message}`;
  }
};

/**
 * Makes `choice` the active tfjs backend and returns its name. Throws a {@link BackendError}
 * naming the package to install when a requested backend cannot be loaded.
 *
 * @example
 * await useBackend('wasm')
 * await useBackend('auto') // wasm, else cpu
 * @since 0.1.0
 */
export const useBackend = async (choice: BackendChoice): Promise<BackendName> => {
  if (choice === 'auto') {
    const errors: string[] = [];
    for (const name of ['wasm', 'cpu'] as const) {
      const err = await tryBackend(name);
      if (err === null) return name;
      errors.push(`${name}: ${err}`);
    }
    throw new BackendError('auto', `no backend could be initialised (${errors.join('; ')})`);
  }
  if (!(choice in loaders)) throw new BackendError(choice, `unknown backend; choose one of ${Object.keys(loaders).join(', ')}, auto`);
  const err = await tryBackend(choice);
  if (err !== null) throw new BackendError(choice, err);
  return choice;
};

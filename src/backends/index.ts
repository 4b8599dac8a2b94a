/**
 * Choosing and initialising a tfjs backend, as a value. The embedded defaults ship with
 * tesserae: `wasm` (XNNPACK SIMD plus tesserae's kernels, the fast one on a CPU) and `cpu` (pure
 * JavaScript, always there). Two more are optional peers, loaded by dynamic import only when
 * asked for (or probed by `auto`):
 *
 * - `webgpu`: `@tensorflow/tfjs-backend-webgpu`, on the browser's `navigator.gpu`, or in Node on
 *   Dawn through the `webgpu` package (dawn.node), which provides `navigator.gpu`;
 * - `node-gpu`: `@tensorflow/tfjs-node-gpu` (CUDA through libtensorflow), registered by tfjs as
 *   the `tensorflow` backend.
 *
 * `auto` takes the first that works of node-gpu, webgpu on a hardware adapter, wasm, cpu. A
 * software WebGPU adapter (SwiftShader, lavapipe, llvmpipe) is slower than WASM, so `auto` skips
 * it; ask for `webgpu` by name to use it anyway.
 *
 * @since 0.1.0
 */
import { BackendError } from '../core/errors.js';
import { tf } from '../core/tf.js';
import { installWasmKernels } from '../kernels/wasmKernels.js';

/** Our WASM kernels are on unless TESSERAE_WASM_KERNELS=0 (for A/B measurements). */
const kernelsEnabled = (): boolean => env('TESSERAE_WASM_KERNELS') !== '0';

const env = (name: string): string | undefined =>
  (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.[name];

const isNode = (): boolean => typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === 'string';

/**
 * The backends tesserae knows, in the order `auto` tries them.
 *
 * @example
 * for (const b of BACKEND_NAMES) console.log(b)
 * @since 0.1.0
 */
export const BACKEND_NAMES = ['node-gpu', 'webgpu', 'wasm', 'cpu'] as const;

/**
 * A backend name.
 *
 * @since 0.1.0
 */
export type BackendName = (typeof BACKEND_NAMES)[number];

/**
 * What {@link useBackend} accepts.
 *
 * @since 0.1.0
 */
export type BackendChoice = BackendName | 'auto';

/**
 * The npm package each backend needs.
 *
 * @example
 * BACKEND_PACKAGES['node-gpu'] // '@tensorflow/tfjs-node-gpu'
 */
export const BACKEND_PACKAGES: Readonly<Record<BackendName, string>> = {
  'node-gpu': '@tensorflow/tfjs-node-gpu',
  webgpu: '@tensorflow/tfjs-backend-webgpu',
  wasm: '@tensorflow/tfjs-backend-wasm',
  cpu: '@tensorflow/tfjs-backend-cpu',
};

/** What to install, beyond the package, per backend (for error messages). */
const HINTS: Readonly<Record<BackendName, string>> = {
  'node-gpu':
    'npm i @tensorflow/tfjs-node-gpu (Linux x86-64 with CUDA 11.2 and cuDNN 8.1; its install script downloads libtensorflow 2.9.1, see docs/backends.md for offline mirrors)',
  webgpu: 'npm i @tensorflow/tfjs-backend-webgpu (and, in Node, npm i webgpu for Dawn)',
  wasm: 'npm i @tensorflow/tfjs-backend-wasm',
  cpu: 'npm i @tensorflow/tfjs-backend-cpu',
};

/** The name tfjs registers each backend under. */
const TFJS_NAME: Readonly<Record<BackendName, string>> = { 'node-gpu': 'tensorflow', webgpu: 'webgpu', wasm: 'wasm', cpu: 'cpu' };

/**
 * What the environment offers, injectable so the selection logic is testable without the GPU
 * packages (and with them absent on purpose).
 *
 * @since 0.1.0
 */
export interface BackendEnv {
  /** Imports a package by name (default: dynamic `import`). */
  readonly importPackage: (name: string) => Promise<unknown>;
  /** Whether this is Node (Dawn is needed there for WebGPU). */
  readonly node: boolean;
}

/**
 * The real environment: the embedded backends by literal import (so bundlers include them), the
 * optional peers by computed name (so bundlers leave them out unless the app imports them).
 *
 * @example
 * await useBackend('auto', { ...defaultEnv(), importPackage: async (n) => import(n) })
 * @since 0.1.0
 */
export const defaultEnv = (): BackendEnv => ({
  importPackage: (name) =>
    name === '@tensorflow/tfjs-backend-wasm'
      ? import('@tensorflow/tfjs-backend-wasm')
      : name === '@tensorflow/tfjs-backend-cpu'
        ? import('@tensorflow/tfjs-backend-cpu')
        : import(/* @vite-ignore */ name),
  node: isNode(),
});

/**
 * The part of a WebGPU adapter tesserae reads (info for the software check, limits, requestDevice).
 *
 * @since 0.1.0
 */
export type GpuAdapterLike = {
  readonly info?: {
    readonly vendor?: string;
    readonly architecture?: string;
    readonly device?: string;
    readonly description?: string;
    readonly isFallbackAdapter?: boolean;
  };
  readonly isFallbackAdapter?: boolean;
  readonly limits?: Readonly<Record<string, number>>;
  requestDevice?: (d?: { requiredLimits?: Record<string, number> }) => Promise<unknown>;
};
/**
 * The part of `navigator.gpu` tesserae uses.
 *
 * @since 0.1.0
 */
export type GpuLike = { requestAdapter: (o?: Record<string, unknown>) => Promise<GpuAdapterLike | null> };

/**
 * Dawn's navigator.gpu made usable by tfjs: an adapter request that finds no core adapter tries
 * a compatibility-mode one (Dawn's OpenGL backend offers only those), and devices ask for the
 * adapter's full storage-buffer limit (tfjs asks for the default 8, and its addN over more inputs
 * then silently miscomputes).
 */
const dawnGpu = (gpu: GpuLike): GpuLike => {
  const device = (a: GpuAdapterLike): GpuAdapterLike =>
    new Proxy(a, {
      get: (target, prop) => {
        const v = Reflect.get(target, prop) as unknown;
        if (prop === 'requestDevice' && typeof v === 'function')
          return (d: { requiredLimits?: Record<string, number> } = {}) => {
            const max = target.limits?.['maxStorageBuffersPerShaderStage'];
            const requiredLimits = { ...(max === undefined ? {} : { maxStorageBuffersPerShaderStage: max }), ...d.requiredLimits };
            return (v as (d: unknown) => Promise<unknown>).call(target, { ...d, requiredLimits });
          };
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
  return {
    requestAdapter: async (o = {}) => {
      const a = (await gpu.requestAdapter(o)) ?? (await gpu.requestAdapter({ ...o, featureLevel: 'compatibility' }));
      return a ? device(a) : null;
    },
  };
};

/** The adapter options tfjs-backend-webgpu itself uses, so the probe and tfjs pick the same adapter. */
const adapterOptions = (): Record<string, unknown> => {
  let low = false;
  try {
    low = tf.env().getBool('WEBGPU_USE_LOW_POWER_GPU');
  } catch {
    // the flag is registered by tfjs-backend-webgpu; before its import, the default applies
  }
  return { powerPreference: low ? 'low-power' : 'high-performance' };
};

/** navigator.gpu, providing it in Node from the `webgpu` package (Dawn) when absent. */
const webgpuNavigator = async (e: BackendEnv): Promise<GpuLike> => {
  const g = globalThis as { navigator?: { gpu?: GpuLike } };
  if (g.navigator?.gpu) return g.navigator.gpu;
  if (!e.node) throw new Error('this browser has no navigator.gpu (WebGPU is off or unsupported)');
  let dawn: { create?: (flags: string[]) => GpuLike; globals?: Record<string, unknown> };
  try {
    dawn = (await e.importPackage('webgpu')) as typeof dawn;
  } catch (err) {
    throw new Error(`no navigator.gpu in Node and cannot import the webgpu package (Dawn): ${(err as Error).message}`);
  }
  if (typeof dawn.create !== 'function') throw new Error('the webgpu package has no create()');
  Object.assign(globalThis, dawn.globals ?? {});
  const flags = (env('TESSERAE_DAWN_FLAGS') ?? '').split(' ').filter(Boolean);
  // Dawn's OpenGL backends need a display-less EGL platform on a headless machine
  const backendFlag = flags.find((fl) => fl.startsWith('backend='))?.slice('backend='.length) ?? env('DAWNNODE_BACKEND') ?? '';
  const proc = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
  if (/^(opengl|gl|opengles|gles)$/i.test(backendFlag) && proc?.env && proc.env['EGL_PLATFORM'] === undefined)
    proc.env['EGL_PLATFORM'] = 'surfaceless';
  const gpu = dawnGpu(dawn.create(flags));
  if (!g.navigator) Object.defineProperty(globalThis, 'navigator', { value: {}, configurable: true, writable: true });
  Object.defineProperty(g.navigator!, 'gpu', { value: gpu, configurable: true });
  return gpu;
};

const SOFTWARE = /swiftshader|lavapipe|llvmpipe|software|microsoft basic/i;

/**
 * Whether a WebGPU adapter is a software rasteriser (slower than WASM for training).
 *
 * @example
 * isSoftwareAdapter({ info: { vendor: 'google', architecture: 'swiftshader' } }) // true
 * @since 0.1.0
 */
export const isSoftwareAdapter = (a: GpuAdapterLike): boolean =>
  a.isFallbackAdapter === true ||
  a.info?.isFallbackAdapter === true ||
  SOFTWARE.test(`${a.info?.vendor ?? ''} ${a.info?.architecture ?? ''} ${a.info?.device ?? ''} ${a.info?.description ?? ''}`);

/**
 * tfjs-backend-webgpu reads synchronously (dataSync) through OffscreenCanvas, which Node lacks:
 * turn the resulting ReferenceError into a BackendError that says what to do instead.
 */
const guardSyncReads = (): void => {
  const b = tf.backend() as unknown as { readSync: (id: unknown) => unknown; tesseraeGuarded?: boolean };
  if (b.tesseraeGuarded) return;
  const read = b.readSync.bind(b);
  b.readSync = (id: unknown) => {
    try {
      return read(id);
    } catch (err) {
      if (err instanceof ReferenceError && /OffscreenCanvas/.test(err.message))
        throw new BackendError(
          'webgpu',
          'synchronous reads (dataSync, arraySync) need OffscreenCanvas, which Node lacks: read with await tensor.data(), or use wasm, cpu or node-gpu for training and the CLI',
        );
      throw err;
    }
  };
  b.tesseraeGuarded = true;
};

/**
 * Whether this Node machine has a GPU device node (DRM render nodes, NVIDIA, WSL's dxg): without
 * one, Dawn can only offer a software adapter, which `auto` would skip anyway, so it is not
 * probed (probing costs about 0.1 s and prints Dawn's warnings). Unknown (no node:fs) counts as yes.
 */
const gpuDevicePresent = async (e: BackendEnv): Promise<boolean> => {
  try {
    const fs = (await e.importPackage('node:fs')) as { existsSync: (p: string) => boolean; readdirSync: (p: string) => string[] };
    const dri = fs.existsSync('/dev/dri') ? fs.readdirSync('/dev/dri').some((n) => n.startsWith('renderD')) : false;
    return dri || fs.existsSync('/dev/nvidia0') || fs.existsSync('/dev/dxg');
  } catch {
    return true;
  }
};

/** Tries one backend; null on success, else why not. `auto` also refuses software WebGPU. */
const tryBackend = async (name: BackendName, e: BackendEnv, auto: boolean): Promise<string | null> => {
  if (name === 'node-gpu' && !e.node) return 'needs Node';
  try {
    // tfjs-backend-webgpu registers itself only if navigator.gpu exists when it is imported
    let adapter: GpuAdapterLike | null = null;
    if (name === 'webgpu') {
      if (auto && e.node && !(await gpuDevicePresent(e))) return 'no GPU device (/dev/dri/renderD*, /dev/nvidia0, /dev/dxg); not probed';
      const gpu = await webgpuNavigator(e);
      adapter = await gpu.requestAdapter(adapterOptions());
      if (!adapter) return 'no WebGPU adapter (see docs/backends.md for a software adapter in Node or Chromium)';
      if (auto && isSoftwareAdapter(adapter)) return 'only a software adapter, slower than wasm (ask for webgpu by name to use it)';
    }
    // a bundle may have imported (registered) the backend itself; otherwise import it by name
    if (!tf.findBackendFactory(TFJS_NAME[name])) {
      try {
        await e.importPackage(BACKEND_PACKAGES[name]);
      } catch (err) {
        return `cannot import ${BACKEND_PACKAGES[name]} (${(err as Error).message.split('\n')[0]}); install it: ${HINTS[name]}`;
      }
    }
    if (!tf.findBackendFactory(TFJS_NAME[name])) return `${BACKEND_PACKAGES[name]} registered no ${TFJS_NAME[name]} backend`;
    const ok = await tf.setBackend(TFJS_NAME[name]);
    if (!ok) return 'the backend failed to initialise';
    await tf.ready();
    // The CPU backend advertises tfjs-node on first use in Node; tesserae chooses backends itself.
    const backend = tf.backend() as unknown as { firstUse?: boolean };
    if (name === 'cpu' && 'firstUse' in backend) backend.firstUse = false;
    if (name === 'wasm' && kernelsEnabled()) await installWasmKernels();
    if (name === 'webgpu' && e.node) guardSyncReads();
    return null;
  } catch (err) {
    return `initialisation failed: ${(err as Error).message}`;
  }
};

/**
 * Makes `choice` the active tfjs backend and returns its name. A requested backend that cannot
 * be loaded is a {@link BackendError} naming the package to install; `auto` tries node-gpu,
 * hardware webgpu, wasm, then cpu, and says why each failed if none works.
 *
 * @example
 * await useBackend('wasm')
 * await useBackend('auto') // node-gpu, else hardware webgpu, else wasm, else cpu
 * @since 0.1.0
 */
export const useBackend = async (choice: BackendChoice, e: BackendEnv = defaultEnv()): Promise<BackendName> => {
  if (choice === 'auto') {
    const errors: string[] = [];
    for (const name of BACKEND_NAMES) {
      const err = await tryBackend(name, e, true);
      if (err === null) return name;
      errors.push(`${name}: ${err}`);
    }
    throw new BackendError('auto', `no backend could be initialised (${errors.join('; ')})`);
  }
  if (!(BACKEND_NAMES as readonly string[]).includes(choice))
    throw new BackendError(choice, `unknown backend; choose one of ${BACKEND_NAMES.join(', ')}, auto`);
  const err = await tryBackend(choice, e, false);
  if (err !== null) throw new BackendError(choice, err);
  return choice;
};

/**
 * The tesserae name of the active tfjs backend (`tensorflow` is node-gpu), or null for a
 * backend tesserae does not know.
 *
 * @example
 * activeBackend() // 'wasm'
 * @since 0.1.0
 */
export const activeBackend = (): BackendName | null => {
  const n = tf.getBackend();
  return BACKEND_NAMES.find((b) => TFJS_NAME[b] === n) ?? null;
};

/**
 * The WASM backend's heap is one WebAssembly memory of at most 4 GiB; past it, tfjs fails with a
 * bare `RuntimeError: memory access out of bounds` (or `Aborted()` when XNNPACK's allocation
 * fails) and the backend cannot be used again in that process. This turns such an error into a {@link BackendError} that says so and what to change
 * (`advice`); any other error comes back unchanged.
 *
 * @example
 * try { tf.matMul(a, b) } catch (e) { throw wasmOutOfMemory(e, 'lower --batch') }
 * @since 0.2.0
 */
export const wasmOutOfMemory = (e: unknown, advice: string): unknown =>
  e instanceof Error &&
  (e.name === 'RuntimeError' || e.message.includes('RuntimeError: ')) && // in this thread, or reported by a gradient worker
  /memory access out of bounds|out of memory|Cannot enlarge memory|Aborted\((OOM)?\)/i.test(e.message)
    ? new BackendError(
        'wasm',
        `ran out of memory (${e.message}): a WebAssembly heap holds at most 4 GiB, and the backend cannot continue in this process; ${advice}`,
      )
    : e;

/**
 * Faster kernels for tfjs' WASM backend: BatchMatMul, row GatherV2, and a fused exact GELU
 * (forward and backward, registered as `TesseraeGelu` / `TesseraeGeluGrad`). tfjs runs a matrix product through XNNPACK only
 * when it is a single, untransposed 2D product; every batched or transposed one (attention's
 * q k^T and p v, and their gradients) falls to a scalar triple loop at about 2-3 GFLOP/s. This
 * kernel takes those: transposed operands are first made contiguous with the backend's own
 * (fast, rank-4) Transpose kernel, then a SIMD kernel (scripts/wasm-kernels.mjs: 4 x 8
 * register tiles of f32x4) multiplies them in place, reading and writing tfjs' WASM memory
 * directly. Single untransposed 2D products and broadcast batches still go to tfjs' kernel.
 *
 * @since 0.1.0
 */
import { tf } from '../core/tf.js';
import { BMM_WASM } from './bmm.wasm.js';

/** The parts of tfjs' WASM backend this kernel touches (checked at install). */
interface WasmBackendView {
  readonly wasm: { readonly asm: { readonly memory: WebAssembly.Memory } };
  readonly dataIdMap: { get(id: object): { readonly memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo;
  disposeData(id: object): boolean;
}

type KernelArgs = Parameters<tf.KernelFunc>[0];

const isView = (b: unknown): b is WasmBackendView => {
  const v = b as Partial<WasmBackendView> | null;
  return (
    !!v &&
    typeof v.makeOutput === 'function' &&
    typeof v.disposeData === 'function' &&
    !!v.dataIdMap &&
    v.wasm?.asm?.memory instanceof WebAssembly.Memory
  );
};

const decode = (b64: string): Uint8Array => {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
};

let installed: WebAssembly.Memory | null = null;

/**
 * Installs the kernel on the active WASM backend (idempotent); returns whether it is active.
 * Set `TESSERAE_WASM_KERNELS=0` (Node) to keep tfjs' own kernel.
 *
 * @example
 * await useBackend('wasm') // installs it
 * @since 0.1.0
 */
export const installWasmKernels = async (): Promise<boolean> => {
  const backend = tf.findBackend('wasm');
  if (!isView(backend)) return false;
  const memory = backend.wasm.asm.memory;
  if (installed === memory) return true;
  const original = tf.getKernel('BatchMatMul', 'wasm');
  if (!original) return false;
  const { instance } = (await WebAssembly.instantiate(decode(BMM_WASM), { env: { memory } })) as unknown as {
    instance: WebAssembly.Instance;
  };
  const bmm = instance.exports['bmm'] as (a: number, b: number, c: number, batch: number, m: number, k: number, n: number) => void;
  const base = (original as unknown as { readonly base?: tf.KernelConfig }).base ?? original;
  const offset = (t: tf.TensorInfo): number => {
    const d = backend.dataIdMap.get(t.dataId);
    if (!d) throw new Error('tensor data is not on the WASM backend');
    return d.memoryOffset;
  };
  const kernelFunc = (args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] => {
    const a = args.inputs['a']!;
    const b = args.inputs['b']!;
    const transposeA = args.attrs?.['transposeA'] === true;
    const transposeB = args.attrs?.['transposeB'] === true;
    const rank = a.shape.length;
    const batchShape = a.shape.slice(0, -2);
    const sameBatch = b.shape.length === rank && b.shape.slice(0, -2).every((d, i) => d === batchShape[i]);
    const batch = batchShape.reduce((x, y) => x * y, 1);
    // (tfjs' XNNPACK path returns uninitialised memory when the inner dimension is 0, so K = 0 stays here)
    const inner = transposeA ? a.shape[rank - 2]! : a.shape[rank - 1]!;
    if (
      a.dtype !== 'float32' ||
      b.dtype !== 'float32' ||
      rank < 2 ||
      !sameBatch ||
      (batch === 1 && !transposeA && !transposeB && inner > 0)
    ) {
      return base.kernelFunc(args);
    }
    const transpose = tf.getKernel('Transpose', 'wasm')!;
    const swapLast = (x: tf.TensorInfo): tf.TensorInfo => {
      const perm = [...Array(rank - 2).keys(), rank - 1, rank - 2];
      return transpose.kernelFunc({ inputs: { x }, backend: args.backend, attrs: { perm } }) as tf.TensorInfo;
    };
    const aa = transposeA ? swapLast(a) : a;
    const bb = transposeB ? swapLast(b) : b;
    const [m, k] = aa.shape.slice(-2) as [number, number];
    const n = bb.shape[rank - 1]!;
    const out = backend.makeOutput([...batchShape, m, n], 'float32');
    if (batch * m * n > 0) bmm(offset(aa), offset(bb), offset(out), batch, m, k, n);
    if (aa !== a) backend.disposeData(aa.dataId);
    if (bb !== b) backend.disposeData(bb.dataId);
    return out;
  };
  tf.unregisterKernel('BatchMatMul', 'wasm');
  tf.registerKernel({ ...base, kernelFunc, base } as unknown as tf.KernelConfig);
  installGather(backend, instance, offset);
  installGelu(backend, instance, offset);
  installed = memory;
  return true;
};

/**
 * GatherV2 of whole rows (float32 [R, ...] by int32 indices [n], axis 0): one memory copy per
 * row, where tfjs' WASM kernel computes every element's source index. Anything else (other
 * axes, batch dims, dtypes, an index out of range: tfjs reports those) goes to tfjs' kernel.
 */
const installGather = (backend: WasmBackendView, instance: WebAssembly.Instance, offset: (t: tf.TensorInfo) => number): void => {
  const original = tf.getKernel('GatherV2', 'wasm');
  if (!original) return;
  const base = (original as unknown as { readonly base?: tf.KernelConfig }).base ?? original;
  const gatherRows = instance.exports['gather_rows'] as (src: number, idx: number, dst: number, count: number, rowBytes: number) => void;
  const kernelFunc = (args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] => {
    const x = args.inputs['x']!;
    const indices = args.inputs['indices']!;
    const axis = Number(args.attrs?.['axis'] ?? 0);
    const batchDims = Number(args.attrs?.['batchDims'] ?? 0);
    if (
      x.dtype !== 'float32' ||
      indices.dtype !== 'int32' ||
      indices.shape.length !== 1 ||
      axis !== 0 ||
      batchDims !== 0 ||
      x.shape.length < 1
    ) {
      return base.kernelFunc(args);
    }
    const rows = x.shape[0]!;
    const n = indices.shape[0]!;
    const ids = new Int32Array(backend.wasm.asm.memory.buffer, offset(indices), n);
    for (let i = 0; i < n; i++) if (ids[i]! < 0 || ids[i]! >= rows) return base.kernelFunc(args);
    const rowSize = x.shape.slice(1).reduce((a, b) => a * b, 1);
    const out = backend.makeOutput([n, ...x.shape.slice(1)], 'float32');
    if (n * rowSize > 0) gatherRows(offset(x), offset(indices), offset(out), n, rowSize * 4);
    return out;
  };
  tf.unregisterKernel('GatherV2', 'wasm');
  tf.registerKernel({ ...base, kernelFunc, base } as unknown as tf.KernelConfig);
};

/** The kernel names of the fused GELU (the `gelu` op uses them where the backend has them). */
export const GELU_KERNEL = 'TesseraeGelu';
export const GELU_GRAD_KERNEL = 'TesseraeGeluGrad';

/**
 * Fused GELU: one pass for 0.5 x (1 + erf(x / sqrt 2)) and one for its derivative times dy,
 * where the composed ops take seven kernels forward and ten backward.
 */
const installGelu = (backend: WasmBackendView, instance: WebAssembly.Instance, offset: (t: tf.TensorInfo) => number): void => {
  const fwd = instance.exports['gelu_fwd'] as (x: number, y: number, n: number) => void;
  const bwd = instance.exports['gelu_bwd'] as (x: number, dy: number, dx: number, n: number) => void;
  const size = (t: tf.TensorInfo): number => t.shape.reduce((a, b) => a * b, 1);
  for (const name of [GELU_KERNEL, GELU_GRAD_KERNEL]) if (tf.getKernel(name, 'wasm')) tf.unregisterKernel(name, 'wasm');
  tf.registerKernel({
    kernelName: GELU_KERNEL,
    backendName: 'wasm',
    kernelFunc: ({ inputs }) => {
      const x = inputs['x']!;
      const out = backend.makeOutput([...x.shape], 'float32');
      if (size(x) > 0) fwd(offset(x), offset(out), size(x));
      return out;
    },
  });
  tf.registerKernel({
    kernelName: GELU_GRAD_KERNEL,
    backendName: 'wasm',
    kernelFunc: ({ inputs }) => {
      const x = inputs['x']!;
      const dy = inputs['dy']!;
      const out = backend.makeOutput([...x.shape], 'float32');
      if (size(x) > 0) bwd(offset(x), offset(dy), offset(out), size(x));
      return out;
    },
  });
};

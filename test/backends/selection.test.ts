import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import {
  useBackend,
  activeBackend,
  isSoftwareAdapter,
  defaultEnv,
  wasmOutOfMemory,
  BackendError,
  ConfigError,
  presetSpec,
  type BackendEnv,
} from '../../src/index.js';
import { threadedGrads } from '../../src/node/index.js';

const cli = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.js');

/** The real environment with some packages made absent. */
const without = (...absent: string[]): BackendEnv => {
  const real = defaultEnv();
  return {
    node: true,
    importPackage: async (name) => {
      if (absent.includes(name)) throw new Error(`Cannot find package '${name}'`);
      return real.importPackage(name);
    },
  };
};

/** A fake Dawn (the webgpu package) whose adapter is `adapter`. */
const fakeDawn = (adapter: unknown): BackendEnv => ({
  node: true,
  importPackage: async (name) => {
    if (name === 'webgpu') return { create: () => ({ requestAdapter: async () => adapter }), globals: {} };
    throw new Error(`Cannot find package '${name}'`);
  },
});

describe('backend selection', () => {
  after(async () => {
    const g = globalThis as { navigator?: { gpu?: unknown } };
    if (g.navigator && 'gpu' in g.navigator) delete g.navigator.gpu;
    await useBackend('wasm');
  });

  it('node-gpu absent: a BackendError naming the package and what it needs', async () => {
    await assert.rejects(
      useBackend('node-gpu', without('@tensorflow/tfjs-node-gpu')),
      (e: unknown) =>
        e instanceof BackendError &&
        /@tensorflow\/tfjs-node-gpu/.test(e.message) &&
        /CUDA 11\.2/.test(e.message) &&
        /cuDNN 8\.1/.test(e.message),
    );
    // and with the real environment, where it is not installed either
    await assert.rejects(
      useBackend('node-gpu'),
      (e: unknown) => e instanceof BackendError && /npm i @tensorflow\/tfjs-node-gpu/.test(e.message),
    );
  });

  it('webgpu in Node without Dawn, with no adapter, or without the backend package: each says so', async () => {
    await assert.rejects(
      useBackend('webgpu', without('webgpu')),
      (e: unknown) => e instanceof BackendError && /webgpu package \(Dawn\)/.test(e.message),
    );
    await assert.rejects(
      useBackend('webgpu', fakeDawn(null)),
      (e: unknown) => e instanceof BackendError && /no WebGPU adapter/.test(e.message),
    );
    delete (globalThis as { navigator?: { gpu?: unknown } }).navigator!.gpu;
    await assert.rejects(
      useBackend('webgpu', fakeDawn({ info: { vendor: 'google', architecture: 'swiftshader' } })),
      (e: unknown) => e instanceof BackendError && /cannot import @tensorflow\/tfjs-backend-webgpu/.test(e.message),
    );
    delete (globalThis as { navigator?: { gpu?: unknown } }).navigator!.gpu;
  });

  it('auto skips what is absent and lands on wasm; unknown names are errors', async () => {
    assert.equal(await useBackend('auto', without('@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-backend-webgpu', 'webgpu')), 'wasm');
    assert.equal(activeBackend(), 'wasm');
    assert.equal(await useBackend('cpu'), 'cpu');
    assert.equal(activeBackend(), 'cpu');
    await assert.rejects(useBackend('tpu' as never), (e: unknown) => e instanceof BackendError && /unknown backend/.test(e.message));
  });

  it('tells software WebGPU adapters from hardware ones', () => {
    assert.ok(isSoftwareAdapter({ info: { vendor: 'google', architecture: 'swiftshader' } }));
    assert.ok(isSoftwareAdapter({ info: { vendor: 'mesa', description: 'llvmpipe (LLVM 15.0.6, 256 bits)' } }));
    assert.ok(isSoftwareAdapter({ isFallbackAdapter: true }));
    assert.ok(!isSoftwareAdapter({ info: { vendor: 'nvidia', architecture: 'ampere' } }));
  });

  it('a WASM heap exhaustion becomes a BackendError that says so and what to change; other errors pass unchanged', () => {
    const oob = new WebAssembly.RuntimeError('memory access out of bounds'); // what tfjs-backend-wasm throws past 4 GiB
    const e = wasmOutOfMemory(oob, 'lower --batch');
    assert.ok(e instanceof BackendError && e.backend === 'wasm');
    assert.match(e.message, /ran out of memory \(memory access out of bounds\).*4 GiB.*cannot continue in this process; lower --batch/);
    // as a gradient worker reports it
    const fromWorker = new Error('a gradient worker failed: RuntimeError: memory access out of bounds');
    assert.ok(wasmOutOfMemory(fromWorker, 'x') instanceof BackendError);
    // XNNPACK's failed allocation aborts the module
    assert.ok(
      wasmOutOfMemory(new WebAssembly.RuntimeError('Aborted(). Build with -sASSERTIONS for more info.'), 'x') instanceof BackendError,
    );
    const other = new RangeError('memory access out of bounds');
    assert.equal(wasmOutOfMemory(other, 'x'), other);
    const plain = new WebAssembly.RuntimeError('unreachable');
    assert.equal(wasmOutOfMemory(plain, 'x'), plain);
  });

  it('threads split CPU work only', async () => {
    await assert.rejects(
      threadedGrads({ spec: presetSpec('mae', 'micro/4'), backend: 'webgpu', threads: 2, model: {} as never }),
      (e: unknown) => e instanceof ConfigError && /use 1 thread/.test(e.message),
    );
  });

  it('the CLI names the missing package, exit 2', () => {
    const r = spawnSync(process.execPath, [cli, 'demo', '--backend', 'node-gpu', '--out', '/tmp/never'], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /backend "node-gpu": cannot import @tensorflow\/tfjs-node-gpu/);
  });
});

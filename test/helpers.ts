/**
 * Shared test helpers: backends under test, tolerances by backend, leak checks, comparisons.
 */
import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import { tf, useBackend, type BackendName } from '../src/index.js';

/** Backends the backend-parametrised suites run on (TESSERAE_TEST_BACKENDS, default cpu,wasm). */
export const backendsUnderTest = (): BackendName[] =>
  (process.env['TESSERAE_TEST_BACKENDS'] ?? 'cpu,wasm')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean) as BackendName[];

/** Absolute tolerance for float32 layer math against double-precision oracles, by backend. */
export const tolerance = (backend: string): number => (backend === 'cpu' ? 2e-5 : 5e-5);

/** Runs `body` once per backend under test, inside a describe block that activates it. */
export const forEachBackend = (title: string, body: (backend: BackendName) => void): void => {
  for (const backend of backendsUnderTest()) {
    describe(`${title} [${backend}]`, () => {
      before(async () => {
        await useBackend(backend);
      });
      body(backend);
    });
  }
};

/** Activates the wasm backend for a whole file. */
export const onWasm = (): void => {
  before(async () => {
    await useBackend('wasm');
  });
};

/** Activates the cpu backend for a whole file. */
export const onCpu = (): void => {
  before(async () => {
    await useBackend('cpu');
  });
};

/** Tensors in a result tree (tensors, arrays, records). */
const tensorsIn = (x: unknown, out: tf.Tensor[] = []): tf.Tensor[] => {
  if (x instanceof tf.Tensor) out.push(x);
  else if (Array.isArray(x)) x.forEach((v) => tensorsIn(v, out));
  else if (typeof x === 'object' && x !== null && !ArrayBuffer.isView(x)) Object.values(x).forEach((v) => tensorsIn(v, out));
  return out;
};

/**
 * Asserts that `fn` leaves the number of live tensors as it found it, apart from the new
 * tensors it returns; returns its result.
 */
export const noLeak = <T>(fn: () => T): T => {
  const probe = tf.scalar(0);
  const lastId = probe.id;
  probe.dispose();
  const before = tf.memory().numTensors;
  const out = fn();
  const fresh = new Set(
    tensorsIn(out)
      .filter((t) => t.id > lastId && !t.isDisposed)
      .map((t) => t.id),
  ).size;
  const afterCount = tf.memory().numTensors;
  assert.equal(afterCount - fresh, before, `leaked ${afterCount - fresh - before} tensors`);
  return out;
};

/** Runs fn, then disposes whatever tensors it created that are still alive (for test cleanup). */
export const scoped = <T>(fn: () => T): T => {
  tf.engine().startScope();
  try {
    return fn();
  } finally {
    tf.engine().endScope();
  }
};

/** Asserts |a - b| <= atol + rtol |b| elementwise and that the lengths agree. */
export const assertClose = (actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number, what = 'value', rtol = 0): void => {
  assert.equal(actual.length, expected.length, `${what}: length ${actual.length} != ${expected.length}`);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < actual.length; i++) {
    const err = Math.abs(actual[i]! - expected[i]!) - rtol * Math.abs(expected[i]!);
    if (!(err <= worst)) {
      worst = Number.isNaN(err) ? Infinity : err;
      at = i;
    }
  }
  assert.ok(worst <= atol, `${what}: max error ${worst} > ${atol} at ${at} (got ${actual[at]}, want ${expected[at]})`);
};

/** Reads a tensor's values as a plain number array. */
export const values = (t: tf.Tensor): number[] => Array.from(t.dataSync());

export const disposeAll = (...ts: (tf.Tensor | null | undefined)[]): void => {
  for (const t of ts) if (t && !t.isDisposed) t.dispose();
};

export { after };

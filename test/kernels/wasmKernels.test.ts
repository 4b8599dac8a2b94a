import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { tf, Key, gelu } from '../../src/index.js';
import { gelu as g, geluGrad } from '../reference/oracles.js';
import { onWasm, assertClose, noLeak } from '../helpers.js';

/** C = op(A) op(B) in double precision for row-major batched operands. */
const oracle = (
  a: Float32Array,
  b: Float32Array,
  batch: number,
  m: number,
  k: number,
  n: number,
  ta: boolean,
  tb: boolean,
): Float64Array => {
  const c = new Float64Array(batch * m * n);
  for (let z = 0; z < batch; z++)
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) {
          const av = ta ? a[z * k * m + p * m + i]! : a[z * m * k + i * k + p]!;
          const bv = tb ? b[z * n * k + j * k + p]! : b[z * k * n + p * n + j]!;
          s += av * bv;
        }
        c[z * m * n + i * n + j] = s;
      }
  return c;
};

describe('the WASM SIMD kernels', () => {
  onWasm();

  it('is installed on the wasm backend', () => {
    const k = tf.getKernel('BatchMatMul', 'wasm') as unknown as { base?: unknown };
    assert.ok(k.base, 'tesserae kernel registered over tfjs');
  });

  it('matches a double-precision oracle on every shape and transpose the property generates', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 0, maxLength: 2 }),
        fc.integer({ min: 1, max: 70 }),
        fc.integer({ min: 0, max: 40 }),
        fc.integer({ min: 1, max: 70 }),
        fc.boolean(),
        fc.boolean(),
        fc.nat(),
        (batchDims, m, k, n, ta, tb, seed) => {
          const batch = batchDims.reduce((x, y) => x * y, 1);
          const av = Key.normal(Key.key(seed), batch * m * k);
          const bv = Key.normal(Key.fold(Key.key(seed), 1), batch * k * n);
          const a = tf.tensor(av, [...batchDims, ...(ta ? [k, m] : [m, k])]);
          const b = tf.tensor(bv, [...batchDims, ...(tb ? [n, k] : [k, n])]);
          const c = noLeak(() => tf.matMul(a, b, ta, tb));
          assert.deepEqual(c.shape, [...batchDims, m, n]);
          assertClose(c.dataSync(), oracle(av, bv, batch, m, k, n, ta, tb), 1e-4, 'product', 1e-5);
          tf.dispose([a, b, c]);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('gradients through it agree with the oracle too', () => {
    const a = tf.tensor(Key.normal(Key.key(1), 2 * 3 * 5 * 7), [2, 3, 5, 7]);
    const b = tf.tensor(Key.normal(Key.key(2), 2 * 3 * 9 * 7), [2, 3, 9, 7]);
    const [ga, gb] = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.matMul(x, y, false, true)))([a, b]);
    // d/dA sum(A B^T) = 1 B: each row of dA is the column sums of B^T
    const bs = b.arraySync() as number[][][][];
    const want = bs.flatMap((bb) =>
      bb.flatMap((bh) => Array.from({ length: 5 }, () => Array.from({ length: 7 }, (_, c) => bh.reduce((s, r) => s + r[c]!, 0))).flat()),
    );
    assertClose(ga!.dataSync(), want, 1e-4, 'dA');
    assert.deepEqual(gb!.shape, [2, 3, 9, 7]);
    tf.dispose([a, b, ga!, gb!]);
  });

  it('row gathers match an oracle on every shape the property generates; bad indices still get tfjs errors', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.array(fc.integer({ min: 1, max: 5 }), { maxLength: 2 }),
        fc.integer({ min: 0, max: 60 }),
        fc.nat(),
        (rows, inner, n, seed) => {
          const size = inner.reduce((a, b) => a * b, 1);
          const xv = Key.normal(Key.key(seed), rows * size);
          const ids = Key.randint(Key.fold(Key.key(seed), 1), n, 0, rows);
          const x = tf.tensor(xv, [rows, ...inner]);
          const idx = tf.tensor1d(ids, 'int32');
          const y = noLeak(() => tf.gather(x, idx));
          assert.deepEqual(y.shape, [n, ...inner]);
          const want = Array.from(ids).flatMap((r) => Array.from(xv.subarray(r * size, (r + 1) * size)));
          assert.deepEqual(Array.from(y.dataSync()), want);
          tf.dispose([x, idx, y]);
        },
      ),
      { numRuns: 100 },
    );
    const x = tf.ones([3, 2]);
    assert.throws(() => tf.gather(x, tf.tensor1d([0, 3], 'int32')).dataSync());
    x.dispose();
  });

  it('an empty inner dimension gives zeros (tfjs 4.22 returns uninitialised memory there)', () => {
    const c = tf.matMul(tf.ones([1, 0]), tf.ones([0, 19]));
    assert.deepEqual(Array.from(c.dataSync()), new Array(19).fill(0));
    c.dispose();
  });

  it('broadcast batches and integer inputs still go to tfjs (same results as before)', () => {
    const a = tf.tensor(Key.normal(Key.key(3), 2 * 4 * 3), [2, 4, 3]);
    const b = tf.tensor(Key.normal(Key.key(4), 3 * 5), [1, 3, 5]);
    const c = tf.matMul(a, b);
    assertClose(
      c.dataSync(),
      oracle(a.dataSync() as Float32Array, new Float32Array([...b.dataSync(), ...b.dataSync()]), 2, 4, 3, 5, false, false),
      1e-4,
    );
    tf.dispose([a, b, c]);
  });
});

describe('the fused GELU kernel', () => {
  onWasm();
  it('matches the exact-erf GELU and its derivative (double precision) over a wide range, tails and odd sizes included', () => {
    for (const n of [1, 3, 4, 5, 1001]) {
      const xs = Array.from({ length: n }, (_, i) => -12 + (24 * i) / Math.max(1, n - 1));
      const x = tf.tensor(xs);
      const y = noLeak(() => gelu(x));
      assertClose(y.dataSync(), xs.map(g), 2e-6, `gelu n=${n}`, 2e-6);
      const dx = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(gelu(v), 3)))(x);
      assertClose(
        dx.dataSync(),
        xs.map((v) => 3 * geluGrad(v)),
        3e-6,
        `gelu' n=${n}`,
        2e-6,
      );
      assert.ok(tf.getKernel('TesseraeGelu', 'wasm'));
      tf.dispose([x, y, dx]);
    }
  });
});

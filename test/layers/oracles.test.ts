import assert from 'node:assert/strict';
import { it } from 'node:test';
import fc from 'fast-check';
import {
  tf,
  Key,
  ctx,
  spec,
  dense,
  layerNorm,
  selfAttention,
  crossAttention,
  gelu,
  gatherTokens,
  linear2d,
  drawMask,
  Mask,
  maskTensors,
  mlp,
  type Tensor,
} from '../../src/index.js';
import { arbKey } from '../../src/testing/index.js';
import * as ref from '../reference/oracles.js';
import { forEachBackend, noLeak, assertClose, tolerance, values } from '../helpers.js';

const c0 = ctx(Key.key(0));
const rand = (k: Key.Key, shape: number[], scale = 1): Tensor =>
  tf.tensor(
    Key.normal(
      k,
      shape.reduce((a, b) => a * b, 1),
    ).map((v) => v * scale),
    shape,
  );

forEachBackend('layers against plain-loop oracles', (backend) => {
  const tol = tolerance(backend);

  it('GELU (exact erf) and its gradient agree with the oracle', () => {
    const xs = Array.from({ length: 401 }, (_, i) => -8 + i * 0.04);
    const x = tf.tensor(xs);
    assertClose(values(noLeak(() => gelu(x))), xs.map(ref.gelu), tol, 'gelu');
    const g = tf.grad((v: Tensor) => tf.sum(gelu(v)))(x);
    assertClose(values(g), xs.map(ref.geluGrad), tol, 'gelu grad');
    tf.dispose([x, g]);
  });

  it('dense agrees with the oracle, and linear2d gradients with finite differences of it', () => {
    fc.assert(
      fc.property(
        arbKey(),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 7 }),
        fc.integer({ min: 1, max: 5 }),
        (k, m, kin, n) => {
          const d = dense(n);
          const { params } = d.init(k, spec([m, kin]));
          const x = rand(Key.fold(k, 'x'), [m, kin]);
          const y = noLeak(() => d.apply(params, x, c0));
          const want = ref.dense(x.dataSync(), m, kin, params.kernel.dataSync(), n, params.bias.dataSync());
          assertClose(y.dataSync(), want, tol, 'dense');
          // d/dw of sum(y * r) = x^T r, d/dx = r w^T, d/db = sum_rows r
          const r = rand(Key.fold(k, 'r'), [m, n]);
          const [gx, gw, gb] = tf.grads((a: Tensor, w: Tensor, b: Tensor) => tf.sum(tf.mul(linear2d(a, w, b), r)))([
            x,
            params.kernel,
            params.bias,
          ]);
          const xa = x.dataSync(),
            ra = r.dataSync(),
            wa = params.kernel.dataSync();
          const wantW = new Float64Array(kin * n),
            wantX = new Float64Array(m * kin),
            wantB = new Float64Array(n);
          for (let i = 0; i < m; i++)
            for (let q = 0; q < kin; q++)
              for (let j = 0; j < n; j++) {
                wantW[q * n + j]! += xa[i * kin + q]! * ra[i * n + j]!;
                wantX[i * kin + q]! += ra[i * n + j]! * wa[q * n + j]!;
              }
          for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) wantB[j]! += ra[i * n + j]!;
          assertClose(gx!.dataSync(), wantX, 1e-4, 'dx');
          assertClose(gw!.dataSync(), wantW, 1e-4, 'dw');
          assertClose(gb!.dataSync(), wantB, 1e-4, 'db');
          tf.dispose([x, y, r, gx!, gw!, gb!, params.kernel, params.bias]);
        },
      ),
      { numRuns: 15 },
    );
  });

  it('layerNorm agrees with the oracle', () => {
    fc.assert(
      fc.property(arbKey(), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 9 }), (k, rows, d) => {
        const ln = layerNorm();
        const { params } = ln.init(k, spec([rows, d]));
        const scale = rand(Key.fold(k, 's'), [d]);
        const bias = rand(Key.fold(k, 'b'), [d]);
        const x = rand(Key.fold(k, 'x'), [rows, d], 3);
        const y = noLeak(() => ln.apply({ scale, bias }, x, c0));
        assertClose(y.dataSync(), ref.layerNorm(x.dataSync(), rows, d, scale.dataSync(), bias.dataSync(), 1e-6), 20 * tol, 'layerNorm');
        tf.dispose([x, y, scale, bias, params.scale, params.bias]);
      }),
      { numRuns: 20 },
    );
  });

  it('self-attention agrees with the oracle (fused qkv in the reference column order)', () => {
    fc.assert(
      fc.property(
        arbKey(),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 6 }),
        fc.constantFrom([4, 1], [4, 2], [6, 3], [8, 2]),
        (k, b, n, [w, h]) => {
          const attn = selfAttention({ width: w!, heads: h! });
          const { params } = attn.init(k, spec([b, n, w!]));
          const x = rand(Key.fold(k, 'x'), [b, n, w!]);
          const y = noLeak(() => attn.apply(params, x, c0));
          const xa = x.dataSync();
          const want: number[] = [];
          for (let i = 0; i < b; i++) {
            const xi = xa.subarray(i * n * w!, (i + 1) * n * w!);
            const qkv = ref.dense(xi, n, w!, params.qkv.kernel.dataSync(), 3 * w!, params.qkv.bias.dataSync());
            const pick = (part: number) =>
              Float64Array.from({ length: n * w! }, (_, e) => qkv[Math.floor(e / w!) * 3 * w! + part * w! + (e % w!)]!);
            const o = ref.multiHead(pick(0), pick(1), pick(2), n, n, w!, h!);
            want.push(...ref.dense(o, n, w!, params.proj.kernel.dataSync(), w!, params.proj.bias.dataSync()));
          }
          assertClose(y.dataSync(), want, 5 * tol, 'self-attention');
          tf.dispose([x, y]);
        },
      ),
      { numRuns: 15 },
    );
  });

  it('cross-attention agrees with the oracle', () => {
    const [b, nq, nk, w, dm, h] = [2, 3, 5, 8, 6, 2];
    const attn = crossAttention({ width: w, heads: h });
    const { params, outSpec } = attn.init(Key.key(3), { x: spec([b, nq, w]), memory: spec([b, nk, dm]) });
    assert.deepEqual(outSpec.shape, [b, nq, w]);
    const x = rand(Key.key(4), [b, nq, w]);
    const mem = rand(Key.key(5), [b, nk, dm]);
    const y = noLeak(() => attn.apply(params, { x, memory: mem }, c0));
    const want: number[] = [];
    for (let i = 0; i < b; i++) {
      const q = ref.dense(
        x.dataSync().subarray(i * nq * w, (i + 1) * nq * w),
        nq,
        w,
        params.q.kernel.dataSync(),
        w,
        params.q.bias.dataSync(),
      );
      const kv = ref.dense(
        mem.dataSync().subarray(i * nk * dm, (i + 1) * nk * dm),
        nk,
        dm,
        params.kv.kernel.dataSync(),
        2 * w,
        params.kv.bias.dataSync(),
      );
      const pick = (part: number) => Float64Array.from({ length: nk * w }, (_, e) => kv[Math.floor(e / w) * 2 * w + part * w + (e % w)]!);
      const o = ref.multiHead(q, pick(0), pick(1), nq, nk, w, h);
      want.push(...ref.dense(o, nq, w, params.proj.kernel.dataSync(), w, params.proj.bias.dataSync()));
    }
    assertClose(y.dataSync(), want, 5 * tol, 'cross-attention');
  });

  it('mlp is dense, exact GELU, dense', () => {
    const m = mlp({ hidden: 6 });
    const { params } = m.init(Key.key(7), spec([3, 4]));
    const x = rand(Key.key(8), [3, 4]);
    const hdn = Array.from(ref.dense(x.dataSync(), 3, 4, params.fc1.kernel.dataSync(), 6, params.fc1.bias.dataSync()), ref.gelu);
    assertClose(
      m.apply(params, x, c0).dataSync(),
      ref.dense(hdn, 3, 6, params.fc2.kernel.dataSync(), 4, params.fc2.bias.dataSync()),
      5 * tol,
      'mlp',
    );
  });

  it('gatherTokens picks tokens per sample and its gradient scatters back (no UnsortedSegmentSum needed)', () => {
    fc.assert(
      fc.property(arbKey(), fc.double({ min: 0, max: 0.9, noNaN: true }), (k, r) => {
        const d = drawMask(Mask.random(r), k, 3, { rows: 2, cols: 3 });
        const m = maskTensors(d);
        const x = rand(Key.fold(k, 'x'), [3, 6, 2]);
        const y = noLeak(() => gatherTokens(x, m.idsKeep, m.idsRestore));
        const xa = x.dataSync();
        const want: number[] = [];
        for (let n = 0; n < 3; n++)
          for (let j = 0; j < d.keep; j++) {
            const id = d.idsShuffle[n * 6 + j]!;
            want.push(xa[(n * 6 + id) * 2]!, xa[(n * 6 + id) * 2 + 1]!);
          }
        assert.deepEqual(Array.from(y.dataSync()), want);
        const w = rand(Key.fold(k, 'w'), [3, d.keep, 2]);
        const g = tf.grad((v: Tensor) => tf.sum(tf.mul(gatherTokens(v, m.idsKeep, m.idsRestore), w)))(x);
        const wa = w.dataSync();
        const wantG = new Float64Array(3 * 6 * 2);
        for (let n = 0; n < 3; n++)
          for (let j = 0; j < d.keep; j++) {
            const id = d.idsShuffle[n * 6 + j]!;
            wantG[(n * 6 + id) * 2] = wa[(n * d.keep + j) * 2]!;
            wantG[(n * 6 + id) * 2 + 1] = wa[(n * d.keep + j) * 2 + 1]!;
          }
        assert.deepEqual(Array.from(g.dataSync()), Array.from(wantG));
        tf.dispose([x, y, w, g, m.mask, m.idsKeep, m.idsShuffle, m.idsRestore]);
      }),
      { numRuns: 20 },
    );
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { pipe } from 'fp-ts/lib/function.js';
import {
  tf,
  Key,
  ctx,
  spec,
  serial,
  stack,
  parallel,
  branch,
  residual,
  lift,
  start,
  stage,
  dense,
  layerNorm,
  mapParams,
  disposeParams,
  flatten,
  ConfigError,
  ShapeError,
  type Tensor,
  type Layer,
  type NoParams,
} from '../../src/index.js';
import { noLeak, onCpu, assertClose, values } from '../helpers.js';

const c0 = ctx(Key.key(0));

describe('combinators', () => {
  onCpu();

  it('serial runs in key order and its params are the record of its children', () => {
    const add1 = lift(
      'add1',
      (x: Tensor) => tf.add(x, 1),
      (s) => s,
    );
    const times2 = lift(
      'times2',
      (x: Tensor) => tf.mul(x, 2),
      (s) => s,
    );
    const l = serial({ first: add1, second: times2 });
    const { params, outSpec } = l.init(Key.key(0), spec([2]));
    assert.deepEqual(Object.keys(params), ['first', 'second']);
    assert.deepEqual(outSpec.shape, [2]);
    const x = tf.tensor([1, 2]);
    assert.deepEqual(values(noLeak(() => l.apply(params, x, c0))), [4, 6]);
    const r = serial({ second: times2, first: add1 });
    assert.deepEqual(values(r.apply(r.init(Key.key(0), spec([2])).params, x, c0)), [3, 5]);
  });

  it('serial rejects integer-like names (JavaScript would reorder them) and empty records', () => {
    const id = lift(
      'id',
      (x: Tensor) => x,
      (s) => s,
    );
    assert.throws(() => serial({ '0': id, a: id }), ConfigError);
    assert.throws(() => serial({}), ConfigError);
  });

  it('law: serial is associative up to re-nesting of params', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 6 }),
        fc.nat(1000),
        (w1, w2, w3, seed) => {
          const [a, b, c] = [dense(w1), layerNorm(), dense(w3)];
          const left = serial({ a, bc: serial({ b, c }) });
          const right = serial({ ab: serial({ a, b }), c });
          const pl = left.init(Key.key(seed), spec([3, w2]));
          const pr = { ab: { a: pl.params.a, b: pl.params.bc.b }, c: pl.params.bc.c };
          const x = tf.randomNormal([3, w2], 0, 1, 'float32', seed);
          const yl = left.apply(pl.params, x, c0);
          const yr = right.apply(pr, x, c0);
          assert.deepEqual(yl.shape, right.init(Key.key(seed), spec([3, w2])).outSpec.shape);
          assert.deepEqual(values(yl), values(yr));
          tf.dispose([x, yl, yr]);
          disposeParams(pl.params);
        },
      ),
      { numRuns: 20 },
    );
  });

  it('law: residual with a zero branch is the identity', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 5 }), fc.nat(1000), (w, n, seed) => {
        const r = residual(serial({ norm: layerNorm(), proj: dense(w) }));
        const { params } = r.init(Key.key(seed), spec([n, w]));
        const zeroed = mapParams(params, (t, path) => (path.startsWith('proj') ? tf.zerosLike(t) : t));
        const x = tf.randomNormal([n, w], 0, 3, 'float32', seed);
        const y = noLeak(() => r.apply(zeroed, x, c0));
        assert.deepEqual(values(y), values(x));
        tf.dispose([x, y, ...flatten(params).map(([, t]) => t), ...flatten(zeroed).map(([, t]) => t)]);
      }),
      { numRuns: 20 },
    );
  });

  it('residual refuses a branch that changes the shape, naming it', () => {
    assert.throws(
      () => residual(dense(5)).init(Key.key(0), spec([2, 3])),
      (e: unknown) => e instanceof ShapeError && /residual\(dense\)/.test(e.message),
    );
  });

  it('stack makes n layers with independent params in an array', () => {
    const s = stack(3, () => dense(4));
    const { params, outSpec } = s.init(Key.key(0), spec([2, 4]));
    assert.equal(params.length, 3);
    assert.deepEqual(outSpec.shape, [2, 4]);
    assert.notDeepEqual(values(params[0]!.kernel), values(params[1]!.kernel));
    disposeParams(params);
  });

  it('parallel maps fields and branch fans out', () => {
    const p = parallel({
      a: dense(2),
      b: lift(
        'neg',
        (x: Tensor) => tf.neg(x),
        (s) => s,
      ),
    });
    const ip = p.init(Key.key(1), { a: spec([1, 3]), b: spec([4]) });
    assert.deepEqual(ip.outSpec.a.shape, [1, 2]);
    const out = p.apply(ip.params, { a: tf.ones([1, 3]), b: tf.tensor([1, -2, 3, -4]) }, c0);
    assert.deepEqual(values(out.b), [-1, 2, -3, 4]);
    const b = branch({ x0: dense(2), eps: dense(3) });
    const ib = b.init(Key.key(2), spec([5, 4]));
    const y = b.apply(ib.params, tf.ones([5, 4]), c0);
    assert.deepEqual(
      [y.x0.shape, y.eps.shape],
      [
        [5, 2],
        [5, 3],
      ],
    );
    assert.deepEqual(
      [ib.outSpec.x0.shape, ib.outSpec.eps.shape],
      [
        [5, 2],
        [5, 3],
      ],
    );
  });

  it('stage pipelines merge outputs, key params by stage name, and reject duplicate names', () => {
    const patchesOf: Layer<NoParams, { image: Tensor }, { flat: Tensor }> = lift(
      'flat',
      ({ image }: { image: Tensor }) => ({ flat: tf.reshape(image, [image.shape[0]!, -1]) }),
      (s) => ({ flat: spec([s.image.shape[0]!, s.image.shape.slice(1).reduce((a, b) => a * b, 1)]) }),
    );
    const enc = parallel({ flat: dense(3) });
    const embed: Layer<typeof enc extends Layer<infer P, infer _I, infer _O> ? P : never, { flat: Tensor }, { latent: Tensor }> = {
      name: 'embed',
      init: (k, s) => {
        const r = enc.init(k, { flat: s.flat });
        return { params: r.params, outSpec: { latent: r.outSpec.flat } };
      },
      apply: (p, x, c) => ({ latent: enc.apply(p, { flat: x.flat }, c).flat }),
    };
    const model = pipe(start<{ image: Tensor }>(), stage('patches', patchesOf), stage('encoder', embed));
    const { params, outSpec } = model.init(Key.key(0), { image: spec([2, 2, 2]) });
    assert.deepEqual(Object.keys(params), ['patches', 'encoder']);
    assert.deepEqual(outSpec.latent.shape, [2, 3]);
    const out = noLeak(() => tf.tidy(() => model.apply(params, { image: tf.ones([2, 2, 2]) }, c0).latent.shape));
    assert.deepEqual(out, [2, 3]);
    assert.throws(() => pipe(model, stage('encoder', embed)), ConfigError);
  });

  it('dense agrees with a plain matMul and the custom gradient with autodiff of it', () => {
    const d = dense(3);
    const { params } = d.init(Key.key(4), spec([5, 4]));
    const x = tf.randomNormal([5, 4], 0, 1, 'float32', 3);
    const ref = (xx: Tensor, k: Tensor, b: Tensor): Tensor => tf.add(tf.matMul(xx, k), b);
    assertClose(values(d.apply(params, x, c0)), values(ref(x, params.kernel, params.bias)), 1e-6);
    const loss = (f: (xx: Tensor, k: Tensor, b: Tensor) => Tensor) => (xx: Tensor, k: Tensor, b: Tensor) => tf.sum(tf.square(f(xx, k, b)));
    const mine = tf.grads(loss((xx, k, b) => d.apply({ kernel: k, bias: b }, xx, c0)))([x, params.kernel, params.bias]);
    const theirs = tf.grads(loss(ref))([x, params.kernel, params.bias]);
    mine.forEach((g, i) => assertClose(values(g), values(theirs[i]!), 1e-5, `grad ${i}`));
  });
});

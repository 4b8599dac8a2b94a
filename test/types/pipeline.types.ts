/**
 * Type-level tests: checked by the compiler when `npm test` builds (pretest). Each
 * `@ts-expect-error` line must be an error; if a change lets a mis-wired pipeline compile,
 * the directive becomes unused and the build fails.
 */
import { expectTypeOf } from 'expect-type';
import { pipe } from 'fp-ts/lib/function.js';
import {
  dense,
  layerNorm,
  serial,
  stack,
  vitBlock,
  parallel,
  branch,
  start,
  stage,
  lift,
  spec,
  type Layer,
  type Tensor,
  type DenseParams,
  type LayerNormParams,
  type VitBlockParams,
  type NoParams,
  type ParamsOf,
} from '../../src/index.js';

// serial builds the record type of its children's params.
const encoder = serial({ embed: dense(8), blocks: stack(2, () => vitBlock({ width: 8, heads: 2 })), norm: layerNorm() });
expectTypeOf<ParamsOf<typeof encoder>>().toEqualTypeOf<{
  readonly embed: DenseParams;
  readonly blocks: readonly VitBlockParams[];
  readonly norm: LayerNormParams;
}>();

// parallel and branch type their inputs and outputs per field.
const heads = branch({ x0: dense(4), eps: dense(4) });
expectTypeOf(heads.apply).returns.toEqualTypeOf<{ readonly x0: Tensor; readonly eps: Tensor }>();
const fields = parallel({ a: dense(4), b: layerNorm() });
expectTypeOf(fields.apply).parameter(1).toEqualTypeOf<{ readonly a: Tensor; readonly b: Tensor }>();

// A stage pipeline: each stage says what it needs and what it adds.
declare const patchify: Layer<NoParams, { image: Tensor }, { patches: Tensor }>;
declare const mask: Layer<NoParams, { patches: Tensor }, { visible: Tensor; idsRestore: Tensor }>;
declare const encode: Layer<{ readonly w: Tensor }, { visible: Tensor }, { latent: Tensor }>;
declare const decode: Layer<{ readonly v: Tensor }, { latent: Tensor; idsRestore: Tensor }, { pred: Tensor }>;

const ok = pipe(
  start<{ image: Tensor }>(),
  stage('patchify', patchify),
  stage('mask', mask),
  stage('encoder', encode),
  stage('decoder', decode),
);
expectTypeOf(ok.apply).returns.toHaveProperty('pred');
expectTypeOf(ok.apply).returns.toHaveProperty('latent');
expectTypeOf<ParamsOf<typeof ok>>().toMatchTypeOf<{ readonly encoder: { readonly w: Tensor }; readonly decoder: { readonly v: Tensor } }>();

// A decoder placed before the mask it needs does not compile.
// @ts-expect-error: decode needs latent and idsRestore, which nothing has produced yet
pipe(start<{ image: Tensor }>(), stage('patchify', patchify), stage('decoder', decode));

// An encoder before patchify does not compile either.
// @ts-expect-error: mask needs patches
pipe(start<{ image: Tensor }>(), stage('mask', mask));

// The input record must provide what the first stage needs.
// @ts-expect-error: patchify needs an image
pipe(start<{ video: Tensor }>(), stage('patchify', patchify));

// serial composes tensor layers only: a record-valued stage is refused.
// @ts-expect-error: patchify maps records, not tensors
serial({ a: dense(4), b: patchify });

// Params must match the layer's params type.
const d = dense(4);
const ln = layerNorm();
declare const lnParams: ParamsOf<typeof ln>;
declare const x: Tensor;
declare const c: Parameters<typeof d.apply>[2];
// @ts-expect-error: layerNorm params are not dense params
d.apply(lnParams, x, c);

// lift's spec function is typed by the input.
lift(
  'id',
  (t: Tensor) => t,
  (s) => spec(s.shape),
);
const badSpec = (s: { readonly shape: readonly number[] }): number => s.shape.length;
// @ts-expect-error: the spec function must return a spec, not a number
lift('id', (t: Tensor) => t, badSpec);

/**
 * Stage pipelines: typed composition over an environment record (after Effect). A stage is a
 * layer that reads some fields of the environment (`Needs`) and returns new ones (`Adds`); a
 * pipeline threads one record through its stages, merging what each adds. `stage` requires the
 * record built so far to provide what the stage needs, so a decoder placed before the mask it
 * needs does not compile.
 *
 * @example
 * import { pipe } from 'fp-ts/function'
 * const encoder = pipe(
 *   start<{ image: Tensor }>(),
 *   stage('patchify', on('image', patchify(patches(4)), 'patches')), // needs { image }, adds { patches }
 *   stage('embed', on('patches', dense(192), 'tokens')), // needs { patches }, adds { tokens }
 * )
 * @since 0.1.0
 */
import { ConfigError } from '../core/errors.js';
import type { Layer } from '../core/layer.js';
import { layer, subCtx } from '../core/layer.js';
import { fold } from '../core/key.js';
import type { NoParams, Params } from '../core/params.js';
import type { SpecOf, TensorSpec } from '../core/spec.js';
import type { Tensor } from '../core/tf.js';
import type { Merge } from './types.js';

/**
 * The params of an empty pipeline: a record with no keys, which intersects cleanly with the
 * stages' entries (unlike {@link NoParams}, whose `never` index signature would not).
 */
export type EmptyParams = Readonly<Record<never, never>>;

/** Record-shaped params of a pipeline: one entry per stage name. */
export type StageParams = { readonly [k: string]: Params };

const STAGES = Symbol('tesserae.stages');
type Tagged = { readonly [STAGES]?: readonly string[] };

/**
 * The empty pipeline over inputs of type `In`.
 *
 * @example
 * start<{ image: Tensor; label: Tensor }>()
 * @since 0.1.0
 */
export const start = <In extends object>(): Layer<EmptyParams, In, In> => {
  const l = layer<EmptyParams, In, In>(
    'start',
    (_key, inSpec) => ({ params: {} as EmptyParams, outSpec: inSpec }),
    (_p, x) => x,
  );
  return Object.assign(l, { [STAGES]: [] as readonly string[] });
};

/**
 * Appends a stage named `name`: its params go under `params[name]`, its outputs are merged
 * into the environment (overwriting fields of the same name). The stage's init key and apply
 * key are the pipeline's folded with `name`, so adding a stage changes no other stage's draws.
 *
 * @example
 * import { pipe } from 'fp-ts/function'
 * const pipeline = pipe(start<{ image: Tensor }>(), stage('patchify', on('image', patchify(patches(4)), 'patches')))
 * @since 0.1.0
 */
export const stage =
  <K extends string, P extends Params, N, A extends object>(name: K, stage: Layer<P, N, A>) =>
  <PA extends StageParams, In, Acc extends N>(pipeline: Layer<PA, In, Acc>): Layer<PA & { readonly [q in K]: P }, In, Merge<Acc, A>> => {
    const before = (pipeline as Tagged)[STAGES] ?? [];
    if (before.includes(name)) throw new ConfigError('stage', name, 'a pipeline stage of that name already exists');
    type PO = PA & { readonly [q in K]: P };
    type O = Merge<Acc, A>;
    const l = layer<PO, In, O>(
      name,
      (key, inSpec) => {
        const head = pipeline.init(key, inSpec);
        const r = stage.init(fold(key, name), head.outSpec as unknown as SpecOf<N>);
        return {
          params: Object.freeze({ ...head.params, [name]: r.params }) as unknown as PO,
          outSpec: { ...(head.outSpec as object), ...(r.outSpec as object) } as unknown as SpecOf<O>,
        };
      },
      (params, x, c) => {
        const env = pipeline.apply(params, x, c);
        const added = stage.apply((params as unknown as Record<string, P>)[name]!, env, subCtx(c, name));
        return { ...(env as object), ...(added as object) } as unknown as O;
      },
    );
    return Object.assign(l, { [STAGES]: [...before, name] as readonly string[] });
  };

/**
 * A tensor layer as a stage: reads field `from` of the environment and writes its output to
 * field `to` (default: `from`). Params are the layer's.
 *
 * @example
 * stage('embed', on('patches', dense(192), 'tokens'))
 * @since 0.1.0
 */
export const on = <F extends string, P extends Params, T extends string = F>(
  from: F,
  l: Layer<P, Tensor, Tensor>,
  to?: T,
): Layer<P, { readonly [k in F]: Tensor }, { readonly [k in T]: Tensor }> => {
  const target = (to ?? from) as T;
  type I = { readonly [k in F]: Tensor };
  type O = { readonly [k in T]: Tensor };
  return layer<P, I, O>(
    `${l.name}@${from}`,
    (key, inSpec) => {
      const s = (inSpec as unknown as Record<string, TensorSpec>)[from];
      if (s === undefined) throw new ConfigError('stage input', from, 'no such field in the environment');
      const r = l.init(key, s);
      return { params: r.params, outSpec: { [target]: r.outSpec } as unknown as SpecOf<O> };
    },
    (p, x, c) => ({ [target]: l.apply(p, (x as unknown as Record<string, Tensor>)[from]!, c) }) as unknown as O,
  );
};

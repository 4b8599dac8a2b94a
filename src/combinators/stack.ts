/**
 * `stack`: n layers of one kind in sequence, params as an array (ViT blocks).
 *
 * @since 0.1.0
 */
import { positiveInt } from '../core/check.js';
import type { Layer } from '../core/layer.js';
import { layer, subCtx } from '../core/layer.js';
import { fold } from '../core/key.js';
import type { Params } from '../core/params.js';
import type { SpecOf } from '../core/spec.js';
import { erase } from './types.js';

/**
 * `n` layers made by `make(i)` and run in order; params `P[]`. Layer i gets init key
 * `fold(key, i)`.
 *
 * @example
 * const blocks = stack(12, () => vitBlock({ width: 192, heads: 3 }))
 * @since 0.1.0
 */
export const stack = <P extends Params, T>(n: number, make: (i: number) => Layer<P, T, T>, name = 'stack'): Layer<readonly P[], T, T> => {
  positiveInt(`${name}.n`, n);
  const children = Array.from({ length: n }, (_, i) => erase(make(i)));
  return layer<readonly P[], T, T>(
    name,
    (key, inSpec) => {
      let s: unknown = inSpec;
      const params: Params[] = [];
      children.forEach((l, i) => {
        const r = l.init(fold(key, i), s);
        params.push(r.params);
        s = r.outSpec;
      });
      return { params: Object.freeze(params) as readonly P[], outSpec: s as SpecOf<T> };
    },
    (params, x, c) => {
      let y: unknown = x;
      children.forEach((l, i) => {
        y = l.apply(params[i]!, y, subCtx(c, String(i)));
      });
      return y as T;
    },
  );
};

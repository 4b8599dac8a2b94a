/**
 * `chain`: two layers of different types in sequence, with named params (the typed,
 * heterogeneous cousin of `serial`).
 *
 * @since 0.1.0
 */
import { fold } from '../core/key.js';
import { layer, subCtx, type Layer } from '../core/layer.js';
import type { Params } from '../core/params.js';

/**
 * `b(a(x))`, params `{ [ka]: Pa, [kb]: Pb }`; the compiler checks that `a`'s output is what
 * `b` takes.
 *
 * @example
 * const preNormCross = chain('norm', parallel({ x: layerNorm(), memory: layerNorm() }), 'attn', crossAttention(cfg))
 * @since 0.1.0
 */
export const chain = <KA extends string, KB extends string, PA extends Params, PB extends Params, A, B, C>(
  ka: KA,
  a: Layer<PA, A, B>,
  kb: KB,
  b: Layer<PB, B, C>,
): Layer<{ readonly [k in KA]: PA } & { readonly [k in KB]: PB }, A, C> => {
  type P = { readonly [k in KA]: PA } & { readonly [k in KB]: PB };
  return layer<P, A, C>(
    `${a.name}>${b.name}`,
    (key, inSpec) => {
      const ra = a.init(fold(key, ka), inSpec);
      const rb = b.init(fold(key, kb), ra.outSpec);
      return { params: { [ka]: ra.params, [kb]: rb.params } as unknown as P, outSpec: rb.outSpec };
    },
    (params, x, c) => b.apply(params[kb], a.apply(params[ka], x, subCtx(c, ka)), subCtx(c, kb)),
  );
};

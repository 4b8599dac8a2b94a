/**
 * Parameter trees: plain, readonly, nested records and arrays of tensors (after Haiku and
 * Flax). The combinators build their types: `serial({ embed, blocks, head })` has params
 * `{ embed: P1; blocks: P2; head: P3 }`. Params are the only long-lived tensors in tesserae.
 *
 * Paths name leaves with dots: `encoder.blocks.3.attn.qkv.kernel`.
 *
 * @since 0.1.0
 */
import { ConfigError, ShapeError } from './errors.js';
import { tf } from './tf.js';

/**
 * A parameter tree. Declare param records with `type` (not `interface`) so that they are
 * assignable to the index signature.
 *
 * @since 0.1.0
 */
export type Params = tf.Tensor | readonly Params[] | { readonly [k: string]: Params };

/**
 * The params of a parameter-free layer.
 *
 * @since 0.1.0
 */
export type NoParams = { readonly [k: string]: never };

/**
 * The empty params value.
 *
 * @example
 * lift('double', (x: Tensor) => tf.mul(x, 2), (s) => s).init(Key.key(0), spec([-1])).params // noParams
 * @since 0.1.0
 */
export const noParams: NoParams = Object.freeze({});

const isTensor = (p: Params): p is tf.Tensor => p instanceof tf.Tensor;

/**
 * The leaves of a tree with their dotted paths, in a stable order (record keys in insertion
 * order, arrays by index).
 *
 * @example
 * flatten({ a: { w: t1 }, b: [t2] }) // [['a.w', t1], ['b.0', t2]]
 * @since 0.1.0
 */
export const flatten = (p: Params, prefix = ''): [string, tf.Tensor][] => {
  if (isTensor(p)) return [[prefix, p]];
  const out: [string, tf.Tensor][] = [];
  const entries: [string, Params][] = Array.isArray(p)
    ? (p as readonly Params[]).map((v, i) => [String(i), v])
    : Object.entries(p as { readonly [k: string]: Params });
  for (const [k, v] of entries) out.push(...flatten(v, prefix ? `${prefix}.${k}` : k));
  return out;
};

/**
 * Rebuilds a tree of the same structure as `template` from leaves looked up by path. Throws a
 * {@link ConfigError} naming a missing path, a {@link ShapeError} naming a leaf whose shape
 * differs from the template's.
 *
 * @example
 * const restored = unflatten(params, new Map(flatten(params)))
 * @since 0.1.0
 */
export const unflatten = <P extends Params>(template: P, leaves: ReadonlyMap<string, tf.Tensor>): P =>
  mapParams(template, (t, path) => {
    const v = leaves.get(path);
    if (v === undefined) throw new ConfigError('params', path, 'missing leaf');
    if (v.shape.length !== t.shape.length || v.shape.some((d, i) => d !== t.shape[i])) {
      throw new ShapeError(`params.${path}`, `[${t.shape.join(', ')}]`, v.shape);
    }
    return v;
  });

/**
 * Maps every leaf, keeping the tree's structure and type.
 *
 * @example
 * const zeros = mapParams(params, (t) => tf.zerosLike(t))
 * @since 0.1.0
 */
export const mapParams = <P extends Params>(p: P, f: (t: tf.Tensor, path: string) => tf.Tensor, prefix = ''): P => {
  if (isTensor(p)) return f(p, prefix) as unknown as P;
  const sub = (k: string): string => (prefix ? `${prefix}.${k}` : k);
  if (Array.isArray(p)) return Object.freeze((p as readonly Params[]).map((v, i) => mapParams(v, f, sub(String(i))))) as unknown as P;
  const out: Record<string, Params> = {};
  for (const [k, v] of Object.entries(p as { readonly [k: string]: Params })) out[k] = mapParams(v, f, sub(k));
  return Object.freeze(out) as unknown as P;
};

/**
 * Combines two trees of the same structure leaf by leaf.
 *
 * @example
 * const sum = zipParams(a, b, (x, y) => tf.add(x, y))
 * @since 0.1.0
 */
export const zipParams = <P extends Params>(a: P, b: P, f: (x: tf.Tensor, y: tf.Tensor, path: string) => tf.Tensor): P => {
  const bs = new Map(flatten(b));
  return mapParams(a, (x, path) => {
    const y = bs.get(path);
    if (y === undefined) throw new ConfigError('params', path, 'missing in the second tree');
    return f(x, y, path);
  });
};

/**
 * The number of scalar parameters.
 *
 * @example
 * countParams(params) // 5_530_000
 * @since 0.1.0
 */
export const countParams = (p: Params): number => flatten(p).reduce((n, [, t]) => n + t.size, 0);

/**
 * Disposes every leaf (params are long-lived: they are the one thing `tidy` does not free).
 *
 * @example
 * disposeParams(params)
 * @since 0.1.0
 */
export const disposeParams = (p: Params): void => {
  for (const [, t] of flatten(p)) t.dispose();
};

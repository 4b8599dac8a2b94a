/**
 * Keys: explicit, splittable, deterministic randomness (after JAX and Equinox).
 *
 * A {@link Key} is two unsigned 32-bit words, plain data that survives JSON and checkpoints.
 * New keys come from {@link split} and {@link fold}, both built on the Threefry-2x32 block
 * cipher (20 rounds, Salmon et al. 2011), so keys derived along different paths are
 * statistically independent. Bulk draws ({@link uniform}, {@link normal}, ...) seed a
 * xoshiro128** stream from the key. Nothing here reads global state: the same key gives the
 * same numbers on every backend and every run.
 *
 * @since 0.1.0
 */
import { ConfigError } from './errors.js';

declare const keyBrand: unique symbol;

/**
 * A PRNG key: two uint32 words. Make one with {@link key}; derive more with {@link split} and
 * {@link fold}. Never reuse a key for two different draws.
 *
 * @since 0.1.0
 */
export type Key = readonly [number, number] & { readonly [keyBrand]: true };

const make = (a: number, b: number): Key => Object.freeze([a >>> 0, b >>> 0]) as unknown as Key;

const rotl = (x: number, r: number): number => ((x << r) | (x >>> (32 - r))) >>> 0;

const ROT = [13, 15, 26, 6, 17, 29, 16, 24] as const;

/**
 * Threefry-2x32 with 20 rounds: encrypts the counter (x0, x1) under the key (k0, k1).
 *
 * @example
 * Key.threefry2x32(0x13198a2e, 0x03707344, 0x243f6a88, 0x85a308d3) // [0xc4923a9c, 0x483df7a0]
 * @since 0.1.0
 */
export const threefry2x32 = (k0: number, k1: number, x0: number, x1: number): [number, number] => {
  const ks = [k0 >>> 0, k1 >>> 0, (k0 ^ k1 ^ 0x1bd11bda) >>> 0] as const;
  let a = (x0 + ks[0]) >>> 0;
  let b = (x1 + ks[1]) >>> 0;
  for (let s = 1; s <= 5; s++) {
    const base = (s - 1) % 2 === 0 ? 0 : 4;
    for (let r = 0; r < 4; r++) {
      a = (a + b) >>> 0;
      b = (rotl(b, ROT[base + r]!) ^ a) >>> 0;
    }
    a = (a + ks[s % 3]!) >>> 0;
    b = (b + ks[(s + 1) % 3]! + s) >>> 0;
  }
  return [a, b];
};

// Domain tags keep the counters of split, fold, streams and seeds apart.
const SPLIT = 0x73706c74; // 'splt'
const FOLD = 0x666f6c64; // 'fold'
const STREAM = 0x7374726d; // 'strm'
const SEED = 0x73656564; // 'seed'

/**
 * A key from an integer seed (any non-negative safe integer).
 *
 * @example
 * const k = Key.key(0)
 * @since 0.1.0
 */
export const key = (seed: number): Key => {
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new ConfigError('seed', seed, 'must be a non-negative safe integer');
  }
  return make(Math.floor(seed / 2 ** 32), seed % 2 ** 32);
};

/**
 * A key from its two words, as stored by a checkpoint (validates them).
 *
 * @example
 * Key.fromWords([1, 2])
 * @since 0.1.0
 */
export const fromWords = (words: readonly number[]): Key => {
  const [a, b] = words;
  const ok = (w: unknown): w is number => typeof w === 'number' && Number.isInteger(w) && w >= 0 && w < 2 ** 32;
  if (words.length !== 2 || !ok(a) || !ok(b)) throw new ConfigError('key', words, 'must be two uint32 words');
  return make(a, b);
};

/**
 * `n` independent keys from one.
 *
 * @example
 * const [kInit, kData] = Key.split(Key.key(0))
 * @since 0.1.0
 */
export const split = (k: Key, n = 2): Key[] => {
  if (!Number.isInteger(n) || n < 0) throw new ConfigError('split.n', n, 'must be a non-negative integer');
  const out: Key[] = [];
  for (let i = 0; i < n; i++) {
    const [a, b] = threefry2x32(k[0], k[1], i, SPLIT);
    out.push(make(a, b));
  }
  return out;
};

const fnv1a = (s: string): number => {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
};

/**
 * A key derived from `k` and some data: a step number, a layer name. Deterministic and
 * independent across distinct data.
 *
 * @example
 * const stepKey = Key.fold(runKey, 1234)
 * const layerKey = Key.fold(initKey, 'encoder')
 * @since 0.1.0
 */
export const fold = (k: Key, data: number | string): Key => {
  let word: number;
  if (typeof data === 'string') word = fnv1a(data);
  else {
    if (!Number.isSafeInteger(data)) throw new ConfigError('fold.data', data, 'must be a safe integer or a string');
    word = (data >>> 0) ^ Math.floor(data / 2 ** 32);
  }
  const [a, b] = threefry2x32(k[0], k[1], word, FOLD);
  const [c, d] = threefry2x32(a, b, typeof data === 'string' ? data.length : 0, FOLD);
  return make(c, d);
};

/**
 * A uint32 seed for APIs that take a number (tfjs' seeded ops).
 *
 * @example
 * tf.randomUniform([2], 0, 1, 'float32', Key.toSeed(k))
 * @since 0.1.0
 */
export const toSeed = (k: Key): number => threefry2x32(k[0], k[1], 0, SEED)[0];

/** A xoshiro128** stream seeded from a key: returns the next uint32 on each call. */
const stream = (k: Key): (() => number) => {
  let [s0, s1] = threefry2x32(k[0], k[1], 0, STREAM);
  let [s2, s3] = threefry2x32(k[0], k[1], 1, STREAM);
  if ((s0 | s1 | s2 | s3) === 0) s0 = 1;
  return () => {
    const result = Math.imul(rotl(Math.imul(s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (s1 << 9) >>> 0;
    s2 = (s2 ^ s0) >>> 0;
    s3 = (s3 ^ s1) >>> 0;
    s1 = (s1 ^ s2) >>> 0;
    s0 = (s0 ^ s3) >>> 0;
    s2 = (s2 ^ t) >>> 0;
    s3 = rotl(s3, 11);
    return result;
  };
};

const count = (field: string, n: number): number => {
  if (!Number.isSafeInteger(n) || n < 0) throw new ConfigError(field, n, 'must be a non-negative integer');
  return n;
};

/**
 * `n` raw uint32 words.
 *
 * @example
 * Key.bits(Key.key(1), 4)
 * @since 0.1.0
 */
export const bits = (k: Key, n: number): Uint32Array => {
  const out = new Uint32Array(count('bits.n', n));
  const next = stream(k);
  for (let i = 0; i < n; i++) out[i] = next();
  return out;
};

/**
 * `n` floats uniform in [0, 1), each exactly representable in float32 (24 random bits).
 *
 * @example
 * Key.uniform(Key.key(0), 3) // Float32Array(3) in [0, 1)
 * @since 0.1.0
 */
export const uniform = (k: Key, n: number): Float32Array => {
  const out = new Float32Array(count('uniform.n', n));
  const next = stream(k);
  for (let i = 0; i < n; i++) out[i] = (next() >>> 8) * 5.960464477539063e-8; // 2^-24
  return out;
};

/**
 * `n` standard normal floats (Box-Muller in double precision, rounded to float32).
 *
 * @example
 * Key.normal(Key.key(0), 4)
 * @since 0.1.0
 */
export const normal = (k: Key, n: number): Float32Array => {
  const out = new Float32Array(count('normal.n', n));
  const next = stream(k);
  for (let i = 0; i < n; i += 2) {
    const u1 = (next() + 0.5) * 2.3283064365386963e-10; // (0, 1)
    const u2 = next() * 2.3283064365386963e-10; // [0, 1)
    const r = Math.sqrt(-2 * Math.log(u1));
    const th = 2 * Math.PI * u2;
    out[i] = r * Math.cos(th);
    if (i + 1 < n) out[i + 1] = r * Math.sin(th);
  }
  return out;
};

/**
 * `n` integers uniform in [lo, hi) (multiply-shift on 32 bits: bias below 2^-32 * (hi - lo)).
 *
 * @example
 * Key.randint(Key.key(0), 8, 1, 1001) // timesteps in 1..1000
 * @since 0.1.0
 */
export const randint = (k: Key, n: number, lo: number, hi: number): Int32Array => {
  if (!Number.isInteger(lo) || !Number.isInteger(hi) || hi <= lo || hi - lo > 2 ** 31) {
    throw new ConfigError('randint.range', [lo, hi], 'must be integers with lo < hi and hi - lo <= 2^31');
  }
  const out = new Int32Array(count('randint.n', n));
  const next = stream(k);
  const range = hi - lo;
  for (let i = 0; i < n; i++) out[i] = lo + Math.floor(next() * 2.3283064365386963e-10 * range);
  return out;
};

/**
 * A uniformly random permutation of 0..n-1 (Fisher-Yates).
 *
 * @example
 * Key.permutation(Key.key(3), 5) // e.g. Int32Array [3, 0, 4, 1, 2]
 * @since 0.1.0
 */
export const permutation = (k: Key, n: number): Int32Array => {
  const out = new Int32Array(count('permutation.n', n));
  for (let i = 0; i < n; i++) out[i] = i;
  const next = stream(k);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(next() * 2.3283064365386963e-10 * (i + 1));
    const t = out[i]!;
    out[i] = out[j]!;
    out[j] = t;
  }
  return out;
};

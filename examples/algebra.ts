/**
 * The corruption algebra in a few lines: describe a method as a value, corrupt a batch with a
 * key, and check what the encoder would see. Run: node dist/examples/algebra.js
 */
import {
  Key,
  Method,
  Mask,
  Noise,
  Schedule,
  Time,
  term,
  mixture,
  patches,
  corrupt,
  disposeCorrupted,
  synthetic,
  tf,
  useBackend,
} from '../src/index.js';

// #region hybrid
/** A hybrid the papers did not try: DiffMAE's masked-only noise, mixed with a clean MAE step. */
export const hybrid = mixture(patches(4), [
  {
    name: 'clean',
    weight: 0.3,
    branch: { mask: Mask.random(0.75), noise: Noise.none(), time: Time.zero(), objective: [term('x0', 'masked')] },
  },
  {
    name: 'noised',
    weight: 0.7,
    branch: { mask: Mask.random(0.5), noise: Noise.masked(Schedule.linear()), time: Time.uniform(), objective: [term('x0', 'masked')] },
  },
]);
// #endregion hybrid

export const main = async (): Promise<{ name: string; rows: number; kept: number }[]> => {
  await useBackend('cpu');
  const data = synthetic({ count: 8 });
  const images = tf.tensor4d(data.images, [8, 32, 32, 3]);
  const out: { name: string; rows: number; kept: number }[] = [];
  for (const c of [Method.mae({ patch: 4 }), Method.umd({ patch: 4 }), hybrid]) {
    const groups = corrupt(c, Key.key(0), images);
    for (const g of groups) out.push({ name: g.name, rows: g.rows.length, kept: g.keep });
    disposeCorrupted(groups);
  }
  images.dispose();
  return out;
};

if (import.meta.url === `file://${process.argv[1]}`) console.table(await main());

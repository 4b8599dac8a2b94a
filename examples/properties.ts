/**
 * Property-testing your schedules and masks: laws written with fast-check and the arbitraries of
 * `tesserae/testing`. Each law takes the implementation under test as an argument, so the same
 * law checks the library and shows what it catches in a deliberately broken version.
 * docs/guides/property-testing.md includes this file by region. Run: node dist/examples/properties.js
 */
import fc from 'fast-check';
import {
  Key,
  drawMask,
  keepCount,
  qSample,
  tableOf,
  tf,
  useBackend,
  maskFromNoise,
  type Mask,
  type MaskDraw,
  type PRNGKey,
  type Schedule,
  type ScheduleTable,
} from '../src/index.js';
import { arbImageGeometry, arbKey, arbMask, arbRandomMask, arbSchedule } from '../src/testing/index.js';

/** How a mask is drawn: the library's {@link drawMask}, or your own. */
export type DrawMask = (m: Mask, key: PRNGKey, batch: number, grid: { readonly rows: number; readonly cols: number }) => MaskDraw;

// #region masks
/** Random masks keep exactly floor(L (1 - ratio)) tokens, and each row of the mask removes the rest. */
export const keepsFloor = (draw: DrawMask = drawMask) =>
  fc.property(arbImageGeometry(), arbRandomMask(), arbKey(), fc.integer({ min: 1, max: 4 }), (geo, m, k, batch) => {
    const rows = geo.height / geo.patching.size;
    const cols = geo.width / geo.patching.size;
    const d = draw(m, k, batch, { rows, cols });
    const ratio = m.kind === 'random' ? m.ratio : 0;
    if (d.keep !== keepCount(rows * cols, ratio)) return false;
    for (let n = 0; n < batch; n++) {
      const removed = d.mask.subarray(n * d.length, (n + 1) * d.length).reduce((a, v) => a + v, 0);
      if (removed !== d.length - d.keep) return false;
    }
    return true;
  });

/** A mask kind on a grid, with a key and a batch size. */
export type MaskCase = { grid: { rows: number; cols: number }; mask: Mask; key: PRNGKey; batch: number };

/** For every mask kind: idsRestore inverts idsShuffle, and the first `keep` shuffled ids are the kept ones. */
export const restoreInvertsShuffle = (draw: DrawMask = drawMask): fc.IPropertyWithHooks<[MaskCase]> =>
  fc.property(
    fc
      .record({ rows: fc.integer({ min: 1, max: 6 }), cols: fc.integer({ min: 1, max: 6 }) })
      .chain((grid) =>
        fc.record({ grid: fc.constant(grid), mask: arbMask(grid.rows, grid.cols), key: arbKey(), batch: fc.integer({ min: 1, max: 3 }) }),
      ),
    ({ grid, mask, key, batch }) => {
      const d = draw(mask, key, batch, grid);
      for (let n = 0; n < batch; n++) {
        const o = n * d.length;
        for (let j = 0; j < d.length; j++) {
          const id = d.idsShuffle[o + j]!;
          if (d.idsRestore[o + id] !== j) return false; // restore[shuffle[j]] = j
          if (d.mask[o + id] !== (j < d.keep ? 0 : 1)) return false; // kept first, then removed
        }
      }
      return true;
    },
  );
// #endregion masks

// #region schedules
/** alphaBar_0 = 1 (t = 0 is clean), then strictly decreasing and positive: every step adds noise. */
export const alphaBarDecreases = (table: (s: Schedule) => ScheduleTable = tableOf) =>
  fc.property(arbSchedule({ maxSteps: 200 }), (s) => {
    const a = table(s).alphaBar;
    if (a[0] !== 1) return false;
    for (let t = 1; t <= s.steps; t++) if (!(a[t]! < a[t - 1]! && a[t]! > 0)) return false;
    return true;
  });

/** q_sample at t = 0 returns x0 exactly, whatever the noise. */
export const qSampleAtZeroIsIdentity = (table: (s: Schedule) => ScheduleTable = tableOf) =>
  fc.property(arbSchedule({ maxSteps: 200 }), fc.integer({ min: 1, max: 4 }), arbKey(), (s, n, k) =>
    tf.tidy(() => {
      const [kx, ke] = Key.split(k);
      const x0 = tf.tensor(Key.normal(kx!, n * 12), [n, 4, 3]);
      const eps = tf.tensor(Key.normal(ke!, n * 12), [n, 4, 3]);
      const xt = qSample(table(s), x0, new Int32Array(n), eps);
      const a = x0.dataSync();
      return xt.dataSync().every((v, i) => Object.is(v, a[i]));
    }),
  );
// #endregion schedules

// #region broken
/** A common bug: rounding the kept count instead of flooring it (keeps one token too many half the time). */
export const roundingDraw: DrawMask = (m, key, batch, grid) => {
  const length = grid.rows * grid.cols;
  const keep = m.kind === 'random' ? Math.round(length * (1 - m.ratio)) : length;
  return maskFromNoise(Key.uniform(key, batch * length), batch, length, Math.min(keep, length));
};

/** Another: returning the shuffle itself where its inverse belongs (right only when the shuffle is its own inverse). */
export const noInverseDraw: DrawMask = (m, key, batch, grid) => {
  const d = drawMask(m, key, batch, grid);
  return { ...d, idsRestore: d.idsShuffle };
};

/**
 * And one in a schedule: indexing the table the way DiT and UMD count steps, where the first
 * noised step is t = 0. Then alphaBar_0 < 1, and "t = 0" is no longer clean.
 */
export const offByOneTable = (s: Schedule): ScheduleTable => {
  const ok = tableOf(s);
  const alphaBar = ok.alphaBar.map((_, t) => ok.alphaBar[Math.min(t + 1, s.steps)]!);
  return {
    steps: ok.steps,
    betas: alphaBar.map((a, t) => (t === 0 ? 1 - a : 1 - a / alphaBar[t - 1]!)),
    alphaBar,
    sqrtAlphaBar: alphaBar.map(Math.sqrt),
    sqrtOneMinusAlphaBar: alphaBar.map((a) => Math.sqrt(1 - a)),
  };
};
// #endregion broken

if (import.meta.url === `file://${process.argv[1]}`) {
  await useBackend('auto');
  fc.assert(keepsFloor());
  fc.assert(restoreInvertsShuffle());
  fc.assert(alphaBarDecreases());
  fc.assert(qSampleAtZeroIsIdentity());
  console.log('the four laws hold');
  const caught = fc.check(keepsFloor(roundingDraw));
  console.log(`keepsFloor(roundingDraw): ${caught.failed ? `fails on ${JSON.stringify(caught.counterexample)}` : 'holds (!)'}`);
}

/**
 * fast-check arbitraries for the corruption algebra, for property-testing schedules, masks
 * and your own variants. Import from `tesserae/testing`.
 *
 * @example
 * import fc from 'fast-check'
 * import { arbSchedule } from 'tesserae/testing'
 * fc.assert(fc.property(arbSchedule(), (s) => tableOf(s).alphaBar[0] === 1))
 * @since 0.1.0
 */
import fc from 'fast-check';
import { key, type Key } from '../core/key.js';
import { mixture, validateBranch, type Branch, type Corruption } from '../corruption/corruption.js';
import { Mask } from '../corruption/mask.js';
import { Noise } from '../corruption/noise.js';
import { term, type LossTerm, type Region, type Target } from '../corruption/objective.js';
import { Schedule, type RhoOn } from '../corruption/schedule.js';
import { Time } from '../corruption/time.js';
import { patches, tubelets, type Patching } from '../vision/patchify.js';

/**
 * Keys from random seeds.
 *
 * @example
 * fc.assert(fc.property(arbKey(), (k) => Key.uniform(k, 1)[0]! < 1))
 * @since 0.1.0
 */
export const arbKey = (): fc.Arbitrary<Key> => fc.integer({ min: 0, max: 2 ** 31 - 1 }).map(key);

/**
 * Image geometry: a patching and an image shape that it divides, kept small.
 *
 * @example
 * fc.assert(fc.property(arbImageGeometry(), (g) => gridOf(g.patching, [g.height, g.width, g.channels]).tokens > 0))
 * @since 0.1.0
 */
export const arbImageGeometry = (
  o: { readonly maxPatch?: number; readonly maxGrid?: number; readonly maxChannels?: number } = {},
): fc.Arbitrary<{ readonly patching: Patching; readonly height: number; readonly width: number; readonly channels: number }> =>
  fc
    .record({
      p: fc.integer({ min: 1, max: o.maxPatch ?? 4 }),
      gh: fc.integer({ min: 1, max: o.maxGrid ?? 4 }),
      gw: fc.integer({ min: 1, max: o.maxGrid ?? 4 }),
      c: fc.integer({ min: 1, max: o.maxChannels ?? 3 }),
    })
    .map(({ p, gh, gw, c }) => ({ patching: patches(p), height: gh * p, width: gw * p, channels: c }));

/**
 * Video geometry: a tubelet patching and a clip shape [frames, height, width, channels] that it
 * divides, kept small.
 *
 * @example
 * fc.assert(fc.property(arbVideoGeometry(), (g) => gridOf(g.patching, g.shape).tokens > 0))
 * @since 0.1.0
 */
export const arbVideoGeometry = (
  o: { readonly maxPatch?: number; readonly maxGrid?: number; readonly maxTubelet?: number; readonly maxTimes?: number } = {},
): fc.Arbitrary<{ readonly patching: Patching; readonly shape: readonly [number, number, number, number] }> =>
  fc
    .record({
      p: fc.integer({ min: 1, max: o.maxPatch ?? 3 }),
      t: fc.integer({ min: 1, max: o.maxTubelet ?? 3 }),
      times: fc.integer({ min: 1, max: o.maxTimes ?? 4 }),
      gh: fc.integer({ min: 1, max: o.maxGrid ?? 3 }),
      gw: fc.integer({ min: 1, max: o.maxGrid ?? 3 }),
      c: fc.integer({ min: 1, max: 3 }),
    })
    .map(({ p, t, times, gh, gw, c }) => ({ patching: tubelets(t, p), shape: [times * t, gh * p, gw * p, c] as const }));

/**
 * Spacetime masks for a (times x) rows x cols grid: random, tube, frame (when times > 1),
 * center and block (per slice), explicit.
 *
 * @example
 * arbSpacetimeMask(4, 8, 8)
 * @since 0.1.0
 */
export const arbSpacetimeMask = (times: number, rows: number, cols: number): fc.Arbitrary<Mask> =>
  fc.oneof(
    arbMask(rows, cols).filter((m) => m.kind !== 'explicit'),
    arbRatio().map(Mask.tube),
    ...(times > 1 ? [arbRatio().map(Mask.frame)] : []),
    fc.uniqueArray(fc.nat(times * rows * cols - 1), { maxLength: times * rows * cols }).map(Mask.explicit),
  );

/**
 * Mask ratios in [0, 1).
 *
 * @example
 * fc.assert(fc.property(arbRatio(), (r) => keepCount(64, r) >= 0))
 * @since 0.1.0
 */
export const arbRatio = (): fc.Arbitrary<number> => fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

/**
 * Random masks.
 *
 * @example
 * fc.assert(fc.property(arbRandomMask(), arbKey(), (m, k) => drawMask(m, k, 2, { rows: 4, cols: 4 }).keep <= 16))
 * @since 0.1.0
 */
export const arbRandomMask = (): fc.Arbitrary<Mask> => arbRatio().map(Mask.random);

/**
 * Masks of every kind valid on a rows x cols grid.
 *
 * @example
 * fc.assert(fc.property(arbMask(8, 8), arbKey(), (m, k) => drawMask(m, k, 1, { rows: 8, cols: 8 }).length === 64))
 * @since 0.1.0
 */
export const arbMask = (rows: number, cols: number): fc.Arbitrary<Mask> =>
  fc.oneof(
    fc.constant(Mask.none()),
    arbRatio().map(Mask.random),
    arbRatio().map(Mask.center),
    fc
      .record({ top: fc.nat(rows - 1), left: fc.nat(cols - 1) })
      .chain(({ top, left }) =>
        fc.record({ top: fc.constant(top), left: fc.constant(left), height: fc.nat(rows - top), width: fc.nat(cols - left) }),
      )
      .map(Mask.block),
    fc.uniqueArray(fc.nat(rows * cols - 1), { maxLength: rows * cols }).map(Mask.explicit),
  );

/**
 * Noise schedules of both kinds with random parameters (T up to `maxSteps`).
 *
 * @example
 * fc.assert(fc.property(arbSchedule(), (s) => tableOf(s).alphaBar[0] === 1))
 * @since 0.1.0
 */
export const arbSchedule = (o: { readonly maxSteps?: number } = {}): fc.Arbitrary<Schedule> => {
  const steps = fc.integer({ min: 1, max: o.maxSteps ?? 1000 });
  // rho on the betas is kept to 0.5..2, so that beta^rho of the smallest beta stays far above 1e-16
  const exponent = fc.oneof(
    fc.record({ rho: fc.double({ min: 0.25, max: 4, noNaN: true }), rhoOn: fc.constant<RhoOn>('alphaBar') }),
    fc.record({ rho: fc.double({ min: 0.5, max: 2, noNaN: true }), rhoOn: fc.constant<RhoOn>('betas') }),
  );
  return fc.oneof(
    fc
      .record({
        steps,
        s: fc.double({ min: 0, max: 0.1, noNaN: true }),
        maxBeta: fc.double({ min: 0.5, max: 0.999, noNaN: true }),
        exponent,
      })
      .map(({ exponent: e, ...r }) => Schedule.cosine({ ...r, ...e })),
    fc
      .record({
        steps,
        a: fc.double({ min: 1e-5, max: 0.05, noNaN: true }),
        b: fc.double({ min: 1e-5, max: 0.05, noNaN: true }),
        exponent,
      })
      .map(({ steps: st, a, b, exponent: e }) => Schedule.linear({ steps: st, betaStart: Math.min(a, b), betaEnd: Math.max(a, b), ...e })),
  );
};

/**
 * Timestep choices valid for a schedule of `steps` steps (never zero).
 *
 * @example
 * fc.assert(fc.property(arbNoisedTime(1000), arbKey(), (t, k) => sampleTime(t, k, 4, 1000).every((v) => v >= 1)))
 * @since 0.1.0
 */
export const arbNoisedTime = (steps: number): fc.Arbitrary<Time> =>
  fc.oneof(
    fc.constant(Time.uniform()),
    fc.integer({ min: 1, max: steps }).map(Time.fixed),
    fc
      .tuple(fc.integer({ min: 1, max: steps }), fc.integer({ min: 1, max: steps }))
      .map(([a, b]) => Time.range(Math.min(a, b), Math.max(a, b))),
  );

const arbTerm = (targets: readonly Target[], regions: readonly Region[]): fc.Arbitrary<LossTerm> =>
  fc
    .record({
      target: fc.constantFrom(...targets),
      region: fc.constantFrom(...regions),
      weight: fc.double({ min: 0.01, max: 4, noNaN: true }),
      normPix: fc.boolean(),
    })
    .map((t) => term(t.target, t.region, t.weight, { normPix: t.normPix && t.target === 'x0' }));

/**
 * Valid branches on a rows x cols grid: a mask, a noise on a schedule and a time that agree
 * (clean with t = 0, noised with t >= 1), and a non-empty objective that scores what the branch
 * can score (eps only with noise; masked or visible regions only with a mask).
 *
 * @example
 * fc.assert(fc.property(arbBranch(8, 8), (b) => validateBranch(b) !== undefined))
 * @since 0.2.0
 */
export const arbBranch = (rows: number, cols: number): fc.Arbitrary<Branch> =>
  fc
    .record({
      mask: arbMask(rows, cols),
      clean: fc.boolean(),
      placement: fc.constantFrom('masked' as const, 'all' as const),
      schedule: arbSchedule({ maxSteps: 50 }),
    })
    .chain(({ mask, clean, placement, schedule }) => {
      const masked = mask.kind !== 'none';
      const noise = clean ? Noise.none() : masked ? Noise[placement](schedule) : Noise.all(schedule);
      const regions: readonly Region[] = masked ? ['masked', 'visible', 'all'] : ['all'];
      const targets: readonly Target[] = clean ? ['x0'] : ['x0', 'eps'];
      return fc.record(
        {
          mask: fc.constant(mask),
          noise: fc.constant(noise),
          time: clean ? fc.constant(Time.zero()) : arbNoisedTime(schedule.steps),
          objective: fc.array(arbTerm(targets, regions), { minLength: 1, maxLength: 3 }),
          condition: fc.constantFrom('label' as const, 'null' as const),
        },
        { requiredKeys: ['mask', 'noise', 'time', 'objective'] },
      );
    })
    .filter((b) => {
      try {
        validateBranch(b);
        return true;
      } catch {
        return false;
      }
    });

/**
 * Valid corruptions on square patches of 4 over a rows x cols grid of patches: one to three named
 * branches with random weights, split exactly or by sampling.
 *
 * @example
 * fc.assert(fc.property(arbCorruption(4, 4), (c) => Math.abs(c.branches.reduce((s, b) => s + b.weight, 0) - 1) < 1e-12))
 * @since 0.2.0
 */
export const arbCorruption = (rows: number, cols: number): fc.Arbitrary<Corruption> =>
  fc
    .record({
      branches: fc.array(fc.record({ weight: fc.double({ min: 0.01, max: 10, noNaN: true }), branch: arbBranch(rows, cols) }), {
        minLength: 1,
        maxLength: 3,
      }),
      split: fc.constantFrom('exact' as const, 'sample' as const),
    })
    .map(({ branches, split }) =>
      mixture(
        patches(4),
        branches.map((b, i) => ({ name: `b${i}`, ...b })),
        split,
      ),
    );

/**
 * The corruption algebra: patches, masks, noise, time and mixtures; the five methods as values,
 * side by side; a hybrid as a new value. docs/guides/corruption-algebra.md includes this file by
 * region, and test/examples checks the guide's table against {@link settings}.
 * Run: node dist/examples/algebra.js
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
  drawMask,
  gridOf,
  placeNoise,
  sampleTime,
  synthetic,
  tableOf,
  tf,
  useBackend,
  type Branch,
  type Corruption,
  type LossTerm,
} from '../src/index.js';

/** The pieces, one by one, on a 16 x 16 image cut into 4 x 4 patches. */
export const pieces = (): {
  tokens: number;
  patchDim: number;
  randomKeep: number;
  centreRemoved: number[];
  alphaBar: [number, number];
  t: number[];
  visibleUnchanged: boolean;
} => {
  // #region pieces
  const grid = gridOf(patches(4), [16, 16, 3]); // 4 x 4 = 16 tokens of 4 * 4 * 3 = 48 values

  const random = drawMask(Mask.random(0.75), Key.key(0), 2, grid); // keeps floor(16 * 0.25) = 4 per image
  const centre = drawMask(Mask.center(0.25), Key.key(0), 2, grid); // removes the middle 2 x 2 tokens
  // each draw: { keep, idsShuffle (kept first), idsRestore (its inverse), mask (1 = removed) }

  const cosine = tableOf(Schedule.cosine()); // T = 1000; alphaBar[0] = 1 (clean) down to alphaBar[1000] ~ 0
  const t = sampleTime(Time.uniform(), Key.key(1), 2, cosine.steps); // one t in 1..1000 per image

  const x0 = tf.randomNormal([2, grid.tokens, grid.patchDim], 0, 1, 'float32', 0); // clean patches
  const eps = tf.randomNormal(x0.shape, 0, 1, 'float32', 1);
  const mask = tf.tensor2d(centre.mask, [2, grid.tokens]);
  const xt = placeNoise(Noise.masked(Schedule.cosine()), x0, mask, t, eps); // DiffMAE: noise on the removed patches only
  // #endregion pieces
  const [a, b] = [x0.dataSync(), xt.dataSync()];
  const visibleUnchanged = a.every((v, i) => centre.mask[Math.floor(i / grid.patchDim)] === 1 || Object.is(v, b[i]));
  const out = {
    tokens: grid.tokens,
    patchDim: grid.patchDim,
    randomKeep: random.keep,
    centreRemoved: Array.from(centre.mask.subarray(0, grid.tokens).keys()).filter((i) => centre.mask[i] === 1),
    alphaBar: [cosine.alphaBar[0]!, cosine.alphaBar[cosine.steps]!] as [number, number],
    t: Array.from(t),
    visibleUnchanged,
  };
  tf.dispose([x0, eps, mask, xt]);
  return out;
};

// #region methods
export const methods = {
  MAE: Method.mae({ patch: 4 }),
  DiffMAE: Method.diffmae({ patch: 4 }),
  UMD: Method.umd({ patch: 4 }),
  MaskDiT: Method.maskdit({ patch: 4 }),
  DiT: Method.dit({ patch: 4 }),
} satisfies Record<string, Corruption>;
// #endregion methods

// #region hybrid
/** A hybrid: DiffMAE's masked-only noise on 70% of the batch, a clean MAE step on the rest. */
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

// #region differ
/** The fields in which two branches differ. */
export const differ = (a: Branch, b: Branch): (keyof Branch)[] =>
  (['mask', 'noise', 'time', 'objective'] as const).filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));

// differ(MAE, DiffMAE) -> ['noise', 'time']: same mask, same objective; DiffMAE adds noise and t >= 1
// #endregion differ

const maskText = (b: Branch): string => ('ratio' in b.mask ? `${b.mask.kind} ${b.mask.ratio}` : b.mask.kind);
const timeText = (b: Branch): string =>
  b.time.kind === 'zero'
    ? '0'
    : b.time.kind === 'uniform'
      ? 'U{1..T}'
      : b.time.kind === 'range'
        ? `U{${b.time.lo}..${b.time.hi}}`
        : `${b.time.t}`;
const termText = (t: LossTerm): string =>
  `${t.weight === 1 ? '' : `${t.weight} `}${t.target}${t.normPix ? ' (norm-pix)' : ''} on ${t.region}`;

/** One row per branch of each method: what the table in docs/guides/corruption-algebra.md shows. */
export const settings = (): string[][] =>
  Object.entries(methods).flatMap(([name, c]) =>
    c.branches.map((wb) => [
      name,
      c.branches.length === 1 ? '1' : String(wb.weight),
      maskText(wb.branch),
      wb.branch.noise.placement,
      timeText(wb.branch),
      wb.branch.objective.map(termText).join(' + '),
    ]),
  );

export const main = async (): Promise<{ name: string; rows: number; kept: number }[]> => {
  const data = synthetic({ count: 8 });
  const images = tf.tensor4d(data.images, [8, 32, 32, 3]);
  const out: { name: string; rows: number; kept: number }[] = [];
  // #region corrupt
  for (const c of [methods.MAE, methods.UMD, hybrid]) {
    const groups = corrupt(c, Key.key(0), images); // one group per branch that got rows of the batch
    for (const g of groups) out.push({ name: g.name, rows: g.rows.length, kept: g.keep });
    disposeCorrupted(groups);
  }
  // #endregion corrupt
  images.dispose();
  return out;
};

if (import.meta.url === `file://${process.argv[1]}`) {
  await useBackend('auto');
  console.log(pieces());
  console.table(settings());
  console.table(await main());
}

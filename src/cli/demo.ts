/**
 * `tesserae demo`: the corruption algebra on the embedded synthetic data. Every method value
 * (MAE, DiffMAE, UMD, MaskDiT, DiT) corrupts the same batch; a small stage-pipeline encoder runs
 * on each branch's visible tokens; PNG grids show what each method feeds its networks.
 *
 * @since 0.1.0
 */
import { join } from 'node:path';
import { pipe } from 'fp-ts/lib/function.js';
import { ctx } from '../core/layer.js';
import { fold, key } from '../core/key.js';
import { spec, specTree } from '../core/spec.js';
import { countParams, disposeParams } from '../core/params.js';
import { tf, type Tensor } from '../core/tf.js';
import { serial } from '../combinators/serial.js';
import { stack } from '../combinators/stack.js';
import { lift } from '../combinators/lift.js';
import { on, start, stage } from '../combinators/stage.js';
import { dense } from '../layers/dense.js';
import { layerNorm } from '../layers/layerNorm.js';
import { gatherTokens } from '../layers/ops.js';
import { sincosPosEmbed } from '../layers/posEmbed.js';
import { vitBlock } from '../vision/vitBlock.js';
import { unpatchifyOp, type Grid } from '../vision/patchify.js';
import { corrupt, disposeCorrupted, type Corruption, type Corrupted } from '../corruption/corruption.js';
import { Method } from '../models/methods.js';
import { synthetic } from '../data/synthetic.js';
import { toImage8, tileImages } from '../io/images.js';
import type { Image8 } from '../io/png.js';
import { prepareOutputFolder, writePng, writeFileAtomic } from '../node/files.js';
import { useBackend, type BackendChoice } from '../backends/index.js';
import { table } from './table.js';

/** The encoder every branch runs: embed patches, add positions, keep the visible tokens, two ViT blocks. */
const visibleEncoder = (grid: Grid, width: number) =>
  pipe(
    start<{ readonly xt: Tensor; readonly idsKeep: Tensor; readonly idsRestore: Tensor }>(),
    stage('embed', on('xt', serial({ proj: dense(width), pos: sincosPosEmbed([grid.rows, grid.cols]) }), 'tokens')),
    stage(
      'visible',
      lift(
        'gatherVisible',
        (e: { readonly tokens: Tensor; readonly idsKeep: Tensor; readonly idsRestore: Tensor }) => ({
          visible: gatherTokens(e.tokens, e.idsKeep, e.idsRestore),
        }),
        (s) => ({ visible: spec([s.idsKeep.shape[0]!, s.idsKeep.shape[1]!, s.tokens.shape[2]!]) }),
      ),
    ),
    stage('blocks', on('visible', serial({ blocks: stack(2, () => vitBlock({ width, heads: 4 })), norm: layerNorm() }), 'latent')),
  );

/** Cells for one group: original | encoder input (visible patches, removed grey) | corrupted patches everywhere. */
const cells = (g: Corrupted): Image8[][] => {
  const { height: h, width: w, channels: c } = g.grid;
  const [orig, enc, noisy] = tf.tidy(() => {
    const keepMask = tf.expandDims(tf.sub(1, g.mask), -1);
    const encoderView = tf.add(tf.mul(g.xt, keepMask), tf.mul(tf.sub(1, keepMask), 0.5));
    return [g.x0, encoderView, g.xt].map((p) => unpatchifyOp(g.grid, p));
  }) as [Tensor, Tensor, Tensor];
  const [a, b, d] = [orig.dataSync(), enc.dataSync(), noisy.dataSync()];
  tf.dispose([orig, enc, noisy]);
  const n = h * w * c;
  return Array.from(g.rows, (_, i) => [a, b, d].map((v) => toImage8(v.subarray(i * n, (i + 1) * n), h, w, c)));
};

/**
 * Options of {@link runDemo}.
 *
 * @since 0.1.0
 */
export interface DemoOptions {
  readonly out: string;
  readonly seed: number;
  readonly count: number;
  readonly backend: BackendChoice;
  readonly log: (line: string) => void;
}

/**
 * Runs the demonstration; returns the summary rows.
 *
 * @since 0.1.0
 */
export const runDemo = async (o: DemoOptions): Promise<Record<string, string | number>[]> => {
  prepareOutputFolder(o.out);
  const t0 = performance.now();
  const backend = await useBackend(o.backend);
  const data = synthetic({ count: o.count, seed: o.seed });
  const images = tf.tensor4d(data.images, [data.count, data.height, data.width, data.channels]);
  const methods: Record<string, Corruption> = {
    mae: Method.mae({ patch: 4 }),
    diffmae: Method.diffmae({ patch: 4 }),
    umd: Method.umd({ patch: 4 }),
    maskdit: Method.maskdit({ patch: 4 }),
    dit: Method.dit({ patch: 4 }),
  };
  const rows: Record<string, string | number>[] = [];
  const root = key(o.seed);
  const tensorsBefore = tf.memory().numTensors;
  for (const [name, method] of Object.entries(methods)) {
    const groups = corrupt(method, fold(root, name), images);
    const grid = groups[0]!.grid;
    const encoder = visibleEncoder(grid, 64);
    const { params, outSpec } = encoder.init(fold(root, 'encoder'), {
      xt: spec([-1, grid.tokens, grid.patchDim]),
      idsKeep: spec([-1, -1], 'int32'),
      idsRestore: spec([-1, grid.tokens], 'int32'),
    });
    const panel: Image8[][] = [];
    const rowTitles: string[] = [];
    for (const g of groups) {
      const latent = tf.tidy(() => encoder.apply(params, g, ctx(fold(root, g.name))).latent);
      const want = [g.rows.length, g.keep, outSpec.latent.shape[2]!];
      if (latent.shape.join() !== want.join())
        throw new Error(`${name}/${g.name}: encoder output ${latent.shape} differs from its spec ${want}`);
      const t = Array.from(g.tHost);
      rows.push({
        method: name,
        branch: g.name,
        rows: g.rows.length,
        tokens: grid.tokens,
        kept: g.keep,
        noise: g.branch.noise.placement,
        t: t.every((v) => v === 0) ? '0' : `${Math.min(...t)}..${Math.max(...t)}`,
        objective: g.branch.objective.map((x) => `${x.weight}*${x.target}@${x.region}`).join(' + '),
        latent: `[${specTree(latent).shape.join(',')}]`,
        params: countParams(params),
      });
      latent.dispose();
      const groupCells = cells(g);
      panel.push(...groupCells);
      // each row says its branch and its noise level
      rowTitles.push(...groupCells.map((_, i) => `${g.name} t=${t[i] ?? 0}`));
    }
    writePng(
      join(o.out, `${name}.png`),
      tileImages(panel, { scale: 3, pad: 3, titles: ['original', 'encoder sees', 'noised x_t'], rowTitles }),
    );
    disposeCorrupted(groups);
    disposeParams(params);
  }
  const leaked = tf.memory().numTensors - tensorsBefore;
  images.dispose();
  if (leaked !== 0) throw new Error(`demo leaked ${leaked} tensors`);
  o.log(table(rows));
  o.log('');
  o.log(
    `Wrote ${Object.keys(methods)
      .map((m) => join(o.out, `${m}.png`))
      .join(', ')}`,
  );
  o.log('Each row of a picture: original | what the encoder sees (removed patches grey) | corrupted patches everywhere.');
  const summary = {
    command: 'demo',
    backend,
    images: data.count,
    methods: Object.keys(methods),
    seconds: +((performance.now() - t0) / 1000).toFixed(2),
    leakedTensors: leaked,
  };
  writeFileAtomic(join(o.out, 'summary.json'), JSON.stringify({ ...summary, rows }, null, 2));
  o.log(JSON.stringify(summary));
  return rows;
};

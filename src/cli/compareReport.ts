/**
 * The report of `tesserae compare` (./compare.ts), built from the results of its steps
 * (./compareSteps.ts): the tables printed to the console, `curves.png`, `results.md` and
 * `results.json`, and the one-line JSON summary.
 *
 * @since 0.2.0
 */
import { existsSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import type { BackendName } from '../backends/index.js';
import type { EvalResult } from '../eval/evaluate.js';
import { plotPanels, type Panel, type Series } from '../io/plot.js';
import type { MethodName } from '../models/presets.js';
import { writeFileAtomic, writePng } from '../node/files.js';
import { duration } from '../node/progress.js';
import { readTrainLog } from '../node/trainLog.js';
import {
  pct,
  type CompareProbe,
  type CurvePoint,
  type GenerationResult,
  type GenerationSettings,
  type Log,
  type MethodSpecs,
  type SharedTrain,
} from './compareSteps.js';
import { table } from './table.js';
import { packageVersion } from './version.js';
import { scheduleOf } from '../corruption/questions.js';

/** What the representations table shows beside the methods: the probes on raw pixels, and each method's fine-tuned accuracy. */
export interface Baselines {
  readonly pixels?: Pick<EvalResult, 'ridge' | 'linear' | 'knn'>;
  readonly finetune?: ReadonlyMap<MethodName, number>;
}

/** A row of a report table: column name to cell. */
export type ReportRow = Record<string, string | number>;

/** A markdown table of rows that share the first row's columns (empty for no rows). */
export const markdownTable = (rows: readonly ReportRow[]): string => {
  if (rows.length === 0) return '';
  const cols = Object.keys(rows[0]!);
  const cell = (v: string | number | undefined): string => (v === undefined ? '' : String(v));
  return [
    `| ${cols.join(' | ')} |`,
    `| ${cols.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${cols.map((c) => cell(r[c])).join(' | ')} |`),
  ].join('\n');
};

/** The (step, loss) points of a training run's log (none when it has no log). */
export const lossCurve = (out: string): [number, number][] => {
  const path = join(out, 'log.jsonl');
  if (!existsSync(path)) return [];
  return readTrainLog(path)
    .filter((e): e is typeof e & { loss: number } => typeof e.loss === 'number')
    .map((e) => [e.step, e.loss]);
};

/** What a table's PSNR and SSIM measure: `masked region` or `x0 from t = 100 (whole image)`. */
export const measured = (kind: 'masked' | 'denoise-t100' | undefined): string =>
  kind === undefined ? '-' : kind === 'masked' ? 'masked region' : 'x0 from t = 100 (whole image)';

/**
 * The representations table: every method at the final checkpoint step (the largest step of any
 * curve), then the random initialisation of the first method's encoder when its step 0 was
 * evaluated. PSNR and SSIM not measured over a masked region are marked `*`.
 */
export const representationRows = (
  specs: MethodSpecs,
  curves: readonly CurvePoint[],
  shots: number,
  extra: Baselines = {},
): ReportRow[] => {
  const tuned = extra.finetune;
  const tunedCell = (m: MethodName | null): Record<string, string> =>
    tuned && tuned.size > 0 ? { 'fine-tuned': pct(m === null ? undefined : tuned.get(m)) } : {};
  const finalStep = Math.max(...curves.map((c) => c.step));
  const last = (m: MethodName): CurvePoint | undefined => curves.filter((c) => c.method === m && c.step === finalStep).at(-1);
  const ridge = `ridge ${shots}-shot`;
  const first = curves.find((p) => p.step === 0 && p.method === specs[0]![0]);
  return [
    ...specs.map(([m]) => {
      const c = last(m);
      return {
        method: m,
        steps: c?.step ?? 0,
        features: c ? (c.result.pool === 'cls' ? 'CLS' : 'patch mean') : '-',
        [ridge]: pct(c?.result.ridge?.accuracy),
        'linear probe': pct(c?.result.linear?.accuracy),
        'k-NN': pct(c?.result.knn?.accuracy),
        ...tunedCell(m),
        PSNR: c?.result.reconstruction
          ? `${c.result.reconstruction.psnr.toFixed(2)} dB${c.result.reconstruction.kind === 'masked' ? '' : ' *'}`
          : '-',
        SSIM: c?.result.reconstruction
          ? `${c.result.reconstruction.ssim.toFixed(3)}${c.result.reconstruction.kind === 'masked' ? '' : ' *'}`
          : '-',
        'PSNR, SSIM of': measured(c?.result.reconstruction?.kind),
      };
    }),
    ...(first
      ? [
          {
            method: `random init (${first.method} encoder)`,
            steps: 0,
            features: first.result.pool === 'cls' ? 'CLS' : 'patch mean',
            [ridge]: pct(first.result.ridge?.accuracy),
            'linear probe': pct(first.result.linear?.accuracy),
            'k-NN': pct(first.result.knn?.accuracy),
            ...tunedCell(null),
            PSNR: first.result.reconstruction
              ? `${first.result.reconstruction.psnr.toFixed(2)} dB${first.result.reconstruction.kind === 'masked' ? '' : ' *'}`
              : '-',
            SSIM: first.result.reconstruction
              ? `${first.result.reconstruction.ssim.toFixed(3)}${first.result.reconstruction.kind === 'masked' ? '' : ' *'}`
              : '-',
            'PSNR, SSIM of': measured(first.result.reconstruction?.kind),
          },
        ]
      : []),
    ...(extra.pixels
      ? [
          {
            method: 'raw pixels',
            steps: 0,
            features: 'pixels',
            [ridge]: pct(extra.pixels.ridge?.accuracy),
            'linear probe': pct(extra.pixels.linear?.accuracy),
            'k-NN': pct(extra.pixels.knn?.accuracy),
            ...tunedCell(null),
            PSNR: '-',
            SSIM: '-',
            'PSNR, SSIM of': '-',
          },
        ]
      : []),
  ];
};

/** The generation table: one row per sample set (the real floor first). */
export const generationRows = (generation: GenerationResult): ReportRow[] =>
  generation.quality.map(({ name, q }) => ({
    samples: name,
    'reference accuracy on samples': pct(q.accuracy),
    'Fréchet distance (classifier features)': q.frechet.toFixed(2),
    'diversity (vs real)': q.diversity.toFixed(3),
  }));

/** The panels of `curves.png`: each probe that ran, PSNR and SSIM against the pre-training step, and the training losses. */
export const curvePanels = (o: {
  readonly specs: MethodSpecs;
  readonly curves: readonly CurvePoint[];
  readonly probes: readonly CompareProbe[];
  readonly shots: number;
  readonly out: string;
}): Panel[] => {
  // a series whose PSNR is of the x0 estimate from t = 100, not of a masked region, is named with a *
  const kindNamed = (p: Panel): Panel => ({
    ...p,
    series: p.series.map((s) =>
      o.curves.some((c) => c.method === s.name && c.result.reconstruction?.kind === 'denoise-t100') ? { ...s, name: `${s.name} *` } : s,
    ),
  });
  const panel = (title: string, yLabel: string, pick: (r: EvalResult) => number | undefined): Panel => ({
    title,
    xLabel: 'pre-training step',
    yLabel,
    series: o.specs.map(([m]): Series => ({
      name: m,
      points: o.curves
        .filter((c) => c.method === m)
        .map((c) => [c.step, pick(c.result)] as const)
        .filter((p): p is readonly [number, number] => p[1] !== undefined),
    })),
  });
  return [
    ...(o.probes.includes('ridge')
      ? [panel(`${o.shots}-shot ridge accuracy (%)`, '%', (r) => (r.ridge ? 100 * r.ridge.accuracy : undefined))]
      : []),
    ...(o.probes.includes('linear')
      ? [panel('linear probe accuracy (%)', '%', (r) => (r.linear ? 100 * r.linear.accuracy : undefined))]
      : []),
    ...(o.probes.includes('knn') ? [panel('k-NN accuracy (%)', '%', (r) => (r.knn ? 100 * r.knn.accuracy : undefined))] : []),
    kindNamed(panel('held-out PSNR (dB), masked region; * x0 from t = 100', 'dB', (r) => r.reconstruction?.psnr)),
    kindNamed(panel('held-out SSIM, masked region; * x0 from t = 100', 'SSIM', (r) => r.reconstruction?.ssim)),
    {
      title: 'training loss',
      xLabel: 'step',
      yLabel: 'loss',
      logY: true,
      series: o.specs.map(([m]): Series => ({ name: m, points: lossCurve(join(o.out, m)) })),
    },
  ];
};

/** The curves table of `results.md`: one row per evaluated checkpoint. */
export const curveRows = (curves: readonly CurvePoint[]): ReportRow[] =>
  curves.map((c) => ({
    method: c.method,
    step: c.step,
    ridge: pct(c.result.ridge?.accuracy),
    linear: pct(c.result.linear?.accuracy),
    'k-NN': pct(c.result.knn?.accuracy),
    PSNR: c.result.reconstruction ? c.result.reconstruction.psnr.toFixed(2) : '-',
    SSIM: c.result.reconstruction ? c.result.reconstruction.ssim.toFixed(3) : '-',
    'PSNR, SSIM of': measured(c.result.reconstruction?.kind),
  }));

/** The machine line of `results.md`: CPUs, memory, Node, platform and the tfjs backend. */
export const machineLine = (backend: BackendName): string => {
  const cpu = cpus();
  return `${cpu.length} x ${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${process.platform}-${process.arch}, tfjs backend ${backend}`;
};

/** What `results.md` says about the class-conditional generation: its settings, the reference's accuracy and the generating methods. */
export type GenerationText = GenerationSettings & {
  readonly referenceAccuracy: number | null;
  readonly generating: readonly MethodName[];
};

/** What the report says about the data: its name, how many training, probe and held-out images, and classes. */
export interface ReportData {
  /** What the data is, e.g. `synthetic` or `Fashion-MNIST`. */
  readonly dataName: string;
  readonly count: number;
  /** Training images the probes fit on. */
  readonly probeCount?: number;
  readonly held: number;
  readonly classes: number;
}

/**
 * One line per method saying which version of it the tables used: tesserae's version and the
 * choices where the methods' reference codes differ (docs/guides/reference-code.md), read from
 * the spec each method trained, so a later change of a preset's defaults cannot be mistaken
 * for these results.
 */
export const versionLines = (specs: MethodSpecs, version: string): string[] =>
  specs.map(([method, s]) => {
    const e = s.network.encoder;
    const sched = scheduleOf(s.corruption);
    const conditioned = e.conditioning !== 'none';
    const parts = [
      sched ? `schedule ${sched.kind}${sched.rho === 1 ? '' : ` rho ${sched.rho} on ${sched.rhoOn}`}` : 'no noise',
      `positions ${e.pos}`,
      ...(conditioned
        ? [
            `time embedding ${e.embedding ?? 'timestep-embedder'}`,
            `label embedding ${e.labelEmbedding ?? 'table-mlp'}`,
            `MLP ${e.activation ?? 'gelu'}`,
            ...(e.conditioning === 'adaln' ? [`adaLN norms ${e.adaNorm ?? 'plain'}`] : [`conditioning ${e.conditioning}`]),
          ]
        : []),
      `decoder ${s.network.decoder.kind}`,
    ];
    return `- ${method} (${s.label ?? method}), tesserae ${version}: ${parts.join(', ')}`;
  });

/** `results.md`: the command, the machine, the setup, the tables and the pictures. */
export const resultsMarkdown = (
  o: ReportData & {
    readonly command: string;
    readonly machine: string;
    /** The wall time so far, as `duration` writes it. */
    readonly wall: string;
    readonly preset: string;
    readonly base: SharedTrain;
    readonly seed: number;
    /** Steps of the supervised fine-tuning behind the `fine-tuned` column. */
    readonly classifySteps?: number;
    readonly repRows: readonly ReportRow[];
    readonly genRows: readonly ReportRow[];
    /** Null when nothing was generated (then `genRows` is empty). */
    readonly generation: GenerationText | null;
    readonly curveRows: readonly ReportRow[];
    /** {@link versionLines}. */
    readonly versions: readonly string[];
  },
): string => {
  const g = o.generation;
  return [
    `# Method comparison on ${o.dataName === 'synthetic' ? 'the embedded synthetic data' : o.dataName}`,
    '',
    `Command: \`${o.command}\`  `,
    `Machine: ${o.machine}  `,
    `Date: ${new Date().toISOString().slice(0, 10)}; wall time ${o.wall}`,
    '',
    `Every method: preset ${o.preset}, ${o.base.steps} steps of ${o.base.batch * o.base.accum} images, base lr ${o.base.baseLr}, seed ${o.seed}; ${o.count} training and ${o.held} held-out ${o.dataName} images (${o.classes} classes)${o.probeCount !== undefined && o.probeCount < o.count ? `; the frozen-feature probes fit on a stratified seeded ${o.probeCount} of the training images and are scored on all ${o.held} held-out ones` : ''}. Probes read frozen features of the clean, unmasked image (t = 0 and the null class for conditioned models): each method's own representation unless --pool says otherwise, the CLS token for MAE and DiffMAE, the mean of the 4 CLS tokens for UMD (the paper's), the mean of the patch tokens for DiT, which has no CLS token.`,
    '',
    'Versions of the methods (the choices where their reference codes differ; docs/guides/reference-code.md):',
    '',
    ...o.versions,
    '',
    '## Representations (final checkpoint)',
    '',
    markdownTable(o.repRows),
    '',
    ...(o.repRows.some((r) => r['method'] === 'raw pixels')
      ? ['raw pixels: the same probes on the per-channel normalised pixels, no network (the floor a representation must beat).', '']
      : []),
    ...(o.repRows.length > 0 && 'fine-tuned' in o.repRows[0]!
      ? [
          `fine-tuned: test accuracy after ${o.classifySteps ?? 0} steps of supervised fine-tuning of the final encoder with a linear head on its features (batch 64, AdamW, layer-wise lr decay 0.75).`,
          '',
        ]
      : []),
    '![reconstructions](reconstructions.png)',
    '',
    'PSNR, SSIM: over the removed region of the reconstruction at a fixed random 75% mask (MAE, UMD clean step; DiffMAE: 10-step DDIM inpainting). * DiT: over the whole image, of the x0 estimate from t = 100 (DiT has no masked task).',
    '',
    ...(o.genRows.length && g
      ? [
          '## Class-conditional generation',
          '',
          `Fine-tuned class-conditionally for ${g.finetuneSteps} steps (label dropout 0.1, EMA ${g.finetuneEma}), then ${g.perClass} samples per class with DDIM ${g.sampleSteps} steps and guidance ${g.guidance}. A reference classifier (${o.preset} ViT, supervised from random init on the real training images, ${g.referenceSteps} steps; ${pct(g.referenceAccuracy ?? undefined)} on held-out real images) scores the samples; the Fréchet distance is FID's formula on its pooled features against the held-out images; diversity is the mean pairwise feature distance within a class over the same for real images.`,
          '',
          markdownTable(o.genRows),
          '',
          ...g.generating.map((m) => `![${m} samples](samples-${m}.png)`),
          '',
        ]
      : []),
    '## Curves',
    '',
    '![curves](curves.png)',
    '',
    markdownTable(o.curveRows),
    '',
  ].join('\n');
};

/** The one-line JSON summary `compare` prints last (and `results.json` holds, with the curves). */
export interface CompareSummary {
  readonly command: 'compare';
  readonly methods: readonly MethodName[];
  readonly preset: string;
  readonly steps: number;
  readonly backend: BackendName;
  readonly representations: readonly ReportRow[];
  readonly generation: readonly {
    readonly name: string;
    readonly accuracy: number;
    readonly frechet: number;
    readonly diversity: number;
  }[];
  readonly referenceAccuracy: number | null;
  readonly seconds: number;
  readonly out: string;
}

/**
 * Step 5: prints the representations table (and the generation table), writes `curves.png`,
 * `results.md` and `results.json` into `report`, logs what it wrote, and returns the summary.
 */
export const writeReport = (
  o: ReportData & {
    /** The command's arguments, as given. */
    readonly argv: readonly string[];
    /** `performance.now()` when the command started. */
    readonly started: number;
    readonly methods: readonly MethodName[];
    readonly specs: MethodSpecs;
    readonly preset: string;
    readonly probes: readonly CompareProbe[];
    readonly shots: number;
    readonly base: SharedTrain;
    readonly seed: number;
    readonly backend: BackendName;
    readonly out: string;
    readonly report: string;
    readonly curves: readonly CurvePoint[];
    readonly baselines?: Baselines;
    readonly classifySteps?: number;
    readonly generating: readonly MethodName[];
    /** The generation settings (null when nothing was generated). */
    readonly generationSettings: GenerationSettings | null;
    readonly generation: GenerationResult;
    readonly log: Log;
  },
): CompareSummary => {
  const { curves, generation } = o;
  const repRows = representationRows(o.specs, curves, o.shots, o.baselines);
  const genRows = generationRows(generation);
  console.log(`\n${table(repRows)}`);
  if (genRows.length)
    console.log(
      `\n${table(genRows)}\nreference classifier accuracy on held-out real images: ${pct(generation.referenceAccuracy ?? undefined)}`,
    );
  writePng(
    join(o.report, 'curves.png'),
    plotPanels(curvePanels({ specs: o.specs, curves, probes: o.probes, shots: o.shots, out: o.out }), { columns: 3 }),
  );
  const md = resultsMarkdown({
    command: `tesserae compare ${o.argv.join(' ')}`.trim(),
    machine: machineLine(o.backend),
    wall: duration((performance.now() - o.started) / 1000),
    preset: o.preset,
    base: o.base,
    seed: o.seed,
    dataName: o.dataName,
    count: o.count,
    ...(o.probeCount === undefined ? {} : { probeCount: o.probeCount }),
    held: o.held,
    classes: o.classes,
    ...(o.classifySteps === undefined ? {} : { classifySteps: o.classifySteps }),
    repRows,
    genRows,
    generation:
      o.generationSettings === null
        ? null
        : { ...o.generationSettings, referenceAccuracy: generation.referenceAccuracy, generating: o.generating },
    curveRows: curveRows(curves),
    versions: versionLines(o.specs, packageVersion()),
  });
  writeFileAtomic(join(o.report, 'results.md'), md);
  const summary: CompareSummary = {
    command: 'compare',
    methods: o.methods,
    preset: o.preset,
    steps: o.base.steps,
    backend: o.backend,
    representations: repRows,
    generation: generation.quality.map(({ name, q }) => ({ name, accuracy: q.accuracy, frechet: q.frechet, diversity: q.diversity })),
    referenceAccuracy: generation.referenceAccuracy,
    seconds: +((performance.now() - o.started) / 1000).toFixed(1),
    out: o.out,
  };
  writeFileAtomic(join(o.report, 'results.json'), `${JSON.stringify({ ...summary, curves }, null, 2)}\n`);
  o.log(
    `\nwrote ${join(o.report, 'results.md')}, results.json, curves.png, reconstructions.png${o.generating.map((g) => `, samples-${g}.png`).join('')}`,
  );
  return summary;
};

/**
 * `tesserae compare` (`npm run compare`): trains several methods for the same budget on the same
 * data, evaluates every checkpoint (few-shot ridge, linear probe, k-NN, held-out PSNR), and, for
 * the conditioned methods asked for, fine-tunes them class-conditionally and scores their
 * guided samples with a reference classifier trained on the real data. Writes `results.md`
 * (the tables, the command, the machine), `results.json`, `curves.png` and a sample grid per
 * generating method. Re-running with the same flags resumes finished or partial runs.
 *
 * @since 0.1.0
 */
import { existsSync, readdirSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../core/errors.js';
import { fold, key } from '../core/key.js';
import { disposeParams } from '../core/params.js';
import { spec as tensorSpec } from '../core/spec.js';
import { useBackend } from '../backends/index.js';
import { batchTensor, channelStats } from '../data/batches.js';
import type { LabelledImages } from '../data/synthetic.js';
import { generateImages } from '../models/sampling.js';
import { inpaintingOf, wholeImageBranch } from '../corruption/questions.js';
import { Sampler } from '../diffusion/sampler.js';
import { classifier, classify, type ClassifierParams } from '../eval/classify.js';
import { evaluate, PROBES, type EvalResult, type ProbeKind } from '../eval/evaluate.js';
import { encoderOf } from '../eval/features.js';
import { dataRange, predictRemoved } from '../eval/heldout.js';
import { reconstructionGrid } from '../eval/reconstruction.js';
import { drawMask, Mask } from '../corruption/mask.js';
import { tf } from '../core/tf.js';
import type { Image8 } from '../io/png.js';
import { fewShotIndices } from '../eval/probes.js';
import { sampleQuality, type SampleQuality } from '../eval/samples.js';
import { tileImages, toImage8 } from '../io/images.js';
import { plotPanels, type Series } from '../io/plot.js';
import { buildModel } from '../models/build.js';
import { METHODS, presetSpec, type MethodName } from '../models/presets.js';
import { openModel } from '../node/checkpoint.js';
import { loadSplits } from '../node/datasets.js';
import { prepareOutputFolder, writeFileAtomic, writePng } from '../node/files.js';
import { finetuneSpec } from '../train/finetune.js';
import { initOpt } from '../train/optimizer.js';
import { train, trainConfig, type TrainConfig } from '../train/trainer.js';
import {
  BACKEND_HELP,
  BACKENDS,
  batchSize,
  choice,
  integer,
  num,
  parseFlags,
  str,
  type Command,
  type FlagSpec,
  type Flags,
} from './args.js';
import { finetuneInit } from './finetune.js';
import { duration } from '../node/progress.js';
import { table } from './table.js';
import { runTrain } from '../node/run.js';
import { readTrainLog } from '../node/trainLog.js';

const flags: FlagSpec = {
  methods: { type: 'string', default: 'mae,diffmae,umd,dit', help: `comma-separated: ${METHODS.join(', ')}` },
  preset: { type: 'string', default: 'micro/4', help: 'the preset every method uses' },
  steps: { type: 'string', default: '600', help: 'pre-training steps per method' },
  batch: { type: 'string', default: '32', help: 'images per micro-batch' },
  accum: { type: 'string', default: '2', help: 'micro-batches per step' },
  threads: { type: 'string', default: '2', help: 'threads computing micro-batch gradients' },
  'base-lr': { type: 'string', default: '6e-3', help: 'lr = base-lr * batch * accum / 256, the same for every method' },
  'eval-every': { type: 'string', default: '200', help: 'steps between evaluated checkpoints (the curves)' },
  count: { type: 'string', default: '2000', help: 'synthetic training images (pre-training and probes)' },
  held: { type: 'string', default: '500', help: 'held-out test images' },
  probe: {
    type: 'string',
    default: 'ridge,linear,knn',
    help: `probes at every checkpoint: ${PROBES.filter((p) => p !== 'finetune').join(', ')}`,
  },
  shots: { type: 'string', default: '10', help: 'samples per class for the few-shot ridge probe' },
  pool: {
    type: 'string',
    default: 'auto',
    help: "features: auto (each method's own: CLS token(s) where it has them, else the patch mean) | cls | mean",
  },
  generate: { type: 'string', default: 'umd,dit', help: 'conditioned methods to fine-tune and sample from (empty: none)' },
  'finetune-steps': { type: 'string', default: '300', help: 'class-conditional fine-tuning steps' },
  'finetune-ema': { type: 'string', default: '0.99', help: 'EMA decay during fine-tuning (sampling uses the EMA)' },
  samples: { type: 'string', default: '20', help: 'samples per class' },
  guidance: { type: 'string', default: '3', help: 'classifier-free guidance scale' },
  'sample-steps': { type: 'string', default: '50', help: 'DDIM steps' },
  'reference-steps': { type: 'string', default: '400', help: 'training steps of the reference classifier' },
  seed: { type: 'string', default: '0', help: 'seed of every run' },
  'log-every': { type: 'string', default: '50', help: 'steps between progress lines' },
  backend: { type: 'string', default: 'auto', help: BACKEND_HELP },
  out: { type: 'string', default: 'runs/compare', help: 'folder of the training runs (checkpoints, logs)' },
  report: { type: 'string', help: 'folder of results.md, results.json and the PNGs (default: --out)' },
};

const list = <T extends string>(f: Flags, name: string, options: readonly T[]): T[] => {
  const items = str(f, name)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const s of items)
    if (!(options as readonly string[]).includes(s)) throw new ConfigError(`--${name}`, s, `must be among ${options.join(', ')}`);
  if (new Set(items).size !== items.length) throw new ConfigError(`--${name}`, items, 'lists a value twice');
  return items as T[];
};

const checkpointSteps = (dir: string): number[] =>
  existsSync(dir)
    ? readdirSync(dir)
        .map((n) => /^step-(\d+)\.safetensors$/.exec(n))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => Number(m[1]))
        .sort((a, b) => a - b)
    : [];

const lossCurve = (out: string): [number, number][] => {
  const path = join(out, 'log.jsonl');
  if (!existsSync(path)) return [];
  return readTrainLog(path)
    .filter((e): e is typeof e & { loss: number } => typeof e.loss === 'number')
    .map((e) => [e.step, e.loss]);
};

/** A row of the curves: one checkpoint of one method. */
type CurvePoint = { readonly method: MethodName; readonly step: number; readonly result: EvalResult };

const pct = (v: number | undefined): string => (v === undefined ? '-' : `${(100 * v).toFixed(1)}%`);

const markdownTable = (rows: readonly Record<string, string | number>[]): string => {
  if (rows.length === 0) return '';
  const cols = Object.keys(rows[0]!);
  const cell = (v: string | number | undefined): string => (v === undefined ? '' : String(v));
  return [
    `| ${cols.join(' | ')} |`,
    `| ${cols.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${cols.map((c) => cell(r[c])).join(' | ')} |`),
  ].join('\n');
};

/**
 * The `tesserae compare` command.
 *
 * @since 0.1.0
 */
export const compareCommand: Command = {
  summary: 'train MAE, DiffMAE, UMD, DiT for the same budget; probes, PSNR and guided-sample quality; a markdown table and PNG plots',
  flags,
  run: async (argv) => {
    const f = parseFlags(argv, flags);
    const started = performance.now();
    const methods = list(f, 'methods', METHODS);
    if (methods.length === 0) throw new ConfigError('--methods', str(f, 'methods'), 'names no method');
    const generating = list(f, 'generate', METHODS);
    for (const g of generating) {
      if (!methods.includes(g)) throw new ConfigError('--generate', g, 'must also be in --methods (it is fine-tuned from that run)');
      const s = presetSpec(g, str(f, 'preset'));
      if (!wholeImageBranch(s.corruption) || s.network.encoder.conditioning === 'none')
        throw new ConfigError('--generate', g, 'never noises the whole image with a conditioned encoder, so it does not generate');
    }
    const probes = list(f, 'probe', PROBES).filter((p): p is Exclude<ProbeKind, 'finetune'> => p !== 'finetune');
    const preset = str(f, 'preset');
    const out = str(f, 'out');
    const report = f['report'] === undefined ? out : str(f, 'report');
    // both folders checked before any training
    prepareOutputFolder(out);
    if (report !== out) prepareOutputFolder(report);
    const seed = integer(f, 'seed', 0);
    const backend = await useBackend(choice(f, 'backend', BACKENDS));
    const log = (line: string): void => console.log(line);
    const base: Omit<TrainConfig, 'steps' | 'ema'> & { steps: number } = trainConfig({
      steps: integer(f, 'steps', 1),
      batch: batchSize(f, 'batch', presetSpec(methods[0]!, preset).image),
      accum: integer(f, 'accum', 1),
      baseLr: num(f, 'base-lr'),
      seed,
    });
    const common = {
      label: preset,
      data: { kind: 'synthetic' } as const,
      count: integer(f, 'count', 2),
      held: integer(f, 'held', 1),
      backend,
      checkpointEvery: integer(f, 'eval-every', 1),
      logEvery: integer(f, 'log-every', 1),
      resume: true,
      threads: integer(f, 'threads', 1),
    };
    // every spec first, so a bad preset fails before any training
    const specs = methods.map((m) => [m, presetSpec(m, preset)] as const);

    // 1. pre-training, the same budget for every method
    for (const [m, spec] of specs) {
      log(`\n== pre-training ${m} ${preset} ==`);
      await runTrain({ ...common, spec, train: { ...base, ema: null }, out: join(out, m), log: (line) => log(`[${m}] ${line}`) });
    }

    // 2. every checkpoint through the probes and the held-out PSNR
    const { train: trainSet, held } = loadSplits({ kind: 'synthetic' }, { count: common.count, held: common.held, seed });
    const curves: CurvePoint[] = [];
    for (const [m] of specs) {
      for (const step of checkpointSteps(join(out, m, 'checkpoints'))) {
        const opened = openModel(join(out, m, 'checkpoints', `step-${String(step).padStart(6, '0')}.safetensors`), { weights: 'params' });
        try {
          const result = await evaluate(opened.model, opened.params, trainSet, held, opened.norm, {
            probes,
            shots: integer(f, 'shots', 1),
            pool: choice(f, 'pool', ['auto', 'cls', 'mean'] as const),
            psnrImages: 64,
            key: fold(key(seed), 'eval'),
          });
          curves.push({ method: m, step, result });
          log(
            `[${m}] step ${step}: ridge ${pct(result.ridge?.accuracy)}, linear ${pct(result.linear?.accuracy)}, k-NN ${pct(result.knn?.accuracy)}, PSNR ${result.reconstruction?.psnr.toFixed(2) ?? '-'} dB, SSIM ${result.reconstruction?.ssim.toFixed(3) ?? '-'}`,
          );
        } finally {
          disposeParams(opened.params);
        }
      }
    }

    // the same held-out images under the same mask, every reconstructing method side by side
    const reconstructing = specs.filter(([, s]) => inpaintingOf(s.corruption) !== 'none').map(([m]) => m);
    if (reconstructing.length > 0) {
      const shownN = Math.min(8, held.count);
      let left: Image8[][] = [];
      const columns: Image8[][] = [];
      for (const m of reconstructing) {
        const opened = openModel(join(out, m, 'checkpoints', 'latest.safetensors'), { weights: 'params' });
        try {
          const grid = opened.model.grid;
          const images = batchTensor(
            held,
            Int32Array.from({ length: shownN }, (_, i) => i),
            opened.norm,
          );
          const draw = drawMask(Mask.random(0.75), fold(key(seed), 'panel-mask'), shownN, grid);
          const r = predictRemoved(opened.model, opened.params, images, draw, opened.norm, fold(key(seed), 'panel'));
          const cells = reconstructionGrid(grid, r.x0, r.pred, r.mask, { denorm: opened.norm });
          tf.dispose([images, r.pred, r.x0, r.mask]);
          if (left.length === 0) left = cells.map((row) => [row[0]!, row[1]!]);
          columns.push(cells.map((row) => row[3]!));
        } finally {
          disposeParams(opened.params);
        }
      }
      writePng(
        join(report, 'reconstructions.png'),
        tileImages(
          left.map((row, i) => [...row, ...columns.map((c) => c[i]!)]),
          { scale: 3, pad: 3, titles: ['original', 'masked', ...reconstructing] },
        ),
      );
    }

    // 3. class-conditional fine-tuning, guided samples, and their quality under a reference classifier
    const quality: { name: string; q: SampleQuality }[] = [];
    let referenceAccuracy: number | null = null;
    if (generating.length > 0) {
      const norm = channelStats(trainSet);
      const classes = trainSet.classes.length;
      log(`\n== reference classifier (supervised, random init, ${integer(f, 'reference-steps', 1)} steps) ==`);
      const clf = classifier(encoderOf(buildModel(presetSpec('mae', preset))), classes);
      const first = clf.init(fold(key(seed), 'reference'), {
        images: tensorSpec([-1, trainSet.height, trainSet.width, trainSet.channels]),
      }).params;
      const refCfg = trainConfig({
        steps: integer(f, 'reference-steps', 1),
        batch: 64,
        baseLr: 4e-3,
        beta2: 0.999,
        seed,
      });
      const reference = await train(
        clf,
        trainSet,
        refCfg,
        { params: first, opt: initOpt(first), step: 0 },
        {
          onStep: (i) => {
            if (i.step % common.logEvery === 0 || i.step === i.steps)
              log(`[reference] step ${i.step}/${i.steps}  loss ${i.loss.toFixed(4)}  ETA ${duration(i.eta)}`);
          },
        },
        norm,
      );
      disposeParams(reference.opt.m);
      disposeParams(reference.opt.v);
      const refParams: ClassifierParams = reference.params;
      referenceAccuracy = classify(clf, refParams, held, norm).accuracy;
      log(`[reference] held-out accuracy ${pct(referenceAccuracy)}`);
      const perClass = integer(f, 'samples', 2);
      // the floor: real training images, as many per class as samples, scored like samples
      const realRows = fewShotIndices(trainSet.labels, classes, perClass, fold(key(seed), 'real'));
      const realSubset: LabelledImages = {
        ...trainSet,
        count: realRows.length,
        images: (() => {
          const per = trainSet.height * trainSet.width * trainSet.channels;
          const a = new Float32Array(realRows.length * per);
          realRows.forEach((r, i) => a.set(trainSet.images.subarray(r * per, (r + 1) * per), i * per));
          return a;
        })(),
        labels: Int32Array.from(realRows, (r) => trainSet.labels[r]!),
      };
      quality.push({ name: 'real images (floor)', q: sampleQuality(clf, refParams, realSubset, held, norm) });
      for (const g of generating) {
        const from = join(out, g, 'checkpoints', 'latest.safetensors');
        const pre = specs.find(([m]) => m === g)![1];
        const ftOut = join(out, `${g}-conditional`);
        log(`\n== class-conditional fine-tuning of ${g} ==`);
        const ftSteps = integer(f, 'finetune-steps', 1);
        const ftCfg: TrainConfig = { ...base, steps: ftSteps, warmup: Math.max(1, Math.round(ftSteps / 20)), ema: num(f, 'finetune-ema') };
        await runTrain({
          ...common,
          spec: finetuneSpec(pre, { classes }),
          train: ftCfg,
          out: ftOut,
          metadata: { finetunedFrom: from },
          init: finetuneInit(from, pre, ftCfg, (line) => log(`[${g}] ${line}`)),
          log: (line) => log(`[${g}-conditional] ${line}`),
        });
        const opened = openModel(join(ftOut, 'checkpoints', 'latest.safetensors'));
        try {
          const model = opened.model;
          const labels = Array.from({ length: classes * perClass }, (_, i) => Math.floor(i / perClass));
          const t0 = performance.now();
          const samples = generateImages(model, opened.params, opened.norm, {
            labels,
            guidance: num(f, 'guidance'),
            sampler: Sampler.ddim({ steps: integer(f, 'sample-steps', 1), eta: 1 }),
            key: fold(key(seed), `samples-${g}`),
            clip: dataRange(opened.norm),
            batch: 100,
          });
          log(`[${g}] ${samples.count} samples in ${duration((performance.now() - t0) / 1000)}`);
          const per = samples.height * samples.width * samples.channels;
          const shown = Math.min(perClass, 10);
          const rows = Array.from({ length: classes }, (_, k) =>
            Array.from({ length: shown }, (_, j) => {
              const i = k * perClass + j;
              return toImage8(samples.images.subarray(i * per, (i + 1) * per), samples.height, samples.width, samples.channels);
            }),
          );
          writePng(join(report, `samples-${g}.png`), tileImages(rows, { scale: 2, pad: 2 }));
          quality.push({ name: g, q: sampleQuality(clf, refParams, samples, held, norm) });
        } finally {
          disposeParams(opened.params);
        }
      }
      disposeParams(refParams);
    }

    // 4. the report
    const finalStep = Math.max(...curves.map((c) => c.step));
    const last = (m: MethodName): CurvePoint | undefined => curves.filter((c) => c.method === m && c.step === finalStep).at(-1);
    const repRows = [
      ...specs.map(([m]) => {
        const c = last(m);
        return {
          method: m,
          steps: c?.step ?? 0,
          features: c ? (c.result.pool === 'cls' ? 'CLS' : 'patch mean') : '-',
          [`ridge ${integer(f, 'shots', 1)}-shot`]: pct(c?.result.ridge?.accuracy),
          'linear probe': pct(c?.result.linear?.accuracy),
          'k-NN': pct(c?.result.knn?.accuracy),
          PSNR: c?.result.reconstruction
            ? `${c.result.reconstruction.psnr.toFixed(2)} dB${c.result.reconstruction.kind === 'masked' ? '' : ' *'}`
            : '-',
          SSIM: c?.result.reconstruction
            ? `${c.result.reconstruction.ssim.toFixed(3)}${c.result.reconstruction.kind === 'masked' ? '' : ' *'}`
            : '-',
        };
      }),
      ...(() => {
        const c = curves.find((p) => p.step === 0 && p.method === specs[0]![0]);
        return c
          ? [
              {
                method: `random init (${c.method} encoder)`,
                steps: 0,
                features: c.result.pool === 'cls' ? 'CLS' : 'patch mean',
                [`ridge ${integer(f, 'shots', 1)}-shot`]: pct(c.result.ridge?.accuracy),
                'linear probe': pct(c.result.linear?.accuracy),
                'k-NN': pct(c.result.knn?.accuracy),
                PSNR: c.result.reconstruction ? `${c.result.reconstruction.psnr.toFixed(2)} dB` : '-',
                SSIM: c.result.reconstruction ? c.result.reconstruction.ssim.toFixed(3) : '-',
              },
            ]
          : [];
      })(),
    ];
    const genRows = quality.map(({ name, q }) => ({
      samples: name,
      'reference accuracy on samples': pct(q.accuracy),
      'Fréchet distance (classifier features)': q.frechet.toFixed(2),
      'diversity (vs real)': q.diversity.toFixed(3),
    }));
    console.log(`\n${table(repRows)}`);
    if (genRows.length)
      console.log(`\n${table(genRows)}\nreference classifier accuracy on held-out real images: ${pct(referenceAccuracy ?? undefined)}`);

    const panel = (title: string, yLabel: string, pick: (r: EvalResult) => number | undefined) => ({
      title,
      xLabel: 'pre-training step',
      yLabel,
      series: specs.map(([m]): Series => ({
        name: m,
        points: curves
          .filter((c) => c.method === m)
          .map((c) => [c.step, pick(c.result)] as const)
          .filter((p): p is readonly [number, number] => p[1] !== undefined),
      })),
    });
    const panels = [
      ...(probes.includes('ridge')
        ? [panel(`${integer(f, 'shots', 1)}-shot ridge accuracy (%)`, '%', (r) => (r.ridge ? 100 * r.ridge.accuracy : undefined))]
        : []),
      ...(probes.includes('linear')
        ? [panel('linear probe accuracy (%)', '%', (r) => (r.linear ? 100 * r.linear.accuracy : undefined))]
        : []),
      ...(probes.includes('knn') ? [panel('k-NN accuracy (%)', '%', (r) => (r.knn ? 100 * r.knn.accuracy : undefined))] : []),
      panel('held-out PSNR (dB)', 'dB', (r) => r.reconstruction?.psnr),
      panel('held-out SSIM', 'SSIM', (r) => r.reconstruction?.ssim),
      {
        title: 'training loss',
        xLabel: 'step',
        yLabel: 'loss',
        logY: true,
        series: specs.map(([m]): Series => ({ name: m, points: lossCurve(join(out, m)) })),
      },
    ];
    writePng(join(report, 'curves.png'), plotPanels(panels, { columns: 3 }));

    const cpu = cpus();
    const machine = `${cpu.length} x ${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${process.platform}-${process.arch}, tfjs backend ${backend}`;
    const command = `tesserae compare ${argv.join(' ')}`.trim();
    const curveRows = curves.map((c) => ({
      method: c.method,
      step: c.step,
      ridge: pct(c.result.ridge?.accuracy),
      linear: pct(c.result.linear?.accuracy),
      'k-NN': pct(c.result.knn?.accuracy),
      PSNR: c.result.reconstruction ? c.result.reconstruction.psnr.toFixed(2) : '-',
      SSIM: c.result.reconstruction ? c.result.reconstruction.ssim.toFixed(3) : '-',
    }));
    const md = [
      '# Method comparison on the embedded synthetic data',
      '',
      `Command: \`${command}\`  `,
      `Machine: ${machine}  `,
      `Date: ${new Date().toISOString().slice(0, 10)}; wall time ${duration((performance.now() - started) / 1000)}`,
      '',
      `Every method: preset ${preset}, ${base.steps} steps of ${base.batch * base.accum} images, base lr ${base.baseLr}, seed ${seed}; ${common.count} training and ${common.held} held-out synthetic images (10 classes). Probes read frozen features of the clean, unmasked image (t = 0 and the null class for conditioned models): each method's own representation unless --pool says otherwise, the CLS token for MAE and DiffMAE, the mean of the 4 CLS tokens for UMD (the paper's), the mean of the patch tokens for DiT, which has no CLS token.`,
      '',
      '## Representations (final checkpoint)',
      '',
      markdownTable(repRows),
      '',
      '![reconstructions](reconstructions.png)',
      '',
      'PSNR, SSIM: over the removed region of the reconstruction at a fixed random 75% mask (MAE, UMD clean step; DiffMAE: 10-step DDIM inpainting). * DiT: over the whole image, of the x0 estimate from t = 100 (DiT has no masked task).',
      '',
      ...(genRows.length
        ? [
            '## Class-conditional generation',
            '',
            `Fine-tuned class-conditionally for ${integer(f, 'finetune-steps', 1)} steps (label dropout 0.1, EMA ${num(f, 'finetune-ema')}), then ${integer(f, 'samples', 1)} samples per class with DDIM ${integer(f, 'sample-steps', 1)} steps and guidance ${num(f, 'guidance')}. A reference classifier (${preset} ViT, supervised from random init on the real training images, ${integer(f, 'reference-steps', 1)} steps; ${pct(referenceAccuracy ?? undefined)} on held-out real images) scores the samples; the Fréchet distance is FID's formula on its pooled features against the held-out images; diversity is the mean pairwise feature distance within a class over the same for real images.`,
            '',
            markdownTable(genRows),
            '',
            ...generating.map((g) => `![${g} samples](samples-${g}.png)`),
            '',
          ]
        : []),
      '## Curves',
      '',
      '![curves](curves.png)',
      '',
      markdownTable(curveRows),
      '',
    ].join('\n');
    writeFileAtomic(join(report, 'results.md'), md);
    const summary = {
      command: 'compare',
      methods,
      preset,
      steps: base.steps,
      backend,
      representations: repRows,
      generation: quality.map(({ name, q }) => ({ name, accuracy: q.accuracy, frechet: q.frechet, diversity: q.diversity })),
      referenceAccuracy,
      seconds: +((performance.now() - started) / 1000).toFixed(1),
      out,
    };
    writeFileAtomic(join(report, 'results.json'), `${JSON.stringify({ ...summary, curves }, null, 2)}\n`);
    log(
      `\nwrote ${join(report, 'results.md')}, results.json, curves.png, reconstructions.png${generating.map((g) => `, samples-${g}.png`).join('')}`,
    );
    console.log(JSON.stringify(summary));
  },
};

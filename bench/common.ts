/**
 * Shared pieces of the benchmark scripts: flag parsing, training a spec on the synthetic data
 * with progress on stderr, markdown tables.
 */
import { parseArgs } from 'node:util';
import {
  channelStats,
  disposeState,
  initState,
  synthetic,
  train,
  trainConfig,
  type LabelledImages,
  type ModelSpec,
  type Params,
  type TrainConfig,
  type TrainState,
  buildModel,
  type Model,
} from '../src/index.js';
import { progressLine } from '../src/node/progress.js';

export const flags = <T extends Record<string, string>>(defaults: T): T => {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: Object.fromEntries(Object.keys(defaults).map((k) => [k, { type: 'string' as const }])),
    strict: true,
  });
  return { ...defaults, ...(values as Partial<T>) };
};

export const data = (count: number, held: number, seed = 0): { train: LabelledImages; held: LabelledImages } => ({
  train: synthetic({ count, seed }),
  held: synthetic({ count: held, seed, start: count }),
});

/** Trains a spec with the given settings; progress goes to stderr every `logEvery` steps. */
export const trainSpec = async (
  name: string,
  spec: ModelSpec,
  d: LabelledImages,
  cfg: TrainConfig,
  logEvery = 50,
): Promise<{
  model: Model;
  state: TrainState<Params>;
  norm: { mean: number[]; std: number[] };
  seconds: number;
  losses: number[];
}> => {
  const model = buildModel(spec);
  const norm = channelStats(d);
  const losses: number[] = [];
  const t0 = performance.now();
  const state = await train(
    model,
    d,
    cfg,
    initState(model, d, cfg),
    {
      onStep: (i) => {
        losses.push(i.loss);
        if (i.step % logEvery === 0 || i.step === i.steps) process.stderr.write(`[${name}] ${progressLine(i)}\n`);
      },
    },
    norm,
  );
  return { model, state, norm, seconds: (performance.now() - t0) / 1000, losses };
};

/** The median (the upper one of an even count). */
export const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export const table = (header: readonly string[], rows: readonly (readonly (string | number)[])[]): string => {
  const cell = (v: string | number) => (typeof v === 'number' ? v.toFixed(2) : v);
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)].join(
    '\n',
  );
};

export { disposeState, trainConfig };

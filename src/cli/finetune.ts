/**
 * `tesserae finetune`: class-conditional fine-tuning of a UMD (or DiT, MaskDiT) checkpoint:
 * label embedding with a null class, label dropout for classifier-free guidance, a small clean
 * share, no mask on the noised share, an EMA of the weights, and a fresh optimiser.
 *
 * @since 0.1.0
 */
import { buildModel } from '../models/build.js';
import type { ModelSpec } from '../models/spec.js';
import { ConfigError } from '../core/errors.js';
import { fold, key } from '../core/key.js';
import { disposeParams, mapParams, type Params } from '../core/params.js';
import { spec as tensorSpec } from '../core/spec.js';
import { tf } from '../core/tf.js';
import type { Layer } from '../core/layer.js';
import type { Tensor } from '../core/tf.js';
import type { LabelledImages } from '../data/labelled.js';
import { sampleShape } from '../data/batches.js';
import type { ModelIn } from '../models/model.js';
import type { TrainConfig } from '../train/trainer.js';
import type { TrainState } from '../train/step.js';
import { loadCheckpoint, readCheckpointSpec } from '../node/checkpoint.js';
import { finetuneSpec, transplant } from '../train/finetune.js';
import { initOpt } from '../train/optimizer.js';
import { choice, num, parseFlags, str, type Command, type FlagSpec } from './args.js';
import { prepareOutputFolder } from '../node/files.js';
import { checkRunFolder } from '../node/runs.js';
import { runFromFlags, trainFlags } from './train.js';
import { runTrain } from '../node/run.js';

const flags: FlagSpec = {
  from: { type: 'string', help: 'the pre-trained checkpoint (UMD, DiT or MaskDiT)' },
  ...Object.fromEntries(
    Object.entries(trainFlags).filter(
      ([k]) => !['method', 'preset', 'mask-ratio', 'norm-pix', 'decoder', 'top-down', 'target', 'resume'].includes(k),
    ),
  ),
  'label-dropout': { type: 'string', default: '0.1', help: 'share of labels dropped to the null class (classifier-free guidance)' },
  'clean-share': { type: 'string', default: '0.05', help: 'UMD: share of each batch at t = 0' },
  'clean-labels': {
    type: 'string',
    default: 'null',
    help: "UMD: the class the t = 0 share sees: null (the null class, as UMD's reference) | label (the image's label)",
  },
  ema: { type: 'string', default: '0.999', help: 'EMA decay of the weights' },
  out: { type: 'string', default: 'runs/finetune', help: 'output folder' },
};

/**
 * The `tesserae finetune` command.
 *
 * @since 0.1.0
 */
export const finetuneCommand: Command = {
  summary: 'fine-tune a UMD (or DiT, MaskDiT) checkpoint class-conditionally, with label dropout for guidance and an EMA',
  flags,
  run: async (argv) => {
    const f = parseFlags(argv, flags);
    // the output folder and the run-folder policy first, before reading the checkpoint
    prepareOutputFolder(str(f, 'out'));
    checkRunFolder(str(f, 'out'), { resume: false, force: f['force'] === true });
    const from = str(f, 'from');
    const pre = readCheckpointSpec(from).spec;
    if (pre.network.encoder.conditioning === 'none')
      throw new ConfigError(
        '--from',
        from,
        'holds a model whose encoder is not conditioned on t; class-conditional fine-tuning needs one (UMD, MaskDiT, DiT)',
      );
    const run0 = runFromFlags({ ...f, resume: false }, pre);
    const { loadSplits } = await import('../node/datasets.js');
    const classes = loadSplits(run0.data, { count: 1, held: 1, seed: 0 }).train.classes.length;
    const spec = finetuneSpec(pre, {
      classes,
      labelDropout: num(f, 'label-dropout'),
      cleanShare: num(f, 'clean-share'),
      cleanLabels: choice(f, 'clean-labels', ['null', 'label'] as const),
    });
    await runTrain({
      ...run0,
      spec,
      // the logs read "fine-tuning class-conditional umd micro/4 on ..." and the summary says finetune
      label: `class-conditional ${pre.label ?? 'model'}`,
      command: 'finetune',
      metadata: { finetunedFrom: from },
      init: finetuneInit(from, pre, run0.train, (line) => console.log(line)),
    });
  },
};

/**
 * The starting state of a class-conditional fine-tuning run: the pre-trained checkpoint's
 * weights transplanted into the new model (its new label layers fresh), a fresh optimiser, and
 * an EMA starting at the weights when the run keeps one.
 *
 * @example
 * runTrain({ ...run, spec: finetuneSpec(pre, { classes: 10 }), init: finetuneInit(path, pre, run.train, console.log) })
 * @since 0.1.0
 */
export const finetuneInit =
  (from: string, pre: ModelSpec, cfg: TrainConfig, log: (line: string) => void) =>
  (model: Layer<Params, ModelIn, { readonly loss: Tensor }>, data: LabelledImages): TrainState<Params> => {
    const shape = sampleShape(data);
    const oldModel = buildModel(pre);
    const template = oldModel.init(key(0), { images: tensorSpec([-1, ...shape]) }).params;
    const loaded = loadCheckpoint(from, template);
    disposeParams(template);
    const fresh = model.init(fold(key(cfg.seed), 'init'), { images: tensorSpec([-1, ...shape]) }).params;
    const { params, fresh: added } = transplant(loaded.state.params, fresh);
    for (const s of [loaded.state.params, loaded.state.opt.m, loaded.state.opt.v, fresh]) disposeParams(s);
    if (loaded.state.ema) disposeParams(loaded.state.ema);
    log(`fine-tuning ${from} (step ${loaded.state.step}); new parameters: ${added.join(', ') || 'none'}; fresh optimiser`);
    return {
      params,
      opt: initOpt(params),
      step: 0,
      ...(cfg.ema === null ? {} : { ema: mapParams(params, (t) => tf.clone(t)) }),
    };
  };

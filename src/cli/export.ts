/**
 * `tesserae export`: a checkpoint's weights (the EMA when it has one) as a weights-only
 * safetensors file with the model's metadata, for the browser demo and for sharing; or, with
 * `--format reference`, an MAE's weights under facebookresearch/mae's state-dict names and
 * PyTorch layouts (what `tesserae reconstruct` and `models_mae.py` load).
 *
 * @since 0.1.0
 */
import { statSync } from 'node:fs';
import { disposeParams } from '../core/params.js';
import { useBackend } from '../backends/index.js';
import { exportWeights } from '../checkpoints/open.js';
import { EXPORT_FORMATS, exportReference } from '../checkpoints/reference.js';
import { ConfigError } from '../core/errors.js';
import { openModel } from '../node/checkpoint.js';
import { prepareOutputFile, writeFileAtomic } from '../node/files.js';
import { BACKEND_HELP, BACKENDS, choice, parseFlags, str, type Command, type FlagSpec } from './args.js';

const flags: FlagSpec = {
  checkpoint: { type: 'string', help: 'a checkpoint of any method' },
  weights: { type: 'string', default: 'auto', help: 'auto (EMA when present) | ema | params' },
  out: { type: 'string', help: 'the .safetensors file to write' },
  format: {
    type: 'string',
    default: 'tesserae',
    help: "tesserae (weights with the model's metadata) | reference (an MAE under facebookresearch/mae's names and PyTorch layouts)",
  },
  dtype: {
    type: 'string',
    default: 'float32',
    help: 'float32 | float16 (half the bytes; loads back as exactly those half-precision values)',
  },
  backend: { type: 'string', default: 'auto', help: `${BACKEND_HELP} (export only copies weights: auto uses cpu)` },
};

/**
 * The `tesserae export` command.
 *
 * @since 0.1.0
 */
export const exportCommand: Command = {
  summary: 'write a checkpoint as weights only (no optimiser state) with its model metadata: what the browser demo loads',
  flags,
  run: async (argv) => {
    const f = parseFlags(argv, flags);
    const ckpt = str(f, 'checkpoint');
    const out = str(f, 'out');
    const format = choice(f, 'format', EXPORT_FORMATS);
    const dtype = choice(f, 'dtype', ['float32', 'float16'] as const);
    prepareOutputFile(out);
    // exporting is a copy of tensors: any backend gives the same bytes, and auto picks the cheapest
    const backend = choice(f, 'backend', BACKENDS);
    await useBackend(backend === 'auto' ? 'cpu' : backend);
    const m = openModel(ckpt, { weights: choice(f, 'weights', ['auto', 'ema', 'params'] as const) });
    try {
      let bytes: Uint8Array;
      try {
        bytes = format === 'reference' ? exportReference(m, { dtype }) : exportWeights(m, { dtype });
      } catch (e) {
        // the library names its option `format`; here it is the flag
        if (e instanceof ConfigError && e.field === 'format') throw new ConfigError('--format', e.value, `${ckpt}: ${e.reason}`);
        throw e;
      }
      writeFileAtomic(out, bytes);
    } finally {
      disposeParams(m.params);
    }
    const bytes = statSync(out).size;
    const names = format === 'reference' ? ', facebookresearch/mae names' : '';
    console.log(
      `wrote ${out} (${(bytes / 2 ** 20).toFixed(2)} MiB, ${m.spec.label ?? 'model'}, ${m.weights} weights of step ${m.step}${names})`,
    );
    console.log(
      JSON.stringify({
        command: 'export',
        checkpoint: ckpt,
        out,
        format,
        model: m.spec.label ?? 'model',
        step: m.step,
        weights: m.weights,
        bytes,
      }),
    );
  },
};

/**
 * `tesserae plot`: training logs (`log.jsonl`, one JSON object per step) as a PNG of loss,
 * learning rate, gradient norm and held-out PSNR against the step, one series per log.
 *
 * @since 0.1.0
 */
import { basename, dirname } from 'node:path';
import { ConfigError } from '../core/errors.js';
import { prepareOutputFile, writePng } from '../node/files.js';
import { BACKEND_HELP, BACKENDS, choice, num, parseFlags, str, type Command, type FlagSpec } from './args.js';
import { plotLogs, readTrainLog } from '../node/trainLog.js';

const flags: FlagSpec = {
  log: { type: 'string', help: 'comma-separated log.jsonl files (from tesserae train)' },
  names: { type: 'string', help: "comma-separated series names (default: each log's folder name)" },
  smooth: { type: 'string', default: '0', help: 'EMA weight for the loss curve, in [0, 1)' },
  out: { type: 'string', help: 'the PNG to write' },
  backend: { type: 'string', default: 'auto', help: `${BACKEND_HELP} (accepted for uniformity: plotting runs no tensors)` },
};

/**
 * The `tesserae plot` command.
 *
 * @since 0.1.0
 */
export const plotCommand: Command = {
  summary: 'turn training logs (log.jsonl) into a PNG of loss, learning rate, gradient norm and held-out PSNR',
  flags,
  run: async (argv) => {
    const f = parseFlags(argv, flags);
    choice(f, 'backend', BACKENDS); // checked like every command's, though plotting needs no backend
    const out = str(f, 'out');
    prepareOutputFile(out);
    const paths = str(f, 'log')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    if (paths.length === 0) throw new ConfigError('--log', str(f, 'log'), 'names no file');
    const names =
      f['names'] === undefined
        ? paths.map((p) => basename(dirname(p)) || p)
        : str(f, 'names')
            .split(',')
            .map((s) => s.trim());
    if (names.length !== paths.length) throw new ConfigError('--names', names, `gives ${names.length} names for ${paths.length} logs`);
    const logs = paths.map((p, i) => ({ name: names[i]!, entries: readTrainLog(p) }));
    writePng(out, plotLogs(logs, num(f, 'smooth')));
    console.log(`wrote ${out}`);
    console.log(
      JSON.stringify({ command: 'plot', logs: paths, steps: logs.map((l) => l.entries.filter((e) => e.loss !== undefined).length), out }),
    );
  },
};

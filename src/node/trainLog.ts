/**
 * Training logs (`log.jsonl`): reading them (a torn last line, from a disk that filled while
 * appending, is dropped with a warning; a bad line elsewhere is a FormatError naming the line)
 * and plotting their curves.
 *
 * @since 0.2.0
 */
import { readFileSync } from 'node:fs';
import { ConfigError, FormatError, IoError } from '../core/errors.js';
import { plotPanels, type Panel, type Series } from '../io/plot.js';
import type { Image8 } from '../io/png.js';
import { toIoError } from './files.js';

/** One parsed line of a training log. */
export type LogEntry = {
  readonly step: number;
  readonly loss?: number;
  readonly lr?: number;
  readonly gradNorm?: number;
  readonly heldPsnr?: number;
};

/**
 * A training log's text parsed: its entries, the raw line of each (for rewriting the log), and
 * the line number of a torn last line (no trailing newline and not a log entry: a write cut
 * short by a full disk or a power cut), which is left out. Any other line that is not a JSON
 * object with a numeric `step` is a FormatError naming the file and the line.
 *
 * @example
 * import { readFileSync } from 'node:fs'
 * const { entries, torn } = parseTrainLog(readFileSync(path, 'utf8'), path)
 * @since 0.2.0
 */
export const parseTrainLog = (text: string, path: string): { entries: LogEntry[]; lines: string[]; torn?: number } => {
  const all = text.split('\n');
  const entries: LogEntry[] = [];
  const lines: string[] = [];
  let torn: number | undefined;
  for (let i = 0; i < all.length; i++) {
    const line = all[i]!.trim();
    if (line.length === 0) continue;
    const last = i === all.length - 1; // no newline after it
    let e: unknown;
    let problem: string | undefined;
    try {
      e = JSON.parse(line);
      if (
        typeof e !== 'object' ||
        e === null ||
        typeof (e as { step?: unknown }).step !== 'number' ||
        !Number.isFinite((e as { step: number }).step)
      )
        problem = `line ${i + 1} has no numeric "step"`;
    } catch {
      problem = `line ${i + 1} is not JSON`;
    }
    if (problem !== undefined) {
      if (last) {
        torn = i + 1;
        break;
      }
      throw new FormatError(path, problem);
    }
    entries.push(e as LogEntry);
    lines.push(line);
  }
  return torn === undefined ? { entries, lines } : { entries, lines, torn };
};

/**
 * Reads a `log.jsonl` (training log); a line that is not a JSON object with a numeric `step` is a
 * FormatError naming the file and the line, except a torn last line (see {@link parseTrainLog}),
 * which is left out with a warning to `warn` (standard error by default).
 *
 * @example
 * const entries = readTrainLog('runs/mae-micro/log.jsonl')
 * @since 0.1.0
 */
export const readTrainLog = (path: string, warn: (line: string) => void = (line) => console.error(line)): LogEntry[] => {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const err = toIoError(e, path, 'read log');
    if (err instanceof IoError && err.errno === 'ENOENT') throw new FormatError(path, 'no such file');
    throw err;
  }
  const { entries, torn } = parseTrainLog(text, path);
  if (torn !== undefined) warn(`warning: ${path}: line ${torn}, the last, is cut short (a write that did not finish); left out`);
  return entries;
};

/**
 * The plot of several training logs: loss (log scale, with an exponential moving average of
 * weight `smooth` when > 0), learning rate, gradient norm, and held-out PSNR when logged.
 *
 * @example
 * writePng('curves.png', plotLogs([{ name: 'mae', entries: readTrainLog('runs/mae/log.jsonl') }]))
 * @since 0.1.0
 */
export const plotLogs = (logs: readonly { readonly name: string; readonly entries: readonly LogEntry[] }[], smooth = 0): Image8 => {
  if (!(smooth >= 0 && smooth < 1)) throw new ConfigError('smooth', smooth, 'must be in [0, 1)');
  const series = (pick: (e: LogEntry) => number | undefined, ema = 0): Series[] =>
    logs.map(({ name, entries }) => {
      let avg: number | null = null;
      const points: (readonly [number, number])[] = [];
      for (const e of entries) {
        const v = pick(e);
        if (v === undefined || !Number.isFinite(v)) continue;
        avg = avg === null || ema === 0 ? v : ema * avg + (1 - ema) * v;
        points.push([e.step, avg]);
      }
      return { name, points };
    });
  const panels: Panel[] = [
    {
      title: smooth > 0 ? `training loss (EMA ${smooth})` : 'training loss',
      xLabel: 'step',
      yLabel: 'loss',
      logY: true,
      series: series((e) => e.loss, smooth),
    },
    { title: 'learning rate', xLabel: 'step', yLabel: 'lr', series: series((e) => e.lr) },
    { title: 'gradient norm', xLabel: 'step', yLabel: '|g|', logY: true, series: series((e) => e.gradNorm) },
  ];
  if (logs.some((l) => l.entries.some((e) => e.heldPsnr !== undefined)))
    panels.push({ title: 'held-out PSNR (dB)', xLabel: 'step', yLabel: 'dB', series: series((e) => e.heldPsnr) });
  return plotPanels(panels, { columns: 2 });
};

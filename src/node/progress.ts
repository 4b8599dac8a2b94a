/**
 * Progress formatting for long runs.
 *
 * @since 0.1.0
 */

/**
 * Seconds as `1h02m`, `3m05s` or `42s`.
 *
 * @example
 * duration(185) // '3m05s'
 * @since 0.1.0
 */
export const duration = (s: number): string => {
  if (!Number.isFinite(s)) return '?';
  const t = Math.max(0, Math.round(s));
  if (t >= 3600) return `${Math.floor(t / 3600)}h${String(Math.floor((t % 3600) / 60)).padStart(2, '0')}m`;
  if (t >= 60) return `${Math.floor(t / 60)}m${String(t % 60).padStart(2, '0')}s`;
  return `${t}s`;
};

/**
 * One progress line: step, loss, learning rate, gradient norm, throughput, ETA.
 *
 * @example
 * progressLine({ step: 5, steps: 10, loss: 0.5, lr: 1e-3, gradNorm: 1, imagesPerSec: 60, eta: 12 })
 * @since 0.1.0
 */
export const progressLine = (i: {
  readonly step: number;
  readonly steps: number;
  readonly loss: number;
  readonly lr: number;
  readonly gradNorm: number;
  readonly imagesPerSec: number;
  readonly eta: number;
}): string => {
  const w = String(i.steps).length;
  return `step ${String(i.step).padStart(w)}/${i.steps}  loss ${i.loss.toFixed(4)}  lr ${i.lr.toExponential(2)}  |g| ${i.gradNorm.toFixed(3)}  ${i.imagesPerSec.toFixed(1)} img/s  ETA ${duration(i.eta)}`;
};

/**
 * A one-line terminal progress bar, `width` cells wide, then the fields of {@link progressLine}
 * (the step, loss, learning rate, gradient norm, throughput and ETA):
 * `[##########..........]  50% step 5/10  loss ...`. Meant to be redrawn in place (after `\r`)
 * where stdout is a terminal; logs use {@link progressLine}.
 *
 * @example
 * progressBar({ step: 5, steps: 10, loss: 0.5, lr: 1e-3, gradNorm: 1, imagesPerSec: 60, eta: 12 }, 20)
 * // '[##########..........]  50% step  5/10  loss 0.5000  lr 1.00e-3  |g| 1.000  60.0 img/s  ETA 12s'
 * @since 0.2.0
 */
export const progressBar = (i: Parameters<typeof progressLine>[0], width = 24): string => {
  const done = i.steps > 0 ? Math.max(0, Math.min(1, i.step / i.steps)) : 1;
  const filled = Math.round(done * width);
  const pct = `${Math.floor(done * 100)}%`.padStart(4);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${pct} ${progressLine(i)}`;
};

/**
 * Line plots rendered in plain TypeScript (no DOM, no Node APIs) into an {@link Image8}, so
 * training curves and comparison charts come out as PNG files in Node and in browsers alike.
 * Text uses a built-in 5x7 bitmap font; output is deterministic (same input, same bytes).
 *
 * @since 0.1.0
 */
import { ConfigError } from '../core/errors.js';
import { fitText, GLYPH_H, textRaw, textWidth } from './font.js';
import type { Image8 } from './png.js';
import { drawLine, fill, type Rect, type RGB } from './raster.js';
import { linearTicks, logTicks, type Tick } from './ticks.js';

// The text and tick helpers moved to their own modules; importers of this one keep finding them here.
export { drawText, textWidth } from './font.js';
export { niceTicks } from './ticks.js';

/**
 * One named line: `[x, y]` points drawn in order. Non-finite points are skipped.
 *
 * @example
 * const loss: Series = { name: 'train', points: [[0, 2.3], [100, 1.1], [200, 0.7]] }
 * @since 0.1.0
 */
export interface Series {
  readonly name: string;
  readonly points: readonly (readonly [number, number])[];
}

/**
 * One chart: a title, axis labels and the series drawn on shared axes.
 *
 * @example
 * const panel: Panel = { title: 'MAE loss', xLabel: 'step', yLabel: 'loss', series: [loss], logY: true }
 * @since 0.1.0
 */
export interface Panel {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly Series[];
  /** log10 y axis (points with y <= 0 are dropped) */
  readonly logY?: boolean;
}

/**
 * Grid layout of {@link plotPanels}: each panel's size in pixels (width >= 100, height >= 80)
 * and how many panels per row.
 *
 * @example
 * const options: PlotOptions = { panelWidth: 480, panelHeight: 320, columns: 3 }
 * @since 0.1.0
 */
export interface PlotOptions {
  readonly panelWidth?: number;
  readonly panelHeight?: number;
  readonly columns?: number;
}

// ---------------------------------------------------------------------------------------------
// Panels.

/** Okabe-Ito colours (black moved to the back, yellow last as it is faint on white). */
const PALETTE: readonly RGB[] = [
  [0, 114, 178], // blue
  [213, 94, 0], // vermillion
  [0, 158, 115], // bluish green
  [230, 159, 0], // orange
  [204, 121, 167], // reddish purple
  [86, 180, 233], // sky blue
  [0, 0, 0], // black
  [240, 228, 66], // yellow
];
const INK: RGB = [51, 51, 51];
const GRID: RGB = [232, 232, 232];
const PAD = 8;
const LINE_H = GLYPH_H + 3;

/** Finite [lo, hi] with a small margin; degenerate ranges are padded. */
const axisRange = (values: readonly number[], log: boolean): [number, number] => {
  if (values.length === 0) return log ? [-0.5, 0.5] : [0, 1];
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo === hi) {
    const pad = log ? 0.5 : lo === 0 ? 1 : Math.abs(lo) * 0.1;
    return [lo - pad, hi + pad];
  }
  const margin = hi / 20 - lo / 20;
  return [Math.max(-Number.MAX_VALUE, lo - margin), Math.min(Number.MAX_VALUE, hi + margin)];
};

/** Position of `v` in [0, 1] along [lo, hi], safe for spans that overflow. */
const unitPos = (v: number, lo: number, hi: number): number => (v / 2 - lo / 2) / (hi / 2 - lo / 2);

interface LegendItem {
  readonly name: string;
  readonly color: RGB;
  readonly x: number;
  readonly row: number;
}

const SWATCH_W = 14;

/** Flows legend items left to right in rows of width `maxW`, at most `maxRows` rows. */
const layoutLegend = (series: readonly Series[], maxW: number, maxRows: number): LegendItem[] => {
  const items: LegendItem[] = [];
  let x = 0;
  let row = 0;
  for (let i = 0; i < series.length; i++) {
    const name = fitText(series[i]!.name, maxW - SWATCH_W - 4, 1);
    const w = SWATCH_W + 4 + textWidth(name);
    if (x > 0 && x + w > maxW) {
      row++;
      x = 0;
    }
    if (row >= maxRows) break;
    items.push({ name, color: PALETTE[i % PALETTE.length]!, x, row });
    x += w + 12;
  }
  return items;
};

/**
 * The text of an axis label as a panel draws it: a log axis says so (`loss (log scale)`, or
 * `log scale` alone when the panel gives no label).
 *
 * @example
 * axisLabel('loss', true) // 'loss (log scale)'
 * axisLabel('step', false) // 'step'
 * @since 0.2.0
 */
export const axisLabel = (label: string, log: boolean): string => (!log ? label : label === '' ? 'log scale' : `${label} (log scale)`);

const drawPanel = (img: Image8, panel: Panel, ox: number, oy: number, W: number, H: number): void => {
  const clip: Rect = { x0: ox, y0: oy, x1: ox + W - 1, y1: oy + H - 1 };
  const log = panel.logY === true;

  // Data, with non-finite (and for log axes non-positive) points dropped.
  const series = panel.series.map((s) => {
    const pts: [number, number][] = [];
    for (const p of s.points) {
      const x = p[0];
      const y = log ? (p[1] > 0 ? Math.log10(p[1]) : NaN) : p[1];
      if (Number.isFinite(x) && Number.isFinite(y)) pts.push([x, y]);
    }
    return pts;
  });
  const [xlo, xhi] = axisRange(
    series.flatMap((pts) => pts.map((p) => p[0])),
    false,
  );
  const [ylo, yhi] = axisRange(
    series.flatMap((pts) => pts.map((p) => p[1])),
    log,
  );

  // Vertical layout: title, y label, box, x tick labels, x label, legend.
  let top = oy + PAD;
  const titleScale = textWidth(panel.title, 2) <= W - 2 * PAD ? 2 : 1;
  const title = fitText(panel.title, W - 2 * PAD, titleScale);
  if (title !== '') {
    textRaw(img, clip, ox + Math.floor((W - textWidth(title, titleScale)) / 2), top, title, INK, titleScale);
    top += GLYPH_H * titleScale + 4;
  }
  const yLabelTop = top;
  const yLabel = axisLabel(panel.yLabel, log);
  if (yLabel !== '') top += LINE_H;
  const boxTop = top + 4;
  const legend = layoutLegend(panel.series, W - 2 * PAD, Math.max(1, Math.floor((H - 120) / LINE_H)));
  const legendRows = legend.length === 0 ? 0 : legend[legend.length - 1]!.row + 1;
  let bottom = oy + H - PAD;
  const legendTop = bottom - legendRows * LINE_H + 3;
  if (legendRows > 0) bottom -= legendRows * LINE_H + 2;
  const xLabelTop = bottom - GLYPH_H;
  if (panel.xLabel !== '') bottom -= LINE_H + 2;
  const boxBottom = Math.max(boxTop + 10, bottom - LINE_H - 5);

  // Y ticks fix the left margin; x ticks are thinned until their labels fit.
  const boxH = boxBottom - boxTop;
  const yCount = Math.max(2, Math.min(10, Math.round(boxH / 40)));
  const yTicks = log ? logTicks(ylo, yhi, yCount) : linearTicks(ylo, yhi, yCount);
  const yLabelW = Math.min(
    Math.floor(W / 3),
    yTicks.reduce((m, t) => Math.max(m, textWidth(t.label)), 0),
  );
  const boxLeft = ox + PAD + yLabelW + 6;
  const boxRight = Math.max(boxLeft + 10, ox + W - PAD - 12);
  const boxW = boxRight - boxLeft;
  let xTicks: Tick[] = [];
  for (let count = Math.max(2, Math.min(10, Math.round(boxW / 70))); count >= 1; count--) {
    xTicks = linearTicks(xlo, xhi, count);
    const widest = xTicks.reduce((m, t) => Math.max(m, textWidth(t.label)), 0);
    const spacing = xTicks.length < 2 ? Infinity : ((xTicks[1]!.at - xTicks[0]!.at) / (xhi - xlo)) * boxW;
    if (spacing >= widest + 8) break;
  }

  const px = (x: number): number => boxLeft + unitPos(x, xlo, xhi) * boxW;
  const py = (y: number): number => boxBottom - unitPos(y, ylo, yhi) * boxH;
  const inner: Rect = { x0: boxLeft + 1, y0: boxTop + 1, x1: boxRight - 1, y1: boxBottom - 1 };

  // Grid, series, frame, ticks, labels, legend.
  for (const t of xTicks) {
    const x = Math.round(px(t.at));
    fill(img, inner, x, boxTop, x, boxBottom, GRID);
  }
  for (const t of yTicks) {
    const y = Math.round(py(t.at));
    fill(img, inner, boxLeft, y, boxRight, y, GRID);
  }
  const markerSize = (n: number): number => (n <= boxW / 6 ? 4 : 2);
  series.forEach((pts, i) => {
    const color = PALETTE[i % PALETTE.length]!;
    for (let j = 1; j < pts.length; j++)
      drawLine(img, inner, px(pts[j - 1]![0]), py(pts[j - 1]![1]), px(pts[j]![0]), py(pts[j]![1]), color);
    const m = markerSize(pts.length);
    for (const [x, y] of pts) {
      const cx = Math.round(px(x));
      const cy = Math.round(py(y));
      if (Number.isFinite(cx) && Number.isFinite(cy)) fill(img, inner, cx - m / 2 + 1, cy - m / 2 + 1, cx + m / 2, cy + m / 2, color);
    }
  });
  fill(img, clip, boxLeft, boxTop, boxRight, boxTop, INK);
  fill(img, clip, boxLeft, boxBottom, boxRight, boxBottom, INK);
  fill(img, clip, boxLeft, boxTop, boxLeft, boxBottom, INK);
  fill(img, clip, boxRight, boxTop, boxRight, boxBottom, INK);
  for (const t of xTicks) {
    const x = Math.round(px(t.at));
    fill(img, clip, x, boxBottom + 1, x, boxBottom + 3, INK);
    const w = textWidth(t.label);
    textRaw(img, clip, x - Math.floor(w / 2), boxBottom + 6, t.label, INK, 1);
  }
  for (const t of yTicks) {
    const y = Math.round(py(t.at));
    fill(img, clip, boxLeft - 3, y, boxLeft - 1, y, INK);
    const label = fitText(t.label, yLabelW, 1);
    textRaw(img, clip, boxLeft - 5 - textWidth(label), y - 3, label, INK, 1);
  }
  if (yLabel !== '') textRaw(img, clip, ox + PAD, yLabelTop, fitText(yLabel, W - 2 * PAD, 1), INK, 1);
  if (panel.xLabel !== '') {
    const label = fitText(panel.xLabel, W - 2 * PAD, 1);
    const w = textWidth(label);
    const x = Math.max(ox + PAD, Math.min(ox + W - PAD - w, Math.round(boxLeft + (boxW - w) / 2)));
    textRaw(img, clip, x, xLabelTop, label, INK, 1);
  }
  for (const item of legend) {
    const x = ox + PAD + item.x;
    const y = legendTop + item.row * LINE_H;
    fill(img, clip, x, y + 3, x + SWATCH_W - 1, y + 4, item.color);
    fill(img, clip, x + SWATCH_W / 2 - 2, y + 2, x + SWATCH_W / 2 + 1, y + 5, item.color);
    textRaw(img, clip, x + SWATCH_W + 4, y, item.name, INK, 1);
  }
};

const sizeOption = (field: string, v: number | undefined, dflt: number, min: number): number => {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || v < min || v > 8192) throw new ConfigError(field, v, `must be an integer in [${min}, 8192]`);
  return v;
};

/**
 * Renders line-plot panels in a grid, row by row: `columns` per row (default 2, at most the
 * number of panels), each `panelWidth` x `panelHeight` pixels (default 420 x 300), on a white
 * background, as an RGB image. Each panel has its title on top, a framed axes box with grid
 * lines, ticks and compact numeric labels (2.5e3, 1e-4), the y label above the box (with
 * `(log scale)` added on a log axis, see {@link axisLabel}), the x label under it and a legend at
 * the bottom. Series are 2 px polylines with square markers in a fixed
 * colour-blind-safe palette (Okabe-Ito), clipped to the box; axis ranges follow the finite data
 * with a 5% margin. Markers shrink to the line width when there are more points than one per
 * 6 px. Non-finite points (and, with `logY`, points with y <= 0) are skipped.
 *
 * @example
 * import { writePng } from 'tesserae/node'
 * const img = plotPanels([
 *   { title: 'MAE', xLabel: 'step', yLabel: 'loss', series: [{ name: 'train', points: [[0, 1.2], [100, 0.6]] }], logY: true },
 * ])
 * await writePng('runs/loss.png', img)
 * @since 0.1.0
 */
export const plotPanels = (panels: readonly Panel[], options: PlotOptions = {}): Image8 => {
  if (panels.length === 0) throw new ConfigError('plot panels', panels.length, 'needs at least one panel');
  const W = sizeOption('plot panelWidth', options.panelWidth, 420, 100);
  const H = sizeOption('plot panelHeight', options.panelHeight, 300, 80);
  const columns = options.columns ?? 2;
  if (!Number.isInteger(columns) || columns < 1) throw new ConfigError('plot columns', columns, 'must be an integer >= 1');
  const cols = Math.min(columns, panels.length);
  const rows = Math.ceil(panels.length / cols);
  if (cols * W * rows * H > 2 ** 28) throw new ConfigError('plot size', [cols * W, rows * H], 'image too large (> 2^28 pixels)');
  const img: Image8 = { width: cols * W, height: rows * H, channels: 3, data: new Uint8Array(cols * W * rows * H * 3).fill(255) };
  panels.forEach((panel, i) => drawPanel(img, panel, (i % cols) * W, Math.floor(i / cols) * H, W, H));
  return img;
};

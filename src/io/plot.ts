/**
 * Line plots rendered in plain TypeScript (no DOM, no Node APIs) into an {@link Image8}, so
 * training curves and comparison charts come out as PNG files in Node and in browsers alike.
 * Text uses a built-in 5x7 bitmap font; output is deterministic (same input, same bytes).
 *
 * @since 0.1.0
 */
import { ConfigError } from '../core/errors.js';
import type { Image8 } from './png.js';

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

type RGB = readonly [number, number, number];

// ---------------------------------------------------------------------------------------------
// Font: 5 columns x 7 rows (an 8th row for descenders), one glyph per line as its character,
// a space, then its rows top to bottom ('#' ink, '.' paper). Space is blank; characters not in
// the table draw as a small box.

const FONT_ROWS = [
  '0 .###. #...# #..## #.#.# ##..# #...# .###.',
  '1 ..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.',
  '2 .###. #...# ....# ...#. ..#.. .#... #####',
  '3 ##### ...#. ..#.. ...#. ....# #...# .###.',
  '4 ...#. ..##. .#.#. #..#. ##### ...#. ...#.',
  '5 ##### #.... ####. ....# ....# #...# .###.',
  '6 ..##. .#... #.... ####. #...# #...# .###.',
  '7 ##### ....# ...#. ..#.. .#... .#... .#...',
  '8 .###. #...# #...# .###. #...# #...# .###.',
  '9 .###. #...# #...# .#### ....# ...#. .##..',
  'A .###. #...# #...# ##### #...# #...# #...#',
  'B ####. #...# #...# ####. #...# #...# ####.',
  'C .###. #...# #.... #.... #.... #...# .###.',
  'D ###.. #..#. #...# #...# #...# #..#. ###..',
  'E ##### #.... #.... ####. #.... #.... #####',
  'F ##### #.... #.... ####. #.... #.... #....',
  'G .###. #...# #.... #.### #...# #...# .####',
  'H #...# #...# #...# ##### #...# #...# #...#',
  'I .###. ..#.. ..#.. ..#.. ..#.. ..#.. .###.',
  'J ..### ...#. ...#. ...#. ...#. #..#. .##..',
  'K #...# #..#. #.#.. ##... #.#.. #..#. #...#',
  'L #.... #.... #.... #.... #.... #.... #####',
  'M #...# ##.## #.#.# #.#.# #...# #...# #...#',
  'N #...# #...# ##..# #.#.# #..## #...# #...#',
  'O .###. #...# #...# #...# #...# #...# .###.',
  'P ####. #...# #...# ####. #.... #.... #....',
  'Q .###. #...# #...# #...# #.#.# #..#. .##.#',
  'R ####. #...# #...# ####. #.#.. #..#. #...#',
  'S .#### #.... #.... .###. ....# ....# ####.',
  'T ##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#..',
  'U #...# #...# #...# #...# #...# #...# .###.',
  'V #...# #...# #...# #...# #...# .#.#. ..#..',
  'W #...# #...# #...# #.#.# #.#.# #.#.# .#.#.',
  'X #...# #...# .#.#. ..#.. .#.#. #...# #...#',
  'Y #...# #...# .#.#. ..#.. ..#.. ..#.. ..#..',
  'Z ##### ....# ...#. ..#.. .#... #.... #####',
  'a ..... ..... .###. ....# .#### #...# .####',
  'b #.... #.... #.##. ##..# #...# #...# ####.',
  'c ..... ..... .###. #.... #.... #...# .###.',
  'd ....# ....# .##.# #..## #...# #...# .####',
  'e ..... ..... .###. #...# ##### #.... .###.',
  'f ..##. .#..# .#... ###.. .#... .#... .#...',
  'g ..... ..... .#### #...# #...# .#### ....# .###.',
  'h #.... #.... #.##. ##..# #...# #...# #...#',
  'i ..#.. ..... .##.. ..#.. ..#.. ..#.. .###.',
  'j ...#. ..... ..##. ...#. ...#. ...#. #..#. .##..',
  'k #.... #.... #..#. #.#.. ##... #.#.. #..#.',
  'l .##.. ..#.. ..#.. ..#.. ..#.. ..#.. .###.',
  'm ..... ..... ##.#. #.#.# #.#.# #...# #...#',
  'n ..... ..... #.##. ##..# #...# #...# #...#',
  'o ..... ..... .###. #...# #...# #...# .###.',
  'p ..... ..... ####. #...# #...# ####. #.... #....',
  'q ..... ..... .#### #...# #...# .#### ....# ....#',
  'r ..... ..... #.##. ##..# #.... #.... #....',
  's ..... ..... .###. #.... .###. ....# ####.',
  't .#... .#... ###.. .#... .#... .#..# ..##.',
  'u ..... ..... #...# #...# #...# #..## .##.#',
  'v ..... ..... #...# #...# #...# .#.#. ..#..',
  'w ..... ..... #...# #...# #.#.# #.#.# .#.#.',
  'x ..... ..... #...# .#.#. ..#.. .#.#. #...#',
  'y ..... ..... #...# #...# #...# .#### ....# .###.',
  'z ..... ..... ##### ...#. ..#.. .#... #####',
  '. ..... ..... ..... ..... ..... .##.. .##..',
  ', ..... ..... ..... ..... ..... .##.. ..#.. .#...',
  '- ..... ..... ..... .###. ..... ..... .....',
  '+ ..... ..#.. ..#.. ##### ..#.. ..#.. .....',
  ': ..... .##.. .##.. ..... .##.. .##.. .....',
  '; ..... .##.. .##.. ..... .##.. ..#.. .#...',
  '/ ..... ....# ...#. ..#.. .#... #.... .....',
  '% ##... ##..# ...#. ..#.. .#... #..## ...##',
  '( ...#. ..#.. .#... .#... .#... ..#.. ...#.',
  ') .#... ..#.. ...#. ...#. ...#. ..#.. .#...',
  '= ..... ..... ##### ..... ##### ..... .....',
  '_ ..... ..... ..... ..... ..... ..... ..... #####',
  '[ .###. .#... .#... .#... .#... .#... .###.',
  '] .###. ...#. ...#. ...#. ...#. ...#. .###.',
  '# .#.#. .#.#. ##### .#.#. ##### .#.#. .#.#.',
  "' ..#.. ..#.. .#... ..... ..... ..... .....",
  '" .#.#. .#.#. ..... ..... ..... ..... .....',
  '> .#... ..#.. ...#. ....# ...#. ..#.. .#...',
  '< ...#. ..#.. .#... #.... .#... ..#.. ...#.',
  '! ..#.. ..#.. ..#.. ..#.. ..#.. ..... ..#..',
  '? .###. #...# ....# ...#. ..#.. ..... ..#..',
  '* ..... ..#.. #.#.# .###. #.#.# ..#.. .....',
  '| ..#.. ..#.. ..#.. ..#.. ..#.. ..#.. ..#..',
  '& .##.. #..#. #.#.. .#... #.#.# #..#. .##.#',
  '\u0000 ..... ##### #...# #...# #...# ##### .....',
];

const GLYPH_W = 5;
const GLYPH_H = 8;
const ADVANCE = GLYPH_W + 1;

let font: Map<string, Uint8Array> | null = null;

/** Glyph rows as 5-bit masks (bit 4 = leftmost column), parsed once on first use. */
const glyphs = (): Map<string, Uint8Array> => {
  if (font === null) {
    font = new Map();
    for (const line of FONT_ROWS) {
      const rows = new Uint8Array(GLYPH_H);
      line
        .slice(2)
        .split(' ')
        .forEach((row, r) => {
          for (let c = 0; c < GLYPH_W; c++) if (row[c] === '#') rows[r]! |= 1 << (GLYPH_W - 1 - c);
        });
      font.set(line[0]!, rows);
    }
  }
  return font;
};

// ---------------------------------------------------------------------------------------------
// Raster primitives. Every write goes through `fill`, which clips to a rectangle.

/** Inclusive pixel rectangle. */
interface Rect {
  readonly x0: number;
  readonly y0: number;
  readonly x1: number;
  readonly y1: number;
}

const fullRect = (img: Image8): Rect => ({ x0: 0, y0: 0, x1: img.width - 1, y1: img.height - 1 });

const byte = (v: number): number => (Number.isFinite(v) ? Math.max(0, Math.min(255, Math.round(v))) : 0);

/** Fills the pixels [x0, x1] x [y0, y1] that lie inside `clip`. */
const fill = (img: Image8, clip: Rect, x0: number, y0: number, x1: number, y1: number, color: RGB): void => {
  const xa = Math.max(x0, clip.x0, 0);
  const xb = Math.min(x1, clip.x1, img.width - 1);
  const ya = Math.max(y0, clip.y0, 0);
  const yb = Math.min(y1, clip.y1, img.height - 1);
  if (xa > xb || ya > yb) return;
  const ch = img.channels;
  const r = byte(color[0]);
  const g = byte(color[1]);
  const b = byte(color[2]);
  const d = img.data;
  for (let y = ya; y <= yb; y++) {
    let o = (y * img.width + xa) * ch;
    for (let x = xa; x <= xb; x++, o += ch) {
      if (ch === 1) d[o] = Math.round((r + g + b) / 3);
      else {
        d[o] = r;
        d[o + 1] = g;
        d[o + 2] = b;
        if (ch === 4) d[o + 3] = 255;
      }
    }
  }
};

const textRaw = (img: Image8, clip: Rect, x: number, y: number, text: string, color: RGB, scale: number): void => {
  const table = glyphs();
  let cx = x;
  for (const ch of text) {
    if (ch !== ' ') {
      const rows = table.get(ch) ?? table.get('\u0000')!;
      for (let r = 0; r < GLYPH_H; r++) {
        const bits = rows[r]!;
        if (bits === 0) continue;
        for (let c = 0; c < GLYPH_W; c++) {
          if (bits & (1 << (GLYPH_W - 1 - c))) {
            const px = cx + c * scale;
            const py = y + r * scale;
            fill(img, clip, px, py, px + scale - 1, py + scale - 1, color);
          }
        }
      }
    }
    cx += ADVANCE * scale;
  }
};

const checkScale = (scale: number): void => {
  if (!Number.isInteger(scale) || scale < 1 || scale > 64) throw new ConfigError('text scale', scale, 'must be an integer in [1, 64]');
};

/**
 * Pixel width of `text` at `scale` in the built-in font: 6 px per character (5 of glyph, 1 of
 * spacing) less the trailing spacing, times `scale`. Characters are counted as code points.
 *
 * @example
 * textWidth('loss') // 23
 * textWidth('loss', 2) // 46
 * @since 0.1.0
 */
export const textWidth = (text: string, scale = 1): number => {
  checkScale(scale);
  let n = 0;
  for (const _ of text) n++;
  return n === 0 ? 0 : (n * ADVANCE - 1) * scale;
};

/**
 * Draws `text` with the built-in 5x7 bitmap font onto an image in place, clipped to the image.
 * `(x, y)` is the top-left of the first glyph cell; ink lies in `[x, x + textWidth(text, scale))`
 * by `[y, y + 8 * scale)` (the 8th row holds descenders). Unknown characters draw as a small box;
 * there is no line breaking. Grey images get the mean of `color`, RGBA images opaque pixels.
 *
 * @example
 * const img: Image8 = { width: 64, height: 12, channels: 3, data: new Uint8Array(64 * 12 * 3).fill(255) }
 * drawText(img, 2, 2, 'loss 1e-3', [0, 0, 0])
 * @since 0.1.0
 */
export const drawText = (img: Image8, x: number, y: number, text: string, color: readonly [number, number, number], scale = 1): void => {
  checkScale(scale);
  if (!Number.isFinite(x)) throw new ConfigError('drawText x', x, 'must be finite');
  if (!Number.isFinite(y)) throw new ConfigError('drawText y', y, 'must be finite');
  textRaw(img, fullRect(img), Math.round(x), Math.round(y), text, color, scale);
};

/** Longest prefix of `text` that fits in `maxW` pixels, ending in '..' when cut. */
const fitText = (text: string, maxW: number, scale: number): string => {
  if (textWidth(text, scale) <= maxW) return text;
  const chars = [...text];
  const n = Math.floor((maxW + scale) / (ADVANCE * scale));
  if (n <= 2) return chars.slice(0, Math.max(0, n)).join('');
  return chars.slice(0, n - 2).join('') + '..';
};

// ---------------------------------------------------------------------------------------------
// Ticks and number formatting.

/**
 * "Nice" tick values covering [lo, hi]: multiples of a step of 1, 2 or 5 x 10^k chosen so that
 * about `count` steps span the range; the first tick is <= lo and the last >= hi (a bound within
 * rounding error of a tick counts as on it). Values are
 * computed from integers so they print cleanly (0.6, not 0.6000000000000001). A zero-width
 * range gets a single tick; bounds in the wrong order are swapped; ticks that would overflow to
 * +-Infinity are left out.
 *
 * @example
 * niceTicks(0, 1) // [0, 0.2, 0.4, 0.6, 0.8, 1]
 * niceTicks(3, 97, 4) // [0, 50, 100]
 * @since 0.1.0
 */
export const niceTicks = (lo: number, hi: number, count = 5): number[] => {
  if (!Number.isFinite(lo)) throw new ConfigError('niceTicks lo', lo, 'must be finite');
  if (!Number.isFinite(hi)) throw new ConfigError('niceTicks hi', hi, 'must be finite');
  if (!Number.isInteger(count) || count < 1 || count > 1000)
    throw new ConfigError('niceTicks count', count, 'must be an integer in [1, 1000]');
  if (lo > hi) [lo, hi] = [hi, lo];
  if (lo === hi) return [lo];
  const step = niceStep(lo, hi, count);
  if (step === null) return [lo, hi];
  const k0 = Math.floor(lo / step.value + 1e-9);
  const k1 = Math.ceil(hi / step.value - 1e-9);
  const out: number[] = [];
  for (let k = k0; k <= k1; k++) {
    const v = step.at(k);
    if (Number.isFinite(v)) out.push(v); // ranges near +-MAX_VALUE: the outermost ticks would overflow
  }
  return out;
};

interface Step {
  readonly value: number;
  /** log10 of the step's power of ten */
  readonly exp: number;
  readonly at: (k: number) => number;
}

const niceStep = (lo: number, hi: number, count: number): Step | null => {
  const raw = hi / count - lo / count; // no overflow for ranges near +-MAX_VALUE
  if (!(raw > 0) || !Number.isFinite(raw)) return null;
  let exp = Math.floor(Math.log10(raw));
  const mant = raw / 10 ** exp;
  if (!Number.isFinite(mant) || mant <= 0) return null;
  let unit = mant <= 1 + 1e-9 ? 1 : mant <= 2 + 1e-9 ? 2 : mant <= 5 + 1e-9 ? 5 : 10;
  if (unit === 10) {
    unit = 1;
    exp += 1;
  }
  const pow = 10 ** Math.abs(exp);
  if (!Number.isFinite(pow) || pow === 0) return null;
  // k * unit is an exact integer, and dividing by an exact power of ten rounds once.
  const at = exp < 0 ? (k: number) => (k * unit) / pow : (k: number) => k * unit * pow;
  const value = at(1);
  return value > 0 && Number.isFinite(value) ? { value, exp, at } : null;
};

const stripZeros = (s: string): string => (s.includes('.') ? s.replace(/\.?0+$/, '') : s);

/** Exponent form without '+' and trailing zeros: 2.5e3, 1e-4. */
const expForm = (v: number, digits: number): string => {
  const [m, e] = v.toExponential(Math.max(0, Math.min(6, digits))).split('e') as [string, string];
  return `${stripZeros(m)}e${e.replace('+', '')}`;
};

/** A tick label: decimals follow the tick step; very large or small values use exponent form. */
const formatTick = (v: number, step: Step): string => {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e4 || a < 1e-3) {
    const e = Math.floor(Math.log10(a));
    return expForm(v, e - step.exp);
  }
  return stripZeros(v.toFixed(Math.max(0, Math.min(12, -step.exp))));
};

/** A standalone value (log-axis decades): integers as is, otherwise 4 significant digits. */
const formatValue = (v: number): string => {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e4 || a < 1e-3) return expForm(v, 3);
  return Number.isInteger(v) ? String(v) : stripZeros(v.toPrecision(4));
};

interface Tick {
  readonly at: number; // position in axis space (log10 for log axes)
  readonly label: string;
}

/** Linear ticks inside [lo, hi], about `count` of them. */
const linearTicks = (lo: number, hi: number, count: number): Tick[] => {
  const step = niceStep(lo, hi, count);
  if (step === null) return [{ at: lo, label: formatValue(lo) }];
  const eps = (hi - lo) * 1e-9;
  return niceTicks(lo, hi, count)
    .filter((v) => v >= lo - eps && v <= hi + eps)
    .map((v) => ({ at: v, label: formatTick(v, step) }));
};

/** Log-axis ticks; [lo, hi] are log10 values. Whole decades when two or more fit. */
const logTicks = (lo: number, hi: number, count: number): Tick[] => {
  const k0 = Math.ceil(lo - 1e-9);
  const k1 = Math.floor(hi + 1e-9);
  if (k1 - k0 >= 1) {
    const every = Math.max(1, Math.ceil((k1 - k0 + 1) / count));
    const out: Tick[] = [];
    for (let k = Math.ceil(k0 / every) * every; k <= k1; k += every) out.push({ at: k, label: formatValue(10 ** k) });
    return out;
  }
  const a = 10 ** lo;
  const b = 10 ** hi;
  const step = niceStep(a, b, count);
  if (step === null) return [];
  return niceTicks(a, b, count)
    .filter((v) => v > 0 && v >= a * (1 - 1e-9) && v <= b * (1 + 1e-9))
    .map((v) => ({ at: Math.log10(v), label: formatTick(v, step) }));
};

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

/** Liang-Barsky: the part of segment a-b inside `r`, or null. */
const clipSegment = (ax: number, ay: number, bx: number, by: number, r: Rect): [number, number, number, number] | null => {
  let t0 = 0;
  let t1 = 1;
  const dx = bx - ax;
  const dy = by - ay;
  const edges: [number, number][] = [
    [-dx, ax - r.x0],
    [dx, r.x1 - ax],
    [-dy, ay - r.y0],
    [dy, r.y1 - ay],
  ];
  for (const [p, q] of edges) {
    if (p === 0) {
      if (q < 0) return null;
    } else {
      const t = q / p;
      if (p < 0) {
        if (t > t1) return null;
        if (t > t0) t0 = t;
      } else {
        if (t < t0) return null;
        if (t < t1) t1 = t;
      }
    }
  }
  return [ax + t0 * dx, ay + t0 * dy, ax + t1 * dx, ay + t1 * dy];
};

/** A 2 px Bresenham line, thickened across its major direction. */
const drawLine = (img: Image8, clip: Rect, ax: number, ay: number, bx: number, by: number, color: RGB): void => {
  const seg = clipSegment(ax, ay, bx, by, clip);
  if (seg === null) return;
  let x0 = Math.round(seg[0]);
  let y0 = Math.round(seg[1]);
  const x1 = Math.round(seg[2]);
  const y1 = Math.round(seg[3]);
  const dx = Math.abs(x1 - x0);
  const dy = -Math.abs(y1 - y0);
  const sx = x0 < x1 ? 1 : -1;
  const sy = y0 < y1 ? 1 : -1;
  const horizontal = dx >= -dy;
  let err = dx + dy;
  for (;;) {
    if (horizontal) fill(img, clip, x0, y0, x0, y0 + 1, color);
    else fill(img, clip, x0, y0, x0 + 1, y0, color);
    if (x0 === x1 && y0 === y1) break;
    const e2 = 2 * err;
    if (e2 >= dy) {
      err += dy;
      x0 += sx;
    }
    if (e2 <= dx) {
      err += dx;
      y0 += sy;
    }
  }
};

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
  if (panel.yLabel !== '') top += LINE_H;
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
  if (panel.yLabel !== '') textRaw(img, clip, ox + PAD, yLabelTop, fitText(panel.yLabel, W - 2 * PAD, 1), INK, 1);
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
 * lines, ticks and compact numeric labels (2.5e3, 1e-4), the y label above the box, the x label
 * under it and a legend at the bottom. Series are 2 px polylines with square markers in a fixed
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

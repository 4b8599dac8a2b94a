/**
 * The built-in 5x7 bitmap font (an 8th row for descenders) and text drawn with it onto an
 * {@link Image8}: glyph table, text width, clipped text drawing and fitting text to a width.
 *
 * @since 0.2.0
 */
import { ConfigError } from '../core/errors.js';
import type { Image8 } from './png.js';
import { fill, fullRect, type RGB, type Rect } from './raster.js';

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
/** Glyph cell height in pixels at scale 1 (7 rows and a descender row). */
export const GLYPH_H = 8;
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

/** Draws `text` at `(x, y)` (top-left of the first cell), clipped to `clip`; no argument checks. */
export const textRaw = (img: Image8, clip: Rect, x: number, y: number, text: string, color: RGB, scale: number): void => {
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
export const fitText = (text: string, maxW: number, scale: number): string => {
  if (textWidth(text, scale) <= maxW) return text;
  const chars = [...text];
  const n = Math.floor((maxW + scale) / (ADVANCE * scale));
  if (n <= 2) return chars.slice(0, Math.max(0, n)).join('');
  return chars.slice(0, n - 2).join('') + '..';
};

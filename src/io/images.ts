/**
 * Turning float images into 8-bit pictures and tiling them into grids.
 *
 * @since 0.1.0
 */
import { ShapeError } from '../core/errors.js';
import type { Image8 } from './png.js';
import { drawText, fitText, GLYPH_H, textWidth } from './font.js';

/**
 * One float image [H, W, C] (C = 1 or 3, row-major) mapped to 8 bits, clipping to [lo, hi].
 *
 * @example
 * toImage8(pixels, 32, 32, 3)
 * @since 0.1.0
 */
export const toImage8 = (data: ArrayLike<number>, height: number, width: number, channels: number, lo = 0, hi = 1): Image8 => {
  if (channels !== 1 && channels !== 3) throw new ShapeError('image channels', '1 or 3', [channels]);
  if (data.length !== height * width * channels) throw new ShapeError('image data', `[${height}, ${width}, ${channels}]`, [data.length]);
  const out = new Uint8Array(height * width * 3);
  for (let i = 0; i < height * width; i++) {
    for (let c = 0; c < 3; c++) {
      const v = data[i * channels + (channels === 1 ? 0 : c)]!;
      const u = Number.isFinite(v) ? (v - lo) / (hi - lo) : 0;
      out[i * 3 + c] = Math.round(255 * Math.min(1, Math.max(0, u)));
    }
  }
  return { width, height, channels: 3, data: out };
};

/**
 * A clip [T, H, W, C] as one picture: its frames side by side, left to right.
 *
 * @example
 * frameStrip(clip, 8, 32, 32, 3).width // 256
 * @since 0.1.0
 */
export const frameStrip = (
  data: ArrayLike<number>,
  frames: number,
  height: number,
  width: number,
  channels: number,
  lo = 0,
  hi = 1,
): Image8 => {
  const per = height * width * channels;
  if (data.length !== frames * per) throw new ShapeError('clip data', `[${frames}, ${height}, ${width}, ${channels}]`, [data.length]);
  const out = new Uint8Array(frames * width * height * 3);
  for (let f = 0; f < frames; f++) {
    const img = toImage8(Array.prototype.slice.call(data, f * per, (f + 1) * per) as number[], height, width, channels, lo, hi);
    for (let y = 0; y < height; y++) out.set(img.data.subarray(y * width * 3, (y + 1) * width * 3), (y * frames * width + f * width) * 3);
  }
  return { width: frames * width, height, channels: 3, data: out };
};

/**
 * Tiles equal-sized images (grey or RGB, any height and width) into an RGB grid (rows of cells),
 * with `pad` pixels of `background` between cells and around the edge, each cell magnified
 * `scale` times (nearest neighbour). Grey cells are drawn as RGB. `titles` label the columns in
 * a band above, `rowTitles` the rows in a band on the left, both in the built-in bitmap font
 * (a title wider than its cell is cut and ends in '..').
 *
 * @example
 * tileImages([[a, b], [c, d]], { pad: 2, scale: 4, titles: ['original', 'prediction'], rowTitles: ['disk', 'square'] })
 * @since 0.1.0
 */
export const tileImages = (
  rows: readonly (readonly Image8[])[],
  o: {
    readonly pad?: number;
    readonly scale?: number;
    readonly background?: readonly [number, number, number];
    readonly titles?: readonly string[];
    /** Row labels, drawn left of each row (since 0.2.0). */
    readonly rowTitles?: readonly string[];
  } = {},
): Image8 => {
  const pad = o.pad ?? 2;
  const scale = o.scale ?? 1;
  const bg = o.background ?? [255, 255, 255];
  const first = rows[0]?.[0];
  if (!first) throw new ShapeError('image grid', 'at least one cell', [0]);
  const ch = first.height * scale;
  const cw = first.width * scale;
  const nCols = Math.max(...rows.map((r) => r.length));
  const rowTitles = o.rowTitles?.map((t) => fitText(t, 120, 1)) ?? [];
  const left = rowTitles.length ? rowTitles.reduce((m, t) => Math.max(m, textWidth(t)), 0) + pad + 2 : 0;
  const width = left + pad + nCols * (cw + pad);
  const band = o.titles ? GLYPH_H + 2 + pad : 0;
  const height = band + pad + rows.length * (ch + pad);
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) data.set(bg, i * 3);
  rows.forEach((row, r) =>
    row.forEach((cell, c) => {
      if (cell.width !== first.width || cell.height !== first.height || (cell.channels !== 3 && cell.channels !== 1)) {
        throw new ShapeError(`image grid cell (${r}, ${c})`, `[${first.height}, ${first.width}, 1 or 3]`, [
          cell.height,
          cell.width,
          cell.channels,
        ]);
      }
      const k = cell.channels;
      const y0 = band + pad + r * (ch + pad);
      const x0 = left + pad + c * (cw + pad);
      for (let y = 0; y < ch; y++)
        for (let x = 0; x < cw; x++) {
          const s = (Math.floor(y / scale) * cell.width + Math.floor(x / scale)) * k;
          const o3 = ((y0 + y) * width + x0 + x) * 3;
          if (k === 3) data.set(cell.data.subarray(s, s + 3), o3);
          else data.fill(cell.data[s]!, o3, o3 + 3);
        }
    }),
  );
  const img: Image8 = { width, height, channels: 3, data };
  const ink: readonly [number, number, number] = [40, 40, 40];
  o.titles?.forEach((title, c) => {
    const t = fitText(title, cw, 1);
    drawText(img, left + pad + c * (cw + pad) + Math.max(0, Math.floor((cw - textWidth(t)) / 2)), pad + 1, t, ink);
  });
  rowTitles.forEach((t, r) => drawText(img, pad, band + pad + r * (ch + pad) + Math.max(0, Math.floor((ch - GLYPH_H) / 2)), t, ink));
  return img;
};

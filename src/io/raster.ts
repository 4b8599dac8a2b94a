/**
 * Raster primitives for the plots: an RGB colour, an inclusive pixel rectangle, a clipped
 * rectangle fill on an {@link Image8} (grey, RGB or RGBA) and a 2 px clipped line. Plain
 * TypeScript, no DOM, no Node APIs.
 *
 * @since 0.2.0
 */
import type { Image8 } from './png.js';

/** An RGB colour, each channel 0..255 (rounded and clamped when drawn). */
export type RGB = readonly [number, number, number];

// Raster primitives. Every write goes through `fill`, which clips to a rectangle.

/** Inclusive pixel rectangle. */
export interface Rect {
  readonly x0: number;
  readonly y0: number;
  readonly x1: number;
  readonly y1: number;
}

/** The whole of `img` as a clip rectangle. */
export const fullRect = (img: Image8): Rect => ({ x0: 0, y0: 0, x1: img.width - 1, y1: img.height - 1 });

const byte = (v: number): number => (Number.isFinite(v) ? Math.max(0, Math.min(255, Math.round(v))) : 0);

/** Fills the pixels [x0, x1] x [y0, y1] that lie inside `clip`. */
export const fill = (img: Image8, clip: Rect, x0: number, y0: number, x1: number, y1: number, color: RGB): void => {
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
export const drawLine = (img: Image8, clip: Rect, ax: number, ay: number, bx: number, by: number, color: RGB): void => {
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

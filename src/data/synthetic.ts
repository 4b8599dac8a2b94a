/**
 * A deterministic synthetic image dataset generated in code: ten classes of shapes and
 * textures (32 x 32 RGB by default), random colours, positions, sizes, orientations and pixel
 * noise, so that colour alone says nothing about the class and both masked reconstruction and
 * linear probes have structure to find. Image i depends only on the key and i.
 *
 * @since 0.1.0
 */
import { int, positiveInt } from '../core/check.js';
import { fold, key as makeKey, normal, uniform, type Key } from '../core/key.js';
import type { LabelledImages } from './labelled.js';

/**
 * The class names, in label order.
 *
 * @example
 * SYNTHETIC_CLASSES[3] // 'ring'
 * @since 0.1.0
 */
export const SYNTHETIC_CLASSES = [
  'disk',
  'square',
  'triangle',
  'ring',
  'plus',
  'hstripes',
  'vstripes',
  'checker',
  'diagonal',
  'dots',
] as const;

export type { LabelledImages } from './labelled.js';

const clamp01 = (v: number): number => (v < 0 ? 0 : v > 1 ? 1 : v);

/** HSV (h in [0, 1)) to RGB. */
const hsv = (h: number, s: number, v: number): [number, number, number] => {
  const i = Math.floor(h * 6);
  const f = h * 6 - i;
  const p = v * (1 - s);
  const q = v * (1 - f * s);
  const t = v * (1 - (1 - f) * s);
  const table: [number, number, number][] = [
    [v, t, p],
    [q, v, p],
    [p, v, t],
    [p, q, v],
    [t, p, v],
    [v, p, q],
  ];
  return table[i % 6]!;
};

/** Signed distance (pixels, negative inside) of a class's shape at local coordinates (x, y). */
const coverage = (label: number, x: number, y: number, r: number, period: number, phase: number): number => {
  const edge = (sd: number): number => clamp01(0.5 - sd);
  const wave = (u: number): number => clamp01(0.5 + 2.5 * Math.sin((2 * Math.PI * u) / period + phase));
  switch (label) {
    case 0: // disk
      return edge(Math.hypot(x, y) - r);
    case 1: // square
      return edge(Math.max(Math.abs(x), Math.abs(y)) - 0.85 * r);
    case 2: {
      // triangle: three half-planes
      let sd = -Infinity;
      for (let k = 0; k < 3; k++) {
        const a = (2 * Math.PI * k) / 3 - Math.PI / 2;
        sd = Math.max(sd, x * Math.cos(a) + y * Math.sin(a) - 0.55 * r);
      }
      return edge(sd);
    }
    case 3: // ring
      return edge(Math.abs(Math.hypot(x, y) - 0.8 * r) - 0.25 * r);
    case 4: {
      // plus
      const arm = (u: number, v: number): number => Math.max(Math.abs(u) - r, Math.abs(v) - 0.3 * r);
      return edge(Math.min(arm(x, y), arm(y, x)));
    }
    case 5: // horizontal stripes
    case 6: // vertical stripes (rotated by the caller)
    case 8: // diagonal stripes (rotated by the caller)
      return wave(y);
    case 7: // checkerboard
      return clamp01(0.5 + 2.5 * Math.sin((2 * Math.PI * x) / period + phase) * Math.sin((2 * Math.PI * y) / period));
    default: {
      // polka dots on a lattice
      const cell = period * 1.6;
      const dx = ((((x + phase * cell) % cell) + cell) % cell) - cell / 2;
      const dy = ((((y + phase * cell) % cell) + cell) % cell) - cell / 2;
      return edge(Math.hypot(dx, dy) - 0.3 * cell);
    }
  }
};

/** Position in [lo, hi] of a point moving at constant speed and bouncing off both ends. */
const bounce = (x: number, lo: number, hi: number): number => {
  const span = hi - lo;
  if (span <= 0) return lo;
  const m = (((x - lo) % (2 * span)) + 2 * span) % (2 * span);
  return lo + (m <= span ? m : 2 * span - m);
};

/**
 * Renders class `label` from `k` into `out` at `offset`: one image ([size, size, 3]), or, with
 * `frames` > 1, a clip ([frames, size, size, 3]) in which shapes move, bounce off the borders and
 * turn, and textures drift. Frame 0 of a clip is drawn with the same draw as the still image.
 */
const render = (k: Key, label: number, size: number, out: Float32Array, offset: number, frames = 1): void => {
  const u = uniform(k, 16);
  const [hueBg, hueFg, vBg, sFg, sBg, cxu, cyu, ru, rotu, peru, phaseu, jitter] = Array.from(u);
  const darkOnLight = u[12]! < 0.5;
  const bg = hsv(hueBg!, 0.2 + 0.5 * sBg!, darkOnLight ? 0.75 + 0.25 * vBg! : 0.1 + 0.25 * vBg!);
  const fg = hsv((hueBg! + 0.25 + 0.5 * hueFg!) % 1, 0.5 + 0.5 * sFg!, darkOnLight ? 0.15 + 0.3 * u[13]! : 0.7 + 0.3 * u[13]!);
  const cx0 = size * (0.35 + 0.3 * cxu!);
  const cy0 = size * (0.35 + 0.3 * cyu!);
  const r = size * (0.2 + 0.12 * ru!);
  const period = size * (0.14 + 0.1 * peru!);
  const phase0 = 2 * Math.PI * phaseu!;
  const orientation =
    label === 6 ? Math.PI / 2 : label === 8 ? (u[14]! < 0.5 ? Math.PI / 4 : -Math.PI / 4) : label <= 4 ? 2 * Math.PI * rotu! : 0;
  const theta0 = orientation + (label >= 5 ? (jitter! - 0.5) * 0.3 : 0);
  // motion (clips only): velocity in pixels per frame, a slow turn, a texture drift
  const m = frames > 1 ? uniform(fold(k, 'motion'), 4) : new Float32Array(4);
  const speed = size * (0.03 + 0.04 * m[0]!);
  const heading = 2 * Math.PI * m[1]!;
  const turn = (m[2]! - 0.5) * 0.2;
  const drift = (0.3 + 0.5 * m[3]!) * (m[3]! < 0.5 ? -1 : 1);
  const margin = Math.min(size / 2, 0.6 * r);
  for (let f = 0; f < frames; f++) {
    // (frame 0 is exactly the still image's draw)
    const cx = f === 0 ? cx0 : bounce(cx0 + f * speed * Math.cos(heading), margin, size - margin);
    const cy = f === 0 ? cy0 : bounce(cy0 + f * speed * Math.sin(heading), margin, size - margin);
    const theta = theta0 + (label <= 4 ? f * turn : 0);
    const phase = phase0 + (label >= 5 ? f * drift : 0);
    const [c, sn] = [Math.cos(theta), Math.sin(theta)];
    const noise = normal(f === 0 ? fold(k, 'pixels') : fold(fold(k, 'pixels'), f), size * size * 3);
    const base = offset + f * size * size * 3;
    for (let py = 0; py < size; py++)
      for (let px = 0; px < size; px++) {
        const dx = px + 0.5 - (label <= 4 ? cx : cx0);
        const dy = py + 0.5 - (label <= 4 ? cy : cy0);
        const a = coverage(label, c * dx + sn * dy, -sn * dx + c * dy, r, period, phase);
        const o = base + (py * size + px) * 3;
        const i = (py * size + px) * 3;
        for (let ch = 0; ch < 3; ch++) out[o + ch] = clamp01(bg[ch]! * (1 - a) + fg[ch]! * a + 0.03 * noise[i + ch]!);
      }
  }
};

/**
 * `count` labelled images, classes balanced in turn (label of image i is (start + i) mod 10).
 * Image i is a pure function of (seed, start + i), so any slice of the dataset can be
 * generated on its own.
 *
 * @example
 * const train = synthetic({ count: 2000, seed: 0 })
 * const test = synthetic({ count: 500, seed: 0, start: 2000 })
 * @since 0.1.0
 */
export const synthetic = (o: {
  readonly count: number;
  readonly seed?: number;
  readonly start?: number;
  readonly size?: number;
}): LabelledImages => {
  const count = positiveInt('synthetic.count', o.count);
  const size = int('synthetic.size', o.size ?? 32, 8, 1024);
  const start = int('synthetic.start', o.start ?? 0, 0);
  const root = fold(makeKey(o.seed ?? 0), 'synthetic');
  const images = new Float32Array(count * size * size * 3);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const label = (start + i) % SYNTHETIC_CLASSES.length;
    labels[i] = label;
    render(fold(root, start + i), label, size, images, i * size * size * 3);
  }
  return { count, height: size, width: size, channels: 3, images, labels, classes: SYNTHETIC_CLASSES };
};

/**
 * `count` labelled video clips of `frames` frames (default 8): the ten classes of
 * {@link synthetic}, with shapes that move at constant speed, bounce off the borders and turn
 * slowly, and textures that drift. Clip i is a pure function of (seed, start + i), and its first
 * frame is image i of {@link synthetic} with the same seed.
 *
 * @example
 * const clips = syntheticVideos({ count: 200, frames: 8 }) // clips.frames === 8
 * @since 0.1.0
 */
export const syntheticVideos = (o: {
  readonly count: number;
  readonly frames?: number;
  readonly seed?: number;
  readonly start?: number;
  readonly size?: number;
}): LabelledImages => {
  const count = positiveInt('syntheticVideos.count', o.count);
  const frames = int('syntheticVideos.frames', o.frames ?? 8, 2, 256);
  const size = int('syntheticVideos.size', o.size ?? 32, 8, 1024);
  const start = int('syntheticVideos.start', o.start ?? 0, 0);
  const root = fold(makeKey(o.seed ?? 0), 'synthetic');
  const per = frames * size * size * 3;
  const images = new Float32Array(count * per);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const label = (start + i) % SYNTHETIC_CLASSES.length;
    labels[i] = label;
    render(fold(root, start + i), label, size, images, i * per, frames);
  }
  return { count, frames, height: size, width: size, channels: 3, images, labels, classes: SYNTHETIC_CLASSES };
};

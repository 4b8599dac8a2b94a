/**
 * One resize policy for every picture tesserae reads: the command line's image and clip folders
 * (`loadImageFolder`, `loadClipFolder`, `--size` with `--fit`) and the browser demo's picked
 * picture go through {@link fitImage}, so the same file gives the same pixels everywhere. Pure
 * TypeScript: no backend, no DOM, no Node APIs.
 *
 * The policy is a value, {@link FitOptions}: a target [height, width], a {@link Fit} mode and a
 * channel count. The default mode is `'crop'`: scale the picture so that it covers the target
 * (its shorter side, relative to the target's, meets the target) and keep the centre. `'pad'`
 * scales it to fit inside the target (the longer side meets it) and fills the rest with 0;
 * `'stretch'` scales each axis on its own (ignoring the aspect ratio). Resampling is a triangle
 * filter widened to the downscaling factor (bilinear when enlarging, antialiased when
 * shrinking) with half-pixel centres, so a picture already at the target size comes back
 * unchanged. Channels: grey is replicated to RGB, RGB becomes grey by Rec. 601 luma
 * (0.299 R + 0.587 G + 0.114 B), and alpha is dropped (the stored colour is kept, not
 * composited).
 *
 * @since 0.2.0
 */
import { int, oneOf } from '../core/check.js';
import { ConfigError, ShapeError } from '../core/errors.js';
import type { Image8 } from '../io/png.js';

/**
 * How a picture meets a target of another shape: `'crop'` (the default: cover the target, keep
 * the centre), `'pad'` (fit inside the target, pad with 0) or `'stretch'` (scale each axis to the
 * target, ignoring the aspect ratio).
 *
 * @since 0.2.0
 */
export type Fit = 'crop' | 'stretch' | 'pad';

/**
 * The {@link Fit} modes, the default (`'crop'`) first.
 *
 * @example
 * FIT_MODES.includes('pad') // true
 * @since 0.2.0
 */
export const FIT_MODES: readonly Fit[] = ['crop', 'stretch', 'pad'];

/**
 * The resize policy {@link fitImage} applies.
 *
 * @since 0.2.0
 */
export interface FitOptions {
  /** Target rows. */
  readonly height: number;
  /** Target columns. */
  readonly width: number;
  /** How the aspect ratio is handled (default `'crop'`). */
  readonly fit?: Fit;
  /** Channels of the result: 1 (grey) or 3 (RGB, the default). */
  readonly channels?: 1 | 3;
}

/** Byte value / 255, looked up rather than divided for every sample. */
const UNIT = Float32Array.from({ length: 256 }, (_, i) => i / 255);

/**
 * For each output index along one axis, the input indices and weights of a triangle filter
 * widened to the downscaling factor, sampling the input interval [from, from + length) (in
 * pixel units, half-pixel centres) onto `outSize` pixels; taps outside [0, inSize) are left
 * out and the rest renormalised. Weights sum to 1; the identity maps each pixel to itself.
 */
const axisWeights = (inSize: number, outSize: number, from = 0, length = inSize): { start: number; weights: Float64Array }[] => {
  const scale = length / outSize;
  const support = Math.max(1, scale);
  return Array.from({ length: outSize }, (_, i) => {
    const centre = from + (i + 0.5) * scale;
    let start = Math.max(0, Math.floor(centre - support));
    let end = Math.min(inSize, Math.ceil(centre + support));
    if (end <= start) [start, end] = centre < 0.5 ? [0, 1] : [inSize - 1, inSize];
    const raw = Array.from({ length: end - start }, (_, k) => Math.max(0, 1 - Math.abs((start + k + 0.5 - centre) / support)));
    let sum = raw.reduce((a, b) => a + b, 0);
    if (sum === 0) {
      // a sample centre on the very edge of the image: take the nearest pixel
      raw.fill(0);
      raw[Math.min(raw.length - 1, Math.max(0, Math.floor(centre) - start))] = 1;
      sum = 1;
    }
    return { start, weights: Float64Array.from(raw, (w) => w / sum) };
  });
};

/** The picture as floats in [0, 1] with `channels` channels (grey replicated, luma for grey, alpha dropped). */
const toChannels = (img: Image8, channels: 1 | 3): Float32Array => {
  const n = img.width * img.height;
  const out = new Float32Array(n * channels);
  const c = img.channels;
  const d = img.data;
  for (let p = 0; p < n; p++) {
    const i = p * c;
    if (channels === 3) {
      for (let k = 0; k < 3; k++) out[p * 3 + k] = UNIT[d[i + (c === 1 ? 0 : k)]!]!;
    } else out[p] = c === 1 ? UNIT[d[i]!]! : (0.299 * d[i]! + 0.587 * d[i + 1]! + 0.114 * d[i + 2]!) / 255;
  }
  return out;
};

/** Resamples the region [x0, x0 + w) x [y0, y0 + h) of `src` (width sw, height sh) onto ow x oh, written into `out` at (ox, oy) of a row of `stride` pixels. */
const resample = (
  src: Float32Array,
  sw: number,
  sh: number,
  c: number,
  region: { x0: number; y0: number; w: number; h: number },
  ow: number,
  oh: number,
  out: Float32Array,
  offset: number,
  stride: number,
): void => {
  const xs = axisWeights(sw, ow, region.x0, region.w);
  const ys = axisWeights(sh, oh, region.y0, region.h);
  // only the source rows the vertical filter reads
  const rowLo = ys[0]!.start;
  const rowHi = ys[oh - 1]!.start + ys[oh - 1]!.weights.length;
  const tmp = new Float32Array((rowHi - rowLo) * ow * c); // rows resampled horizontally
  for (let y = rowLo; y < rowHi; y++)
    for (let x = 0; x < ow; x++) {
      const { start, weights } = xs[x]!;
      for (let k = 0; k < c; k++) {
        let v = 0;
        for (let j = 0; j < weights.length; j++) v += weights[j]! * src[(y * sw + start + j) * c + k]!;
        tmp[((y - rowLo) * ow + x) * c + k] = v;
      }
    }
  for (let y = 0; y < oh; y++) {
    const { start, weights } = ys[y]!;
    for (let i = 0; i < ow * c; i++) {
      let v = 0;
      for (let j = 0; j < weights.length; j++) v += weights[j]! * tmp[(start - rowLo + j) * ow * c + i]!;
      out[offset + y * stride * c + i] = Math.min(1, Math.max(0, v));
    }
  }
};

/** The checked policy: target sides, mode and channels. */
const policyOf = (o: FitOptions): { height: number; width: number; fit: Fit; channels: 1 | 3 } => {
  const height = int('fit.height', o.height, 1, 16384);
  const width = int('fit.width', o.width, 1, 16384);
  const fit = oneOf('fit', o.fit ?? 'crop', FIT_MODES);
  const channels = o.channels ?? 3;
  if (channels !== 1 && channels !== 3) throw new ConfigError('fit.channels', channels, 'must be 1 (grey) or 3 (RGB)');
  return { height, width, fit, channels };
};

/**
 * Writes {@link fitImage}'s result into `out` at `offset` (height * width * channels floats)
 * instead of allocating it.
 *
 * @example
 * const out = new Float32Array(2 * 32 * 32 * 3)
 * fitInto(img, { height: 32, width: 32 }, out, 32 * 32 * 3) // the second image of a batch
 * @since 0.2.0
 */
export const fitInto = (img: Image8, options: FitOptions, out: Float32Array, offset = 0): void => {
  const { height, width, fit, channels } = policyOf(options);
  if (!(Number.isInteger(img.width) && img.width >= 1 && Number.isInteger(img.height) && img.height >= 1))
    throw new ConfigError('fit image size', `${img.width}x${img.height}`, 'must be positive integers');
  if (img.channels !== 1 && img.channels !== 3 && img.channels !== 4)
    throw new ConfigError('fit image channels', img.channels, 'must be 1, 3 or 4');
  if (img.data.length !== img.width * img.height * img.channels)
    throw new ShapeError('fit image data', `[${img.height}, ${img.width}, ${img.channels}]`, [img.data.length]);
  const size = height * width * channels;
  if (!(Number.isInteger(offset) && offset >= 0 && offset + size <= out.length))
    throw new ConfigError('fit offset', offset, `leaves no room for ${size} values in an array of ${out.length}`);
  const src = toChannels(img, channels);
  const { width: w, height: h } = img;
  if (fit === 'stretch') return resample(src, w, h, channels, { x0: 0, y0: 0, w, h }, width, height, out, offset, width);
  if (fit === 'crop') {
    // cover: the scale that makes both sides at least the target's; the window is the target seen at that scale
    const s = Math.max(width / w, height / h);
    const [cw, ch] = [Math.min(w, width / s), Math.min(h, height / s)];
    return resample(src, w, h, channels, { x0: (w - cw) / 2, y0: (h - ch) / 2, w: cw, h: ch }, width, height, out, offset, width);
  }
  // pad: the whole picture inside the target, on whole pixels, centred; the rest 0
  const s = Math.min(width / w, height / h);
  const pw = Math.min(width, Math.max(1, Math.round(w * s)));
  const ph = Math.min(height, Math.max(1, Math.round(h * s)));
  out.fill(0, offset, offset + size);
  const ox = Math.floor((width - pw) / 2);
  const oy = Math.floor((height - ph) / 2);
  resample(src, w, h, channels, { x0: 0, y0: 0, w, h }, pw, ph, out, offset + (oy * width + ox) * channels, width);
};

/**
 * A picture (8-bit grey, RGB or RGBA, as PNG and JPEG decoders and a canvas give it) resized to
 * the policy's [height, width] and converted to its channels: height * width * channels floats
 * in [0, 1], rows top to bottom, channels last. The default mode is `'crop'` (cover the target,
 * keep the centre); see {@link Fit}.
 *
 * @example
 * const wide: Image8 = { width: 8, height: 4, channels: 3, data: new Uint8Array(8 * 4 * 3) }
 * fitImage(wide, { height: 4, width: 4 }) // the centre 4 columns, 4 * 4 * 3 values
 * fitImage(wide, { height: 4, width: 4, fit: 'pad', channels: 1 }) // rows 0 and 3 are 0
 * @since 0.2.0
 */
export const fitImage = (img: Image8, options: FitOptions): Float32Array => {
  const { height, width, channels } = policyOf(options);
  const out = new Float32Array(height * width * channels);
  fitInto(img, options, out, 0);
  return out;
};

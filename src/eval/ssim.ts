/**
 * SSIM (Wang et al. 2004) in plain TypeScript on host images: an 11 x 11 Gaussian window with
 * sigma 1.5 (7 x 7 on images under 32 pixels), K1 = 0.01, K2 = 0.03, data range 1, per channel,
 * at every window centre where the window fits (like scikit-image's cropped mean). With a
 * mask, the mean runs over the centres inside the masked region only (masked-region SSIM).
 *
 * @since 0.1.0
 */
import { int } from '../core/check.js';
import { ConfigError, ShapeError } from '../core/errors.js';

const gaussian = (size: number, sigma: number): Float64Array => {
  const r = (size - 1) / 2;
  const g = Float64Array.from({ length: size }, (_, i) => Math.exp(-((i - r) ** 2) / (2 * sigma * sigma)));
  const s = g.reduce((a, v) => a + v, 0);
  return g.map((v) => v / s);
};

/**
 * Mean SSIM of two images [h, w, c] (row-major, values in [0, 1]); `mask` [h, w] (1 = count this
 * pixel) restricts the mean to window centres it marks. Returns NaN when no centre counts.
 *
 * @example
 * ssim(a, b, 32, 32, 3) // 1 for identical images
 * @since 0.1.0
 */
export const ssim = (
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  h: number,
  w: number,
  c: number,
  options: { readonly mask?: ArrayLike<number>; readonly window?: number } = {},
): number => {
  int('height', h, 1);
  int('width', w, 1);
  int('channels', c, 1);
  if (a.length !== h * w * c) throw new ShapeError('a', `[${h}, ${w}, ${c}]`, [a.length]);
  if (b.length !== h * w * c) throw new ShapeError('b', `[${h}, ${w}, ${c}]`, [b.length]);
  if (options.mask && options.mask.length !== h * w) throw new ShapeError('mask', `[${h}, ${w}]`, [options.mask.length]);
  const size = options.window ?? (Math.min(h, w) >= 32 ? 11 : 7);
  if (size % 2 !== 1 || size > Math.min(h, w)) throw new ConfigError('window', size, `must be odd and at most ${Math.min(h, w)}`);
  const g = gaussian(size, 1.5);
  const c1 = 0.01 ** 2;
  const c2 = 0.03 ** 2;
  const r = (size - 1) / 2;
  let sum = 0;
  let count = 0;
  for (let y = r; y < h - r; y++)
    for (let x = r; x < w - r; x++) {
      if (options.mask && !(options.mask[y * w + x]! > 0)) continue;
      for (let ch = 0; ch < c; ch++) {
        let ma = 0;
        let mb = 0;
        let saa = 0;
        let sbb = 0;
        let sab = 0;
        for (let dy = -r; dy <= r; dy++)
          for (let dx = -r; dx <= r; dx++) {
            const wgt = g[dy + r]! * g[dx + r]!;
            const i = ((y + dy) * w + (x + dx)) * c + ch;
            const va = a[i]!;
            const vb = b[i]!;
            ma += wgt * va;
            mb += wgt * vb;
            saa += wgt * va * va;
            sbb += wgt * vb * vb;
            sab += wgt * va * vb;
          }
        const va = saa - ma * ma;
        const vb = sbb - mb * mb;
        const cov = sab - ma * mb;
        sum += ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2));
        count++;
      }
    }
  return count === 0 ? NaN : sum / count;
};

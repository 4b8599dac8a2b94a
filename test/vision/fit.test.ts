import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ConfigError, FIT_MODES, ShapeError, fitImage, fitInto, type Fit, type Image8 } from '../../src/index.js';

const img = (width: number, height: number, channels: 1 | 3 | 4, value: (i: number) => number): Image8 => ({
  width,
  height,
  channels,
  data: Uint8Array.from({ length: width * height * channels }, (_, i) => value(i) & 255),
});

const arbImage = (max = 12): fc.Arbitrary<Image8> =>
  fc
    .record({ w: fc.integer({ min: 1, max }), h: fc.integer({ min: 1, max }), c: fc.constantFrom<1 | 3 | 4>(1, 3, 4) })
    .chain(({ w, h, c }) =>
      fc.uint8Array({ minLength: w * h * c, maxLength: w * h * c }).map((data): Image8 => ({ width: w, height: h, channels: c, data })),
    );
const arbFit = fc.constantFrom<Fit>(...FIT_MODES);
const arbChannels = fc.constantFrom<1 | 3>(1, 3);
const arbSide = fc.integer({ min: 1, max: 14 });

/** The picture's own pixels as floats with `channels` channels (grey replicated, luma, alpha dropped). */
const asFloats = (im: Image8, channels: 1 | 3): number[] => {
  const out: number[] = [];
  for (let p = 0; p < im.width * im.height; p++) {
    const px = Array.from(im.data.subarray(p * im.channels, p * im.channels + im.channels));
    const rgb = im.channels === 1 ? [px[0]!, px[0]!, px[0]!] : px.slice(0, 3);
    if (channels === 3) out.push(...rgb.map((v) => Math.fround(v / 255)));
    else out.push(im.channels === 1 ? Math.fround(px[0]! / 255) : Math.fround((0.299 * rgb[0]! + 0.587 * rgb[1]! + 0.114 * rgb[2]!) / 255));
  }
  return out;
};

describe('fitImage', () => {
  it('gives height * width * channels values in [0, 1] for every picture, target and mode', () => {
    fc.assert(
      fc.property(arbImage(), arbSide, arbSide, arbFit, arbChannels, (im, height, width, fit, channels) => {
        const out = fitImage(im, { height, width, fit, channels });
        assert.equal(out.length, height * width * channels);
        assert.ok(
          out.every((v) => v >= 0 && v <= 1),
          'values leave [0, 1]',
        );
      }),
      { numRuns: 300 },
    );
  });

  it('leaves a picture already at the target size unchanged, in every mode', () => {
    fc.assert(
      fc.property(arbImage(), arbFit, arbChannels, (im, fit, channels) => {
        const out = fitImage(im, { height: im.height, width: im.width, fit, channels });
        assert.deepEqual(Array.from(out), asFloats(im, channels));
      }),
      { numRuns: 200 },
    );
  });

  it('keeps a constant picture constant (crop and stretch), and pads it with 0 only outside the picture (pad)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 20 }),
        arbSide,
        arbSide,
        fc.integer({ min: 1, max: 255 }),
        arbFit,
        (w, h, height, width, v, fit) => {
          const out = fitImage(
            img(w, h, 3, () => v),
            { height, width, fit },
          );
          const c = v / 255;
          if (fit === 'pad') assert.ok(out.every((x) => x === 0 || Math.abs(x - c) < 1e-6));
          else assert.ok(out.every((x) => Math.abs(x - c) < 1e-6));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('crop (the default) of a wide or tall picture keeps its centre columns or rows', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10 }), fc.integer({ min: 1, max: 6 }), fc.boolean(), (side, k, wide) => {
        // side x side in the middle, k columns (or rows) on each side of it
        const [w, h] = wide ? [side + 2 * k, side] : [side, side + 2 * k];
        const im = img(w, h, 3, (i) => i * 7 + 3);
        const centre = img(side, side, 3, (i) => {
          const p = Math.floor(i / 3);
          const [y, x] = [Math.floor(p / side), p % side];
          const src = wide ? y * w + x + k : (y + k) * w + x;
          return im.data[src * 3 + (i % 3)]!;
        });
        assert.deepEqual(Array.from(fitImage(im, { height: side, width: side })), asFloats(centre, 3));
        assert.deepEqual(Array.from(fitImage(im, { height: side, width: side, fit: 'crop' })), asFloats(centre, 3));
      }),
      { numRuns: 200 },
    );
    // a 6 x 2 picture with two black columns each side of two white ones, cropped to 2 x 2: white
    const bars = img(6, 2, 1, (i) => (i % 6 >= 2 && i % 6 < 4 ? 255 : 0));
    assert.deepEqual(Array.from(fitImage(bars, { height: 2, width: 2, channels: 1 })), [1, 1, 1, 1]);
    // stretch squeezes the black bars in instead
    assert.ok(fitImage(bars, { height: 2, width: 2, fit: 'stretch', channels: 1 }).every((x) => x < 1));
  });

  it('pad keeps the aspect ratio: the picture is a centred box of round(w * s) x round(h * s), the rest 0', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 24 }), fc.integer({ min: 1, max: 24 }), arbSide, arbSide, (w, h, height, width) => {
        const out = fitImage(
          img(w, h, 1, () => 255),
          { height, width, fit: 'pad', channels: 1 },
        );
        const s = Math.min(width / w, height / h);
        const [pw, ph] = [Math.min(width, Math.max(1, Math.round(w * s))), Math.min(height, Math.max(1, Math.round(h * s)))];
        const [ox, oy] = [Math.floor((width - pw) / 2), Math.floor((height - ph) / 2)];
        for (let y = 0; y < height; y++)
          for (let x = 0; x < width; x++) {
            const inside = x >= ox && x < ox + pw && y >= oy && y < oy + ph;
            assert.ok(Math.abs(out[y * width + x]! - (inside ? 1 : 0)) < 1e-6, `(${y}, ${x}) of ${height} x ${width} from ${h} x ${w}`);
          }
        // the box is the picture scaled by one factor on both axes, to within half a pixel of rounding
        assert.ok(Math.abs(pw - w * s) <= 0.5 + 1e-9 || pw === 1, `width ${pw} for ${w * s}`);
        assert.ok(Math.abs(ph - h * s) <= 0.5 + 1e-9 || ph === 1, `height ${ph} for ${h * s}`);
        assert.ok(pw === width || ph === height, 'the longer side (relative to the target) meets the target');
      }),
      { numRuns: 300 },
    );
  });

  it('stretch maps the corners to the corners, ignoring the aspect ratio', () => {
    // a 2-pixel-wide horizontal ramp stretched to 8 x 2: monotone from the first column to the last
    const ramp = img(2, 1, 1, (i) => [0, 255][i]!);
    const out = Array.from(fitImage(ramp, { height: 2, width: 8, fit: 'stretch', channels: 1 }));
    const row = out.slice(0, 8);
    assert.deepEqual(out.slice(8), row, 'both rows alike');
    assert.equal(row[0], 0);
    assert.equal(row[7], 1);
    assert.ok(row.every((v, x) => x === 0 || v >= row[x - 1]!));
  });

  it('converts channels: grey to RGB by replication, RGB to grey by Rec. 601 luma, alpha dropped', () => {
    const grey = img(1, 1, 1, () => 51);
    assert.deepEqual(Array.from(fitImage(grey, { height: 1, width: 1 })), [0.2, 0.2, 0.2].map(Math.fround));
    const rgba = img(1, 1, 4, (i) => [255, 0, 0, 7][i]!);
    assert.deepEqual(Array.from(fitImage(rgba, { height: 1, width: 1 })), [1, 0, 0]);
    assert.deepEqual(Array.from(fitImage(rgba, { height: 1, width: 1, channels: 1 })), [Math.fround(0.299)]);
  });

  it('writes into a batch at an offset (fitInto) the same values fitImage returns', () => {
    const im = img(5, 3, 3, (i) => i * 11);
    const out = new Float32Array(2 * 4 * 4 * 3).fill(-1);
    fitInto(im, { height: 4, width: 4, fit: 'pad' }, out, 48);
    assert.deepEqual(Array.from(out.subarray(48)), Array.from(fitImage(im, { height: 4, width: 4, fit: 'pad' })));
    assert.ok(
      out.subarray(0, 48).every((v) => v === -1),
      'nothing written before the offset',
    );
    assert.throws(() => fitInto(im, { height: 4, width: 4 }, out, 49), ConfigError);
  });

  it('refuses a bad policy or a picture whose data does not match its size, naming the value', () => {
    const im = img(2, 2, 3, () => 0);
    assert.throws(
      () => fitImage(im, { height: 2, width: 2, fit: 'zoom' as Fit }),
      (e: unknown) => e instanceof ConfigError && /zoom/.test(e.message),
    );
    assert.throws(() => fitImage(im, { height: 0, width: 2 }), ConfigError);
    assert.throws(() => fitImage(im, { height: 2, width: 2.5 }), ConfigError);
    assert.throws(() => fitImage(im, { height: 2, width: 2, channels: 4 as 3 }), ConfigError);
    assert.throws(() => fitImage({ ...im, data: new Uint8Array(5) }, { height: 2, width: 2 }), ShapeError);
  });
});

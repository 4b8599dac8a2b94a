import assert from 'node:assert/strict';
import { inflateSync, deflateSync } from 'node:zlib';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodePng, encodePng, frameStrip, tileImages, toImage8, ShapeError, type Image8 } from '../../src/index.js';

const grey = (width: number, height: number, v: number): Image8 => ({
  width,
  height,
  channels: 1,
  data: new Uint8Array(width * height).fill(v),
});
const dark = (img: Image8, y0: number, y1: number, x0 = 0, x1 = img.width): number => {
  let n = 0;
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) if (img.data[(y * img.width + x) * img.channels]! < 100) n++;
  return n;
};

describe('pictures of grey (1-channel), non-square images', () => {
  it('tileImages takes grey cells of any H x W (28 x 20 here) and draws them as RGB', () => {
    const t = tileImages(
      [
        [grey(20, 28, 200), grey(20, 28, 50)],
        [grey(20, 28, 10), grey(20, 28, 250)],
      ],
      { pad: 1, scale: 2, background: [255, 0, 0] },
    );
    assert.equal(t.channels, 3);
    assert.equal(t.width, 1 + 2 * (40 + 1));
    assert.equal(t.height, 1 + 2 * (56 + 1));
    const at = (x: number, y: number) => Array.from(t.data.subarray((y * t.width + x) * 3, (y * t.width + x) * 3 + 3));
    assert.deepEqual(at(1, 1), [200, 200, 200]);
    assert.deepEqual(at(1 + 41 + 39, 1 + 55), [50, 50, 50], 'the last pixel of cell (0, 1)');
    assert.deepEqual(at(1, 1 + 57), [10, 10, 10]);
    assert.deepEqual(at(0, 0), [255, 0, 0]);
    assert.throws(() => tileImages([[grey(20, 28, 0), grey(28, 20, 0)]]), ShapeError);
  });

  it('toImage8 and frameStrip read 1-channel H x W data; the PNG writer writes grey as colour type 0 and it reads back', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 3 }), (h, w, frames) => {
        const data = Float32Array.from({ length: h * w }, (_, i) => (i % 7) / 6);
        const img = toImage8(data, h, w, 1);
        assert.deepEqual([img.width, img.height], [w, h]);
        for (let i = 0; i < h * w; i++) for (let c = 0; c < 3; c++) assert.equal(img.data[i * 3 + c], Math.round(255 * data[i]!));
        const clip = new Float32Array(frames * h * w).fill(1);
        const strip = frameStrip(clip, frames, h, w, 1);
        assert.deepEqual([strip.width, strip.height], [frames * w, h]);
        assert.ok(strip.data.every((v) => v === 255));
        const g: Image8 = { width: w, height: h, channels: 1, data: Uint8Array.from(data, (v) => Math.round(v * 255)) };
        const bytes = encodePng(g, (raw) => new Uint8Array(deflateSync(raw)));
        assert.equal(bytes[8 + 8 + 9], 0, 'IHDR colour type 0 (greyscale)');
        const back = decodePng(bytes, 'grey.png', (z) => new Uint8Array(inflateSync(z)));
        assert.deepEqual([back.width, back.height, back.channels], [w, h, 1]);
        assert.deepEqual(Array.from(back.data), Array.from(g.data));
      }),
      { numRuns: 30 },
    );
  });

  it('a grid of grey cells with titles and row titles encodes as a PNG', () => {
    const t = tileImages([[grey(28, 28, 128)]], { titles: ['original'], rowTitles: ['T-shirt/top'] });
    const back = decodePng(encodePng(t), 'grid.png', (z) => new Uint8Array(inflateSync(z)));
    assert.deepEqual([back.width, back.height], [t.width, t.height]);
  });
});

describe('labelled grids', () => {
  const cell = (): Image8 => ({ width: 32, height: 32, channels: 3, data: new Uint8Array(32 * 32 * 3).fill(255) });
  it('column titles go in a band above the cells, row titles in a band left of them', () => {
    const plain = tileImages([[cell(), cell()]], { pad: 3, scale: 3 });
    const titled = tileImages([[cell(), cell()]], { pad: 3, scale: 3, titles: ['original', 'masked'] });
    assert.equal(titled.height, plain.height + 10 + 3);
    assert.ok(dark(titled, 3, 12, 3, 3 + 96) > 20, 'ink over the first column');
    assert.ok(dark(titled, 3, 12, 3 + 99, 3 + 99 + 96) > 20, 'ink over the second column');
    assert.equal(dark(plain, 0, plain.height), 0);
    const rows = tileImages([[cell()], [cell()]], { pad: 3, scale: 3, rowTitles: ['disk', 'square'] });
    const plainRows = tileImages([[cell()], [cell()]], { pad: 3, scale: 3 });
    assert.ok(rows.width > plainRows.width + 20, 'a band for the row titles');
    assert.equal(rows.height, plainRows.height);
    const left = rows.width - plainRows.width;
    assert.ok(dark(rows, 3, 3 + 96, 0, left) > 10, 'the first row is labelled');
    assert.ok(dark(rows, 3 + 99, 3 + 99 + 96, 0, left) > 10, 'the second row is labelled');
    assert.equal(dark(rows, 0, rows.height, left, rows.width), 0, 'the cells stay clean');
  });

  it('a title wider than its cell is cut to the cell', () => {
    const t = tileImages([[cell()]], { pad: 3, scale: 1, titles: ['a very long column title indeed'] });
    assert.equal(dark(t, 0, 13, 3 + 32, t.width), 0);
    assert.ok(dark(t, 0, 13, 3, 3 + 32) > 0);
  });
});

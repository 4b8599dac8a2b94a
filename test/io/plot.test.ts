import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  axisLabel,
  plotPanels,
  drawText,
  textWidth,
  niceTicks,
  encodePng,
  ConfigError,
  type Image8,
  type Panel,
  type Series,
} from '../../src/index.js';

const BLUE = [0, 114, 178] as const; // first palette colour (Okabe-Ito blue)

const px = (img: Image8, x: number, y: number): [number, number, number] => {
  const o = (y * img.width + x) * img.channels;
  return [img.data[o]!, img.data[o + 1]!, img.data[o + 2]!];
};
const is = (c: readonly number[], want: readonly number[]): boolean => c[0] === want[0] && c[1] === want[1] && c[2] === want[2];
const isWhite = (c: readonly number[]): boolean => is(c, [255, 255, 255]);
const darkGrey = (c: readonly number[]): boolean => c[0] === c[1] && c[1] === c[2] && c[0]! < 128;

interface Box {
  left: number;
  right: number;
  top: number;
  bottom: number;
}

/** The axes frame inside a panel: the long straight runs of dark grey pixels. */
const findBox = (img: Image8, ox: number, oy: number, w: number, h: number): Box => {
  const rows: number[] = [];
  for (let y = oy; y < oy + h; y++) {
    let run = 0;
    let best = 0;
    for (let x = ox; x < ox + w; x++) best = Math.max(best, (run = darkGrey(px(img, x, y)) ? run + 1 : 0));
    if (best >= w / 2) rows.push(y);
  }
  const cols: number[] = [];
  for (let x = ox; x < ox + w; x++) {
    let run = 0;
    let best = 0;
    for (let y = oy; y < oy + h; y++) best = Math.max(best, (run = darkGrey(px(img, x, y)) ? run + 1 : 0));
    if (best >= h / 3) cols.push(x);
  }
  assert.ok(rows.length >= 2 && cols.length >= 2, 'axes frame found');
  return { left: Math.min(...cols), right: Math.max(...cols), top: Math.min(...rows), bottom: Math.max(...rows) };
};

/** Pixels of `color` in the panel at (ox, oy), split into inside the axes box, the legend area below it, and elsewhere. */
const census = (img: Image8, color: readonly number[], ox: number, oy: number, w: number, h: number) => {
  const box = findBox(img, ox, oy, w, h);
  let inside = 0;
  let legend = 0;
  let elsewhere = 0;
  for (let y = oy; y < oy + h; y++)
    for (let x = ox; x < ox + w; x++) {
      if (!is(px(img, x, y), color)) continue;
      if (x > box.left && x < box.right && y > box.top && y < box.bottom) inside++;
      else if (y > box.bottom + 20) legend++;
      else elsewhere++;
    }
  return { box, inside, legend, elsewhere };
};

const line = (name: string, n: number, f: (i: number) => number): Series => ({
  name,
  points: Array.from({ length: n }, (_, i) => [i * 10, f(i)] as const),
});
const panel = (series: readonly Series[], extra: Partial<Panel> = {}): Panel => ({
  title: 'loss',
  xLabel: 'step',
  yLabel: 'mse',
  series,
  ...extra,
});

describe('plotPanels', () => {
  it('lays panels out in a grid of columns x rows', () => {
    const p = panel([line('a', 5, (i) => i)]);
    const img = plotPanels([p, p, p]);
    assert.equal(img.width, 2 * 420);
    assert.equal(img.height, 2 * 300);
    assert.equal(img.channels, 3);
    assert.equal(img.data.length, 840 * 600 * 3);
    const small = plotPanels([p, p, p], { panelWidth: 200, panelHeight: 150, columns: 1 });
    assert.deepEqual([small.width, small.height], [200, 450]);
    const wide = plotPanels([p, p], { columns: 5 });
    assert.deepEqual([wide.width, wide.height], [840, 300], 'columns are capped at the panel count');
  });

  it('leaves the background white where nothing is drawn', () => {
    const p = panel([line('a', 5, (i) => i)]);
    const img = plotPanels([p, p, p]);
    for (const [x, y] of [
      [0, 0],
      [419, 0],
      [420, 0],
      [839, 299],
      [0, 299],
    ] as const)
      assert.ok(isWhite(px(img, x, y)), `(${x}, ${y}) is white`);
    for (let y = 300; y < 600; y++) for (let x = 420; x < 840; x++) assert.ok(isWhite(px(img, x, y)), 'the empty grid cell is white');
  });

  it('draws series inside the axes box only, plus a legend swatch', () => {
    const p = panel([line('train', 40, (i) => Math.exp(-i / 8) + 0.1 * Math.sin(i))]);
    const img = plotPanels([p, p]);
    for (const ox of [0, 420]) {
      const c = census(img, BLUE, ox, 0, 420, 300);
      assert.ok(c.box.right - c.box.left > 200 && c.box.bottom - c.box.top > 120, 'a sizeable axes box');
      assert.ok(c.inside > 200, `series drawn inside the box (${c.inside} px)`);
      assert.ok(c.legend > 0, 'legend swatch drawn');
      assert.equal(c.elsewhere, 0, 'no series colour outside the box and legend');
    }
  });

  it('renders a flat series and a single point', () => {
    for (const points of [
      [
        [0, 3],
        [1, 3],
        [2, 3],
      ],
      [[5, -2]],
      [[0, 0]],
    ] as const) {
      const c = census(plotPanels([panel([{ name: 's', points }])]), BLUE, 0, 0, 420, 300);
      assert.ok(c.inside > 0, `drawn: ${JSON.stringify(points)}`);
      assert.equal(c.elsewhere, 0);
    }
  });

  it('allows empty series (legend only) and empty panels', () => {
    const c = census(plotPanels([panel([{ name: 'nothing yet', points: [] }])]), BLUE, 0, 0, 420, 300);
    assert.equal(c.inside, 0);
    assert.ok(c.legend > 0);
    const blank = plotPanels([{ title: '', xLabel: '', yLabel: '', series: [] }]);
    assert.equal(blank.width, 420);
  });

  it('skips non-finite points without crashing', () => {
    const clean: [number, number][] = [
      [0, 1],
      [1, 0.5],
      [3, 0.2],
      [4, 0.3],
    ];
    const dirty: [number, number][] = [
      [NaN, 2],
      ...clean.slice(0, 2),
      [2, Infinity],
      [2.5, NaN],
      clean[2]!,
      [Infinity, 0],
      [3.5, -Infinity],
      clean[3]!,
    ];
    const a = plotPanels([panel([{ name: 's', points: clean }])]);
    const b = plotPanels([panel([{ name: 's', points: dirty }])]);
    assert.deepEqual(b.data, a.data);
    const onlyBad = census(
      plotPanels([
        panel([
          {
            name: 's',
            points: [
              [NaN, NaN],
              [0, Infinity],
            ],
          },
        ]),
      ]),
      BLUE,
      0,
      0,
      420,
      300,
    );
    assert.equal(onlyBad.inside, 0);
  });

  it('drops non-positive values on a log y axis', () => {
    const pos: [number, number][] = [
      [1, 10],
      [2, 1],
      [3, 0.01],
    ];
    const withBad: [number, number][] = [[0, 0], pos[0]!, [1.5, -3], pos[1]!, pos[2]!];
    const a = plotPanels([panel([{ name: 's', points: pos }], { logY: true })]);
    const b = plotPanels([panel([{ name: 's', points: withBad }], { logY: true })]);
    assert.deepEqual(b.data, a.data);
    const linear = plotPanels([panel([{ name: 's', points: pos }])]);
    assert.notDeepEqual(linear.data, a.data);
    assert.ok(census(a, BLUE, 0, 0, 420, 300).inside > 0);
  });

  it('gives each series a distinct palette colour', () => {
    const series = Array.from({ length: 8 }, (_, k) => line(`s${k}`, 10, (i) => i + k * 3));
    const img = plotPanels([panel(series)], { panelWidth: 600 });
    const box = findBox(img, 0, 0, 600, 300);
    const colours = new Set<string>();
    for (let y = box.top + 1; y < box.bottom; y++)
      for (let x = box.left + 1; x < box.right; x++) {
        const c = px(img, x, y);
        if (!isWhite(c) && !(c[0] === c[1] && c[1] === c[2] && c[0] > 200)) colours.add(c.join(','));
      }
    assert.equal(colours.size, 8, [...colours].join(' '));
  });

  it('is deterministic', () => {
    const panels = [
      panel([line('a', 30, (i) => 1 / (i + 1)), line('b', 30, (i) => 2 / (i + 2))], { logY: true }),
      panel([line('c', 3, (i) => i)]),
    ];
    const a = plotPanels(panels);
    const b = plotPanels(panels);
    assert.deepEqual(a.data, b.data);
    assert.deepEqual(encodePng(a), encodePng(b));
  });

  it('rejects bad options with ConfigError', () => {
    const p = panel([line('a', 3, (i) => i)]);
    assert.throws(() => plotPanels([]), ConfigError);
    assert.throws(
      () => plotPanels([p], { panelWidth: 99 }),
      (e: unknown) => e instanceof ConfigError && e.value === 99,
    );
    assert.throws(() => plotPanels([p], { panelHeight: 20 }), ConfigError);
    assert.throws(() => plotPanels([p], { panelHeight: NaN }), ConfigError);
    assert.throws(
      () => plotPanels([p], { columns: 0 }),
      (e: unknown) => e instanceof ConfigError && e.value === 0,
    );
    assert.throws(() => plotPanels([p], { columns: 1.5 }), ConfigError);
  });

  it('renders a 2x2 grid of 5 series x 50 points in well under 100 ms', () => {
    const series = Array.from({ length: 5 }, (_, k) => line(`run ${k}`, 50, (i) => Math.exp(-i / (5 + k)) + 0.01 * k));
    const panels = [panel(series), panel(series, { logY: true }), panel(series), panel(series, { logY: true })];
    plotPanels(panels);
    const t0 = performance.now();
    plotPanels(panels);
    const ms = performance.now() - t0;
    assert.ok(ms < 100, `${ms.toFixed(1)} ms`);
  });
});

describe('drawText and textWidth', () => {
  const blank = (w: number, h: number): Image8 => ({ width: w, height: h, channels: 3, data: new Uint8Array(w * h * 3).fill(255) });
  const inkBounds = (img: Image8) => {
    let x0 = Infinity;
    let x1 = -Infinity;
    let y0 = Infinity;
    let y1 = -Infinity;
    for (let y = 0; y < img.height; y++)
      for (let x = 0; x < img.width; x++)
        if (!isWhite(px(img, x, y))) {
          x0 = Math.min(x0, x);
          x1 = Math.max(x1, x);
          y0 = Math.min(y0, y);
          y1 = Math.max(y1, y);
        }
    return { x0, x1, y0, y1 };
  };

  it('measures 6 px per character less the trailing gap', () => {
    assert.equal(textWidth(''), 0);
    assert.equal(textWidth('a'), 5);
    assert.equal(textWidth('loss'), 23);
    assert.equal(textWidth('loss', 3), 69);
  });

  for (const scale of [1, 2]) {
    it(`puts ink only within [x, x + textWidth) at scale ${scale}`, () => {
      const text = 'Loss = 2.5e-3 (val) [50%]';
      const img = blank(400, 40);
      drawText(img, 7, 5, text, [0, 0, 0], scale);
      const b = inkBounds(img);
      assert.equal(b.x0, 7, 'L starts at x');
      assert.ok(b.x1 < 7 + textWidth(text, scale), `${b.x1} < ${7 + textWidth(text, scale)}`);
      assert.ok(b.x1 >= 7 + textWidth(text, scale) - 2 * scale, 'the last glyph is drawn');
      assert.equal(b.y0, 5);
      assert.ok(b.y1 < 5 + 8 * scale);
      for (let i = 0; i < img.data.length; i++) assert.ok(img.data[i] === 0 || img.data[i] === 255, 'no anti-aliasing');
    });
  }

  it('draws unknown characters as a box and spaces as nothing', () => {
    const box = blank(20, 12);
    drawText(box, 2, 2, '\u2603', [0, 0, 0]);
    assert.ok(Number.isFinite(inkBounds(box).x0));
    const space = blank(20, 12);
    drawText(space, 2, 2, '   ', [0, 0, 0]);
    assert.ok(space.data.every((v) => v === 255));
  });

  it('draws distinct glyphs for digits and letters', () => {
    const seen = new Set<string>();
    for (const ch of "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz.,-+:/%()=_[]#'><") {
      const img = blank(5, 8);
      drawText(img, 0, 0, ch, [0, 0, 0]);
      const key = Array.from(img.data, (v) => (v === 0 ? '#' : '.')).join('');
      assert.ok(key.includes('#'), `${ch} has ink`);
      assert.ok(!seen.has(key), `${ch} has its own glyph`);
      seen.add(key);
    }
  });

  it('clips at the image edges', () => {
    const img = blank(10, 10);
    drawText(img, -4, -3, 'WW', [10, 20, 30], 2);
    drawText(img, 8, 8, 'x', [10, 20, 30]);
    assert.ok(img.data.some((v) => v !== 255));
    assert.throws(() => drawText(img, 0, 0, 'a', [0, 0, 0], 0), ConfigError);
  });
});

describe('niceTicks', () => {
  const isNiceStep = (step: number): boolean => {
    const mant = step / 10 ** Math.floor(Math.log10(step) + 1e-9);
    return [1, 2, 5, 10].some((m) => Math.abs(mant - m) < 1e-6);
  };

  it('gives 1/2/5 steps covering the range', () => {
    assert.deepEqual(niceTicks(0, 1), [0, 0.2, 0.4, 0.6, 0.8, 1]);
    assert.deepEqual(niceTicks(3, 97, 4), [0, 50, 100]);
    assert.deepEqual(niceTicks(-0.013, 0.027), [-0.02, -0.01, 0, 0.01, 0.02, 0.03]);
    assert.deepEqual(niceTicks(1, 0), niceTicks(0, 1));
    assert.deepEqual(niceTicks(5, 5), [5]);
    assert.throws(() => niceTicks(NaN, 1), ConfigError);
    assert.throws(() => niceTicks(0, Infinity), ConfigError);
    assert.throws(() => niceTicks(0, 1, 0), ConfigError);
  });

  it('is increasing, evenly stepped, nice and covering for any range', () => {
    fc.assert(
      fc.property(
        fc.double({ min: -1e12, max: 1e12, noNaN: true }),
        fc.double({ min: 1e-6, max: 1e12, noNaN: true }),
        fc.integer({ min: 1, max: 12 }),
        (lo, span, count) => {
          const hi = lo + span;
          fc.pre(hi > lo && span >= Math.abs(lo) * 1e-6); // keep steps well above double resolution
          const t = niceTicks(lo, hi, count);
          assert.ok(t.length >= 2 && t.length <= count + 3, `${t.length} ticks for count ${count}`);
          const step = t[1]! - t[0]!;
          const ulps = 1e-8 * step; // hi / step within rounding of a whole number counts as on a tick
          assert.ok(t[0]! <= lo + ulps && t[t.length - 1]! >= hi - ulps, 'covers [lo, hi]');
          assert.ok(isNiceStep(step), `nice step ${step}`);
          for (let i = 1; i < t.length; i++) {
            assert.ok(t[i]! > t[i - 1]!, 'increasing');
            assert.ok(Math.abs(t[i]! - t[i - 1]! - step) <= 1e-6 * step + 1e-9 * Math.abs(t[i]!), 'even steps');
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('axis labels', () => {
  it('a log axis says so in its label, also when the panel gives none', () => {
    assert.equal(axisLabel('loss', true), 'loss (log scale)');
    assert.equal(axisLabel('', true), 'log scale');
    assert.equal(axisLabel('step', false), 'step');
    const panel = (logY: boolean, yLabel: string): Panel => ({
      title: '',
      xLabel: 'step',
      yLabel,
      logY,
      series: [
        {
          name: 'a',
          points: [
            [0, 1],
            [1, 10],
            [2, 100],
          ],
        },
      ],
    });
    // the y label sits in the top rows of the panel: longer on the log axis
    const ink = (img: Image8): number => {
      let n = 0;
      for (let y = 8; y < 16; y++) for (let x = 0; x < img.width; x++) if (img.data[(y * img.width + x) * 3]! < 128) n++;
      return n;
    };
    const lin = plotPanels([panel(false, 'loss')]);
    const log = plotPanels([panel(true, 'loss')]);
    assert.ok(ink(log) > ink(lin) + 20, `${ink(log)} vs ${ink(lin)}`);
    assert.ok(ink(plotPanels([panel(true, '')])) > 20, 'an unlabelled log axis is labelled log scale');
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ETA_START, etaSeconds, nextEta } from '../../src/train/eta.js';
import { progressBar, progressLine } from '../../src/node/progress.js';

const after = (times: readonly number[]) => times.reduce((e, t) => nextEta(e, t), ETA_START);

describe('the smoothed ETA', () => {
  it('ignores the warm-up steps: a 7.5-minute run whose first step compiles for 70 s is not estimated at 35 minutes', () => {
    // 600 steps of 0.75 s (450 s) after a first step of 70 s and a second of 3 s
    const times = [70, 3, ...Array.from({ length: 598 }, () => 0.75)];
    assert.ok(Number.isNaN(etaSeconds(after(times.slice(0, 1)), 599)), 'no estimate from the compile step alone');
    assert.ok(Number.isNaN(etaSeconds(after(times.slice(0, 2)), 598)));
    for (let n = 3; n <= 50; n++) {
      const eta = etaSeconds(after(times.slice(0, n)), 600 - n);
      assert.ok(Math.abs(eta - 0.75 * (600 - n)) < 1e-6, `after ${n} steps: ${eta} s`);
    }
    // the old estimate: the first step's time times the steps left
    assert.ok(70 * 599 > 35 * 60);
  });

  it('is an exponential moving average of the step time past the warm-up', () => {
    const e = after([100, 100, 1, 2]);
    assert.ok(Math.abs(e.perStep - (0.9 * 1 + 0.1 * 2)) < 1e-12);
    assert.equal(e.timed, 4);
    const custom = [5, 1, 3].reduce((s, t) => nextEta(s, t, { warmup: 1, alpha: 0.5 }), ETA_START);
    assert.equal(custom.perStep, 2);
    assert.equal(etaSeconds(custom, 0), 0);
    assert.equal(etaSeconds(custom, 10), 20);
  });

  it('law: it stays between the smallest and largest step time seen after the warm-up, and ignores bad times', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 1e4, noNaN: true }), { minLength: 3, maxLength: 50 }), (times) => {
        const e = after([...times.slice(0, 2), NaN, -1, Infinity, ...times.slice(2)]);
        const rest = times.slice(2);
        assert.ok(e.perStep >= Math.min(...rest) * (1 - 1e-12) && e.perStep <= Math.max(...rest) * (1 + 1e-12));
      }),
    );
  });
});

describe('the progress bar', () => {
  const info = { step: 5, steps: 10, loss: 0.5, lr: 1e-3, gradNorm: 1, imagesPerSec: 60, eta: 12 };
  it('draws the share done and then the fields of the progress line', () => {
    assert.equal(progressBar(info, 20), `[##########..........]  50% ${progressLine(info)}`);
    assert.match(progressBar({ ...info, step: 10 }, 4), /^\[####\] 100% step 10\/10 /);
    assert.match(progressBar({ ...info, step: 0, eta: NaN }, 4), /^\[\.\.\.\.\]   0% .*ETA \?$/);
  });
});

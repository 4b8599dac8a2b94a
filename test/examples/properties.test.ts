import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import fc from 'fast-check';
import {
  alphaBarDecreases,
  keepsFloor,
  noInverseDraw,
  offByOneTable,
  qSampleAtZeroIsIdentity,
  restoreInvertsShuffle,
  roundingDraw,
} from '../../examples/properties.js';
import { useBackend } from '../../src/index.js';

describe('examples/properties', () => {
  before(async () => {
    await useBackend('cpu');
  });

  // #region assert
  it('the laws hold for the library', () => {
    fc.assert(keepsFloor(), { numRuns: 200 });
    fc.assert(restoreInvertsShuffle(), { numRuns: 200 });
    fc.assert(alphaBarDecreases(), { numRuns: 100 });
    fc.assert(qSampleAtZeroIsIdentity(), { numRuns: 50 });
  });

  it('and have teeth: each catches a deliberately broken implementation', () => {
    assert.throws(() => fc.assert(keepsFloor(roundingDraw), { seed: 1 }), /Property failed/);
    assert.throws(() => fc.assert(restoreInvertsShuffle(noInverseDraw), { seed: 1 }), /Property failed/);
    assert.throws(() => fc.assert(alphaBarDecreases(offByOneTable), { seed: 1 }), /Property failed/);
    assert.throws(() => fc.assert(qSampleAtZeroIsIdentity(offByOneTable), { seed: 1 }), /Property failed/);
  });
  // #endregion assert
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { main as algebra, hybrid } from '../../examples/algebra.js';

describe('examples run', () => {
  it('algebra: MAE, UMD and a hybrid corrupt a batch', async () => {
    const rows = await algebra();
    assert.deepEqual(rows, [
      { name: 'mae', rows: 8, kept: 16 },
      { name: 'clean', rows: 4, kept: 16 },
      { name: 'noised', rows: 4, kept: 40 },
      { name: 'clean', rows: 2, kept: 16 },
      { name: 'noised', rows: 6, kept: 32 },
    ]);
    assert.equal(hybrid.branches.length, 2);
  });
});

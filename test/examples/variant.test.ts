import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { run, variant } from '../../examples/variant.js';
import { useBackend } from '../../src/index.js';

describe('examples/variant', () => {
  before(async () => {
    await useBackend('wasm');
  });

  it('is one value: two branches, half the batch each', () => {
    assert.deepEqual(
      variant.branches.map((b) => [b.name, b.weight, b.branch.mask.kind, b.branch.noise.placement]),
      [
        ['mae90', 0.5, 'random', 'none'],
        ['inpaint', 0.5, 'center', 'all'],
      ],
    );
  });

  it('trains with the library trainer (fixed-batch loss falls) and probes to accuracies in [0, 1]', async () => {
    const r = await run({ steps: 20 });
    assert.equal(r.losses.length, 20);
    assert.ok(r.losses.every(Number.isFinite));
    assert.ok(r.after < 0.95 * r.before, `loss on a fixed batch: ${r.before} -> ${r.after}`);
    for (const a of [r.ridge, r.knn]) assert.ok(a >= 0 && a <= 1, `accuracy ${a}`);
    assert.equal(r.leaked, 0);
  });
});

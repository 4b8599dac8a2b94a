import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import { differ, hybrid, main, methods, pieces, settings } from '../../examples/algebra.js';
import { useBackend } from '../../src/index.js';

/** The rows of the first markdown table whose header starts with `| method`. */
const guideTable = (file: URL): string[][] => {
  const lines = readFileSync(file, 'utf8').split('\n');
  const start = lines.findIndex((l) => /^\|\s*method\s*\|/.test(l));
  assert.ok(start >= 0, 'the guide has a method table');
  const rows: string[][] = [];
  for (const l of lines.slice(start + 2)) {
    if (!l.startsWith('|')) break;
    rows.push(
      l
        .split('|')
        .slice(1, -1)
        .map((c) => c.trim()),
    );
  }
  return rows;
};

describe('examples/algebra', () => {
  before(async () => {
    await useBackend('wasm');
  });

  it('the pieces: grid, masks, schedule, time and masked-only noise', () => {
    const p = pieces();
    assert.equal(p.tokens, 16);
    assert.equal(p.patchDim, 48);
    assert.equal(p.randomKeep, 4);
    assert.deepEqual(p.centreRemoved, [5, 6, 9, 10]);
    assert.equal(p.alphaBar[0], 1);
    assert.ok(p.alphaBar[1] < 1e-6, `alphaBar_T = ${p.alphaBar[1]}`);
    assert.ok(p.t.every((t) => t >= 1 && t <= 1000));
    assert.ok(p.visibleUnchanged, 'masked-only noise leaves the visible patches bit-identical');
  });

  it('MAE, UMD and a hybrid corrupt a batch', async () => {
    assert.deepEqual(await main(), [
      { name: 'mae', rows: 8, kept: 16 },
      { name: 'clean', rows: 4, kept: 16 },
      { name: 'noised', rows: 4, kept: 40 },
      { name: 'clean', rows: 2, kept: 16 },
      { name: 'noised', rows: 6, kept: 32 },
    ]);
    assert.equal(hybrid.branches.length, 2);
  });

  it('MAE and DiffMAE differ only in noise and time', () => {
    assert.deepEqual(differ(methods.MAE.branches[0]!.branch, methods.DiffMAE.branches[0]!.branch), ['noise', 'time']);
    assert.deepEqual(differ(methods.MaskDiT.branches[0]!.branch, methods.DiT.branches[0]!.branch), ['mask', 'objective']);
  });

  it("the guide's table of the five methods is what the code says", () => {
    const table = guideTable(new URL('../../../docs/guides/corruption-algebra.md', import.meta.url));
    assert.deepEqual(table, settings());
  });
});

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { presetSpec, trainConfig } from '../../src/index.js';
import { runTrain } from '../../src/node/index.js';

const dir = mkdtempSync(join(tmpdir(), 'tesserae-run-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('runTrain progress', () => {
  it('with a bar writer, redraws one progress bar in place and logs no progress lines; the summary says which PSNR', async () => {
    const logged: string[] = [];
    const drawn: string[] = [];
    const summary = await runTrain({
      spec: presetSpec('dit', 'micro/4'),
      label: 'dit micro/4',
      data: { kind: 'synthetic' },
      count: 16,
      held: 4,
      train: trainConfig({ steps: 4, batch: 4 }),
      backend: 'cpu',
      out: join(dir, 'bar'),
      checkpointEvery: 2,
      logEvery: 1,
      resume: false,
      threads: 1,
      bar: (text) => drawn.push(text),
      log: (line) => logged.push(line),
    });
    assert.equal(drawn.filter((t) => t.includes('%')).length, 4, 'one bar per step');
    assert.ok(drawn.every((t) => t.startsWith('\r\x1b[K')));
    assert.match(drawn.filter((t) => t.includes('%'))[3]!, /\[#+\] 100% step 4\/4 .*ETA \S+\n$/);
    assert.match(drawn[0]!, /\[#+\.+\]  25% step 1\/4 .*ETA \?$/, 'no ETA from the warm-up step');
    assert.ok(!logged.some((l) => /^step \d/.test(l)), 'no progress lines in the log');
    assert.ok(logged.some((l) => /held-out PSNR of x0 from t = 100/.test(l)));
    assert.equal(summary['psnrKind'], 'denoise-t100');
    // a checkpoint line clears the bar before it is logged
    assert.ok(drawn.includes('\r\x1b[K'));
  });
});

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { before, describe, it } from 'node:test';
import { run, spec } from '../../examples/variant.js';
import { useBackend } from '../../src/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

describe('examples/variant (the variant guide)', () => {
  before(async () => {
    await useBackend('wasm');
  });

  it('is one value: a clean share and a low-t share on the same block mask, on the UMD network', () => {
    assert.deepEqual(
      spec.corruption.branches.map((b) => [b.name, b.weight, b.branch.mask.kind, b.branch.noise.placement, b.branch.time]),
      [
        ['clean', 0.25, 'block', 'none', { kind: 'zero' }],
        ['low-t', 0.75, 'block', 'all', { kind: 'range', lo: 1, hi: 100 }],
      ],
    );
    assert.equal(spec.network.decoder.kind, 'mask-token');
  });

  it('the variant itself is under 30 lines of the guide', () => {
    const text = readFileSync(join(root, 'examples', 'variant.ts'), 'utf8');
    const region = text.slice(text.indexOf('// #region variant'), text.indexOf('// #endregion variant')).split('\n').slice(1);
    const code = region.filter((l) => l.trim() !== '' && !/^\s*(\/\*\*|\*|\/\/)/.test(l));
    assert.ok(code.length < 30, `${code.length} lines of code`);
    assert.match(
      readFileSync(join(root, 'docs', 'guides', 'write-your-own-variant.md'), 'utf8'),
      /^<!-- code: examples\/variant\.ts#variant -->$/m,
    );
  });

  it('trains, reopens from its checkpoint bit for bit, evaluates with the probes and its held-out PSNR', async () => {
    const r = await run({ steps: 20 });
    assert.equal(r.losses.length, 20);
    assert.ok(r.losses.every(Number.isFinite));
    assert.ok(r.after < 0.95 * r.before, `loss on a fixed batch: ${r.before} -> ${r.after}`);
    assert.equal(r.afterReopened, r.after, 'the reopened checkpoint is the trained model');
    for (const a of [r.result.ridge!.accuracy, r.result.knn!.accuracy, r.result.linear!.accuracy])
      assert.ok(a >= 0 && a <= 1, `accuracy ${a}`);
    assert.equal(r.result.reconstruction!.kind, 'masked');
    assert.ok(Number.isFinite(r.result.reconstruction!.psnr));
    assert.equal(r.leaked, 0);
  });
});

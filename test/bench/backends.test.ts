import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';

const nodeGpuInstalled = await (async () => {
  const name = '@tensorflow/tfjs-node-gpu'; // computed: type-checking must not need the package
  try {
    await import(name);
    return true;
  } catch {
    return false;
  }
})();
const script = fileURLToPath(new URL('../../bench/backends.js', import.meta.url));

it('bench:backends times a training step, a reconstruction and a reverse step per backend, and says why a backend is unavailable', () => {
  const out = mkdtempSync(join(tmpdir(), 'tesserae-bench-'));
  try {
    const stdout = execFileSync(process.execPath, [script, '--backends', 'wasm,node-gpu', '--batch', '2', '--repeats', '1', '--out', out], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    assert.match(stdout, /\| backend \| device \| train step \(ms\)/);
    const rows = readFileSync(join(out, 'results.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const wasm = rows.find((r) => r['backend'] === 'wasm')!;
    for (const k of ['trainStepMs', 'reconstructionMs', 'reverseStepMs']) assert.ok((wasm[k] as number) > 0, `${k}: ${String(wasm[k])}`);
    assert.equal(wasm['leakedPerStep'], 0);
    const gpu = rows.find((r) => r['backend'] === 'node-gpu')!;
    if (nodeGpuInstalled) assert.ok((gpu['trainStepMs'] as number) > 0);
    else {
      assert.equal(gpu['trainStepMs'], null);
      assert.match(String(gpu['note']), /unavailable: .*@tensorflow\/tfjs-node-gpu/);
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

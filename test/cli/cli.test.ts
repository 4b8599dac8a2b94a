import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it, after } from 'node:test';

const cli = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.js');
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
const dir = mkdtempSync(join(tmpdir(), 'tesserae-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('tesserae CLI', () => {
  it('demo writes a PNG per method and ends with a JSON line', () => {
    const r = run('demo', '--out', dir, '--count', '4', '--backend', 'cpu');
    assert.equal(r.status, 0, r.stderr);
    const last = JSON.parse(r.stdout.trim().split('\n').pop()!) as { leakedTensors: number; methods: string[] };
    assert.equal(last.leakedTensors, 0);
    for (const m of last.methods) {
      const png = readFileSync(join(dir, `${m}.png`));
      assert.deepEqual(Array.from(png.subarray(1, 4)), [80, 78, 71]);
    }
    assert.match(r.stdout, /umd\s+noised\s+2\s+64\s+40\s+all/);
  });

  it('bad flags get a typed error naming the flag and value, exit code 2, and write nothing', () => {
    const out = join(dir, 'never');
    for (const [args, pattern] of [
      [['demo', '--count', 'zero', '--out', out], /--count = "zero"/],
      [['demo', '--backend', 'tpu', '--out', out], /--backend = "tpu": must be one of node-gpu, webgpu, wasm, cpu, auto/],
      [['demo', '--bogus', '1', '--out', out], /--bogus/],
    ] as const) {
      const r = run(...args);
      assert.equal(r.status, 2, r.stdout + r.stderr);
      assert.match(r.stderr, pattern);
    }
    assert.equal(existsSync(out), false);
    assert.equal(run('nope').status, 2);
    assert.equal(run('demo', '--help').status, 0);
  });
});

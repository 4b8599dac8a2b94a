import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';

const here = dirname(fileURLToPath(import.meta.url));
const cli = join(here, '..', '..', 'src', 'cli', 'main.js');
const root = join(here, '..', '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'tesserae-small-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 60_000 });

describe('the small things a new user hits (issue 18, item 7)', () => {
  it('--version and -v print the version in package.json', () => {
    const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
    for (const flag of ['--version', '-v']) {
      const r = run(flag);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout.trim(), version);
    }
  });

  it('a flag where the command should be is named, with the nearest top-level flag suggested', () => {
    const r = run('--verison');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^tesserae: "--verison" is not a command; the command comes first, then its flags .*; did you mean --version\?/);
  });

  it('every command takes --backend, and an unknown flag of every command is named with the nearest flag suggested', () => {
    for (const c of ['train', 'inpaint', 'finetune', 'sample', 'eval', 'compare', 'plot', 'export', 'reconstruct', 'demo']) {
      const r = run(c, '--backendd', 'cpu');
      assert.equal(r.status, 2, c);
      assert.equal(
        r.stderr.trim(),
        `tesserae ${c}: ConfigError: flag = "--backendd": is not a flag of this command; did you mean --backend?`,
      );
    }
    const bad = run('export', '--checkpoint', join(dir, 'none.safetensors'), '--out', join(dir, 'x.safetensors'), '--backend', 'tpu');
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--backend = "tpu": must be one of node-gpu, webgpu, wasm, cpu, auto/);
  });

  it('plot --backend cpu plots', () => {
    const log = join(dir, 'run', 'log.jsonl');
    rmSync(dirname(log), { recursive: true, force: true });
    spawnSync('mkdir', ['-p', dirname(log)]);
    writeFileSync(log, [1, 2, 3].map((s) => JSON.stringify({ step: s, loss: 1 / s, lr: 1e-3, gradNorm: 1 })).join('\n') + '\n');
    const out = join(dir, 'curves.png');
    const r = run('plot', '--log', log, '--out', out, '--backend', 'cpu');
    assert.equal(r.status, 0, r.stderr);
    assert.ok(existsSync(out));
  });

  it('--threads beyond --accum is refused before any work, naming --threads', () => {
    const out = join(dir, 'threads');
    const r = run('train', '--threads', '2', '--steps', '1', '--out', out);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /ConfigError: --threads = "2": .*need --accum >= 2/);
    assert.ok(!existsSync(out));
  });

  it('serve.js --help prints its usage and exits instead of starting a server', () => {
    const serve = join(here, '..', '..', 'examples', 'browser', 'serve.js');
    for (const flag of ['--help', '-h']) {
      const r = spawnSync(process.execPath, [serve, flag], { encoding: 'utf8', timeout: 20_000 });
      assert.equal(r.status, 0, `${flag}: ${r.stderr}`);
      assert.match(r.stdout, /^usage: node dist\/examples\/browser\/serve\.js \[--port N\] \[--checkpoints DIR\]/);
      assert.doesNotMatch(r.stdout, /serving/);
    }
    const bad = spawnSync(process.execPath, [serve, '--prot', '80'], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /"--prot" is not a flag of serve\.js/);
  });

  it('every package in the lockfile with an install script is named in allowScripts (npm ci warns otherwise)', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { allowScripts?: Record<string, boolean> };
    const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { hasInstallScript?: boolean }>;
    };
    const withScripts = Object.entries(lock.packages)
      .filter(([path, p]) => path !== '' && p.hasInstallScript === true)
      .map(([path]) => path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length));
    assert.ok(withScripts.includes('webgpu'), 'the lockfile lists webgpu with its install script');
    assert.deepEqual(
      withScripts.filter((name) => typeof pkg.allowScripts?.[name] !== 'boolean'),
      [],
    );
  });
});

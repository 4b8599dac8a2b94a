import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('../../../scripts/gpu-bench.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'gpu-bench-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A stand-in nvidia-smi that names one GPU. */
const fakeSmi = (name: string): string => {
  const p = join(dir, `smi-${name.replace(/\W+/g, '-')}`);
  writeFileSync(p, `#!/bin/sh\necho "${name}"\n`);
  chmodSync(p, 0o755);
  return p;
};

const run = (smi: string, args: readonly string[] = []) => {
  const r = spawnSync(process.execPath, [script, '--prefix', join(dir, 'prefix'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, TESSERAE_NVIDIA_SMI: smi },
    timeout: 60_000,
  });
  return { status: r.status, out: r.stdout, err: r.stderr };
};

describe('scripts/gpu-bench.mjs (npm run bench:gpu)', () => {
  it('without a GPU says so, says what it would run, installs nothing and exits 0', () => {
    const r = run(join(dir, 'no-such-nvidia-smi'));
    assert.equal(r.status, 0, r.err);
    assert.match(
      r.out,
      /^No NVIDIA GPU found on this machine: .*no-such-nvidia-smi cannot run \(ENOENT\)\. Nothing was installed or run\./,
    );
    assert.match(r.out, /would:/);
    assert.match(r.out, /npm install --prefix \S+ @tensorflow\/tfjs-node-gpu@4\.22\.0/);
    assert.match(r.out, /--backends webgpu,node-gpu --threads 1 --peer off/);
    assert.ok(!existsSync(join(dir, 'prefix')), 'the scratch prefix is not created');
  });

  it('treats an nvidia-smi that fails as no GPU', () => {
    const p = join(dir, 'smi-fails');
    writeFileSync(p, '#!/bin/sh\necho "NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver" >&2\nexit 9\n');
    chmodSync(p, 0o755);
    const r = run(p);
    assert.equal(r.status, 0);
    assert.match(r.out, /No NVIDIA GPU found on this machine: .*exited with 9: NVIDIA-SMI has failed/);
  });

  it('looks up the fp32 peak of the GPU nvidia-smi names and passes it to the benchmark (dry run)', () => {
    for (const [name, peak] of [
      ['NVIDIA H200', 67],
      ['NVIDIA H100 80GB HBM3', 67],
      ['NVIDIA H100 PCIe', 51.2],
      ['NVIDIA A100-SXM4-80GB', 19.5],
      ['NVIDIA L4', 30.3],
      ['Tesla T4', 8.1],
      ['Tesla V100-SXM2-16GB', 15.7],
      ['NVIDIA GeForce RTX 4090', 82.6],
    ] as const) {
      const r = run(fakeSmi(name), ['--dry-run']);
      assert.equal(r.status, 0, r.err);
      assert.match(r.out, new RegExp(`GPU: ${name}\\n`));
      assert.match(r.out, new RegExp(`fp32 peak: ${peak} TFLOP/s`), name);
      assert.match(r.out, new RegExp(`--peak-tflops ${peak}\\n`), name);
    }
    assert.ok(!existsSync(join(dir, 'prefix')), 'a dry run installs nothing');
  });

  it('--peak-tflops overrides the table, an unknown GPU runs without MFU, and a bad peak is refused', () => {
    const given = run(fakeSmi('NVIDIA H200'), ['--dry-run', '--peak-tflops', '12.5']);
    assert.match(given.out, /fp32 peak: 12\.5 TFLOP\/s \(from --peak-tflops\)/);
    assert.match(given.out, /--peak-tflops 12\.5\n/);
    const unknown = run(fakeSmi('NVIDIA Quadro Mystery'), ['--dry-run']);
    assert.equal(unknown.status, 0);
    assert.match(unknown.out, /fp32 peak: unknown for "NVIDIA Quadro Mystery"/);
    assert.doesNotMatch(unknown.out, /--peak-tflops \d/);
    const bad = run(fakeSmi('NVIDIA H200'), ['--dry-run', '--peak-tflops', 'fast']);
    assert.equal(bad.status, 2);
    assert.match(bad.err, /--peak-tflops must be a positive number/);
  });
});

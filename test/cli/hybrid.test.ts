// A user's hybrid from the command line, with no code: a block mask, whole-image noise at low t
// (t in 1..100) and a clean share, given as flags or as a JSON spec file. It trains on two
// threads (bit-identical to one), checkpoints, resumes bit-exactly, evaluates with every probe,
// and inpaints; the flags and the file describe the same value, so they train the same weights.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { readSafetensors } from '../../src/index.js';

const cli = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'tesserae-hybrid-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 240_000 });
const lastJson = <T>(stdout: string): T => JSON.parse(stdout.trim().split('\n').pop()!) as T;

const HYBRID = [
  ...['--method', 'umd', '--preset', 'micro/4'],
  ...['--mask', 'block:2,2,4,4', '--noise', 'all', '--time', '1-100'],
  ...['--objective', 'eps:visible:0.5,x0:masked:0.5', '--clean-share', '0.25'],
];
const BUDGET = [
  '--batch',
  '8',
  '--accum',
  '2',
  '--count',
  '40',
  '--held',
  '8',
  '--warmup',
  '0',
  '--checkpoint-every',
  '2',
  '--backend',
  'wasm',
];

/** The params tensors of a checkpoint, name -> bytes (the optimiser moments and the metadata aside). */
const params = (file: string): Map<string, string> => {
  const st = readSafetensors(new Uint8Array(readFileSync(file)), file);
  return new Map(
    [...st.tensors]
      .filter(([k]) => k.startsWith('params.') || k.startsWith('opt.'))
      .map(([k, t]) => [k, Buffer.from(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)).toString('base64')]),
  );
};
const latest = (out: string) => join(out, 'checkpoints', 'latest.safetensors');

describe('a hybrid from the command line', () => {
  const two = join(dir, 'two-threads');
  it('trains from flags on two threads and checkpoints its spec', () => {
    const r = run('train', ...HYBRID, ...BUDGET, '--steps', '4', '--threads', '2', '--out', two);
    assert.equal(r.status, 0, r.stderr);
    const meta = readSafetensors(new Uint8Array(readFileSync(latest(two))), 'latest').metadata;
    const spec = JSON.parse(meta['spec']!) as {
      corruption: { branches: { name: string; weight: number; branch: { mask: { kind: string }; time: unknown } }[] };
      network: { encoder: { conditioning: string } };
    };
    assert.deepEqual(
      spec.corruption.branches.map((b) => [b.name, b.weight, b.branch.mask.kind]),
      [
        ['clean', 0.25, 'block'],
        ['noised', 0.75, 'block'],
      ],
    );
    assert.deepEqual(spec.corruption.branches[1]!.branch.time, { kind: 'range', lo: 1, hi: 100 });
    assert.equal(spec.network.encoder.conditioning, 'adaln');
    assert.match(r.stdout, /training custom corruption, umd micro\/4 network/);
  });

  it('gives the same weights on one thread, and from a JSON spec file', () => {
    const one = join(dir, 'one-thread');
    const r1 = run('train', ...HYBRID, ...BUDGET, '--steps', '4', '--threads', '1', '--out', one);
    assert.equal(r1.status, 0, r1.stderr);
    assert.deepEqual(params(latest(one)), params(latest(two)));
    const file = join(dir, 'hybrid.json');
    writeFileSync(file, readSafetensors(new Uint8Array(readFileSync(latest(two))), 'latest').metadata['spec']!);
    const fromFile = join(dir, 'from-file');
    const r2 = run('train', '--spec', file, ...BUDGET, '--steps', '4', '--out', fromFile);
    assert.equal(r2.status, 0, r2.stderr);
    assert.deepEqual(params(latest(fromFile)), params(latest(two)));
  });

  it('resumes bit-exactly from an earlier checkpoint', () => {
    const part = join(dir, 'resumed');
    cpSync(two, part, { recursive: true });
    // back to step 2, as a run killed after its step-2 checkpoint would be
    for (const f of ['step-000004.safetensors', 'latest.safetensors']) rmSync(join(part, 'checkpoints', f));
    const r = run('train', ...HYBRID, ...BUDGET, '--steps', '4', '--threads', '2', '--resume', '--out', part);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /resuming from .*step-000002.safetensors at step 2/);
    assert.deepEqual(params(latest(part)), params(latest(two)));
  });

  it('evaluates with every probe and its masked-region PSNR', () => {
    const r = run(
      'eval',
      ...['--checkpoint', latest(two), '--probe', 'ridge,linear,knn,finetune', '--count', '40', '--held', '20'],
      ...['--shots', '2', '--k', '3', '--epochs', '2', '--finetune-steps', '2', '--psnr-images', '4', '--backend', 'wasm'],
    );
    assert.equal(r.status, 0, r.stderr);
    const j = lastJson<{
      ridge: { accuracy: number };
      linear: { accuracy: number };
      knn: { accuracy: number };
      finetune: { accuracy: number };
      reconstruction: { psnr: number; kind: string };
    }>(r.stdout);
    for (const a of [j.ridge.accuracy, j.linear.accuracy, j.knn.accuracy, j.finetune.accuracy]) assert.ok(a >= 0 && a <= 1);
    assert.equal(j.reconstruction.kind, 'masked');
    assert.ok(Number.isFinite(j.reconstruction.psnr));
  });

  it('inpaints (in one pass: it has a clean branch)', () => {
    const out = join(dir, 'inpaint');
    const r = run(
      'inpaint',
      '--checkpoint',
      latest(two),
      '--images',
      'synthetic',
      '--mask',
      'block:2,2,4,4',
      '--count',
      '2',
      '--backend',
      'wasm',
      '--out',
      out,
    );
    assert.equal(r.status, 0, r.stderr);
    const j = lastJson<{ sampler: string; psnr: number; removed: number }>(r.stdout);
    assert.equal(j.sampler, 'one pass');
    assert.equal(j.removed, 16);
    assert.ok(Number.isFinite(j.psnr));
  });

  it('refuses a flags corruption that leaks the answer, naming the branch', () => {
    const r = run(
      'train',
      ...['--method', 'diffmae', '--mask', 'random:0.75', '--objective', 'x0:masked'],
      ...BUDGET,
      '--steps',
      '1',
      '--out',
      join(dir, 'leak'),
    );
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /corruption\.branches\[0\] \("main"\).*handed the answer/);
  });
});

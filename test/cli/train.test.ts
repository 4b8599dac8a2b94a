import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, existsSync, unlinkSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { inflateSync } from 'node:zlib';
import { decodePng } from '../../src/index.js';

const cli = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'tesserae-train-'));
after(() => rmSync(dir, { recursive: true, force: true }));
/** `tesserae train` with small settings; a flag in `extra` replaces the default's value (a flag may be given once). */
const train = (out: string, ...extra: string[]) => {
  const args = [
    cli,
    'train',
    '--steps',
    '4',
    '--batch',
    '8',
    '--count',
    '32',
    '--held',
    '4',
    '--checkpoint-every',
    '2',
    '--log-every',
    '1',
    '--base-lr',
    '5e-3',
    '--backend',
    'wasm',
    '--out',
    out,
  ];
  for (let i = 0; i < extra.length; i++) {
    const flag = extra[i]!;
    const value = extra[i + 1];
    if (value === undefined || value.startsWith('--')) {
      args.push(flag);
      continue;
    }
    const at = args.indexOf(flag);
    if (at >= 0) args[at + 1] = value;
    else args.push(flag, value);
    i++;
  }
  return spawnSync(process.execPath, args, { encoding: 'utf8' });
};
const losses = (out: string) =>
  readFileSync(join(out, 'log.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { step: number; loss?: number })
    .filter((e) => e.loss !== undefined)
    .map((e) => [e.step, e.loss]);

describe('tesserae train', () => {
  const a = join(dir, 'a');
  it('trains with progress lines, writes log.jsonl, checkpoints, pictures and a JSON summary', () => {
    const r = train(a);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /step 1\/4 {2}loss \d+\.\d+ {2}lr \S+ {2}\|g\| \S+ {2}\S+ img\/s {2}ETA/);
    const summary = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
      steps: number;
      loss: { first: number; last: number };
      heldPsnr: { first: number };
    };
    assert.equal(summary.steps, 4);
    assert.ok(Number.isFinite(summary.loss.first) && Number.isFinite(summary.heldPsnr.first));
    assert.deepEqual(
      losses(a).map(([s]) => s),
      [1, 2, 3, 4],
    );
    assert.deepEqual(readdirSync(join(a, 'checkpoints')).sort(), [
      'latest.safetensors',
      'step-000000.safetensors',
      'step-000002.safetensors',
      'step-000004.safetensors',
    ]);
    assert.deepEqual(readdirSync(join(a, 'reconstructions')).sort(), [
      'latest.png',
      'step-000000.png',
      'step-000002.png',
      'step-000004.png',
    ]);
    assert.ok(existsSync(join(a, 'config.json')));
  });

  it('labels the held-out picture columns, says what its PSNR measures, and prints plain progress lines to a pipe', () => {
    const r = train(join(dir, 'labelled'), '--steps', '2');
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /\r|\x1b\[K|\[#/, 'no progress bar when stdout is not a terminal');
    assert.match(r.stdout, /step 2\/2 {2}loss/);
    const summary = JSON.parse(r.stdout.trim().split('\n').pop()!) as { command: string; psnrKind: string; heldPsnr: { first: number } };
    assert.equal(summary.command, 'train');
    assert.equal(summary.psnrKind, 'masked');
    const path = join(dir, 'labelled', 'reconstructions', 'latest.png');
    const img = decodePng(new Uint8Array(readFileSync(path)), path, (z) => new Uint8Array(inflateSync(z)));
    // 4 rows of 32 x 32 cells at scale 3, pad 3, under a 13 px band of column titles
    assert.equal(img.height, 13 + 3 + 4 * (96 + 3));
    assert.equal(img.width, 3 + 4 * (96 + 3));
    let ink = 0;
    for (let y = 3; y < 12; y++) for (let x = 0; x < img.width; x++) if (img.data[(y * img.width + x) * img.channels]! < 100) ink++;
    assert.ok(ink > 60, `title ink ${ink}`);
  });

  it('--resume continues from the latest checkpoint with the same losses as the uninterrupted run', () => {
    const b = join(dir, 'b');
    assert.equal(train(b).status, 0);
    // simulate a run interrupted after step 2: latest is step 2, and the log went a step further
    copyFileSync(join(b, 'checkpoints', 'step-000002.safetensors'), join(b, 'checkpoints', 'latest.safetensors'));
    unlinkSync(join(b, 'checkpoints', 'step-000004.safetensors'));
    const r = train(b, '--resume');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /resuming from .*latest\.safetensors at step 2/);
    assert.deepEqual(losses(b), losses(a));
  });

  it('--resume refuses a checkpoint of another configuration, naming it', () => {
    const r = train(join(dir, 'a'), '--resume', '--mask-ratio', '0.5');
    assert.equal(r.status, 2);
    assert.match(
      r.stderr,
      /spec\.corruption\.branches\[0\]\.branch\.mask\.ratio = 0\.5: the run being resumed \(.*latest\.safetensors\) was trained with 0\.75/,
    );
  });

  it("without --base-lr it trains at the preset size's rate, and that rate visibly learns in 40 steps", () => {
    const out = join(dir, 'default-lr');
    const args = [cli, 'train', '--steps', '40', '--batch', '16', '--count', '256', '--held', '32', '--checkpoint-every', '1000'];
    const r = spawnSync(process.execPath, [...args, '--log-every', '100', '--backend', 'wasm', '--out', out], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^training mae micro\/4 on 256 synthetic images \(32 held out\), 40 steps of 16 at base lr 0\.006 on wasm/m);
    const s = JSON.parse(r.stdout.trim().split('\n').pop()!) as { heldPsnr: { first: number; last: number } };
    // measured: +3.97 dB at the micro rate 6e-3; 0.1.0's default 1.5e-4 gave +0.48 dB
    assert.ok(s.heldPsnr.last - s.heldPsnr.first > 2.5, JSON.stringify(s.heldPsnr));
  });

  it('bad flags name the flag and value', () => {
    for (const [flag, value, pattern] of [
      ['--preset', 'giant', /--preset = "giant": must be SIZE\/PATCH with SIZE one of micro, small/],
      ['--data', 'parquet:x', /--data = "parquet:x"/],
      ['--data', 'cifar10:/nonexistent', /nonexistent/],
      ['--steps', '0', /--steps = "0": must be an integer >= 1/],
      ['--base-lr', 'fast', /--base-lr = "fast": must be a finite number/],
    ] as const) {
      const r = train(join(dir, 'never'), flag, value);
      assert.equal(r.status, 2, `${flag} ${value}: ${r.stderr}`);
      assert.match(r.stderr, pattern);
    }
  });
});

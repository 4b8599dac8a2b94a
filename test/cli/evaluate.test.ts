import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { inflateSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { decodePng, readSafetensors } from '../../src/index.js';
import { floatToHalf } from '../../src/io/dtypes.js';
import { SYNTHETIC_CLASSES } from '../../src/data/synthetic.js';

const cli = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'tesserae-eval-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
const lastJson = <T>(stdout: string): T => JSON.parse(stdout.trim().split('\n').pop()!) as T;
const tiny = ['--steps', '2', '--batch', '8', '--count', '40', '--held', '10', '--checkpoint-every', '2', '--backend', 'wasm'];
const png = (path: string) => decodePng(new Uint8Array(readFileSync(path)), path, (z) => new Uint8Array(inflateSync(z)));

describe('tesserae eval, finetune and sample', () => {
  const pre = join(dir, 'umd');
  it('pre-trains a UMD run to evaluate', () => {
    const r = run('train', '--method', 'umd', ...tiny, '--out', pre);
    assert.equal(r.status, 0, r.stderr);
  });

  it('eval prints a table and a JSON line with every probe asked for', () => {
    const r = run(
      'eval',
      '--checkpoint',
      join(pre, 'checkpoints', 'step-000002.safetensors'),
      '--probe',
      'ridge,linear,knn,finetune',
      '--count',
      '40',
      '--held',
      '20',
      '--shots',
      '2',
      '--k',
      '3',
      '--epochs',
      '3',
      '--finetune-steps',
      '2',
      '--psnr-images',
      '4',
      '--out',
      join(dir, 'eval'),
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /model\s+ridge 2-shot\s+lambda\s+linear probe\s+3-NN\s+fine-tune\s+masked PSNR\s+masked SSIM/);
    const j = lastJson<{
      label: string;
      step: number;
      train: number;
      test: number;
      ridge: { accuracy: number; shots: number; validation: unknown[] };
      linear: { accuracy: number };
      knn: { accuracy: number; k: number };
      finetune: { accuracy: number; steps: number };
      reconstruction: { psnr: number; ssim: number; kind: string };
    }>(r.stdout);
    assert.equal(j.label, 'umd micro/4');
    assert.equal(j.step, 2);
    assert.deepEqual([j.train, j.test, j.ridge.shots, j.knn.k, j.finetune.steps], [40, 20, 2, 3, 2]);
    for (const a of [j.ridge.accuracy, j.linear.accuracy, j.knn.accuracy, j.finetune.accuracy]) assert.ok(a >= 0 && a <= 1);
    assert.equal(j.reconstruction.kind, 'masked');
    assert.ok(Number.isFinite(j.reconstruction.psnr));
    assert.ok(j.reconstruction.ssim > -1 && j.reconstruction.ssim <= 1);
    assert.ok(existsSync(join(dir, 'eval', 'eval.json')));
  });

  it('eval names bad input: an unknown probe, a missing checkpoint, cls pooling on DiT', () => {
    const ckpt = join(pre, 'checkpoints', 'latest.safetensors');
    const a = run('eval', '--checkpoint', ckpt, '--probe', 'ridge,svm');
    assert.equal(a.status, 2);
    assert.match(a.stderr, /--probe = "svm": must be one of ridge, linear, knn, finetune/);
    const b = run('eval', '--checkpoint', join(dir, 'nope.safetensors'));
    assert.equal(b.status, 2);
    assert.match(b.stderr, /nope\.safetensors: no such file/);
    const dit = join(dir, 'dit');
    assert.equal(run('train', '--method', 'dit', ...tiny, '--out', dit).status, 0);
    const c = run('eval', '--checkpoint', join(dit, 'checkpoints', 'latest.safetensors'), '--pool', 'cls', '--count', '40', '--held', '10');
    assert.equal(c.status, 2);
    assert.match(c.stderr, /pool = "cls": this model has no CLS tokens; use mean/);
  });

  it('finetune makes a class-conditional checkpoint (recording its origin) and sample writes a PNG grid per class', () => {
    const ft = join(dir, 'ft');
    const from = join(pre, 'checkpoints', 'latest.safetensors');
    const r = run('finetune', '--from', from, ...tiny, '--out', ft);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^fine-tuning class-conditional umd micro\/4 on \d+ synthetic images/m);
    assert.doesNotMatch(r.stdout, /^training /m);
    assert.equal(lastJson<{ command: string }>(r.stdout).command, 'finetune');
    const meta = readSafetensors(new Uint8Array(readFileSync(join(ft, 'checkpoints', 'latest.safetensors'))), 'ft').metadata;
    assert.equal(meta['finetunedFrom'], from);
    assert.match(meta['spec'] ?? '', /"classes":10/);
    const out = join(dir, 'samples');
    const s = run(
      'sample',
      '--checkpoint',
      join(ft, 'checkpoints', 'latest.safetensors'),
      '--class',
      'ring',
      '--count',
      '2',
      '--steps',
      '2',
      '--out',
      out,
    );
    assert.equal(s.status, 0, s.stderr);
    assert.deepEqual(readdirSync(out), ['class-3-ring.png']);
    const img = png(join(out, 'class-3-ring.png'));
    assert.ok(img.width > img.height && img.height >= 32);
    const j = lastJson<{ ema: boolean; classes: number[]; classNames: string[] }>(s.stdout);
    assert.equal(j.ema, true);
    assert.deepEqual(j.classes, [3]);
    assert.deepEqual(j.classNames, ['ring']);
    assert.equal(meta['classes'], JSON.stringify(SYNTHETIC_CLASSES), 'the class names are recorded in the checkpoint');
    const wrong = run(
      'sample',
      '--checkpoint',
      join(ft, 'checkpoints', 'latest.safetensors'),
      '--class',
      'rnig',
      '--out',
      join(dir, 'wrong'),
    );
    assert.equal(wrong.status, 2);
    assert.match(wrong.stderr, /--class = "rnig": is not a class of this checkpoint; did you mean ring\? \(classes: disk, /);
    const bad = run('sample', '--checkpoint', from, '--out', out);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /is not class-conditional/);
  });
});

describe('tesserae export', () => {
  it('writes weights only, a third of the checkpoint, that eval reads back to the same figures', () => {
    const pre = join(dir, 'umd');
    const ckpt = join(pre, 'checkpoints', 'latest.safetensors');
    const out = join(dir, 'umd.safetensors');
    const r = run('export', '--checkpoint', ckpt, '--out', out);
    assert.equal(r.status, 0, r.stderr);
    const full = readSafetensors(new Uint8Array(readFileSync(ckpt)), ckpt);
    const slim = readSafetensors(new Uint8Array(readFileSync(out)), out);
    assert.equal(slim.tensors.size * 3, full.tensors.size);
    assert.ok([...slim.tensors.keys()].every((k) => k.startsWith('params.')));
    assert.equal(slim.metadata['spec'], full.metadata['spec']);
    assert.match(slim.metadata['spec'] ?? '', /"label":"umd micro\/4"/);
    assert.equal(slim.metadata['weights'], 'params');
    const args = ['--probe', 'ridge', '--count', '40', '--held', '20', '--shots', '2', '--psnr-images', '4'];
    const a = lastJson<{ ridge: unknown; reconstruction: unknown }>(run('eval', '--checkpoint', ckpt, ...args).stdout);
    const b = lastJson<{ ridge: unknown; reconstruction: unknown }>(run('eval', '--checkpoint', out, ...args).stdout);
    assert.deepEqual([b.ridge, b.reconstruction], [a.ridge, a.reconstruction]);
  });
});

describe('tesserae export --dtype float16', () => {
  it('writes half-precision weights, about half the bytes, that load back as exactly those values', () => {
    const ckpt = join(dir, 'umd', 'checkpoints', 'latest.safetensors');
    const f32 = join(dir, 'umd32.safetensors');
    const f16 = join(dir, 'umd16.safetensors');
    assert.equal(run('export', '--checkpoint', ckpt, '--out', f32).status, 0);
    const r = run('export', '--checkpoint', ckpt, '--out', f16, '--dtype', 'float16');
    assert.equal(r.status, 0, r.stderr);
    const a = readSafetensors(new Uint8Array(readFileSync(f32)), f32);
    const b = readSafetensors(new Uint8Array(readFileSync(f16)), f16);
    assert.equal(b.metadata['dtype'], 'float16');
    assert.ok(readFileSync(f16).length < 0.6 * readFileSync(f32).length);
    for (const [name, t] of a.tensors) {
      const h = b.tensors.get(name)!;
      assert.equal(h.dtype, 'F16');
      const want = Uint16Array.from(t.data as Float32Array, floatToHalf);
      assert.deepEqual(Array.from(h.data as Uint16Array), Array.from(want), name);
    }
    // it opens and evaluates (the weights are the half-precision values, read as float32)
    const e = run('eval', '--checkpoint', f16, '--probe', 'ridge', '--count', '40', '--held', '20', '--shots', '2', '--psnr-images', '4');
    assert.equal(e.status, 0, e.stderr);
    assert.equal(run('export', '--checkpoint', ckpt, '--out', join(dir, 'x.safetensors'), '--dtype', 'float8').status, 2);
  });
});

describe('tesserae plot', () => {
  it('turns logs into a PNG (the trainer also writes curves.png), and names a malformed log line', () => {
    const pre = join(dir, 'umd');
    assert.ok(existsSync(join(pre, 'curves.png')), 'train writes curves.png');
    const out = join(dir, 'plot.png');
    const r = run(
      'plot',
      '--log',
      `${join(pre, 'log.jsonl')},${join(pre, 'log.jsonl')}`,
      '--names',
      'a,b',
      '--smooth',
      '0.5',
      '--out',
      out,
    );
    assert.equal(r.status, 0, r.stderr);
    const img = png(out);
    assert.ok(img.width >= 800 && img.height >= 600, `${img.width} x ${img.height}: 2 x 2 panels`);
    const bad = join(dir, 'bad.jsonl');
    writeFileSync(bad, '{"step": 1, "loss": 2}\nnot json\n');
    const b = run('plot', '--log', bad, '--out', join(dir, 'bad.png'));
    assert.equal(b.status, 2);
    assert.match(b.stderr, /bad\.jsonl: line 2 is not JSON/);
    assert.ok(!existsSync(join(dir, 'bad.png')));
    const c = run('plot', '--log', bad, '--names', 'a,b', '--out', join(dir, 'bad.png'));
    assert.equal(c.status, 2);
    assert.match(c.stderr, /--names/);
  });
});

describe('tesserae compare', () => {
  it('trains, probes every checkpoint, fine-tunes and samples, and writes markdown, JSON and PNG plots', () => {
    const out = join(dir, 'compare');
    const r = run(
      'compare',
      '--methods',
      'mae,umd',
      '--steps',
      '2',
      '--eval-every',
      '1',
      '--count',
      '60',
      '--held',
      '20',
      '--probe',
      'ridge,knn',
      '--shots',
      '2',
      '--generate',
      'umd',
      '--finetune-steps',
      '2',
      '--samples',
      '2',
      '--sample-steps',
      '2',
      '--reference-steps',
      '2',
      '--batch',
      '8',
      '--accum',
      '1',
      '--threads',
      '1',
      '--backend',
      'wasm',
      '--out',
      out,
    );
    assert.equal(r.status, 0, r.stderr);
    const md = readFileSync(join(out, 'results.md'), 'utf8');
    assert.match(md, /Command: `tesserae compare --methods mae,umd/);
    assert.match(md, /\| method \| steps \| features \| ridge 2-shot \| linear probe \| k-NN \| PSNR \| SSIM \|/);
    assert.match(md, /\| random init \(mae encoder\) \| 0 \|/);
    assert.match(md, /\| umd \| \d+\.\d% \| \d+\.\d+ \| \d\.\d{3} \|/);
    // which version of each method the tables used, read from the specs they trained
    assert.match(md, /^- mae \(mae micro\/4\), tesserae \d+\.\d+\.\d+: no noise, positions sincos, decoder mask-token$/m);
    assert.match(
      md,
      /^- umd \(umd micro\/4\), tesserae \d+\.\d+\.\d+: schedule cosine, positions learned, time embedding time-emb, label embedding table-mlp, MLP gelu, adaLN norms affine, decoder mask-token$/m,
    );
    const j = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as { curves: { method: string; step: number }[] };
    assert.deepEqual(
      j.curves.map((c) => `${c.method}@${c.step}`),
      ['mae@0', 'mae@1', 'mae@2', 'umd@0', 'umd@1', 'umd@2'],
    );
    const curves = png(join(out, 'curves.png'));
    assert.ok(curves.width >= 600 && curves.height >= 300);
    const samples = png(join(out, 'samples-umd.png'));
    assert.ok(samples.height > samples.width, '10 class rows of 2 samples');
    const bad = run('compare', '--methods', 'mae', '--generate', 'umd', '--out', out);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--generate = "umd": must also be in --methods/);
  });
});

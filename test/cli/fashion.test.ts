// Real data end to end on a small subset of Fashion-MNIST (28 x 28 x 1): the model takes the
// data's shape, training learns, the probes beat chance by far, inpainting and sampling write
// grayscale pictures, and an image folder sorted by class holds out every class.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { inflateSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { decodePng, encodePng, readSafetensors } from '../../src/index.js';

const cli = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'tesserae-fashion-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
const lastJson = <T>(stdout: string): T => JSON.parse(stdout.trim().split('\n').pop()!) as T;
const png = (path: string) => decodePng(new Uint8Array(readFileSync(path)), path, (z) => new Uint8Array(inflateSync(z)));

describe('Fashion-MNIST from the command line', () => {
  const out = join(dir, 'mae');
  const ckpt = join(out, 'checkpoints', 'latest.safetensors');
  it('trains MAE on 28 x 28 x 1 images and learns', () => {
    const r = run(
      'train',
      '--data',
      'fashion-mnist',
      '--count',
      '512',
      '--held',
      '100',
      '--steps',
      '40',
      '--batch',
      '32',
      '--base-lr',
      '6e-3',
      '--checkpoint-every',
      '40',
      '--backend',
      'wasm',
      '--out',
      out,
    );
    assert.equal(r.status, 0, r.stderr);
    const j = lastJson<{ loss: { first: number; last: number }; heldPsnr: { first: number; last: number } }>(r.stdout);
    assert.ok(j.loss.last < 0.8 * j.loss.first, `loss ${j.loss.first} -> ${j.loss.last}`);
    assert.ok(j.heldPsnr.last > j.heldPsnr.first + 1, `PSNR ${j.heldPsnr.first} -> ${j.heldPsnr.last}`);
    const spec = JSON.parse(readSafetensors(new Uint8Array(readFileSync(ckpt)), ckpt).metadata['spec']!) as { image: number[] };
    assert.deepEqual(spec.image, [28, 28, 1]);
    assert.match(r.stdout, /on 512 fashion-mnist images \(100 held out\)/);
  });

  it('evaluates on the official test images: the probes are far above chance (10%)', () => {
    const r = run('eval', '--checkpoint', ckpt, '--probe', 'ridge,knn', '--count', '2000', '--held', '500', '--psnr-images', '8');
    assert.equal(r.status, 0, r.stderr);
    const j = lastJson<{ test: number; train: number; ridge: { accuracy: number }; knn: { accuracy: number } }>(r.stdout);
    assert.equal(j.test, 500);
    assert.equal(j.train, 2000);
    assert.ok(j.knn.accuracy > 0.35, `k-NN ${j.knn.accuracy}`);
    assert.ok(j.ridge.accuracy > 0.3, `ridge ${j.ridge.accuracy}`);
  });

  it('inpaints real test images into a grayscale picture of 28 x 28 cells', () => {
    const r = run('inpaint', '--checkpoint', ckpt, '--images', 'fashion-mnist', '--count', '4', '--out', join(dir, 'inpaint'));
    assert.equal(r.status, 0, r.stderr);
    const img = png(join(dir, 'inpaint', 'inpaint.png'));
    assert.ok(img.height >= 4 * 28 && img.width >= 3 * 28, `${img.width} x ${img.height}`);
    // a grey picture: every pixel has R = G = B (or one channel)
    for (let p = 0; p < img.width * img.height; p += 97) {
      const px = Array.from(img.data.subarray(p * img.channels, p * img.channels + Math.min(3, img.channels)));
      assert.ok(
        px.every((v) => v === px[0]),
        `pixel ${p}: ${px.join(',')}`,
      );
    }
  });
});

describe('an image folder sorted by class', () => {
  it('holds out every class (stratified), so eval --held 40 works on a 3-class folder', () => {
    const data = join(dir, 'folder');
    for (const [c, cls] of ['a', 'b', 'c'].entries()) {
      mkdirSync(join(data, cls), { recursive: true });
      for (let i = 0; i < 30; i++) {
        const px = new Uint8Array(8 * 8 * 3).fill(40 + 80 * c + i);
        writeFileSync(join(data, cls, `${i}.png`), encodePng({ width: 8, height: 8, channels: 3, data: px }));
      }
    }
    const out = join(dir, 'folder-run');
    const t = run(
      'train',
      '--data',
      `folder:${data}`,
      '--preset',
      'micro/4',
      '--steps',
      '2',
      '--batch',
      '8',
      '--held',
      '40',
      '--checkpoint-every',
      '2',
      '--out',
      out,
    );
    assert.equal(t.status, 0, t.stderr);
    const e = run(
      'eval',
      '--checkpoint',
      join(out, 'checkpoints', 'latest.safetensors'),
      '--data',
      `folder:${data}`,
      '--held',
      '40',
      '--probe',
      'ridge',
      '--shots',
      '2',
      '--psnr-images',
      '0',
    );
    assert.equal(e.status, 0, e.stderr);
    const j = lastJson<{ train: number; test: number }>(e.stdout);
    assert.deepEqual([j.train, j.test], [50, 40]);
  });
});

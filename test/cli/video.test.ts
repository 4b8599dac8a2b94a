import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { syntheticVideos, toImage8 } from '../../src/index.js';
import { loadClipFolder, writePng } from '../../src/node/index.js';

const cli = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'tesserae-video-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
const tiny = ['--steps', '2', '--batch', '4', '--count', '8', '--held', '4', '--checkpoint-every', '2', '--backend', 'wasm'];

describe('video from the command line', () => {
  const run1 = join(dir, 'diffmae');
  it('trains DiffMAE on synthetic clips with tube masks (the clip shape and tubelets in the checkpoint)', () => {
    const r = run(
      'train',
      '--method',
      'diffmae',
      '--data',
      'synthetic-video',
      '--frames',
      '4',
      '--mask-kind',
      'tube',
      ...tiny,
      '--out',
      run1,
    );
    assert.equal(r.status, 0, r.stderr);
    const config = JSON.parse(readFileSync(join(run1, 'config.json'), 'utf8')) as {
      spec: {
        image: number[];
        corruption: { patching: { kind: string; frames: number; size: number }; branches: { branch: { mask: { kind: string } } }[] };
      };
    };
    assert.deepEqual(config.spec.image, [4, 32, 32, 3]);
    assert.deepEqual(config.spec.corruption.patching, { kind: 'tubelet', frames: 2, size: 4 });
    assert.deepEqual(
      config.spec.corruption.branches.map((b) => b.branch.mask.kind),
      ['tube'],
    );
  });

  it('inpaints clips: a frame-strip grid, an animated PNG per clip, the PSNR and the nearest-visible-frame baseline', () => {
    const out = join(dir, 'inpaint');
    const r = run(
      'inpaint',
      '--checkpoint',
      join(run1, 'checkpoints', 'latest.safetensors'),
      '--images',
      'synthetic-video',
      '--mask',
      'frame:0.5',
      '--steps',
      '2',
      '--count',
      '2',
      '--out',
      out,
    );
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
      psnr: number;
      nearestFramePsnr: number;
      animations: string[];
      removed: number;
    };
    assert.ok(Number.isFinite(j.psnr) && Number.isFinite(j.nearestFramePsnr));
    assert.equal(j.removed, 64, 'frame:0.5 removes one of the two time slices of 64 cells');
    assert.deepEqual(readdirSync(out).sort(), ['clip-0.png', 'clip-1.png', 'inpaint.png', 'steps.png']);
    const apng = readFileSync(join(out, 'clip-0.png'));
    assert.equal(apng.subarray(37, 41).toString('latin1'), 'acTL', 'an animated PNG');
    assert.equal(apng.readUInt32BE(41), 4, 'four frames');
  });

  it('names bad video input: tube masks on an image checkpoint, a tubelet for images, clips of the wrong length', () => {
    const img = join(dir, 'image');
    assert.equal(run('train', ...tiny, '--out', img).status, 0);
    const a = run(
      'inpaint',
      '--checkpoint',
      join(img, 'checkpoints', 'latest.safetensors'),
      '--images',
      'synthetic',
      '--mask',
      'tube:0.5',
      '--out',
      join(dir, 'x'),
    );
    assert.equal(a.status, 2);
    assert.match(a.stderr, /tube masks need a video checkpoint/);
    const b = run('train', '--tubelet', '2', ...tiny, '--out', join(dir, 'y'));
    assert.equal(b.status, 2);
    assert.match(b.stderr, /--tubelet = 2: applies to video/);
    const c = run('train', '--data', 'synthetic-video', '--frames', '3', ...tiny, '--out', join(dir, 'z'));
    assert.equal(c.status, 2);
    assert.match(c.stderr, /tubelet frames = 2: must divide the frame count 3/);
  });

  it('loads real clips stored as frame folders (with a class level), and trains on them', () => {
    const root = join(dir, 'clips');
    const v = syntheticVideos({ count: 4, frames: 3, size: 16 });
    const per = 16 * 16 * 3;
    for (let i = 0; i < 4; i++) {
      const clipDir = join(root, i % 2 === 0 ? 'even' : 'odd', `clip${i}`);
      mkdirSync(clipDir, { recursive: true });
      for (let f = 0; f < 3; f++)
        writePng(join(clipDir, `f${f}.png`), toImage8(v.images.subarray((i * 3 + f) * per, (i * 3 + f + 1) * per), 16, 16, 3));
    }
    const d = loadClipFolder(root, { frames: 2 });
    assert.deepEqual([d.count, d.frames, d.height, d.width, d.channels], [4, 2, 16, 16, 3]);
    assert.deepEqual(Array.from(d.labels), [0, 0, 1, 1]);
    assert.deepEqual(d.classes, ['even', 'odd']);
    for (let j = 0; j < per; j++) assert.ok(Math.abs(d.images[j]! - v.images[j]!) <= 0.5 / 255 + 1e-6);
    assert.throws(() => loadClipFolder(root, { frames: 5 }), /clip has 3 frames, fewer than the 5 asked for/);
    const r = run(
      'train',
      '--data',
      `clips:${root}`,
      '--frames',
      '2',
      '--size',
      '32',
      '--held',
      '1',
      '--steps',
      '1',
      '--batch',
      '2',
      '--backend',
      'wasm',
      '--out',
      join(dir, 'c'),
    );
    assert.equal(r.status, 0, r.stderr);
    assert.ok(existsSync(join(dir, 'c', 'checkpoints', 'latest.safetensors')));
  });
});

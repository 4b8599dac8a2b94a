import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, statSync, existsSync } from 'node:fs';
import { inflateSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { decodePng, synthetic, writeNpy, writeSafetensors, Mask, ConfigError, type Image8 } from '../../src/index.js';
import { parseMask } from '../../src/cli/algebra.js';

const cli = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'tesserae-inpaint-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
const ckpt = join(dir, 'run', 'checkpoints', 'latest.safetensors');
const x = join(dir, 'x.npy');

describe('tesserae inpaint', () => {
  before(() => {
    const r = run(
      'train',
      '--method',
      'diffmae',
      '--decoder',
      'cross',
      '--steps',
      '3',
      '--batch',
      '8',
      '--count',
      '16',
      '--held',
      '4',
      '--checkpoint-every',
      '3',
      '--backend',
      'wasm',
      '--out',
      join(dir, 'run'),
    );
    assert.equal(r.status, 0, r.stderr);
    const d = synthetic({ count: 5, start: 100 });
    writeFileSync(x, writeNpy({ shape: [5, 32, 32, 3], data: d.images }));
  });

  it('inpaints with DDIM: a grid, a strip of reverse steps, and the masked-region PSNR as the last line', () => {
    const out = join(dir, 'out');
    const r = run(
      'inpaint',
      '--checkpoint',
      ckpt,
      '--images',
      x,
      '--mask',
      'center:0.25',
      '--sampler',
      'ddim',
      '--steps',
      '8',
      '--count',
      '4',
      '--out',
      out,
      '--backend',
      'wasm',
    );
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
      model: string;
      psnr: number;
      psnrPerImage: number[];
      psnrKind: string;
      removed: number;
      steps: number;
    };
    assert.equal(j.model, 'diffmae micro/4');
    assert.equal(j.removed, 16);
    assert.equal(j.steps, 8);
    assert.equal(j.psnrPerImage.length, 4);
    assert.ok(Number.isFinite(j.psnr));
    assert.ok(statSync(join(out, 'inpaint.png')).size > 100 && statSync(join(out, 'steps.png')).size > 100);
    assert.equal(j.psnrKind, 'masked');
  });

  it('labels the columns of inpaint.png and the t of every column of steps.png', () => {
    const out = join(dir, 'labelled');
    const r = run(
      'inpaint',
      '--checkpoint',
      ckpt,
      '--images',
      x,
      '--steps',
      '8',
      '--strip',
      '4',
      '--count',
      '2',
      '--out',
      out,
      '--backend',
      'wasm',
    );
    assert.equal(r.status, 0, r.stderr);
    const png = (name: string): Image8 =>
      decodePng(new Uint8Array(readFileSync(join(out, name))), name, (z) => new Uint8Array(inflateSync(z)));
    // ink in the title band (rows 3..12) over each 96 px column (32 px cells at scale 3, pad 3)
    const titled = (img: Image8, columns: number): boolean[] =>
      Array.from({ length: columns }, (_, c) => {
        let ink = 0;
        for (let y = 3; y < 12; y++)
          for (let x0 = 3 + c * 99, xx = x0; xx < x0 + 96; xx++) if (img.data[(y * img.width + xx) * img.channels]! < 100) ink++;
        return ink > 15;
      });
    const grid = png('inpaint.png');
    assert.equal(grid.height, 13 + 3 + 2 * 99);
    assert.deepEqual(titled(grid, 3), [true, true, true]);
    const steps = png('steps.png');
    assert.equal(steps.width, 3 + 4 * 99);
    assert.equal(steps.height, 13 + 3 + 2 * 99);
    assert.deepEqual(titled(steps, 4), [true, true, true, true]);
    assert.match(r.stdout, /original \| masked \| inpainted/);
  });

  it('--sampler ddpm --steps 5 runs a respaced DDPM of 5 steps (0.1.0 ran every step of the schedule), on the grid --grid names', () => {
    const steps = (...extra: string[]) => {
      const r = run(
        'inpaint',
        '--checkpoint',
        ckpt,
        '--images',
        x,
        '--count',
        '1',
        '--out',
        join(dir, `ddpm${extra.join('')}`),
        '--backend',
        'wasm',
        ...extra,
      );
      assert.equal(r.status, 0, r.stderr);
      return (JSON.parse(r.stdout.trim().split('\n').pop()!) as { steps: number }).steps;
    };
    assert.equal(steps('--sampler', 'ddpm', '--steps', '5'), 5);
    assert.equal(steps('--sampler', 'ddim', '--steps', '5', '--grid', 'arange'), 6); // UMD's arange grid: steps + 1 network calls
  });

  it('bad input gets a typed error naming it, exit 2, and writes nothing', () => {
    const out = join(dir, 'never');
    const wrong = join(dir, 'x16.npy');
    writeFileSync(wrong, writeNpy({ shape: [2, 16, 16, 3], data: new Float32Array(2 * 16 * 16 * 3) }));
    const foreign = join(dir, 'foreign.safetensors');
    writeFileSync(foreign, writeSafetensors([['w', { dtype: 'F32', shape: [1], data: Float32Array.of(1) }]]));
    for (const [args, pattern] of [
      [['--mask', 'ring:3'], /--mask = "ring:3"/],
      [['--mask', 'center:1.5'], /mask\.ratio = 1\.5/],
      [['--mask', 'random:0.999'], /--mask = "random:0\.999": leaves no visible patch \(it removes all 64\)/],
      [['--checkpoint', join(dir, 'none.safetensors')], /none\.safetensors: no such file/],
      [['--checkpoint', foreign], /foreign\.safetensors: not a tesserae checkpoint/],
      [['--images', wrong], /x16\.npy: expected shape \[N, 32, 32, 3\]/],
      [['--sampler', 'euler'], /--sampler = "euler"/],
      [['--steps', '5000'], /sampler\.steps = 5000/],
      [['--sampler', 'ddpm', '--steps', '5000'], /sampler\.steps = 5000/],
      [['--grid', 'uniform'], /--grid = "uniform"/],
    ] as const) {
      const base = ['inpaint', '--checkpoint', ckpt, '--images', x, '--out', out, '--backend', 'cpu'];
      for (let i = 0; i < args.length; i += 2) {
        const at = base.indexOf(args[i]!);
        if (at >= 0) base[at + 1] = args[i + 1]!;
        else base.push(args[i]!, args[i + 1]!);
      }
      const r = run(...base);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, pattern, args.join(' '));
    }
    assert.equal(existsSync(out), false);
  });

  it('parses masks', () => {
    assert.deepEqual(parseMask('random:0.75'), Mask.random(0.75));
    assert.deepEqual(parseMask('block:1,2,3,4'), Mask.block({ top: 1, left: 2, height: 3, width: 4 }));
    assert.throws(() => parseMask('block:1,2'), ConfigError);
  });
});

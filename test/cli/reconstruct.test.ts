import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { Key, writeSafetensors, readNpy, writeNpy } from '../../src/index.js';
import { maeForward } from '../reference/maeOracle.js';
import { randomReferenceWeights } from '../reference/maeWeights.js';
import { assertClose } from '../helpers.js';

const cli = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'tesserae-recon-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const arch = { side: 4, patch: 4, channels: 3, width: 16, depth: 2, decoderWidth: 8, decoderDepth: 2 };
const weights = randomReferenceWeights(Key.key(5), arch);
const n = 2;
const l = 16;
const images = Key.uniform(Key.key(6), n * 16 * 16 * 3);
const noise = Key.uniform(Key.key(7), n * l);
const w = join(dir, 'w.safetensors');
writeFileSync(w, writeSafetensors([...weights].map(([k, v]) => [k, { dtype: 'F32', shape: v.shape, data: v.data }] as const)));
writeFileSync(join(dir, 'x.npy'), writeNpy({ shape: [n, 16, 16, 3], data: images }));
writeFileSync(join(dir, 'u.npy'), writeNpy({ shape: [n, l], data: noise }));
const run = (...args: string[]) => spawnSync(process.execPath, [cli, 'reconstruct', ...args], { encoding: 'utf8' });
const base = (out: string, extra: string[] = []) => [
  '--weights',
  w,
  '--images',
  join(dir, 'x.npy'),
  '--noise',
  join(dir, 'u.npy'),
  '--heads',
  '4',
  '--decoder-heads',
  '2',
  '--out',
  out,
  '--backend',
  'cpu',
  ...extra,
];

describe('tesserae reconstruct', () => {
  for (const normPix of [false, true]) {
    it(`reproduces the reference MAE forward pass (norm-pix ${normPix}): pred.npy, mask.npy, loss`, () => {
      const out = join(dir, `out-${normPix}`);
      const r = run(...base(out, normPix ? ['--norm-pix'] : []));
      assert.equal(r.status, 0, r.stderr);
      const last = JSON.parse(r.stdout.trim().split('\n').pop()!) as { loss: number; kept: number };
      const want = maeForward(weights, images, n, noise, { heads: 4, decoderHeads: 2, maskRatio: 0.75, normPix });
      const pred = readNpy(new Uint8Array(readFileSync(join(out, 'pred.npy'))), 'pred.npy');
      const mask = readNpy(new Uint8Array(readFileSync(join(out, 'mask.npy'))), 'mask.npy');
      assert.deepEqual(pred.shape, [n, l, 48]);
      assert.equal(pred.dtype, 'float32');
      assertClose(pred.data as Float32Array, want.pred.flat(2), 2e-4, 'pred', 1e-4);
      assert.deepEqual(Array.from(mask.data as Float32Array), want.mask.flat());
      assertClose([last.loss], [want.loss], 1e-4, 'loss', 1e-4);
      assert.equal(last.kept, 4);
      assert.ok(statSync(join(out, 'reconstruction.png')).size > 100);
    });
  }

  it('bad input: a clear error naming the file and the problem, exit 2, and earlier outputs untouched', () => {
    const out = join(dir, 'out-false');
    const before = readFileSync(join(out, 'pred.npy'));
    const bytes = readFileSync(w);
    const write = (name: string, b: Uint8Array) => {
      writeFileSync(join(dir, name), b);
      return join(dir, name);
    };
    const truncated = write('trunc.safetensors', bytes.subarray(0, bytes.length - 100));
    const ints = write(
      'ints.safetensors',
      writeSafetensors(
        [...weights].map(
          ([k, v]) =>
            [
              k,
              k === 'norm.bias'
                ? { dtype: 'I32', shape: v.shape, data: Int32Array.from(v.data) }
                : { dtype: 'F32', shape: v.shape, data: v.data },
            ] as const,
        ),
      ),
    );
    const hostile = write('hostile.safetensors', Uint8Array.from([255, 255, 255, 255, 255, 255, 0, 0, 123, 125]));
    const wrongShape = write('x3.npy', writeNpy({ shape: [n, 16, 12, 3], data: new Float32Array(n * 16 * 12 * 3) }));
    const nan = new Float32Array(images);
    nan[17] = NaN;
    const nanImages = write('nan.npy', writeNpy({ shape: [n, 16, 16, 3], data: nan }));
    const badNoise = write('u3.npy', writeNpy({ shape: [n, 15], data: new Float32Array(n * 15) }));
    const malformed = write('bad.npy', Uint8Array.from([0x93, 78, 85, 77, 80, 89, 1, 0, 200, 0]));
    const cases: [string[], RegExp][] = [
      [['--weights', truncated], /trunc\.safetensors/],
      [['--weights', ints], /ints\.safetensors: tensor "norm\.bias" is I32; weights must be floating point/],
      [['--weights', hostile], /hostile\.safetensors: .*(header|oversized)/],
      [['--weights', join(dir, 'missing.safetensors')], /missing\.safetensors: no such file/],
      [['--images', wrongShape], /x3\.npy: expected shape \[N, 16, 16, 3\]/],
      [['--images', nanImages], /nan\.npy\[17\] = NaN: non-finite value/],
      [['--images', malformed], /bad\.npy/],
      [['--noise', badNoise], /u3\.npy: expected shape \[2, 16\]/],
      [['--heads', '3'], /heads = 3: must divide/],
      [['--mask-ratio', '1'], /--mask-ratio = 1: must be in \[0, 1\)/],
      // train's rule: keep = floor(16 (1 - 0.999)) = 0 patches is refused
      [['--mask-ratio', '0.999'], /--mask-ratio = "0\.999": leaves no visible patch \(it removes all 16\)/],
      [['--mask-ratio', '0.95'], /--mask-ratio = "0\.95": leaves no visible patch/],
      [['--mask-ratio', '0x1'], /--mask-ratio = "0x1": must be a finite number/],
    ];
    for (const [override, pattern] of cases) {
      const args = base(out);
      for (let i = 0; i < override.length; i += 2) {
        const at = args.indexOf(override[i]!);
        if (at >= 0) args[at + 1] = override[i + 1]!;
        else args.push(override[i]!, override[i + 1]!);
      }
      const r = run(...args);
      assert.equal(r.status, 2, `${override.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, pattern, override.join(' '));
      assert.doesNotMatch(r.stderr, /at .*\.js:\d+/, 'no stack trace');
    }
    assert.deepEqual(readFileSync(join(out, 'pred.npy')), before);
    assert.ok(!existsSync(join(dir, 'never')));
  });
});

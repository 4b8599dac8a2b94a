// `tesserae export --format reference`: a tesserae MAE checkpoint written under
// facebookresearch/mae's names, which `tesserae reconstruct --weights` then runs to the same
// prediction as tesserae's own model on the same images and masking noise; a model the reference
// cannot express (DiT, UMD) is a ConfigError naming the formats it can use, and nothing is written.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { Key, disposeParams, initOpt, presetSpec, readNpy, readSafetensors, writeNpy, buildModel, spec } from '../../src/index.js';
import { saveModelCheckpoint } from '../../src/node/index.js';
import { ownPrediction, perturbedParams, smallMae } from '../reference/maeSpec.js';
import { randomReferenceWeights } from '../reference/maeWeights.js';
import { assertClose, onCpu } from '../helpers.js';

const cli = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'tesserae-export-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
const norm = { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] };

describe('tesserae export --format reference', () => {
  onCpu();

  it('writes the reference names, and reconstruct on them predicts what tesserae predicts', () => {
    const s = smallMae();
    const params = perturbedParams(s, 11);
    const ck = saveModelCheckpoint(join(dir, 'mae'), { params, opt: initOpt(params), step: 3 }, { model: s, norm });
    const n = 2;
    const images = Key.uniform(Key.key(12), n * 16 * 16 * 3);
    const noise = Key.uniform(Key.key(13), n * 16);
    const own = ownPrediction(s, params, images, n, noise);
    disposeParams(params);

    const out = join(dir, 'mae_ref.safetensors');
    const r = run('export', '--checkpoint', ck, '--format', 'reference', '--out', out);
    assert.equal(r.status, 0, r.stderr);
    const summary = JSON.parse(r.stdout.trim().split('\n').pop()!) as { format: string; step: number };
    assert.equal(summary.format, 'reference');
    assert.equal(summary.step, 3);
    const file = readSafetensors(new Uint8Array(readFileSync(out)), out);
    const want = randomReferenceWeights(Key.key(0), {
      side: 4,
      patch: 4,
      channels: 3,
      width: 16,
      depth: 2,
      decoderWidth: 8,
      decoderDepth: 2,
    });
    assert.deepEqual([...file.tensors.keys()].sort(), [...want.keys()].sort());
    for (const [k, v] of want) assert.deepEqual(file.tensors.get(k)!.shape, v.shape, k);

    writeFileSync(join(dir, 'x.npy'), writeNpy({ shape: [n, 16, 16, 3], data: images }));
    writeFileSync(join(dir, 'u.npy'), writeNpy({ shape: [n, 16], data: noise }));
    const recon = join(dir, 'recon');
    const args = [
      '--images',
      join(dir, 'x.npy'),
      '--noise',
      join(dir, 'u.npy'),
      '--heads',
      '4',
      '--decoder-heads',
      '2',
      '--backend',
      'cpu',
    ];
    const rr = run('reconstruct', '--weights', out, ...args, '--out', recon);
    assert.equal(rr.status, 0, rr.stderr);
    const pred = readNpy(new Uint8Array(readFileSync(join(recon, 'pred.npy'))), 'pred.npy');
    assert.deepEqual(pred.shape, [n, 16, 48]);
    assertClose(pred.data as Float32Array, own, 1e-5, 'pred', 1e-5);

    // half precision: the same names, and reconstruct still gets close
    const half = join(dir, 'mae_ref16.safetensors');
    assert.equal(run('export', '--checkpoint', ck, '--format', 'reference', '--dtype', 'float16', '--out', half).status, 0);
    const tensors16 = readSafetensors(new Uint8Array(readFileSync(half)), half).tensors;
    assert.ok([...tensors16].every(([k, t]) => t.dtype === (k.endsWith('pos_embed') ? 'F32' : 'F16')));
    const rh = run('reconstruct', '--weights', half, ...args, '--out', join(dir, 'recon16'));
    assert.equal(rh.status, 0, rh.stderr);
    const pred16 = readNpy(new Uint8Array(readFileSync(join(dir, 'recon16', 'pred.npy'))), 'pred.npy');
    assertClose(pred16.data as Float32Array, own, 5e-2, 'pred (float16)', 5e-2);
  });

  it('a model the reference cannot express is refused with the formats it can use, and nothing is written', () => {
    for (const [method, pattern] of [
      [
        'dit',
        /--format = "reference": .*dit micro\/4 .*facebookresearch\/DiT; .*affine LayerNorm \(encoder\.norm\).*Formats it can use: tesserae/,
      ],
      ['umd', /--format = "reference": .*umd micro\/4 .*encoder is conditioned \(adaln\).*Formats it can use: tesserae/],
    ] as const) {
      const s = presetSpec(method, 'micro/4', { image: [8, 8, 1] });
      const { params } = buildModel(s).init(Key.key(1), { images: spec([-1, 8, 8, 1]) });
      const ck = saveModelCheckpoint(
        join(dir, method),
        { params, opt: initOpt(params), step: 0 },
        { model: s, norm: { mean: [0], std: [1] } },
      );
      disposeParams(params);
      const out = join(dir, `${method}_ref.safetensors`);
      const r = run('export', '--checkpoint', ck, '--format', 'reference', '--out', out);
      assert.equal(r.status, 2, r.stdout + r.stderr);
      assert.match(r.stderr, pattern);
      assert.match(r.stderr, new RegExp(ck.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
      assert.doesNotMatch(r.stderr, /at .*\.js:\d+/, 'no stack trace');
      assert.ok(!existsSync(out));
      // the tesserae format still works
      assert.equal(run('export', '--checkpoint', ck, '--out', out).status, 0);
    }
    const bad = run('export', '--checkpoint', 'x', '--format', 'onnx', '--out', join(dir, 'y.safetensors'));
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--format = "onnx": must be one of tesserae, reference/);
  });
});

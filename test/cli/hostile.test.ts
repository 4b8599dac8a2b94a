// Hostile checkpoints from the command line: metadata never picks a file to open or a size to
// allocate, NaN weights are refused, and an export names no path. Each case fails promptly with
// exit 2 and a typed error; before this, they read /dev/zero until memory ran out, echoed the
// first bytes of /etc/passwd, walked the root folder, or allocated gigabytes.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import {
  Key,
  buildModel,
  encodeWeights,
  flatten,
  presetSpec,
  MAE_PRESETS,
  readSafetensors,
  spec as tensorSpec,
  writeNpy,
  writeSafetensors,
} from '../../src/index.js';
import { randomReferenceWeights } from '../reference/maeWeights.js';
import { disposeAll, onCpu } from '../helpers.js';

const cli = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'tesserae-hostile-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 60_000 });

/** A valid micro MAE weights file (in 0.1.0's metadata format) whose metadata `edit` then changes. */
const checkpoint = (name: string, edit: (meta: Record<string, string>) => Record<string, string>): string => {
  const s = presetSpec('mae', 'micro/4');
  const p = buildModel(s).init(Key.key(0), { images: tensorSpec([-1, ...s.image]) }).params;
  // written as 0.1.0 wrote checkpoints (method and model entries): the format a hostile file is most likely to take
  const bytes = encodeWeights(p, 2, {
    method: 'mae',
    model: JSON.stringify(MAE_PRESETS['micro/4']),
    norm: JSON.stringify({ mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] }),
    data: '{"kind":"synthetic"}',
    train: '{"seed":0}',
  });
  disposeAll(...flatten(p).map(([, t]) => t));
  const st = readSafetensors(bytes, name);
  const path = join(dir, name);
  writeFileSync(path, writeSafetensors([...st.tensors], edit({ ...st.metadata })));
  return path;
};

describe('hostile checkpoint metadata on the command line', () => {
  onCpu();

  it('eval never opens a data path named by the metadata (/dev/zero, /etc/passwd, folder:/), nor an unknown kind', () => {
    const cases: [string, RegExp][] = [
      ['{"kind":"npy","images":"/dev/zero"}', /ConfigError: --data = undefined: .* never chooses a file to open/],
      ['{"kind":"npy","images":"/etc/passwd"}', /never chooses a file to open/],
      ['{"kind":"folder","dir":"/"}', /never chooses a file to open/],
      ['{"kind":"ftp"}', /FormatError: .*is not a known data source/],
    ];
    cases.forEach(([data, want], i) => {
      const ckpt = checkpoint(`data-${i}.safetensors`, (m) => ({ ...m, data }));
      const t0 = Date.now();
      const r = run('eval', '--checkpoint', ckpt, '--probe', 'knn', '--backend', 'wasm');
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, want);
      assert.doesNotMatch(r.stderr, /root:|at \S+ \(/, 'no file bytes, no stack trace');
      assert.ok(Date.now() - t0 < 30_000);
    });
  });

  it('inpaint and eval refuse a description far larger than the file (depth 10^9, width 8192, 65536 x 65536) without allocating it', () => {
    const edits = [
      (c: Record<string, unknown>) => ({ ...c, encoder: { width: 64, depth: 1e9, heads: 4 } }),
      (c: Record<string, unknown>) => ({ ...c, encoder: { width: 8192, depth: 4, heads: 4 } }),
      (c: Record<string, unknown>) => ({ ...c, image: [65536, 65536, 3] }),
    ];
    const images = join(dir, 'x.npy');
    writeFileSync(images, writeNpy({ shape: [2, 32, 32, 3], data: Key.uniform(Key.key(1), 2 * 32 * 32 * 3) }));
    edits.forEach((edit, i) => {
      const ckpt = checkpoint(`big-${i}.safetensors`, (m) => ({ ...m, model: JSON.stringify(edit(JSON.parse(m['model']!))) }));
      for (const args of [
        ['inpaint', '--checkpoint', ckpt, '--images', images, '--out', join(dir, `inpaint-${i}`)],
        ['eval', '--checkpoint', ckpt, '--probe', 'knn'],
      ]) {
        const r = run(...args, '--backend', 'wasm');
        assert.equal(r.status, 2, `${args[0]}: ${r.stderr}`);
        assert.match(r.stderr, /FormatError: .*big-\d\.safetensors: metadata /);
      }
    });
  });

  it('inpaint refuses NaN weights; reconstruct refuses infinite reference weights', () => {
    const nan = join(dir, 'nan.safetensors');
    const st = readSafetensors(new Uint8Array(readFileSync(checkpoint('ok.safetensors', (m) => m))), 'ok');
    writeFileSync(
      nan,
      writeSafetensors(
        [...st.tensors].map(
          ([k, t]) =>
            [k, k === 'params.encoder.cls.tokens' ? { dtype: 'F32', shape: t.shape, data: new Float32Array(64).fill(NaN) } : t] as const,
        ),
        st.metadata,
      ),
    );
    const images = join(dir, 'x.npy');
    const r = run('inpaint', '--checkpoint', nan, '--images', images, '--out', join(dir, 'nan-out'), '--backend', 'wasm');
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /"params\.encoder\.cls\.tokens" holds NaN at index 0: weights must be finite/);

    const ref = randomReferenceWeights(Key.key(5), {
      side: 4,
      patch: 4,
      channels: 3,
      width: 16,
      depth: 2,
      decoderWidth: 8,
      decoderDepth: 2,
    });
    const entries = [...ref].map(([k, v], i) => {
      const data = Float32Array.from(v.data);
      if (i === 3) data[0] = Infinity;
      return [k, { dtype: 'F32' as const, shape: v.shape, data }] as const;
    });
    const w = join(dir, 'inf.safetensors');
    writeFileSync(w, writeSafetensors(entries));
    writeFileSync(join(dir, 'r.npy'), writeNpy({ shape: [1, 16, 16, 3], data: Key.uniform(Key.key(6), 16 * 16 * 3) }));
    writeFileSync(join(dir, 'u.npy'), writeNpy({ shape: [1, 16], data: Key.uniform(Key.key(7), 16) }));
    const rr = run(
      'reconstruct',
      ...['--weights', w, '--images', join(dir, 'r.npy'), '--noise', join(dir, 'u.npy'), '--heads', '4', '--decoder-heads', '2'],
      ...['--out', join(dir, 'recon'), '--backend', 'cpu'],
    );
    assert.equal(rr.status, 2, rr.stderr);
    assert.match(rr.stderr, /holds Infinity at index 0: weights must be finite/);
  });

  it('export writes no path: not where it was exported from, not the data it was trained on', () => {
    const ckpt = checkpoint('private.safetensors', (m) => ({
      ...m,
      data: JSON.stringify({ kind: 'npy', images: join(dir, 'secret.npy') }),
    }));
    const out = join(dir, 'public.safetensors');
    const r = run('export', '--checkpoint', ckpt, '--out', out);
    assert.equal(r.status, 0, r.stderr);
    const meta = readSafetensors(new Uint8Array(readFileSync(out)), out).metadata;
    assert.ok(!JSON.stringify(meta).includes(dir), JSON.stringify(meta));
    // a 0.1.0 checkpoint exports as a 0.2.0 spec
    assert.equal(meta['method'], undefined);
    assert.equal(JSON.parse(meta['spec']!).network.decoder.kind, 'mask-token');
  });
});

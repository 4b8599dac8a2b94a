/**
 * The .npy and safetensors readers on byte views: a Node Buffer from readFileSync, a subarray at
 * any byte offset, a pooled small Buffer. They must read exactly the view's bytes, never write
 * into the caller's memory, and return arrays that share no memory with it.
 */
import { arbNpy, arbTensors, bytesOf, NPY_SIZE, product } from './arbitraries.js';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { readNpy, readNpyFloat32, writeNpy, type NpyDType, type NpyInput } from '../../src/io/npy.js';
import { readSafetensors, toFloat32, writeSafetensors } from '../../src/io/safetensors.js';

/** Where the file bytes are put: a plain Uint8Array, a Buffer, or a pooled small Buffer from Buffer.from. */
type Container = 'uint8' | 'buffer' | 'pooled';

/** The file embedded at `before` in a junk-filled container of kind `kind`; returns the view. */
const embed = (file: Uint8Array, kind: Container, before: Uint8Array, after: Uint8Array): Uint8Array => {
  const all = new Uint8Array(before.length + file.length + after.length);
  all.set(before);
  all.set(file, before.length);
  all.set(after, before.length + file.length);
  if (kind === 'uint8') return all.subarray(before.length, before.length + file.length);
  if (kind === 'buffer') return Buffer.from(all).subarray(before.length, before.length + file.length);
  // Buffer.from copies a small array into the shared 8 KB pool: a view at a non-zero offset among other data.
  return Buffer.from(file);
};

const arbContainer = fc.record({
  kind: fc.constantFrom<Container>('uint8', 'buffer', 'pooled'),
  before: fc.uint8Array({ maxLength: 19 }),
  after: fc.uint8Array({ maxLength: 19 }),
});

/** Every byte of the memory the view lives in, to check afterwards that nothing was written. */
const snapshot = (view: Uint8Array): Uint8Array => new Uint8Array(view.buffer).slice();

/** The returned array owns exactly its own memory: not the caller's buffer, no bytes beyond it. */
const ownsItsMemory = (data: ArrayBufferView, view: Uint8Array): void => {
  assert.notEqual(data.buffer, view.buffer, 'returned data shares the caller buffer');
  assert.equal(data.byteOffset, 0);
  assert.equal(data.buffer.byteLength, data.byteLength, 'returned data is a window on a larger buffer');
};

// ---------------------------------------------------------------- .npy

const restore = (arr: NpyInput & { dtype: NpyDType }, bigEndian: boolean, fortran: boolean): Uint8Array => {
  const file = writeNpy(arr);
  const pre = file.indexOf(0x0a) + 1;
  let header = String.fromCharCode(...file.subarray(0, pre));
  if (bigEndian) header = header.replace("'descr': '<", "'descr': '>");
  if (fortran) header = header.replace("'fortran_order': False,", "'fortran_order': True ,");
  const out = file.slice();
  out.set(Array.from(header, (ch) => ch.charCodeAt(0)));
  const size = NPY_SIZE[arr.dtype];
  const data = file.subarray(pre);
  const shape = arr.shape;
  const n = product(shape);
  for (let c = 0; c < n; c++) {
    // C index -> multi-index (last axis fastest) -> Fortran index (first axis fastest)
    let f = 0;
    for (let k = shape.length - 1, rest = c; k >= 0; k--) {
      f += (rest % shape[k]!) * product(shape.slice(0, k));
      rest = Math.floor(rest / shape[k]!);
    }
    const to = fortran ? f : c;
    for (let j = 0; j < size; j++) out[pre + to * size + j] = data[c * size + (bigEndian ? size - 1 - j : j)]!;
  }
  return out;
};

describe('readers on byte views', () => {
  it('readNpy and readNpyFloat32 are exact on a view at any offset in a junk-filled Buffer or Uint8Array, and leave it unchanged', () => {
    fc.assert(
      fc.property(arbNpy, fc.boolean(), fc.boolean(), arbContainer, (arr, bigEndian, fortran, { kind, before, after }) => {
        const view = embed(restore(arr, bigEndian, fortran), kind, before, after);
        const was = snapshot(view);
        const a = readNpy(view, 'view.npy');
        assert.deepEqual([a.dtype, a.shape], [arr.dtype, arr.shape]);
        if (arr.dtype === 'float16') assert.deepEqual(Array.from(a.data), Array.from(arr.data));
        else assert.deepEqual(bytesOf(a.data), bytesOf(arr.data));
        ownsItsMemory(a.data, view);
        const f = readNpyFloat32(view, 'view.npy');
        assert.deepEqual(Array.from(f.data), Array.from(Float32Array.from(arr.data)));
        ownsItsMemory(f.data, view);
        assert.deepEqual(snapshot(view), was, "the caller's bytes are unchanged");
        // Writing into what came back does not reach the caller's bytes either.
        if (a.data.length > 0) {
          a.data[0] = a.data[0] === 1 ? 0 : 1;
          assert.deepEqual(snapshot(view), was);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('big-endian .npy data is converted in a copy: the caller buffer is not byte-swapped', () => {
    const file = restore({ dtype: 'int32', shape: [3], data: Int32Array.of(1, 2, 3) }, true, false);
    const buf = Buffer.from(file);
    const was = Buffer.from(buf);
    assert.deepEqual(Array.from(readNpy(buf, 'be.npy').data), [1, 2, 3]);
    assert.deepEqual(buf, was);
    assert.deepEqual(Array.from(readNpy(buf, 'be.npy').data), [1, 2, 3], 'the second read sees the same bytes');
  });

  // ---------------------------------------------------------------- safetensors

  it('readSafetensors and toFloat32 are exact on a view at any offset in a junk-filled Buffer or Uint8Array, and leave it unchanged', () => {
    fc.assert(
      fc.property(arbTensors, arbContainer, (tensors, { kind, before, after }) => {
        const view = embed(writeSafetensors(tensors, { k: 'v' }), kind, before, after);
        const was = snapshot(view);
        const r = readSafetensors(view, 'view.safetensors');
        assert.deepEqual(r.metadata, { k: 'v' });
        assert.deepEqual([...r.tensors.keys()].sort(), tensors.map(([name]) => name).sort());
        for (const [name, t] of tensors) {
          const back = r.tensors.get(name)!;
          assert.deepEqual([back.dtype, back.shape], [t.dtype, t.shape]);
          assert.equal(back.data.length, t.data.length);
          assert.deepEqual(bytesOf(back.data), bytesOf(t.data));
          ownsItsMemory(back.data, view);
          const f = toFloat32(back);
          assert.deepEqual(Array.from(f), Array.from(toFloat32(t)));
          assert.notEqual(f.buffer, view.buffer);
        }
        assert.deepEqual(snapshot(view), was, "the caller's bytes are unchanged");
      }),
      { numRuns: 300 },
    );
  });

  it('reads real readFileSync Buffers (pooled when small, whole when large) and pooled Buffer.from copies exactly', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tesserae-views-'));
    try {
      const big = Float32Array.from({ length: 48 * 64 }, (_, i) => i / 7);
      const small = Float32Array.from({ length: 6 }, (_, i) => i - 2.5);
      for (const [name, data, shape] of [
        ['big', big, [48, 64]],
        ['small', small, [2, 3]],
      ] as const) {
        writeFileSync(join(dir, `${name}.safetensors`), writeSafetensors([['w', { dtype: 'F32', shape: [...shape], data }]]));
        writeFileSync(join(dir, `${name}.npy`), writeNpy({ shape, data }));
        for (const bytes of [readFileSync(join(dir, `${name}.safetensors`)), Buffer.from(readFileSync(join(dir, `${name}.safetensors`)))]) {
          const w = readSafetensors(bytes, `${name}.safetensors`).tensors.get('w')!;
          assert.deepEqual([w.shape, w.data.length], [shape, data.length], `${name}.safetensors at byte offset ${bytes.byteOffset}`);
          assert.deepEqual(toFloat32(w), data);
        }
        for (const bytes of [readFileSync(join(dir, `${name}.npy`)), Buffer.from(readFileSync(join(dir, `${name}.npy`)))]) {
          assert.deepEqual(readNpy(bytes, `${name}.npy`).data, data, `${name}.npy at byte offset ${bytes.byteOffset}`);
          assert.deepEqual(readNpyFloat32(bytes, `${name}.npy`).data, data);
        }
      }
      assert.ok(readFileSync(join(dir, 'small.npy')).byteOffset > 0, 'a small file is read into the shared pool');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

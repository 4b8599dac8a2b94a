/**
 * readNpyImages on real-sized and hostile files: bounded memory (chunked reads), no spreads of
 * large arrays, shapes justified by the bytes, pixel range, and typed file-system errors.
 */
import assert from 'node:assert/strict';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DataError, FormatError, IoError } from '../../src/core/errors.js';
import { readNpyFloat32, writeNpy } from '../../src/io/npy.js';
import { loadSplits, readNpyImages } from '../../src/node/datasets.js';

const dir = mkdtempSync(join(tmpdir(), 'tesserae-npyimages-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A version 1.0 .npy preamble (magic, version, length, header padded to 64 bytes) for `descr` and `shape`. */
const preamble = (descr: string, shape: readonly number[], fortran = false): Uint8Array => {
  const dict = `{'descr': '${descr}', 'fortran_order': ${fortran ? 'True' : 'False'}, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const len = dict.length + 1 + 64 - ((10 + dict.length + 1) % 64);
  const text = dict.padEnd(len - 1, ' ') + '\n';
  return Uint8Array.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, len & 255, len >> 8, ...Array.from(text, (c) => c.charCodeAt(0))]);
};

/** Writes a header then `bytes` zero bytes in 8 MB chunks, with `marks` (byte index -> value) set. */
const writeLarge = (path: string, head: Uint8Array, bytes: number, marks: ReadonlyMap<number, number>): void => {
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, head);
    const chunk = new Uint8Array(1 << 23);
    for (let at = 0; at < bytes; at += chunk.length) {
      const part = chunk.subarray(0, Math.min(chunk.length, bytes - at));
      part.fill(0);
      for (const [i, v] of marks) if (i >= at && i < at + part.length) part[i - at] = v;
      writeSync(fd, part);
    }
  } finally {
    closeSync(fd);
  }
};

const throwsIo = (f: () => unknown, path: string, errno: string): void =>
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof IoError, `expected an IoError, got ${String(e)}`);
    assert.equal(e.path, path);
    assert.equal(e.errno, errno);
    assert.ok(e.message.startsWith(`${path}: cannot `), e.message);
    return true;
  });

describe('readNpyImages: real sizes, bounded memory', () => {
  it('loads a uint8 array of 50,000 x 32 x 32 x 3 (CIFAR-10 size) exactly, across chunk boundaries', () => {
    const path = join(dir, 'cifar.npy');
    const n = 50_000 * 32 * 32 * 3;
    // Marks at the first byte, around 4 MB and 8 MB boundaries, and the last byte.
    const marks = new Map([
      [0, 255],
      [(1 << 22) - 1, 51],
      [1 << 22, 255],
      [(1 << 23) + 1, 102],
      [n - 1, 255],
    ]);
    writeLarge(path, preamble('|u1', [50_000, 32, 32, 3]), n, marks);
    const t0 = performance.now();
    const d = readNpyImages(path);
    const ms = performance.now() - t0;
    assert.deepEqual([d.count, d.height, d.width, d.channels, d.images.length, d.labels.length], [50_000, 32, 32, 3, n, 50_000]);
    for (const [i, v] of marks) assert.equal(d.images[i], Math.fround(v / 255), `byte ${i}`);
    let nonzero = 0;
    for (let i = 0; i < n; i++) if (d.images[i] !== 0) nonzero++;
    assert.equal(nonzero, marks.size);
    assert.ok(ms < 20_000, `took ${ms.toFixed(0)} ms`);
    rmSync(path);
  });

  it('loads 200,000 samples with 200,000 labels (no spread into Math.max)', () => {
    const count = 200_000;
    writeFileSync(join(dir, 'many.npy'), writeNpy({ shape: [count, 1, 1, 1], data: new Uint8Array(count) }));
    writeFileSync(
      join(dir, 'many-labels.npy'),
      writeNpy({ shape: [count], data: Int32Array.from({ length: count }, (_, i) => i % 10), dtype: 'int64' }),
    );
    const d = readNpyImages(join(dir, 'many.npy'), join(dir, 'many-labels.npy'));
    assert.equal(d.count, count);
    assert.equal(d.labels[count - 1], (count - 1) % 10);
    assert.deepEqual(d.classes, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  });

  it('a header claiming (7e8, 0, 32, 3) in a 128-byte file is a FormatError, not a 2.8 GB allocation', () => {
    const path = join(dir, 'claim.npy');
    const head = preamble('|u1', [700_000_000, 0, 32, 3]);
    assert.equal(head.length, 128);
    writeFileSync(path, head);
    assert.throws(
      () => readNpyImages(path),
      (e: unknown) => e instanceof FormatError && e.file === path && /zero-size dimension 1/.test(e.message),
    );
    // A shape whose product overflows, or disagrees with the bytes present, never allocates either.
    writeFileSync(join(dir, 'overflow.npy'), Uint8Array.from([...preamble('<f4', [2 ** 40, 2 ** 40, 2 ** 40, 3]), 0, 0, 0, 0]));
    assert.throws(
      () => readNpyImages(join(dir, 'overflow.npy')),
      (e: unknown) => e instanceof FormatError && /needs \d+ bytes/.test(e.message),
    );
    writeFileSync(join(dir, 'ok.npy'), writeNpy({ shape: [2, 1, 1, 3], data: new Float32Array(6) }));
    writeFileSync(join(dir, 'huge-label.npy'), writeNpy({ shape: [2], data: Int32Array.of(0, 2 ** 31 - 1) }));
    assert.throws(
      () => readNpyImages(join(dir, 'ok.npy'), join(dir, 'huge-label.npy')),
      (e: unknown) =>
        e instanceof FormatError && e.file === join(dir, 'huge-label.npy') && /label 2147483647 at index 1 is too large/.test(e.message),
    );
  });
});

describe('readNpyImages: pixel range', () => {
  it('rejects float pixels outside [0, 1] by more than 0.01, naming the file, the first bad index and the value', () => {
    const within = Float32Array.from({ length: 2 * 2 * 2 * 3 }, (_, i) => [-0.009, 0.5, 1.009][i % 3]!);
    writeFileSync(join(dir, 'within.npy'), writeNpy({ shape: [2, 2, 2, 3], data: within }));
    assert.deepEqual(readNpyImages(join(dir, 'within.npy')).images, within, 'small excursions (rounding) are accepted');
    for (const [dtype, bad] of [
      ['float32', 1.5],
      ['float64', -0.25],
      ['float16', 255],
    ] as const) {
      const data = new Float32Array(24).fill(0.5);
      data[7] = bad;
      data[9] = 3;
      const path = join(dir, `range-${dtype}.npy`);
      writeFileSync(
        path,
        writeNpy(dtype === 'float64' ? { shape: [2, 2, 2, 3], data: Float64Array.from(data) } : { shape: [2, 2, 2, 3], data, dtype }),
      );
      assert.throws(
        () => readNpyImages(path),
        (e: unknown) =>
          e instanceof DataError &&
          e.index === 7 &&
          e.value === bad &&
          e.message.includes(path) &&
          /outside \[0, 1\]/.test(e.message) &&
          /uint8/.test(e.message),
        dtype,
      );
    }
    writeFileSync(join(dir, 'u8.npy'), writeNpy({ shape: [1, 1, 2, 3], data: Uint8Array.of(0, 1, 128, 200, 254, 255) }));
    assert.deepEqual(
      Array.from(readNpyImages(join(dir, 'u8.npy')).images),
      [0, 1, 128, 200, 254, 255].map((v) => Math.fround(v / 255)),
      'uint8 is scaled by 1/255',
    );
  });

  it('converts big-endian float64 Fortran-order files larger than a chunk exactly, and names a bad pixel by its C-order index', () => {
    const shape = [2, 300, 400, 3];
    const n = 2 * 300 * 400 * 3; // 5.8 MB of float64: more than one chunk
    const c = Float64Array.from({ length: n }, (_, i) => ((i * 7919) % 1000) / 999);
    const fortranBE = (values: Float64Array): Uint8Array => {
      const out = new Uint8Array(n * 8);
      const v = new DataView(out.buffer);
      const [a, b, h, w] = shape as [number, number, number, number];
      for (let i0 = 0; i0 < a; i0++)
        for (let i1 = 0; i1 < b; i1++)
          for (let i2 = 0; i2 < h; i2++)
            for (let i3 = 0; i3 < w; i3++)
              v.setFloat64(8 * (i0 + a * (i1 + b * (i2 + h * i3))), values[((i0 * b + i1) * h + i2) * w + i3]!, false);
      return out;
    };
    const good = Uint8Array.from([...preamble('>f8', shape, true), ...fortranBE(c)]);
    writeFileSync(join(dir, 'fbe.npy'), good);
    const d = readNpyImages(join(dir, 'fbe.npy'));
    assert.deepEqual(d.images, Float32Array.from(c));
    assert.deepEqual(d.images, readNpyFloat32(good, 'fbe.npy').data);
    const bad = c.slice();
    const at = ((1 * 300 + 200) * 400 + 17) * 3 + 2;
    bad[at] = 7;
    writeFileSync(join(dir, 'fbe-bad.npy'), Uint8Array.from([...preamble('>f8', shape, true), ...fortranBE(bad)]));
    assert.throws(
      () => readNpyImages(join(dir, 'fbe-bad.npy')),
      (e: unknown) => e instanceof DataError && e.index === at && e.value === 7,
    );
  });
});

describe('readNpyImages: file-system errors', () => {
  it('a folder, a missing path, a path through a file and a symlink loop are IoErrors naming the path', () => {
    const folder = join(dir, 'a-folder.npy');
    mkdirSync(folder);
    const file = join(dir, 'plain.npy');
    writeFileSync(file, writeNpy({ shape: [1, 1, 1, 3], data: new Float32Array(3) }));
    const loop = join(dir, 'loop.npy');
    symlinkSync(loop, loop);
    const cases: [string, string][] = [
      [folder, 'EISDIR'],
      [join(dir, 'missing.npy'), 'ENOENT'],
      [join(file, 'inner.npy'), 'ENOTDIR'],
      [loop, 'ELOOP'],
    ];
    for (const [path, errno] of cases) {
      throwsIo(() => readNpyImages(path), path, errno);
      throwsIo(() => readNpyImages(file, path), path, errno);
    }
    throwsIo(() => loadSplits({ kind: 'npy', images: folder }, { count: 0, held: 1, seed: 0 }), folder, 'EISDIR');
  });
});

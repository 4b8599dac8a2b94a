import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { deflateSync } from 'node:zlib';
import jpeg from 'jpeg-js';
import { ConfigError, FormatError, IoError } from '../../src/core/errors.js';
import { encodePng, type Image8 } from '../../src/io/png.js';
import { FIT_MODES, fitImage } from '../../src/vision/fit.js';
import { CIFAR10_CLASSES, loadCifar10, loadClipFolder, loadImageFolder } from '../../src/node/loaders.js';

const root = mkdtempSync(join(tmpdir(), 'tesserae-loaders-'));
after(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;
const freshDir = (): string => {
  const d = join(root, `d${dirs++}`);
  mkdirSync(d, { recursive: true });
  return d;
};

/** Asserts that `f` throws an IoError naming `path`, with system code `errno`. */
const throwsIo = (f: () => unknown, path: string, errno: string): void =>
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof IoError, `expected an IoError, got ${String(e)}`);
    assert.equal(e.path, path);
    assert.equal(e.errno, errno);
    assert.ok(e.message.startsWith(`${path}: cannot `), e.message);
    return true;
  });

/** Asserts that `f` throws a FormatError whose file contains `file` and whose message matches `problem`. */
const throwsFormat = (f: () => unknown, file: string, problem: RegExp): void =>
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof FormatError, `expected a FormatError, got ${String(e)}`);
    assert.ok(e.file.includes(file), `file ${e.file} should name ${file}`);
    assert.match(e.message, problem);
    return true;
  });

const RECORD = 3073;
const RECORDS = 7;
/** Fixture byte of record r (global index n), channel c, pixel p; the label is n mod 10. */
const pixelByte = (n: number, c: number, p: number): number => (n * 31 + c * 101 + p * 7) & 255;

const writeBatch = (path: string, first: number, records = RECORDS): void => {
  const bytes = new Uint8Array(records * RECORD);
  for (let r = 0; r < records; r++) {
    bytes[r * RECORD] = (first + r) % 10;
    for (let c = 0; c < 3; c++) for (let p = 0; p < 1024; p++) bytes[r * RECORD + 1 + c * 1024 + p] = pixelByte(first + r, c, p);
  }
  writeFileSync(path, bytes);
};

/** A CIFAR-10 layout: <parent>/cifar-10-batches-bin/{data_batch_1..5,test_batch}.bin. */
const cifarFixture = (): { parent: string; bin: string } => {
  const parent = freshDir();
  const bin = join(parent, 'cifar-10-batches-bin');
  mkdirSync(bin);
  for (let b = 1; b <= 5; b++) writeBatch(join(bin, `data_batch_${b}.bin`), (b - 1) * RECORDS);
  writeBatch(join(bin, 'test_batch.bin'), 100);
  return { parent, bin };
};

describe('loadCifar10', () => {
  it('reads the train and test batches into channels-last [N, 32, 32, 3] floats with labels', () => {
    const { parent, bin } = cifarFixture();
    const train = loadCifar10(bin, 'train');
    assert.deepEqual([train.count, train.height, train.width, train.channels], [5 * RECORDS, 32, 32, 3]);
    assert.equal(train.images.length, 5 * RECORDS * 32 * 32 * 3);
    assert.deepEqual(
      Array.from(train.labels),
      Array.from({ length: 5 * RECORDS }, (_, n) => n % 10),
    );
    assert.deepEqual(train.classes, CIFAR10_CLASSES);
    // Record 9 (second batch), pixel (y = 5, x = 17): byte y * 32 + x of each colour plane.
    const [n, y, x] = [9, 5, 17];
    for (let c = 0; c < 3; c++) {
      assert.equal(train.images[((n * 32 + y) * 32 + x) * 3 + c], Math.fround(pixelByte(n, c, y * 32 + x) / 255));
    }
    assert.ok(train.images.every((v) => v >= 0 && v <= 1));
    const test = loadCifar10(parent, 'test');
    assert.equal(test.count, RECORDS);
    assert.deepEqual(Array.from(test.labels), [0, 1, 2, 3, 4, 5, 6]);
    assert.equal(test.images[3 * 1024 * 3 + 2], Math.fround(pixelByte(103, 2, 0) / 255));
  });

  it('takes class names from batches.meta.txt when present', () => {
    const { bin } = cifarFixture();
    const names = Array.from({ length: 10 }, (_, i) => `class ${i}`);
    writeFileSync(join(bin, 'batches.meta.txt'), `${names.join('\n')}\n\n\n`);
    assert.deepEqual(loadCifar10(bin, 'test').classes, names);
    writeFileSync(join(bin, 'batches.meta.txt'), 'a\nb\n');
    throwsFormat(() => loadCifar10(bin, 'test'), 'batches.meta.txt', /expected 10 class names.*found 2/);
  });

  it('names the missing file, the expected files and where it looked', () => {
    const { parent, bin } = cifarFixture();
    unlinkSync(join(bin, 'data_batch_3.bin'));
    throwsFormat(
      () => loadCifar10(parent, 'train'),
      'data_batch_3.bin',
      /expected data_batch_1\.bin, .*data_batch_5\.bin in .* or .*cifar-10-batches-bin/,
    );
    assert.equal(loadCifar10(parent, 'test').count, RECORDS, 'the test split is still complete');
    throwsFormat(() => loadCifar10(freshDir(), 'test'), 'test_batch.bin', /missing CIFAR-10 test files/);
    assert.throws(() => loadCifar10(parent, 'val' as 'test'), ConfigError);
  });

  it('rejects a file whose size is not a multiple of 3073 and a label byte above 9', () => {
    const { bin } = cifarFixture();
    writeFileSync(join(bin, 'test_batch.bin'), new Uint8Array(RECORD * 2 + 5));
    throwsFormat(() => loadCifar10(bin, 'test'), 'test_batch.bin', /size 6151 bytes is not a positive multiple of 3073/);
    writeFileSync(join(bin, 'test_batch.bin'), new Uint8Array(0));
    throwsFormat(() => loadCifar10(bin, 'test'), 'test_batch.bin', /size 0 bytes/);
    const bytes = new Uint8Array(RECORD * 3);
    bytes[2 * RECORD] = 10;
    writeFileSync(join(bin, 'data_batch_4.bin'), bytes);
    throwsFormat(() => loadCifar10(bin, 'train'), 'data_batch_4.bin', /record 2 .*label 10 is not in 0\.\.9/);
  });
});

const image = (width: number, height: number, channels: 1 | 3 | 4, value: (i: number) => number): Image8 => ({
  width,
  height,
  channels,
  data: Uint8Array.from({ length: width * height * channels }, (_, i) => value(i)),
});
const writePng = (path: string, img: Image8): void =>
  writeFileSync(
    path,
    encodePng(img, (raw) => deflateSync(raw)),
  );
/** A uniform-colour JPEG (lossy, so compared with a tolerance). */
const writeJpeg = (path: string, width: number, height: number, rgb: readonly number[]): void => {
  const data = Uint8Array.from({ length: width * height * 4 }, (_, i) => (i % 4 === 3 ? 255 : rgb[i % 4]!));
  writeFileSync(path, jpeg.encode({ width, height, data }, 95).data);
};
const pixel = (d: { width: number; height: number; images: Float32Array }, n: number, y: number, x: number): number[] =>
  Array.from(d.images.subarray(((n * d.height + y) * d.width + x) * 3, ((n * d.height + y) * d.width + x) * 3 + 3));

describe('loadImageFolder', () => {
  it('maps sub-folders to sorted classes, orders files by path, decodes PNG and JPEG to RGB', () => {
    const dir = freshDir();
    for (const c of ['dog', 'cat', 'ant']) mkdirSync(join(dir, c));
    mkdirSync(join(dir, 'dog', 'puppies'));
    writePng(
      join(dir, 'cat', 'b.png'),
      image(4, 4, 3, () => 10),
    );
    writePng(
      join(dir, 'cat', 'A.PNG'),
      image(4, 4, 1, () => 51),
    ); // grey: replicated to RGB
    writePng(
      join(dir, 'ant', 'x.png'),
      image(4, 4, 4, (i) => (i % 4 === 3 ? 0 : 200)),
    ); // alpha dropped
    writeJpeg(join(dir, 'dog', 'z.jpeg'), 4, 4, [250, 128, 0]);
    writePng(
      join(dir, 'dog', 'puppies', 'p.png'),
      image(4, 4, 3, (i) => [1, 2, 3][i % 3]!),
    );
    writeFileSync(join(dir, 'dog', 'notes.txt'), 'not an image');
    writeFileSync(join(dir, 'stray.png'), 'files beside class folders are ignored');
    const d = loadImageFolder(dir);
    assert.deepEqual(d.classes, ['ant', 'cat', 'dog']);
    assert.deepEqual(Array.from(d.labels), [0, 1, 1, 2, 2]);
    assert.deepEqual([d.count, d.height, d.width, d.channels, d.images.length], [5, 4, 4, 3, 5 * 4 * 4 * 3]);
    const at = (n: number): number[] => pixel(d, n, 3, 2).map((v) => Math.round(v * 255));
    assert.deepEqual(at(0), [200, 200, 200]);
    assert.deepEqual(at(1), [51, 51, 51], 'cat/A.PNG sorts before cat/b.png');
    assert.deepEqual(at(2), [10, 10, 10]);
    assert.deepEqual(at(3), [1, 2, 3], 'dog/puppies/p.png sorts before dog/z.jpeg');
    at(4).forEach((v, c) => assert.ok(Math.abs(v - [250, 128, 0][c]!) <= 4, `JPEG channel ${c}: ${v}`));
  });

  it('loads a flat folder as one class named after it', () => {
    const dir = join(freshDir(), 'flowers');
    mkdirSync(dir);
    writePng(
      join(dir, '2.png'),
      image(3, 2, 3, () => 255),
    );
    writePng(
      join(dir, '1.png'),
      image(3, 2, 3, () => 0),
    );
    const d = loadImageFolder(dir);
    assert.deepEqual(d.classes, ['flowers']);
    assert.deepEqual(Array.from(d.labels), [0, 0]);
    assert.deepEqual([d.height, d.width], [2, 3]);
    assert.deepEqual(pixel(d, 0, 1, 2), [0, 0, 0]);
    assert.deepEqual(pixel(d, 1, 1, 2), [1, 1, 1]);
  });

  it("resizes every image to size x size (centre crop by default), and without a size to the first image's size", () => {
    const dir = freshDir();
    const same = image(6, 6, 3, (i) => (i * 53) & 255);
    writePng(join(dir, 'a.png'), same);
    writePng(
      join(dir, 'b.png'),
      image(17, 3, 3, () => 99),
    );
    writePng(
      join(dir, 'c.png'),
      image(1, 1, 1, () => 20),
    );
    writePng(
      join(dir, 'd.png'),
      image(4, 1, 1, (i) => i * 80),
    );
    const d = loadImageFolder(dir, { size: 6 });
    assert.deepEqual([d.count, d.height, d.width, d.images.length], [4, 6, 6, 4 * 6 * 6 * 3]);
    assert.deepEqual(
      Array.from(d.images.subarray(0, 108)),
      Array.from(same.data, (v) => Math.fround(v / 255)),
      'same size: unchanged',
    );
    const near = (a: number, b: number): boolean => Math.abs(a - b) < 1e-6;
    assert.ok(
      Array.from(d.images.subarray(108, 216)).every((v) => near(v, 99 / 255)),
      'uniform stays uniform (downsampled)',
    );
    assert.ok(
      Array.from(d.images.subarray(216, 324)).every((v) => near(v, 20 / 255)),
      '1x1 is replicated',
    );
    const ramp = Array.from({ length: 6 }, (_, x) => pixel(d, 3, 2, x)[0]!);
    assert.ok(ramp.every((v, x) => x === 0 || v >= ramp[x - 1]!) && ramp[0]! < ramp[5]!, `a ramp stays monotone: ${ramp}`);
    assert.ok(d.images.every((v) => v >= 0 && v <= 1));
    // without a size, the first image (a.png, 6 x 6) sets it and the others are fitted to it
    const first = loadImageFolder(dir);
    assert.deepEqual([first.count, first.height, first.width], [4, 6, 6]);
    assert.deepEqual(Array.from(first.images), Array.from(d.images));
    assert.throws(() => loadImageFolder(dir, { size: 0 }), ConfigError);
    assert.throws(() => loadImageFolder(dir, { size: 6, fit: 'zoom' as 'crop' }), ConfigError);
    assert.throws(() => loadImageFolder(dir, { height: 6 }), ConfigError);
    assert.throws(() => loadImageFolder(dir, { size: 6, width: 6 }), ConfigError);
  });

  it('loads a folder of mixed sizes and formats (RGBA PNG, grey PNG, JPEG) through fitImage, in every fit mode', () => {
    const dir = freshDir();
    const files: [string, Image8][] = [
      ['a-rgba.png', image(12, 6, 4, (i) => (i % 4 === 3 ? 0 : ((i >> 2) * 5) & 255))], // wide, alpha 0 everywhere
      ['b-grey.png', image(5, 9, 1, (i) => (i * 29) & 255)], // tall, grey
      ['c-rgb.png', image(8, 8, 3, (i) => (i * 13) & 255)],
    ];
    for (const [name, im] of files) writePng(join(dir, name), im);
    writeJpeg(join(dir, 'd.jpg'), 10, 4, [250, 128, 0]);
    const jpegPixels = jpeg.decode(readFileSync(join(dir, 'd.jpg')), { useTArray: true, formatAsRGBA: false });
    const all: Image8[] = [...files.map(([, im]) => im), { width: 10, height: 4, channels: 3, data: jpegPixels.data }];
    for (const fit of [undefined, ...FIT_MODES]) {
      for (const channels of [3, 1] as const) {
        const d = loadImageFolder(dir, { height: 6, width: 8, ...(fit === undefined ? {} : { fit }), channels });
        assert.deepEqual([d.count, d.height, d.width, d.channels], [4, 6, 8, channels]);
        all.forEach((im, n) =>
          assert.deepEqual(
            Array.from(d.images.subarray(n * 48 * channels, (n + 1) * 48 * channels)),
            Array.from(fitImage(im, { height: 6, width: 8, fit: fit ?? 'crop', channels })),
            `${fit ?? 'default'} x ${channels}: image ${n} is not what fitImage gives`,
          ),
        );
      }
    }
    // the default is crop: the 12 x 6 picture at 8 x 6 is its centre columns 2..9, unscaled (its stored colour, alpha 0 ignored)
    const crop = loadImageFolder(dir, { height: 6, width: 8 });
    const rgba = files[0]![1];
    for (let x = 0; x < 8; x++) assert.equal(pixel(crop, 0, 3, x)[0], Math.fround(rgba.data[(3 * 12 + x + 2) * 4]! / 255));
    // clips take the same policy
    const clips = freshDir();
    mkdirSync(join(clips, 'clip0'));
    for (const [name, im] of files) writePng(join(clips, 'clip0', name), im);
    const c = loadClipFolder(clips, { frames: 3, size: 4, fit: 'pad' });
    assert.deepEqual([c.count, c.frames, c.height, c.width, c.channels], [1, 3, 4, 4, 3]);
    files.forEach(([, im], t) =>
      assert.deepEqual(Array.from(c.images.subarray(t * 48, (t + 1) * 48)), Array.from(fitImage(im, { height: 4, width: 4, fit: 'pad' }))),
    );
  });

  it('rejects an empty folder, an empty class folder and a missing folder', () => {
    const dir = freshDir();
    throwsFormat(() => loadImageFolder(dir), dir, /no \.png, \.jpg or \.jpeg images/);
    writeFileSync(join(dir, 'readme.md'), '# nothing here');
    throwsFormat(() => loadImageFolder(dir), dir, /no \.png, \.jpg or \.jpeg images/);
    mkdirSync(join(dir, 'a'));
    mkdirSync(join(dir, 'b'));
    writePng(
      join(dir, 'a', 'x.png'),
      image(2, 2, 3, () => 1),
    );
    throwsFormat(() => loadImageFolder(dir), join(dir, 'b'), /class folder contains no/);
    throwsIo(() => loadImageFolder(join(dir, 'nope')), join(dir, 'nope'), 'ENOENT');
  });

  it('a missing folder, a file given as a folder and an unreadable frame are IoErrors naming the path, in every folder loader', () => {
    const dir = freshDir();
    const file = join(dir, 'x.png');
    writePng(
      file,
      image(2, 2, 3, () => 1),
    );
    for (const load of [
      (d: string) => loadImageFolder(d),
      (d: string) => loadClipFolder(d, { frames: 1 }),
      (d: string) => loadCifar10(d, 'test'),
    ]) {
      throwsIo(() => load(join(dir, 'nope')), join(dir, 'nope'), 'ENOENT');
      throwsIo(() => load(file), file, 'ENOTDIR');
    }
    // A clip whose frame name is taken by a folder: reading it is EISDIR, not a raw Node error.
    const clips = freshDir();
    mkdirSync(join(clips, 'clip0', 'f0.png'), { recursive: true });
    throwsIo(() => loadClipFolder(clips, { frames: 1 }), join(clips, 'clip0', 'f0.png'), 'EISDIR');
    // A CIFAR batch name taken by a symlink loop.
    const cifar = freshDir();
    symlinkSync(join(cifar, 'test_batch.bin'), join(cifar, 'test_batch.bin'));
    throwsIo(() => loadCifar10(cifar, 'test'), join(cifar, 'test_batch.bin'), 'ELOOP');
  });

  it('names a corrupt PNG or JPEG file in a FormatError', () => {
    const dir = freshDir();
    writePng(
      join(dir, 'a.png'),
      image(2, 2, 3, () => 1),
    );
    const good = encodePng(
      image(2, 2, 3, () => 1),
      (raw) => deflateSync(raw),
    );
    writeFileSync(join(dir, 'b.png'), good.subarray(0, good.length - 20));
    throwsFormat(() => loadImageFolder(dir), join(dir, 'b.png'), /truncated/);
    unlinkSync(join(dir, 'b.png'));
    writeFileSync(join(dir, 'c.jpg'), new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]));
    throwsFormat(() => loadImageFolder(dir), join(dir, 'c.jpg'), /corrupt JPEG/);
    writeFileSync(join(dir, 'c.jpg'), 'plain text, not a JPEG');
    throwsFormat(() => loadImageFolder(dir), join(dir, 'c.jpg'), /c\.jpg: /);
  });
});

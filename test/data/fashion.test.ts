// Fashion-MNIST: the real files Debian's dataset-fashion-mnist installs (.ci/run installs the
// package, so this test needs it), and written folders in its layout, gzip and plain, broken
// in every way a download can be.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { ConfigError, FormatError } from '../../src/core/errors.js';
import { dataShape, loadSplits, parseDataSource, sourceFromMetadata } from '../../src/node/datasets.js';
import { FASHION_MNIST_CLASSES, FASHION_MNIST_DIR, loadFashionMnist, readIdxFile } from '../../src/node/loaders.js';
import { encodeIdx } from '../io/arbitraries.js';

const root = mkdtempSync(join(tmpdir(), 'tesserae-fashion-'));
after(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;

/** A folder in the Fashion-MNIST layout with `n` images of h x w and the given labels. */
const fakeFolder = (o: { n: number; h?: number; w?: number; labels?: number[]; gz?: boolean; labelCount?: number }): string => {
  const d = join(root, `d${dirs++}`);
  mkdirSync(d);
  const h = o.h ?? 4;
  const w = o.w ?? 3;
  const pixels = Uint8Array.from({ length: o.n * h * w }, (_, i) => (i * 37) % 256);
  const labels = Uint8Array.from(o.labels ?? Array.from({ length: o.labelCount ?? o.n }, (_, i) => i % 10));
  for (const split of ['train', 't10k']) {
    const im = encodeIdx([o.n, h, w], pixels);
    const lb = encodeIdx([labels.length], labels);
    const gz = o.gz ?? true;
    writeFileSync(join(d, `${split}-images-idx3-ubyte${gz ? '.gz' : ''}`), gz ? gzipSync(im) : im);
    writeFileSync(join(d, `${split}-labels-idx1-ubyte${gz ? '.gz' : ''}`), gz ? gzipSync(lb) : lb);
  }
  return d;
};

describe('Fashion-MNIST', () => {
  it("loads Debian's files: 60,000 training and 10,000 test images, 28 x 28 x 1, balanced classes", () => {
    const test = loadFashionMnist(FASHION_MNIST_DIR, 'test');
    assert.deepEqual([test.count, test.height, test.width, test.channels], [10000, 28, 28, 1]);
    assert.deepEqual(test.classes, FASHION_MNIST_CLASSES);
    const perClass = new Array<number>(10).fill(0);
    for (const l of test.labels) perClass[l]!++;
    assert.deepEqual(perClass, new Array<number>(10).fill(1000));
    // the first test image is an ankle boot (label 9), as the data set's own readme shows
    assert.equal(test.labels[0], 9);
    let lo = 1;
    let hi = 0;
    for (const v of test.images) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
    assert.deepEqual([lo, hi], [0, 1]);
    assert.equal(loadFashionMnist(FASHION_MNIST_DIR, 'train').count, 60000);
    assert.deepEqual(dataShape({ kind: 'fashion-mnist' }, { held: 1, seed: 0 }), [28, 28, 1]);
  });

  it('splits into the official training images and a stratified seeded part of the test images', () => {
    const { train, held } = loadSplits({ kind: 'fashion-mnist' }, { count: 500, held: 100, seed: 3 });
    assert.equal(train.count, 500);
    assert.equal(held.count, 100);
    for (const d of [train, held]) {
      const perClass = new Array<number>(10).fill(0);
      for (const l of d.labels) perClass[l]!++;
      assert.deepEqual(perClass, new Array<number>(10).fill(d.count / 10));
    }
    const again = loadSplits({ kind: 'fashion-mnist' }, { count: 500, held: 100, seed: 3 });
    assert.deepEqual(Array.from(again.held.images.subarray(0, 784)), Array.from(held.images.subarray(0, 784)));
    assert.throws(() => loadSplits({ kind: 'fashion-mnist' }, { held: 10001, seed: 0 }), ConfigError);
  });

  it('is a --data source, and a checkpoint may name it only where Debian installs it', () => {
    assert.deepEqual(parseDataSource('fashion-mnist'), { kind: 'fashion-mnist' });
    assert.deepEqual(parseDataSource('fashion-mnist:/data/fm'), { kind: 'fashion-mnist', dir: '/data/fm' });
    assert.deepEqual(sourceFromMetadata('{"kind":"fashion-mnist"}', 'c.safetensors'), { kind: 'fashion-mnist' });
    assert.throws(() => sourceFromMetadata('{"kind":"fashion-mnist","dir":"/etc"}', 'c.safetensors'), ConfigError);
  });

  it('reads gzip and plain files alike, at any size', () => {
    for (const gz of [true, false]) {
      const d = loadFashionMnist(fakeFolder({ n: 12, h: 5, w: 7, gz }), 'test');
      assert.deepEqual([d.count, d.height, d.width, d.channels], [12, 5, 7, 1]);
      assert.equal(d.images[1], Math.fround(37 / 255));
      assert.deepEqual(Array.from(d.labels.subarray(0, 3)), [0, 1, 2]);
    }
  });

  it('names the package to install when the folder or a file is missing', () => {
    assert.throws(
      () => loadFashionMnist(join(root, 'nowhere'), 'train'),
      (e: unknown) => e instanceof ConfigError && /is not a folder/.test(e.message) && /fashion-mnist:DIR/.test(e.message),
    );
    const empty = join(root, 'empty');
    mkdirSync(empty);
    assert.throws(
      () => loadFashionMnist(empty, 'test'),
      (e: unknown) => e instanceof ConfigError && /has no test file t10k-images-idx3-ubyte\[\.gz\]/.test(e.message),
    );
  });

  it('refuses labels that disagree with the images, or above 9, naming the labels file', () => {
    const fewer = fakeFolder({ n: 6, labelCount: 5 });
    assert.throws(
      () => loadFashionMnist(fewer, 'train'),
      (e: unknown) =>
        e instanceof FormatError && e.file.endsWith('train-labels-idx1-ubyte.gz') && /holds 6 images, so \[6\]/.test(e.message),
    );
    const bad = fakeFolder({ n: 3, labels: [1, 10, 2] });
    assert.throws(
      () => loadFashionMnist(bad, 'test'),
      (e: unknown) => e instanceof FormatError && /label 10 at index 1 is not in 0..9/.test(e.message),
    );
  });

  it('refuses truncated, corrupt and lying gzip files, naming the file', () => {
    const d = fakeFolder({ n: 20 });
    const path = join(d, 't10k-images-idx3-ubyte.gz');
    const good = Uint8Array.from(gzipSync(encodeIdx([20, 4, 3], new Uint8Array(240))));
    const cases: [string, Uint8Array, RegExp][] = [
      ['truncated', good.subarray(0, good.length - 9), /corrupt gzip data|gzip data is|trailer claims/],
      [
        'trailer claims more than deflate allows',
        (() => {
          const b = good.slice();
          new DataView(b.buffer).setUint32(b.length - 4, 0x7fffff00, true);
          return b;
        })(),
        /trailer claims 2147483392 bytes, more than/,
      ],
      [
        'trailer claims less than the data',
        (() => {
          const b = good.slice();
          new DataView(b.buffer).setUint32(b.length - 4, 10, true);
          return b;
        })(),
        /corrupt gzip data/,
      ],
      [
        'truncated IDX inside a good gzip',
        gzipSync(encodeIdx([20, 4, 3], new Uint8Array(240)).subarray(0, 100)),
        /truncated: dimensions \[20, 4, 3\] need 240/,
      ],
    ];
    for (const [what, bytes, problem] of cases) {
      writeFileSync(path, bytes);
      assert.throws(
        () => readIdxFile(path),
        (e: unknown) => e instanceof FormatError && e.file === path && problem.test(e.message),
        what,
      );
    }
  });
});

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  writeNpy,
  batchIndices,
  batchTensor,
  channelStats,
  slice,
  synthetic,
  Key,
  ConfigError,
  DataError,
  ShapeError,
  IoError,
  tf,
} from '../../src/index.js';
import { parseDataSource, loadSplits } from '../../src/node/index.js';
import { duration, progressLine } from '../../src/node/progress.js';
import { onCpu } from '../helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'tesserae-data-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('data sources and batches', () => {
  onCpu();
  it('parses --data values and names a bad one', () => {
    assert.deepEqual(parseDataSource('synthetic'), { kind: 'synthetic' });
    assert.deepEqual(parseDataSource('cifar10:/d/c'), { kind: 'cifar10', dir: '/d/c' });
    assert.deepEqual(parseDataSource('npy:x.npy:y.npy'), { kind: 'npy', images: 'x.npy', labels: 'y.npy' });
    assert.throws(
      () => parseDataSource('hdf5:x'),
      (e: unknown) => e instanceof ConfigError && e.field === '--data',
    );
  });

  it('loads .npy images (float32 or uint8) with labels, holding out a stratified seeded share', () => {
    const x = Float32Array.from({ length: 5 * 4 * 4 * 3 }, (_, i) => (i % 7) / 7);
    writeFileSync(join(dir, 'x.npy'), writeNpy({ shape: [5, 4, 4, 3], data: x }));
    writeFileSync(join(dir, 'u8.npy'), writeNpy({ shape: [5, 4, 4, 3], data: Uint8Array.from(x, (v) => Math.round(v * 255)) }));
    writeFileSync(join(dir, 'y.npy'), writeNpy({ shape: [5], data: Int32Array.of(0, 1, 2, 1, 0) }));
    const { train, held } = loadSplits({ kind: 'npy', images: join(dir, 'x.npy'), labels: join(dir, 'y.npy') }, { held: 2, seed: 0 });
    assert.equal(train.count, 3);
    // classes of 2, 2 and 1 samples: the two held out are one of class 0 and one of class 1
    assert.deepEqual(Array.from(held.labels).sort(), [0, 1]);
    assert.deepEqual(Array.from(train.labels).sort(), [0, 1, 2]);
    assert.deepEqual(train.classes, ['0', '1', '2']);
    const u8 = loadSplits({ kind: 'npy', images: join(dir, 'u8.npy') }, { held: 1, seed: 0 });
    assert.ok(Math.abs(u8.train.images[1]! - 1 / 7) < 0.003);
  });

  it('bad .npy data: NaN, wrong rank, wrong labels, missing file, nothing left to train on', () => {
    const nan = new Float32Array(2 * 4 * 4 * 3);
    nan[5] = NaN;
    writeFileSync(join(dir, 'nan.npy'), writeNpy({ shape: [2, 4, 4, 3], data: nan }));
    writeFileSync(join(dir, 'r3.npy'), writeNpy({ shape: [2, 4, 12], data: new Float32Array(96) }));
    writeFileSync(join(dir, 'ok.npy'), writeNpy({ shape: [2, 4, 4, 3], data: new Float32Array(96) }));
    writeFileSync(join(dir, 'y3.npy'), writeNpy({ shape: [3], data: Int32Array.of(0, 1, 2) }));
    const load = (images: string, labels?: string, held = 1) =>
      loadSplits(
        labels ? { kind: 'npy', images: join(dir, images), labels: join(dir, labels) } : { kind: 'npy', images: join(dir, images) },
        { held, seed: 0 },
      );
    assert.throws(
      () => load('nan.npy'),
      (e: unknown) => e instanceof DataError && e.index === 5 && /nan\.npy/.test(e.message),
    );
    assert.throws(() => load('r3.npy'), ShapeError);
    assert.throws(() => load('ok.npy', 'y3.npy'), /y3\.npy: expected shape \[2\]/);
    assert.throws(
      () => load('missing.npy'),
      (e: unknown) => e instanceof IoError && e.errno === 'ENOENT' && /missing\.npy/.test(e.message),
    );
    assert.throws(() => load('ok.npy', undefined, 2), /--held = 2/);
  });

  it('batches are a pure function of (key, index), cover each epoch once, and normalise per channel', () => {
    const seen = new Set<number>();
    for (let b = 0; b < 5; b++) for (const i of batchIndices(Key.key(1), 20, 4, b)) seen.add(i);
    assert.equal(seen.size, 20);
    assert.deepEqual(batchIndices(Key.key(1), 20, 4, 7), batchIndices(Key.key(1), 20, 4, 7));
    assert.notDeepEqual(batchIndices(Key.key(1), 20, 4, 0), batchIndices(Key.key(1), 20, 4, 5));
    const d = synthetic({ count: 10, size: 8 });
    const stats = channelStats(d);
    const t = batchTensor(
      d,
      Int32Array.from({ length: 10 }, (_, i) => i),
      stats,
    );
    const m = tf.moments(t, [0, 1, 2]);
    assert.ok(Math.max(...Array.from(m.mean.dataSync()).map(Math.abs)) < 1e-4);
    assert.ok(Array.from(m.variance.dataSync()).every((v) => Math.abs(v - 1) < 1e-3));
    assert.equal(slice(d, 2, 5).count, 3);
  });

  it('progress lines show step, loss, lr, gradient norm, throughput and ETA', () => {
    assert.equal(duration(185), '3m05s');
    assert.equal(duration(3725), '1h02m');
    assert.equal(
      progressLine({ step: 5, steps: 200, loss: 0.5, lr: 1e-3, gradNorm: 1.5, imagesPerSec: 61.25, eta: 95 }),
      'step   5/200  loss 0.5000  lr 1.00e-3  |g| 1.500  61.3 img/s  ETA 1m35s',
    );
  });
});

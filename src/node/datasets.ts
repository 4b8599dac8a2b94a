/**
 * Choosing training data from the command line: `synthetic` (generated, the embedded default),
 * `fashion-mnist[:DIR]` (the IDX files, by default where Debian's `dataset-fashion-mnist` puts
 * them), `cifar10:DIR` (binary batches), `folder:DIR` (PNG/JPEG, optionally resized) or
 * `npy:IMAGES.npy[:LABELS.npy]`; for video, `synthetic-video` (generated bouncing shapes),
 * `clips:DIR` (frame folders) or `npy:CLIPS.npy` holding [N, T, H, W, C]. Each gives a training
 * split and a held-out split; held-out splits and subsets of real data are stratified by class
 * and seeded.
 *
 * @since 0.1.0
 */
import { ConfigError, FormatError, ShapeError } from '../core/errors.js';
import { assertFiniteImages, assertUnitRange, sampleShape } from '../data/batches.js';
import type { InputShape } from '../vision/patchify.js';
import type { Fit } from '../vision/fit.js';
import { pickSamples, stratifiedSplit } from '../data/split.js';
import { synthetic, syntheticVideos, type LabelledImages } from '../data/synthetic.js';
import { decodeNpyFloat32, readNpy, readNpyHeader, type NpyHeader } from '../io/npy.js';
import { openFile, readFileBytes } from './fsErrors.js';
import { FASHION_MNIST_DIR, loadCifar10, loadClipFolder, loadFashionMnist, loadImageFolder } from './loaders.js';

/**
 * A data source.
 *
 * @since 0.1.0
 */
export type DataSource =
  | { readonly kind: 'synthetic' }
  | { readonly kind: 'fashion-mnist'; readonly dir?: string }
  | { readonly kind: 'cifar10'; readonly dir: string }
  | { readonly kind: 'folder'; readonly dir: string }
  | { readonly kind: 'npy'; readonly images: string; readonly labels?: string }
  | { readonly kind: 'synthetic-video' }
  | { readonly kind: 'clips'; readonly dir: string };

/**
 * Parses `--data`.
 *
 * @example
 * parseDataSource('cifar10:/data/cifar') // { kind: 'cifar10', dir: '/data/cifar' }
 * @since 0.1.0
 */
export const parseDataSource = (s: string): DataSource => {
  if (s === 'synthetic') return { kind: 'synthetic' };
  if (s === 'synthetic-video') return { kind: 'synthetic-video' };
  if (s === 'fashion-mnist') return { kind: 'fashion-mnist' };
  const i = s.indexOf(':');
  const kind = i < 0 ? s : s.slice(0, i);
  const rest = i < 0 ? '' : s.slice(i + 1);
  if ((kind === 'fashion-mnist' || kind === 'cifar10' || kind === 'folder' || kind === 'clips') && rest) return { kind, dir: rest };
  if (kind === 'npy' && rest) {
    const [images, labels] = rest.split(':');
    return labels ? { kind: 'npy', images: images!, labels } : { kind: 'npy', images: images! };
  }
  throw new ConfigError(
    '--data',
    s,
    'must be synthetic, fashion-mnist[:DIR], cifar10:DIR, folder:DIR, npy:IMAGES.npy[:LABELS.npy], synthetic-video or clips:DIR',
  );
};

/** Bytes read and converted at a time: whole items of every dtype (1, 2, 4 or 8 bytes). */
const CHUNK = 1 << 22;
/** Label values (hence class names) a labels file may ask for beyond one per sample. */
const SPARE_CLASSES = 65536;
const IMAGE_DTYPES: readonly string[] = ['float32', 'float64', 'float16', 'uint8'];

/**
 * Reads the pixels of an images or clips `.npy` file as float32 in bounded memory: the header is
 * read and checked first (against the file's size), then the data is read in {@link CHUNK}-byte
 * pieces, each converted straight into the preallocated output, so the file's bytes never sit in
 * memory whole. uint8 is scaled by 1/255.
 */
const readNpyPixels = (path: string): { readonly header: NpyHeader; readonly images: Float32Array } => {
  const file = openFile(path);
  try {
    const header = readNpyHeader(
      (offset, length) => {
        const b = new Uint8Array(length);
        return b.subarray(0, file.read(b, offset));
      },
      file.size,
      path,
    );
    const { shape, dtype, itemSize } = header;
    if (shape.length !== 4 && shape.length !== 5) throw new ShapeError(path, '[N, H, W, C] images or [N, T, H, W, C] clips', shape);
    if (!IMAGE_DTYPES.includes(dtype)) throw new FormatError(path, `images must be float32, float64, float16 or uint8, got ${dtype}`);
    // A zero-size sample would let the header claim any count (7e8 labels for an empty file).
    const zero = shape.findIndex((d, k) => k > 0 && d === 0);
    if (zero > 0) throw new FormatError(path, `shape (${shape.join(', ')}) has a zero-size dimension ${zero}: every sample needs pixels`);
    const images = new Float32Array(header.count);
    const total = header.count * itemSize;
    const buf = new Uint8Array(Math.min(CHUNK, total));
    for (let done = 0; done < total; done += buf.length) {
      const part = buf.subarray(0, Math.min(buf.length, total - done));
      const got = file.read(part, header.dataOffset + done);
      if (got !== part.length)
        throw new FormatError(path, `truncated while reading: ${got} of ${part.length} bytes at offset ${header.dataOffset + done}`);
      decodeNpyFloat32(header, part, done / itemSize, images);
    }
    if (dtype === 'uint8') for (let i = 0; i < images.length; i++) images[i] = images[i]! / 255;
    return { header, images };
  } finally {
    file.close();
  }
};

/**
 * The data source a checkpoint's metadata records, as far as it may be used without the command
 * line: metadata is untrusted, so it never chooses a file or folder to open. A built-in source
 * (`synthetic`, `synthetic-video`, and `fashion-mnist` where Debian installs it) comes back as
 * it is; a source read from a path (`npy`, `folder`, `cifar10`, `clips`, `fashion-mnist` from
 * another folder) is a {@link ConfigError} asking for `--data`; anything else is a
 * `FormatError` naming the file.
 *
 * @example
 * sourceFromMetadata('{"kind":"synthetic"}', 'runs/a/checkpoints/latest.safetensors') // { kind: 'synthetic' }
 * @since 0.2.0
 */
export const sourceFromMetadata = (entry: string | undefined, file: string): DataSource => {
  let v: unknown;
  try {
    v = JSON.parse(entry ?? 'null');
  } catch {
    throw new FormatError(file, 'metadata data is not valid JSON');
  }
  if (v === null) throw new ConfigError('--data', undefined, `${file} does not say what it was trained on; give --data`);
  const kind = typeof v === 'object' && !Array.isArray(v) && 'kind' in v ? v.kind : undefined;
  if (kind === 'synthetic' || kind === 'synthetic-video') return { kind };
  if (kind === 'fashion-mnist' && typeof v === 'object' && v !== null && !('dir' in v)) return { kind };
  if (kind === 'npy' || kind === 'folder' || kind === 'cifar10' || kind === 'clips' || kind === 'fashion-mnist')
    throw new ConfigError(
      '--data',
      undefined,
      `${file} was trained on ${kind} data read from a path; a checkpoint never chooses a file to open, so give --data ${kind === 'npy' ? 'npy:IMAGES.npy' : `${kind}:DIR`}`,
    );
  throw new FormatError(file, `metadata data ${JSON.stringify(v).slice(0, 120)} is not a known data source`);
};

/**
 * Images [N, H, W, C] or clips [N, T, H, W, C] from a .npy file (float in [0, 1], or uint8
 * scaled by 1/255), with integer labels from a second .npy when given; every error names the
 * file: a missing path, a folder or an unreadable file is an `IoError`, malformed content a
 * `FormatError`, float pixels outside [0, 1] (by more than 0.01) a `DataError`.
 * Memory: the output plus a few MB; the images file is read in chunks.
 *
 * @example
 * const clips = readNpyImages('clips.npy')
 * @since 0.1.0
 */
export const readNpyImages = (path: string, labelsPath?: string): LabelledImages => {
  const { header, images } = readNpyPixels(path);
  const video = header.shape.length === 5;
  const [count, frames, height, width, channels] = (video ? header.shape : [header.shape[0], 1, ...header.shape.slice(1)]) as [
    number,
    number,
    number,
    number,
    number,
  ];
  let labels = new Int32Array(count);
  let top = 1; // at least two class names, as before
  if (labelsPath) {
    const l = readNpy(readFileBytes(labelsPath), labelsPath);
    if (l.shape.length !== 1 || l.shape[0] !== count) throw new ShapeError(labelsPath, `[${count}]`, l.shape);
    if (!(l.data instanceof Int32Array || l.data instanceof Uint8Array || l.data instanceof Int16Array || l.data instanceof Int8Array)) {
      throw new FormatError(labelsPath, `labels must be integers, got ${l.dtype}`);
    }
    labels = Int32Array.from(l.data);
    for (let i = 0; i < labels.length; i++) {
      const v = labels[i]!;
      if (v < 0) throw new FormatError(labelsPath, `label ${v} at index ${i} is negative`);
      if (v >= count + SPARE_CLASSES)
        throw new FormatError(
          labelsPath,
          `label ${v} at index ${i} is too large: ${count} samples allow labels below ${count + SPARE_CLASSES}`,
        );
      if (v > top) top = v;
    }
  }
  const classes = Array.from({ length: top + 1 }, (_, k) => String(k));
  const d = { count, ...(video ? { frames } : {}), height, width, channels, images, labels, classes };
  assertFiniteImages(path, d);
  assertUnitRange(path, d);
  return d;
};

/**
 * How {@link loadSplits} splits a source.
 *
 * @since 0.2.0
 */
export interface SplitOptions {
  /**
   * Training images: generated sources make this many (default 2000); real data keeps at most
   * this many of its training images, a stratified seeded subset (default all).
   */
  readonly count?: number;
  /** Held-out images (pictures, PSNR, the probes' test set). */
  readonly held: number;
  /** Seeds the generated data and the stratified choices. */
  readonly seed: number;
  /** Resize folder images to size x size; the side of generated images. */
  readonly size?: number;
  /** How folder images of another aspect ratio meet size x size (default `'crop'`, the policy of `fitImage`). */
  readonly fit?: Fit;
  /** Frames per clip, for video. */
  readonly frames?: number;
  /** Take the held-out images from this source instead (all of its images, or a stratified `held` of them). */
  readonly test?: DataSource;
}

/** A stratified seeded subset of `n` samples, or all of them when n is undefined or not smaller. */
const atMost = (d: LabelledImages, n: number | undefined, seed: number): LabelledImages =>
  n === undefined || n >= d.count ? d : pickSamples(d, stratifiedSplit(d.labels, n, seed).taken);

/** A source's images, whole (real data: its training split). */
const loadAll = (src: DataSource, o: SplitOptions, split: 'train' | 'test'): LabelledImages => {
  switch (src.kind) {
    case 'synthetic':
      return synthetic({ count: o.count ?? 2000, seed: o.seed, ...(o.size === undefined ? {} : { size: o.size }) });
    case 'synthetic-video':
      return syntheticVideos({
        count: o.count ?? 2000,
        seed: o.seed,
        frames: o.frames ?? 8,
        ...(o.size === undefined ? {} : { size: o.size }),
      });
    case 'fashion-mnist':
      return loadFashionMnist(src.dir ?? FASHION_MNIST_DIR, split);
    case 'cifar10':
      return loadCifar10(src.dir, split);
    case 'folder':
      return loadImageFolder(src.dir, {
        ...(o.size === undefined ? {} : { size: o.size }),
        ...(o.fit === undefined ? {} : { fit: o.fit }),
      });
    case 'clips':
      return loadClipFolder(src.dir, {
        frames: o.frames ?? 8,
        ...(o.size === undefined ? {} : { size: o.size }),
        ...(o.fit === undefined ? {} : { fit: o.fit }),
      });
    case 'npy':
      return readNpyImages(src.images, src.labels);
  }
};

/**
 * The shape of one sample of a source, [H, W, C] or [T, H, W, C], as {@link loadSplits} will
 * give it: what a model trained on it must take. Fashion-MNIST reads only its test images'
 * header; folders, clip folders and .npy files are read.
 *
 * @example
 * dataShape({ kind: 'fashion-mnist' }, { held: 1, seed: 0 }) // [28, 28, 1]
 * @since 0.2.0
 */
export const dataShape = (src: DataSource, o: SplitOptions): InputShape => {
  const side = o.size ?? 32;
  switch (src.kind) {
    case 'synthetic':
      return [side, side, 3];
    case 'synthetic-video':
      return [o.frames ?? 8, side, side, 3];
    case 'cifar10':
      return [32, 32, 3];
    case 'fashion-mnist': {
      const d = loadFashionMnist(src.dir ?? FASHION_MNIST_DIR, 'test');
      return [d.height, d.width, d.channels];
    }
    default:
      return sampleShape(loadAll(src, { ...o, count: 1 }, 'train'));
  }
};

/**
 * Loads a source as { train, held } (held-out images for reconstruction pictures, metrics and
 * the probes' test set). Generated data (images, or clips of `frames` frames) makes `count`
 * training samples and `held` more after them. Fashion-MNIST and CIFAR-10 hold out their
 * official test split (all of it when `held` is its size, else a stratified seeded `held` of
 * it). Folders, clip folders and .npy files hold out a stratified seeded `held` of their
 * samples, so every class is in both splits in proportion. With `test`, the held-out images come
 * from that source instead. Real training data keeps at most `count` images (stratified).
 *
 * @example
 * const { train, held } = loadSplits({ kind: 'synthetic' }, { count: 2000, held: 200, seed: 0 })
 * @since 0.1.0
 */
export const loadSplits = (src: DataSource, o: SplitOptions): { readonly train: LabelledImages; readonly held: LabelledImages } => {
  const generated = src.kind === 'synthetic' || src.kind === 'synthetic-video';
  if (generated && o.test === undefined) {
    const train = loadAll(src, o, 'train');
    // the held-out samples are the ones generated after the training ones
    const size = o.size === undefined ? {} : { size: o.size };
    const held =
      src.kind === 'synthetic'
        ? synthetic({ count: o.held, seed: o.seed, start: train.count, ...size })
        : syntheticVideos({ count: o.held, start: train.count, seed: o.seed, frames: o.frames ?? 8, ...size });
    return { train, held };
  }
  const official = src.kind === 'fashion-mnist' || src.kind === 'cifar10';
  const testSource = o.test ?? (official ? src : undefined);
  if (testSource !== undefined) {
    const test = loadAll(testSource, { ...o, count: o.held }, 'test');
    if (o.held > test.count) throw new ConfigError('--held', o.held, `the test images number ${test.count}`);
    return { train: atMost(loadAll(src, o, 'train'), o.count, o.seed), held: atMost(test, o.held, o.seed) };
  }
  const all = loadAll(src, o, 'train');
  if (all.count <= o.held) throw new ConfigError('--held', o.held, `leaves no training images out of ${all.count}`);
  const { taken, rest } = stratifiedSplit(all.labels, o.held, o.seed);
  return { train: atMost(pickSamples(all, rest), o.count, o.seed), held: pickSamples(all, taken) };
};

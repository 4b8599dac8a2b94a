/**
 * Node dataset loaders for real image formats: the CIFAR-10 binary batches and folders of
 * PNG/JPEG files (resized by {@link fitImage}'s policy, default centre crop). Both return
 * {@link LabelledImages}: [count, height, width, channels] floats in [0, 1], channels last, with integer labels and class names. A missing, unreadable or
 * non-folder path throws an {@link IoError} naming it; malformed or missing data files a
 * {@link FormatError} naming the file.
 *
 * @since 0.1.0
 */
import { statSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { gunzipSync, inflateSync } from 'node:zlib';
import jpeg from 'jpeg-js';
import { int, oneOf } from '../core/check.js';
import { ConfigError, FormatError } from '../core/errors.js';
import { assertUnitRange } from '../data/batches.js';
import type { LabelledImages } from '../data/labelled.js';
import { decodeIdx, type Idx } from '../io/idx.js';
import type { Image8 } from '../io/png.js';
import { decodePng } from '../io/pngDecode.js';
import { FIT_MODES, fitImage, fitInto, type Fit } from '../vision/fit.js';
import { checkFile, checkFolder, readFileBytes, readFileText, readFolder } from './fsErrors.js';

/**
 * The CIFAR-10 class names, in label order (used when `batches.meta.txt` is absent).
 *
 * @example
 * CIFAR10_CLASSES[3] // 'cat'
 * @since 0.1.0
 */
export const CIFAR10_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'] as const;

const CIFAR_SIDE = 32;
const CIFAR_PIXELS = CIFAR_SIDE * CIFAR_SIDE;
const CIFAR_RECORD = 1 + 3 * CIFAR_PIXELS;
/** Byte value / 255, looked up rather than divided for every sample. */
const UNIT = Float32Array.from({ length: 256 }, (_, i) => i / 255);

/** Whether `path` is a folder (false when nothing is there). */
const isFolder = (path: string): boolean => {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
};

/**
 * Whether a file the loader looks for is there: false when nothing is at `path` (or a part of the
 * path is not a folder); an IoError when something is there but cannot be read as a file (a
 * folder, a symlink loop, no permission).
 */
const isFile = (path: string): boolean => {
  try {
    statSync(path);
  } catch (e) {
    if (e instanceof Error && 'code' in e && (e.code === 'ENOENT' || e.code === 'ENOTDIR')) return false;
  }
  checkFile(path);
  return true;
};

/**
 * Loads a split of the CIFAR-10 binary version. `dir` is either the folder holding
 * `data_batch_1.bin` … `data_batch_5.bin` and `test_batch.bin`, or its parent containing
 * `cifar-10-batches-bin/`. Each record is 1 label byte then 1024 red, 1024 green and 1024 blue
 * bytes (32 x 32, row-major); the result is channels-last. Class names come from
 * `batches.meta.txt` when present (10 non-empty lines), else {@link CIFAR10_CLASSES}.
 *
 * @example
 * const test = loadCifar10('data/cifar-10-batches-bin', 'test') // 10000 x 32 x 32 x 3
 * @since 0.1.0
 */
export const loadCifar10 = (dir: string, split: 'train' | 'test'): LabelledImages => {
  oneOf('loadCifar10.split', split, ['train', 'test']);
  checkFolder(dir);
  const names = split === 'train' ? [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`) : ['test_batch.bin'];
  const candidates = [dir, join(dir, 'cifar-10-batches-bin')];
  const missing = candidates.map((d) => names.filter((n) => !isFile(join(d, n))));
  const found = missing.findIndex((m) => m.length === 0);
  if (found < 0) {
    const best = missing[1]!.length < missing[0]!.length ? 1 : 0;
    throw new FormatError(
      join(candidates[best]!, missing[best]![0]!),
      `missing CIFAR-10 ${split} files: expected ${names.join(', ')} in ${candidates.join(' or ')}; ` +
        `missing in ${candidates[best]}: ${missing[best]!.join(', ')}`,
    );
  }
  const folder = candidates[found]!;
  const files = names.map((n) => {
    const path = join(folder, n);
    const bytes = readFileBytes(path);
    if (bytes.length === 0 || bytes.length % CIFAR_RECORD !== 0)
      throw new FormatError(
        path,
        `size ${bytes.length} bytes is not a positive multiple of ${CIFAR_RECORD} (1 label byte + 3072 pixel bytes per record)`,
      );
    return { path, bytes };
  });
  const count = files.reduce((n, f) => n + f.bytes.length / CIFAR_RECORD, 0);
  const images = new Float32Array(count * CIFAR_RECORD - count);
  const labels = new Int32Array(count);
  let n = 0;
  for (const { path, bytes } of files) {
    for (let r = 0; r < bytes.length / CIFAR_RECORD; r++, n++) {
      const rec = r * CIFAR_RECORD;
      const label = bytes[rec]!;
      if (label > 9) throw new FormatError(path, `record ${r} (byte ${rec}): label ${label} is not in 0..9`);
      labels[n] = label;
      const out = n * 3 * CIFAR_PIXELS;
      for (let c = 0; c < 3; c++) {
        const plane = rec + 1 + c * CIFAR_PIXELS;
        for (let p = 0; p < CIFAR_PIXELS; p++) images[out + p * 3 + c] = UNIT[bytes[plane + p]!]!;
      }
    }
  }
  const metaPath = join(folder, 'batches.meta.txt');
  let classes: readonly string[] = CIFAR10_CLASSES;
  if (isFile(metaPath)) {
    const lines = readFileText(metaPath)
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l.length > 0);
    if (lines.length !== 10) throw new FormatError(metaPath, `expected 10 class names (one per line), found ${lines.length}`);
    classes = lines;
  }
  const d = { count, height: CIFAR_SIDE, width: CIFAR_SIDE, channels: 3, images, labels, classes };
  assertUnitRange(folder, d);
  return d;
};

const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg']);
const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Image files under `dir`, recursively, hidden entries skipped, sorted by path. */
const imageFiles = (dir: string): string[] => {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readFolder(d)) {
      if (e.name.startsWith('.')) continue;
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && IMAGE_EXTENSIONS.has(extname(e.name).toLowerCase())) out.push(p);
    }
  };
  walk(dir);
  return out.sort(byName);
};

const isPng = (b: Uint8Array): boolean => b.length >= 4 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47;
const isJpeg = (b: Uint8Array): boolean => b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;

/** Decodes one PNG or JPEG file (by signature, else by extension) to 8-bit grey, RGB or RGBA, as stored. */
const decodeImage = (path: string): Image8 => {
  const bytes = readFileBytes(path);
  const png = isPng(bytes) || (!isJpeg(bytes) && extname(path).toLowerCase() === '.png');
  if (png) return decodePng(bytes, path, (z, n) => inflateSync(z, { maxOutputLength: Math.max(1, n) }));
  let decoded: { width: number; height: number; data: Uint8Array };
  try {
    decoded = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, maxResolutionInMP: 100, maxMemoryUsageInMB: 512 });
  } catch (e) {
    throw new FormatError(path, `corrupt JPEG: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!(decoded.width > 0 && decoded.height > 0) || decoded.data.length !== decoded.width * decoded.height * 3)
    throw new FormatError(path, `corrupt JPEG: decoded ${decoded.width}x${decoded.height} with ${decoded.data.length} bytes`);
  return { width: decoded.width, height: decoded.height, channels: 3, data: decoded.data };
};

/**
 * How the folder loaders resize: `size` (a square side) or `height` and `width`, a {@link Fit}
 * mode (default `'crop'`) and the channels of the result (default 3).
 *
 * @since 0.2.0
 */
export interface FolderFit {
  /** Resize every image to size x size (shorthand for height = width = size). */
  readonly size?: number;
  /** Target rows (with `width`; instead of `size`). */
  readonly height?: number;
  /** Target columns (with `height`; instead of `size`). */
  readonly width?: number;
  /** How an image of another aspect ratio meets the target (default `'crop'`: cover it, keep the centre). */
  readonly fit?: Fit;
  /** 1 (grey, Rec. 601 luma) or 3 (RGB, the default). */
  readonly channels?: 1 | 3;
}

/** The target a folder loader resizes to (undefined: the first image's size), its mode and channels, checked. */
const folderPolicy = (who: string, o: FolderFit): { target: { height: number; width: number } | undefined; fit: Fit; channels: 1 | 3 } => {
  const fit = oneOf(`${who}.fit`, o.fit ?? 'crop', FIT_MODES);
  const channels = o.channels ?? 3;
  if (channels !== 1 && channels !== 3) throw new ConfigError(`${who}.channels`, channels, 'must be 1 (grey) or 3 (RGB)');
  if (o.size !== undefined) {
    if (o.height !== undefined || o.width !== undefined)
      throw new ConfigError(`${who}.size`, o.size, 'give either size or height and width, not both');
    const s = int(`${who}.size`, o.size, 1, 16384);
    return { target: { height: s, width: s }, fit, channels };
  }
  if ((o.height === undefined) !== (o.width === undefined))
    throw new ConfigError(`${who}.${o.height === undefined ? 'height' : 'width'}`, 'missing', 'height and width come together');
  if (o.height === undefined || o.width === undefined) return { target: undefined, fit, channels };
  return { target: { height: int(`${who}.height`, o.height, 1, 16384), width: int(`${who}.width`, o.width, 1, 16384) }, fit, channels };
};

/**
 * Loads a folder of PNG/JPEG images (`.png`, `.jpg`, `.jpeg`, any case; other files and hidden
 * entries ignored). With sub-folders, each sub-folder is a class (ImageFolder convention:
 * classes sorted by name, label = index, images found recursively, files directly in `dir`
 * ignored); without, every image is label 0 of one class named after the folder. Images are
 * ordered by class, then by path.
 *
 * Every image goes through {@link fitImage}, the policy the command line (`--size`, `--fit`)
 * and the browser demo share: resized to `size` x `size` (or `height` x `width`; without
 * either, to the first image's size) with `fit` (default `'crop'`: scale to cover the target,
 * keep the centre; `'pad'`: fit inside, pad with 0; `'stretch'`: ignore the aspect ratio), by
 * an antialiased triangle filter; an image already at the target size is unchanged. Grey images
 * are replicated to RGB (or RGB made grey with `channels: 1`) and alpha is dropped (the stored
 * colour is kept, not composited), so a folder of mixed sizes and formats loads.
 *
 * @example
 * const data = loadImageFolder('data/flowers/train', { size: 64 }) // centre crops, 64 x 64 x 3
 * const padded = loadImageFolder('data/flowers/train', { height: 48, width: 64, fit: 'pad' })
 * @since 0.1.0
 */
export const loadImageFolder = (dir: string, options: FolderFit = {}): LabelledImages => {
  const policy = folderPolicy('loadImageFolder', options);
  checkFolder(dir);
  const subdirs = readFolder(dir)
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort(byName);
  const classes = subdirs.length > 0 ? subdirs : [basename(resolve(dir))];
  const files: { path: string; label: number }[] = [];
  if (subdirs.length === 0) for (const path of imageFiles(dir)) files.push({ path, label: 0 });
  else
    subdirs.forEach((name, label) => {
      const found = imageFiles(join(dir, name));
      if (found.length === 0) throw new FormatError(join(dir, name), 'class folder contains no .png, .jpg or .jpeg images');
      for (const path of found) files.push({ path, label });
    });
  if (files.length === 0) throw new FormatError(dir, 'no .png, .jpg or .jpeg images found');
  const first = decodeImage(files[0]!.path);
  const { height, width } = policy.target ?? first;
  const { channels, fit } = policy;
  const count = files.length;
  const per = height * width * channels;
  const images = new Float32Array(count * per);
  const labels = new Int32Array(count);
  files.forEach(({ path, label }, n) => {
    labels[n] = label;
    fitInto(n === 0 ? first : decodeImage(path), { height, width, fit, channels }, images, n * per);
  });
  const d = { count, height, width, channels, images, labels, classes };
  assertUnitRange(dir, d);
  return d;
};

/**
 * Loads video clips stored as frame folders: `dir/<clip>/<frame>.png|jpg` (frames sorted by
 * name), or `dir/<class>/<clip>/<frame>` with a class level (labels by sorted class name). Every
 * clip gives its first `frames` frames (a clip with fewer is a FormatError naming it). Frames go
 * through {@link fitImage} as in {@link loadImageFolder}: to `size` x `size` (or `height` x
 * `width`; without either, the first frame's size) with `fit` (default `'crop'`).
 *
 * @example
 * const clips = loadClipFolder('data/clips', { frames: 8, size: 32 }) // centre crops
 * @since 0.1.0
 */
export const loadClipFolder = (dir: string, options: FolderFit & { readonly frames: number }): LabelledImages => {
  const frames = int('frames', options.frames, 1, 4096);
  const policy = folderPolicy('loadClipFolder', options);
  checkFolder(dir);
  const subdirs = (d: string): string[] =>
    readFolder(d)
      .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
      .map((e) => e.name)
      .sort(byName);
  const framesIn = (d: string): string[] =>
    readFolder(d)
      .map((e) => e.name)
      .filter((n) => /\.(png|jpe?g)$/i.test(n))
      .sort(byName)
      .map((n) => join(d, n));
  const top = subdirs(dir);
  if (top.length === 0) throw new FormatError(dir, 'holds no clip folders');
  // a class level exists when the first sub-folder holds folders rather than frames
  const classLevel = framesIn(join(dir, top[0]!)).length === 0 && subdirs(join(dir, top[0]!)).length > 0;
  const clips: { path: string; label: number }[] = classLevel
    ? top.flatMap((c, label) => subdirs(join(dir, c)).map((clip) => ({ path: join(dir, c, clip), label })))
    : top.map((clip) => ({ path: join(dir, clip), label: 0 }));
  const classes = classLevel ? top : [basename(resolve(dir))];
  const { channels, fit } = policy;
  let target = policy.target;
  const chunks: Float32Array[] = [];
  clips.forEach(({ path }) => {
    const files = framesIn(path);
    if (files.length < frames) throw new FormatError(path, `clip has ${files.length} frames, fewer than the ${frames} asked for`);
    files.slice(0, frames).forEach((file) => {
      const img = decodeImage(file);
      target ??= { height: img.height, width: img.width };
      chunks.push(fitImage(img, { ...target, fit, channels }));
    });
  });
  const { height, width } = target ?? { height: 0, width: 0 };
  const per = height * width * channels;
  const images = new Float32Array(chunks.length * per);
  chunks.forEach((c, i) => images.set(c, i * per));
  const d = { count: clips.length, frames, height, width, channels, images, labels: Int32Array.from(clips, (c) => c.label), classes };
  assertUnitRange(dir, d);
  return d;
};

/** The most a deflate stream can expand (its format's limit: 1032 to 1). */
const DEFLATE_RATIO = 1032;
/** The largest IDX file read whole (2 GiB). */
const MAX_IDX_BYTES = 2 ** 31 - 1;

/**
 * Decompresses a gzip file's bytes in memory its own bytes justify: the output may be no larger
 * than the size its trailer claims, and that claim no larger than deflate can expand the file.
 */
const gunzipBounded = (bytes: Uint8Array, path: string): Uint8Array => {
  if (bytes.length < 18) throw new FormatError(path, `${bytes.length} bytes is too short for a gzip file (18 bytes at least)`);
  const claimed = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(bytes.length - 4, true);
  if (claimed > DEFLATE_RATIO * bytes.length || claimed > MAX_IDX_BYTES)
    throw new FormatError(path, `gzip trailer claims ${claimed} bytes, more than ${bytes.length} compressed bytes can hold`);
  try {
    const out = gunzipSync(bytes, { maxOutputLength: Math.max(1, claimed) });
    if (out.length !== claimed) throw new FormatError(path, `gzip data is ${out.length} bytes, its trailer says ${claimed}`);
    return out;
  } catch (e) {
    if (e instanceof FormatError) throw e;
    throw new FormatError(path, `corrupt gzip data: ${e instanceof Error ? e.message : String(e)}`);
  }
};

/**
 * Reads an IDX file (see {@link decodeIdx}), gzip-compressed (by its signature) or plain. A
 * missing or unreadable file is an `IoError` naming it; a truncated, padded, corrupt or
 * non-byte file a {@link FormatError} naming it.
 *
 * @example
 * const labels = readIdxFile('/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz') // dims [10000]
 * @since 0.2.0
 */
export const readIdxFile = (path: string): Idx => {
  const raw = readFileBytes(path);
  const gz = raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b;
  return decodeIdx(gz ? gunzipBounded(raw, path) : raw, path);
};

/**
 * Where Debian's `dataset-fashion-mnist` package puts the Fashion-MNIST files.
 *
 * @example
 * loadFashionMnist(FASHION_MNIST_DIR, 'test').count // 10000
 * @since 0.2.0
 */
export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

/**
 * The Fashion-MNIST class names, in label order.
 *
 * @example
 * FASHION_MNIST_CLASSES[9] // 'ankle boot'
 * @since 0.2.0
 */
export const FASHION_MNIST_CLASSES = [
  't-shirt/top',
  'trouser',
  'pullover',
  'dress',
  'coat',
  'sandal',
  'shirt',
  'sneaker',
  'bag',
  'ankle boot',
] as const;

/** The file `name` in `dir`, gzip-compressed or plain, or undefined when neither is there. */
const idxPath = (dir: string, name: string): string | undefined => [`${name}.gz`, name].map((n) => join(dir, n)).find(isFile);

/**
 * Loads the official train (60,000 images) or test (10,000) split of Fashion-MNIST (or of any
 * data set in its layout, such as MNIST): `train-images-idx3-ubyte[.gz]` and
 * `train-labels-idx1-ubyte[.gz]`, or `t10k-...`, in `dir`. Images come back as [count, height,
 * width, 1] floats in [0, 1] (byte / 255), labels 0..9 with {@link FASHION_MNIST_CLASSES}. A
 * missing folder or file is a {@link ConfigError} that says to install Debian's
 * `dataset-fashion-mnist` (or to give the folder); images and labels that disagree, a label above 9, or a malformed file are a
 * {@link FormatError} naming the file.
 *
 * @example
 * const test = loadFashionMnist(FASHION_MNIST_DIR, 'test') // 10000 x 28 x 28 x 1
 * @since 0.2.0
 */
export const loadFashionMnist = (dir: string, split: 'train' | 'test'): LabelledImages => {
  oneOf('loadFashionMnist.split', split, ['train', 'test']);
  const prefix = split === 'train' ? 'train' : 't10k';
  const install = dir === FASHION_MNIST_DIR ? 'install it with `apt-get install dataset-fashion-mnist` (Debian)' : 'check the folder';
  const where = `: ${install}, or give --data fashion-mnist:DIR`;
  if (!isFolder(dir)) throw new ConfigError('fashion-mnist folder', dir, `is not a folder${where}`);
  const find = (name: string): string => {
    const p = idxPath(dir, name);
    if (p === undefined) throw new ConfigError('fashion-mnist folder', dir, `has no ${split} file ${name}[.gz]${where}`);
    return p;
  };
  const imagesPath = find(`${prefix}-images-idx3-ubyte`);
  const labelsPath = find(`${prefix}-labels-idx1-ubyte`);
  const im = readIdxFile(imagesPath);
  if (im.dims.length !== 3)
    throw new FormatError(imagesPath, `images must have 3 dimensions [count, height, width], got [${im.dims.join(', ')}]`);
  const [count, height, width] = im.dims as [number, number, number];
  if (count === 0 || height === 0 || width === 0) throw new FormatError(imagesPath, `dimensions [${im.dims.join(', ')}] hold no images`);
  const lb = readIdxFile(labelsPath);
  if (lb.dims.length !== 1 || lb.dims[0] !== count)
    throw new FormatError(labelsPath, `labels have dimensions [${lb.dims.join(', ')}]; ${imagesPath} holds ${count} images, so [${count}]`);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const v = lb.data[i]!;
    if (v > 9) throw new FormatError(labelsPath, `label ${v} at index ${i} is not in 0..9`);
    labels[i] = v;
  }
  const images = new Float32Array(im.data.length);
  for (let i = 0; i < images.length; i++) images[i] = UNIT[im.data[i]!]!;
  return { count, height, width, channels: 1, images, labels, classes: FASHION_MNIST_CLASSES };
};

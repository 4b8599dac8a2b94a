/**
 * Node dataset loaders for real image formats: the CIFAR-10 binary batches and folders of
 * PNG/JPEG files. Both return {@link LabelledImages}: [count, height, width, 3] floats in
 * [0, 1], channels last, with integer labels and class names. A missing, unreadable or
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

/** Decodes one PNG or JPEG file (by signature, else by extension) to 8-bit RGB. */
const decodeRgb = (path: string): Image8 => {
  const bytes = readFileBytes(path);
  const png = isPng(bytes) || (!isJpeg(bytes) && extname(path).toLowerCase() === '.png');
  let img: Image8;
  if (png) {
    img = decodePng(bytes, path, (z, n) => inflateSync(z, { maxOutputLength: Math.max(1, n) }));
  } else {
    let decoded: { width: number; height: number; data: Uint8Array };
    try {
      decoded = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, maxResolutionInMP: 100, maxMemoryUsageInMB: 512 });
    } catch (e) {
      throw new FormatError(path, `corrupt JPEG: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (!(decoded.width > 0 && decoded.height > 0) || decoded.data.length !== decoded.width * decoded.height * 3)
      throw new FormatError(path, `corrupt JPEG: decoded ${decoded.width}x${decoded.height} with ${decoded.data.length} bytes`);
    img = { width: decoded.width, height: decoded.height, channels: 3, data: decoded.data };
  }
  if (img.channels === 3) return img;
  const rgb = new Uint8Array(img.width * img.height * 3);
  for (let p = 0; p < img.width * img.height; p++) {
    for (let c = 0; c < 3; c++) rgb[p * 3 + c] = img.data[p * img.channels + (img.channels === 1 ? 0 : c)]!;
  }
  return { width: img.width, height: img.height, channels: 3, data: rgb };
};

/**
 * For each output index along one axis, the input indices and weights of a triangle filter
 * widened to the downscaling factor (bilinear when enlarging, antialiased when shrinking),
 * with half-pixel centres; weights sum to 1 and the identity size maps each pixel to itself.
 */
const axisWeights = (inSize: number, outSize: number): { start: number; weights: number[] }[] => {
  const scale = inSize / outSize;
  const support = Math.max(1, scale);
  return Array.from({ length: outSize }, (_, i) => {
    const centre = (i + 0.5) * scale;
    const start = Math.max(0, Math.floor(centre - support));
    const end = Math.min(inSize, Math.ceil(centre + support));
    const weights: number[] = [];
    for (let j = start; j < end; j++) weights.push(Math.max(0, 1 - Math.abs((j + 0.5 - centre) / support)));
    const sum = weights.reduce((a, b) => a + b, 0);
    return { start, weights: weights.map((w) => w / sum) };
  });
};

/** Resamples an RGB image to size x size floats in [0, 1], written at `out[offset..]`. */
const resizeInto = (img: Image8, size: number, out: Float32Array, offset: number): void => {
  const xs = axisWeights(img.width, size);
  const ys = axisWeights(img.height, size);
  const tmp = new Float32Array(img.height * size * 3); // rows resampled horizontally
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < size; x++) {
      const { start, weights } = xs[x]!;
      for (let c = 0; c < 3; c++) {
        let v = 0;
        for (let k = 0; k < weights.length; k++) v += weights[k]! * UNIT[img.data[(y * img.width + start + k) * 3 + c]!]!;
        tmp[(y * size + x) * 3 + c] = v;
      }
    }
  }
  for (let y = 0; y < size; y++) {
    const { start, weights } = ys[y]!;
    for (let i = 0; i < size * 3; i++) {
      let v = 0;
      for (let k = 0; k < weights.length; k++) v += weights[k]! * tmp[(start + k) * size * 3 + i]!;
      out[offset + y * size * 3 + i] = Math.min(1, Math.max(0, v));
    }
  }
};

/**
 * Loads a folder of PNG/JPEG images (`.png`, `.jpg`, `.jpeg`, any case; other files and hidden
 * entries ignored). With sub-folders, each sub-folder is a class (ImageFolder convention:
 * classes sorted by name, label = index, images found recursively, files directly in `dir`
 * ignored); without, every image is label 0 of one class named after the folder. Images are
 * ordered by class, then by path. Grey images are replicated to RGB and alpha is dropped (the
 * stored colour is kept, not composited). With `size`, every image is resampled to size x size
 * (bilinear, antialiased when shrinking); without, all images must share one size.
 *
 * @example
 * const data = loadImageFolder('data/flowers/train', { size: 64 })
 * @since 0.1.0
 */
export const loadImageFolder = (dir: string, options: { readonly size?: number } = {}): LabelledImages => {
  const size = options.size === undefined ? undefined : int('loadImageFolder.size', options.size, 1, 16384);
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
  const first = decodeRgb(files[0]!.path);
  const height = size ?? first.height;
  const width = size ?? first.width;
  const count = files.length;
  const images = new Float32Array(count * height * width * 3);
  const labels = new Int32Array(count);
  files.forEach(({ path, label }, n) => {
    const img = n === 0 ? first : decodeRgb(path);
    labels[n] = label;
    const offset = n * height * width * 3;
    if (size !== undefined) resizeInto(img, size, images, offset);
    else if (img.width !== width || img.height !== height)
      throw new FormatError(
        path,
        `image is ${img.width}x${img.height} but ${files[0]!.path} is ${width}x${height}; pass { size } to resize them all`,
      );
    else for (let i = 0; i < img.data.length; i++) images[offset + i] = UNIT[img.data[i]!]!;
  });
  const d = { count, height, width, channels: 3, images, labels, classes };
  assertUnitRange(dir, d);
  return d;
};

/**
 * Loads video clips stored as frame folders: `dir/<clip>/<frame>.png|jpg` (frames sorted by
 * name), or `dir/<class>/<clip>/<frame>` with a class level (labels by sorted class name). Every
 * clip gives its first `frames` frames (a clip with fewer is a FormatError naming it), resized
 * to size x size when `size` is given.
 *
 * @example
 * const clips = loadClipFolder('data/clips', { frames: 8, size: 32 })
 * @since 0.1.0
 */
export const loadClipFolder = (dir: string, options: { readonly frames: number; readonly size?: number }): LabelledImages => {
  const frames = int('frames', options.frames, 1, 4096);
  const size = options.size === undefined ? undefined : int('loadClipFolder.size', options.size, 1, 16384);
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
  let height = size ?? 0;
  let width = size ?? 0;
  const chunks: Float32Array[] = [];
  clips.forEach(({ path }) => {
    const files = framesIn(path);
    if (files.length < frames) throw new FormatError(path, `clip has ${files.length} frames, fewer than the ${frames} asked for`);
    files.slice(0, frames).forEach((file) => {
      const img = decodeRgb(file);
      if (height === 0) [height, width] = [img.height, img.width];
      const out = new Float32Array(height * width * 3);
      if (size !== undefined) resizeInto(img, size, out, 0);
      else if (img.width !== width || img.height !== height)
        throw new FormatError(file, `frame is ${img.width}x${img.height}, others are ${width}x${height}; pass { size } to resize them all`);
      else for (let i = 0; i < img.data.length; i++) out[i] = UNIT[img.data[i]!]!;
      chunks.push(out);
    });
  });
  const images = new Float32Array(chunks.length * height * width * 3);
  chunks.forEach((c, i) => images.set(c, i * height * width * 3));
  const d = { count: clips.length, frames, height, width, channels: 3, images, labels: Int32Array.from(clips, (c) => c.label), classes };
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

/**
 * Choosing training data from the command line: `synthetic` (generated, the embedded default),
 * `cifar10:DIR` (binary batches), `folder:DIR` (PNG/JPEG, optionally resized) or
 * `npy:IMAGES.npy[:LABELS.npy]`; for video, `synthetic-video` (generated bouncing shapes),
 * `clips:DIR` (frame folders) or `npy:CLIPS.npy` holding [N, T, H, W, C]. Each gives a training
 * split and a held-out split.
 *
 * @since 0.1.0
 */
import { ConfigError, FormatError, ShapeError } from '../core/errors.js';
import { assertFiniteImages, assertUnitRange, slice } from '../data/batches.js';
import { synthetic, syntheticVideos, type LabelledImages } from '../data/synthetic.js';
import { decodeNpyFloat32, readNpy, readNpyHeader, type NpyHeader } from '../io/npy.js';
import { openFile, readFileBytes } from './fsErrors.js';
import { loadCifar10, loadClipFolder, loadImageFolder } from './loaders.js';

/**
 * A data source.
 *
 * @since 0.1.0
 */
export type DataSource =
  | { readonly kind: 'synthetic' }
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
  const i = s.indexOf(':');
  const kind = i < 0 ? s : s.slice(0, i);
  const rest = i < 0 ? '' : s.slice(i + 1);
  if ((kind === 'cifar10' || kind === 'folder' || kind === 'clips') && rest) return { kind, dir: rest };
  if (kind === 'npy' && rest) {
    const [images, labels] = rest.split(':');
    return labels ? { kind: 'npy', images: images!, labels } : { kind: 'npy', images: images! };
  }
  throw new ConfigError(
    '--data',
    s,
    'must be synthetic, cifar10:DIR, folder:DIR, npy:IMAGES.npy[:LABELS.npy], synthetic-video or clips:DIR',
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
 * (`synthetic`, `synthetic-video`) comes back as it is; a source read from a path (`npy`,
 * `folder`, `cifar10`, `clips`) is a {@link ConfigError} asking for `--data`; anything else is a
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
  if (kind === 'npy' || kind === 'folder' || kind === 'cifar10' || kind === 'clips')
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
 * Loads a source as { train, held } (held-out images for reconstruction pictures and metrics):
 * synthetic data (images, or clips of `frames` frames) uses `count` training samples and `held`
 * more generated after them; CIFAR-10 uses its test batch; folders, clip folders and .npy files
 * hold out their last `held` samples.
 *
 * @example
 * const { train, held } = loadSplits({ kind: 'synthetic' }, { count: 2000, held: 200, seed: 0 })
 * @since 0.1.0
 */
export const loadSplits = (
  src: DataSource,
  o: { readonly count: number; readonly held: number; readonly seed: number; readonly size?: number; readonly frames?: number },
): { readonly train: LabelledImages; readonly held: LabelledImages } => {
  switch (src.kind) {
    case 'synthetic':
      return {
        train: synthetic({ count: o.count, seed: o.seed, ...(o.size === undefined ? {} : { size: o.size }) }),
        held: synthetic({ count: o.held, seed: o.seed, start: o.count, ...(o.size === undefined ? {} : { size: o.size }) }),
      };
    case 'synthetic-video': {
      const v = { seed: o.seed, frames: o.frames ?? 8, ...(o.size === undefined ? {} : { size: o.size }) };
      return { train: syntheticVideos({ count: o.count, ...v }), held: syntheticVideos({ count: o.held, start: o.count, ...v }) };
    }
    case 'cifar10':
      return { train: loadCifar10(src.dir, 'train'), held: slice(loadCifar10(src.dir, 'test'), 0, o.held) };
    case 'folder':
    case 'clips':
    case 'npy': {
      const all =
        src.kind === 'folder'
          ? loadImageFolder(src.dir, o.size === undefined ? {} : { size: o.size })
          : src.kind === 'clips'
            ? loadClipFolder(src.dir, { frames: o.frames ?? 8, ...(o.size === undefined ? {} : { size: o.size }) })
            : readNpyImages(src.images, src.labels);
      if (all.count <= o.held) throw new ConfigError('--held', o.held, `leaves no training images out of ${all.count}`);
      return { train: slice(all, 0, all.count - o.held), held: slice(all, all.count - o.held, all.count) };
    }
  }
};

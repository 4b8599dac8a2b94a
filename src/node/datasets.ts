/**
 * Choosing training data from the command line: `synthetic` (generated, the embedded default),
 * `cifar10:DIR` (binary batches), `folder:DIR` (PNG/JPEG, optionally resized) or
 * `npy:IMAGES.npy[:LABELS.npy]`; for video, `synthetic-video` (generated bouncing shapes),
 * `clips:DIR` (frame folders) or `npy:CLIPS.npy` holding [N, T, H, W, C]. Each gives a training
 * split and a held-out split.
 *
 * @since 0.1.0
 */
import { existsSync, readFileSync } from 'node:fs';
import { ConfigError, FormatError, ShapeError } from '../core/errors.js';
import { assertFiniteImages, slice } from '../data/batches.js';
import { synthetic, syntheticVideos, type LabelledImages } from '../data/synthetic.js';
import { readNpy } from '../io/npy.js';
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

/**
 * The data source a checkpoint's metadata records, as far as it may be used without the command
 * line: metadata is untrusted, so it never chooses a file or folder to open. A built-in source
 * (`synthetic`, `synthetic-video`) comes back as it is; a source read from a path (`npy`,
 * `folder`, `cifar10`, `clips`) is a {@link ConfigError} asking for `--data`; anything else is a
 * {@link FormatError} naming the file.
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
 * file.
 *
 * @example
 * const clips = readNpyImages('clips.npy')
 * @since 0.1.0
 */
export const readNpyImages = (path: string, labelsPath?: string): LabelledImages => {
  if (!existsSync(path)) throw new FormatError(path, 'no such file');
  const a = readNpy(new Uint8Array(readFileSync(path)), path);
  if (a.shape.length !== 4 && a.shape.length !== 5)
    throw new ShapeError(`${path}`, '[N, H, W, C] images or [N, T, H, W, C] clips', a.shape);
  const video = a.shape.length === 5;
  const [count, frames, height, width, channels] = (video ? a.shape : [a.shape[0], 1, ...a.shape.slice(1)]) as [
    number,
    number,
    number,
    number,
    number,
  ];
  let images: Float32Array;
  if (a.dtype === 'uint8') images = Float32Array.from(a.data, (v) => v / 255);
  else if (a.dtype === 'float32') images = a.data;
  else if (a.dtype === 'float64' || a.dtype === 'float16') images = Float32Array.from(a.data);
  else throw new FormatError(path, `images must be float32, float64, float16 or uint8, got ${a.dtype}`);
  let labels = new Int32Array(count);
  if (labelsPath) {
    if (!existsSync(labelsPath)) throw new FormatError(labelsPath, 'no such file');
    const l = readNpy(new Uint8Array(readFileSync(labelsPath)), labelsPath);
    if (l.shape.length !== 1 || l.shape[0] !== count) throw new ShapeError(labelsPath, `[${count}]`, l.shape);
    if (!(l.data instanceof Int32Array || l.data instanceof Uint8Array || l.data instanceof Int16Array || l.data instanceof Int8Array)) {
      throw new FormatError(labelsPath, `labels must be integers, got ${l.dtype}`);
    }
    labels = Int32Array.from(l.data);
    const bad = labels.findIndex((v) => v < 0);
    if (bad >= 0) throw new FormatError(labelsPath, `label ${labels[bad]} at index ${bad} is negative`);
  }
  const classes = Array.from({ length: Math.max(1, ...labels) + 1 }, (_, k) => String(k));
  const d = { count, ...(video ? { frames } : {}), height, width, channels, images, labels, classes };
  assertFiniteImages(path, d);
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

/**
 * Node file helpers: atomic writes and PNG files.
 *
 * @since 0.1.0
 */
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { deflateSync } from 'node:zlib';
import { encodePng, type Image8 } from '../io/png.js';

/**
 * Writes a file atomically: the bytes go to a temporary sibling that is then renamed over the
 * target, so a crash mid-write never leaves a partial file under the target's name.
 *
 * @example
 * writeFileAtomic('runs/a/latest.safetensors', bytes)
 * @since 0.1.0
 */
export const writeFileAtomic = (path: string, bytes: Uint8Array | string): void => {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, bytes);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
};

/**
 * Writes an 8-bit image as a zlib-compressed PNG, atomically.
 *
 * @example
 * writePng('runs/demo/grid.png', tileImages(cells))
 * @since 0.1.0
 */
export const writePng = (path: string, img: Image8): void =>
  writeFileAtomic(
    path,
    encodePng(img, (raw) => deflateSync(raw)),
  );

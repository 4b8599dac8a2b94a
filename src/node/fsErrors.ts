/**
 * File-system failures as {@link IoError}s: reading files and folders whose path the user gave,
 * with the path, the operation and the system's code in the error instead of a raw Node error.
 * Internal to the Node readers (not re-exported).
 *
 * @since 0.2.0
 */
import { closeSync, fstatSync, openSync, readdirSync, readFileSync, readSync, statSync, type Dirent, type Stats } from 'node:fs';
import { IoError } from '../core/errors.js';
import { errnoReason, toIoError } from './files.js';

/** The {@link IoError} for a failed file-system call on `path` (see `toIoError` in `./files.ts`, the one mapping of system codes to words). */
const ioError = (path: string, operation: string, e: unknown): Error => toIoError(e, path, operation);

/** `statSync`, failing with an IoError naming the path. */
export const statPath = (path: string, operation: string): Stats => {
  try {
    return statSync(path);
  } catch (e) {
    throw ioError(path, operation, e);
  }
};

/** Checks that `path` is a regular file (not a folder, device or pipe); returns its size. */
export const checkFile = (path: string): number => {
  const st = statPath(path, 'read');
  if (st.isDirectory()) throw new IoError(path, 'read', errnoReason('EISDIR'), 'EISDIR');
  if (!st.isFile()) throw new IoError(path, 'read', 'not a regular file');
  return st.size;
};

/** Checks that `path` is a folder. */
export const checkFolder = (path: string): void => {
  const st = statPath(path, 'read folder');
  if (!st.isDirectory()) throw new IoError(path, 'read folder', 'is a file, not a folder', 'ENOTDIR');
};

/** A whole file's bytes (a Buffer, which the readers take as any other view). */
export const readFileBytes = (path: string): Uint8Array => {
  checkFile(path);
  try {
    return readFileSync(path);
  } catch (e) {
    throw ioError(path, 'read', e);
  }
};

/** A whole text file. */
export const readFileText = (path: string): string => {
  checkFile(path);
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw ioError(path, 'read', e);
  }
};

/** The entries of a folder. */
export const readFolder = (path: string): Dirent[] => {
  try {
    return readdirSync(path, { withFileTypes: true });
  } catch (e) {
    throw ioError(path, 'read folder', e);
  }
};

/**
 * An open regular file for reading at positions: `read(buf, position)` fills `buf` (fewer bytes
 * only at the end of the file); `close()` must be called when done.
 */
export interface ReadHandle {
  readonly size: number;
  read(buf: Uint8Array, position: number): number;
  close(): void;
}

/** Opens a regular file for positioned reads; every failure is an IoError naming the path. */
export const openFile = (path: string): ReadHandle => {
  checkFile(path);
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw ioError(path, 'open', e);
  }
  let size: number;
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new IoError(path, 'read', 'not a regular file');
    size = st.size;
  } catch (e) {
    closeSync(fd);
    throw ioError(path, 'read', e);
  }
  return {
    size,
    read: (buf, position) => {
      let got = 0;
      try {
        while (got < buf.length) {
          const n = readSync(fd, buf, got, buf.length - got, position + got);
          if (n === 0) break;
          got += n;
        }
      } catch (e) {
        throw ioError(path, 'read', e);
      }
      return got;
    },
    close: () => closeSync(fd),
  };
};

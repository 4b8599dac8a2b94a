/**
 * Node file helpers: durable atomic writes, PNG files, log appends, output-folder checks made
 * before any work, clean-up of the temporary files of killed writes, and file-system errors as
 * {@link IoError}s naming the path, the operation and the reason in words.
 *
 * @since 0.1.0
 */
import * as fs from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { deflateSync } from 'node:zlib';
import { IoError, TesseraeError } from '../core/errors.js';
import { encodePng, type Image8 } from '../io/png.js';

/** The system error code of a thrown value (`EISDIR`, `ENOSPC`, ...), or undefined. */
const errnoOf = (e: unknown): string | undefined =>
  e instanceof Error && 'code' in e && typeof e.code === 'string' && /^E[A-Z0-9]+$/.test(e.code) ? e.code : undefined;

const REASONS: Readonly<Record<string, string>> = {
  EISDIR: 'it is a folder, not a file',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EEXIST: 'a file of that name already exists',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'the file system is read-only',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'the disk quota is exceeded',
  ENOENT: 'no such file or folder',
  ENAMETOOLONG: 'the name is too long',
  ELOOP: 'too many symbolic links in the path',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files in the system',
  EBUSY: 'the file or folder is busy',
  EIO: 'an input/output error of the device',
  EFBIG: 'the file is too large for the file system',
  ENOTEMPTY: 'the folder is not empty',
  EXDEV: 'the source and the target are on different file systems',
  EINVAL: 'the operation is not supported here',
};

/**
 * The plain-English reason for a system error code (`EISDIR` -> 'it is a folder, not a file');
 * an unknown code gives `fallback` (or 'system error CODE').
 *
 * @example
 * errnoReason('EROFS') // 'the file system is read-only'
 * @since 0.2.0
 */
export const errnoReason = (code: string, fallback?: string): string => REASONS[code] ?? fallback ?? `system error ${code}`;

/** Linux file-system types (statfs f_type) whose files are not stored anywhere. */
const VIRTUAL_FS: Readonly<Record<number, string>> = {
  0x9fa0: 'proc',
  0x62656572: 'sysfs',
  0x64626720: 'debugfs',
  0x73636673: 'securityfs',
  0x27e0eb: 'cgroup',
  0x63677270: 'cgroup2',
  0xcafe4a11: 'bpf',
  0x74726163: 'tracefs',
  0x50495045: 'pipefs',
  0x42494e4d: 'binfmt_misc',
  0x6e736673: 'nsfs',
};

/** A path's stats, or undefined when it (or a folder on its way) does not exist. */
const statOf = (path: string): fs.Stats | undefined => {
  try {
    return fs.statSync(path);
  } catch (e) {
    const code = errnoOf(e);
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw e;
  }
};

/** The deepest existing ancestor of `path` (itself when it exists), or undefined. */
const existingAncestor = (path: string): string | undefined => {
  let d = resolve(path);
  for (;;) {
    try {
      fs.statSync(d);
      return d;
    } catch {
      const up = dirname(d);
      if (up === d) return undefined;
      d = up;
    }
  }
};

/** The name of the virtual file system (proc, sysfs, ...) `path` lies on, or undefined. */
const virtualFs = (path: string): string | undefined => {
  if (process.platform !== 'linux') return undefined;
  const at = existingAncestor(path);
  if (at === undefined) return undefined;
  try {
    return VIRTUAL_FS[Number(fs.statfsSync(at).type)];
  } catch {
    return undefined;
  }
};

/** Whether the folder holding `path` (or its deepest existing ancestor) is on a read-only mount. */
const onReadOnlyMount = (path: string): boolean => {
  const at = existingAncestor(path);
  if (at === undefined) return false;
  try {
    fs.accessSync(at, fs.constants.W_OK);
    return false;
  } catch (e) {
    return errnoOf(e) === 'EROFS';
  }
};

const VIRTUAL_REASON = (name: string): string => `it is on ${name}, a virtual file system where written files are not stored`;

/**
 * A thrown file-system error as an {@link IoError} naming `path` and `operation`, with the
 * reason in words. A `TesseraeError` passes through unchanged. An ENOENT while creating or
 * writing is looked at more closely, since some systems report it for other causes: a path on a
 * read-only mount says read-only (EROFS), a path under /proc or /sys says so.
 *
 * @example
 * import { writeFileSync } from 'node:fs'
 * try { writeFileSync(p, bytes) } catch (e) { throw toIoError(e, p, 'write') }
 * @since 0.2.0
 */
export const toIoError = (e: unknown, path: string, operation: string): Error => {
  if (e instanceof TesseraeError) return e;
  const code = errnoOf(e);
  if (code === undefined) return new IoError(path, operation, e instanceof Error ? e.message : String(e));
  if (code === 'ENOENT' && !/^read/.test(operation)) {
    const v = virtualFs(path);
    if (v !== undefined) return new IoError(path, operation, VIRTUAL_REASON(v), code);
    if (onReadOnlyMount(path)) return new IoError(path, operation, errnoReason('EROFS'), 'EROFS');
  }
  return new IoError(path, operation, errnoReason(code), code);
};

/**
 * The file operations the durable writes use; tests pass a recording wrapper around
 * {@link nodeFileOps} to see each call.
 *
 * @since 0.2.0
 */
export interface FileOps {
  readonly openSync: (path: string, flags: string, mode?: number) => number;
  readonly writeSync: (fd: number, buffer: Uint8Array, offset: number, length: number, position: number | null) => number;
  readonly fsyncSync: (fd: number) => void;
  readonly closeSync: (fd: number) => void;
  readonly renameSync: (from: string, to: string) => void;
  readonly rmSync: (path: string, options: { readonly force: boolean }) => void;
}

/**
 * The real file operations of `node:fs` (what {@link writeFileAtomic} uses by default).
 *
 * @example
 * writeFileAtomic('a.txt', 'x', { ops: { ...nodeFileOps, fsyncSync: (fd) => { console.log('fsync'); nodeFileOps.fsyncSync(fd) } } })
 * @since 0.2.0
 */
export const nodeFileOps: FileOps = {
  openSync: (path, flags, mode) => fs.openSync(path, flags, mode),
  writeSync: (fd, buffer, offset, length, position) => fs.writeSync(fd, buffer, offset, length, position),
  fsyncSync: (fd) => fs.fsyncSync(fd),
  closeSync: (fd) => fs.closeSync(fd),
  renameSync: (from, to) => fs.renameSync(from, to),
  rmSync: (path, options) => fs.rmSync(path, options),
};

/**
 * Creates a folder and its missing parents, one level at a time (unlike `mkdirSync(p,
 * { recursive: true })`, which spins forever under /proc); every failure is an
 * {@link IoError} naming the folder.
 *
 * @example
 * makeFolder('runs/a/checkpoints')
 * @since 0.2.0
 */
export const makeFolder = (dir: string): void => {
  const want = resolve(dir);
  const missing: string[] = [];
  let d = want;
  for (;;) {
    let st: fs.Stats;
    try {
      st = fs.statSync(d);
    } catch (e) {
      const code = errnoOf(e);
      const up = dirname(d);
      if (code === 'ENOENT' && up !== d) {
        missing.push(d);
        d = up;
        continue;
      }
      if (code === 'ENOTDIR') {
        // a file somewhere above: find it to name it
        d = up;
        continue;
      }
      throw toIoError(e, dir, 'create folder');
    }
    if (!st.isDirectory()) {
      if (d === want) throw new IoError(dir, 'create folder', 'a file of that name already exists', 'EEXIST');
      throw new IoError(dir, 'create folder', `${d} is a file, not a folder`, 'ENOTDIR');
    }
    break;
  }
  if (missing.length > 0) {
    const v = virtualFs(d);
    if (v !== undefined) throw new IoError(dir, 'create folder', VIRTUAL_REASON(v));
  }
  for (const m of missing.reverse()) {
    try {
      fs.mkdirSync(m);
    } catch (e) {
      if (errnoOf(e) === 'EEXIST' && fs.statSync(m, { throwIfNoEntry: false })?.isDirectory()) continue;
      throw toIoError(e, dir, 'create folder');
    }
  }
};

/** The temporary sibling a write of `path` goes through: `<path>.tmp-<pid>`. */
const tempName = (path: string): string => `${path}.tmp-${process.pid}`;

/** The pattern of the temporary files of {@link writeFileAtomic}: `<name>.tmp-<pid>`. */
const TEMP = /^(.+)\.tmp-(\d+)$/;

/** Syncs a folder (its entries: a rename into it) to the disk; platforms that cannot are skipped. */
const syncFolder = (dir: string, target: string, ops: FileOps): void => {
  let fd: number | undefined;
  try {
    fd = ops.openSync(dir, 'r');
    ops.fsyncSync(fd);
  } catch (e) {
    const code = errnoOf(e);
    // Windows cannot open a folder; some file systems cannot fsync one
    if (code !== 'EISDIR' && code !== 'EINVAL' && code !== 'ENOTSUP' && code !== 'EPERM' && code !== 'EBADF')
      throw toIoError(e, target, 'write');
  } finally {
    if (fd !== undefined) ops.closeSync(fd);
  }
};

/**
 * Writes a file atomically and durably: the bytes go to a temporary sibling `<path>.tmp-<pid>`,
 * which is synced to the disk, renamed over the target, and the folder synced, so neither a
 * crash nor a power cut ever leaves a partial file under the target's name. Every failure
 * (ENOSPC included) is an {@link IoError} naming the target; the temporary file is removed.
 *
 * @example
 * writeFileAtomic('runs/a/latest.safetensors', bytes)
 * @since 0.1.0
 */
export const writeFileAtomic = (path: string, bytes: Uint8Array | string, options: { readonly ops?: FileOps } = {}): void => {
  const ops = options.ops ?? nodeFileOps;
  const dir = dirname(path);
  try {
    makeFolder(dir);
  } catch (e) {
    if (e instanceof IoError) throw new IoError(path, 'write', `its folder cannot be created: ${e.reason}`, e.errno);
    throw e;
  }
  const data = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
  const tmp = tempName(path);
  let fd: number | undefined;
  try {
    fd = ops.openSync(tmp, 'w', 0o666);
    for (let off = 0; off < data.byteLength;) off += ops.writeSync(fd, data, off, data.byteLength - off, null);
    ops.fsyncSync(fd);
    const f = fd;
    fd = undefined;
    ops.closeSync(f);
    ops.renameSync(tmp, path);
  } catch (e) {
    if (fd !== undefined) {
      try {
        ops.closeSync(fd);
      } catch {
        // already failing: the first error is the one to report
      }
    }
    try {
      ops.rmSync(tmp, { force: true });
    } catch {
      // a temporary file that cannot be removed is cleaned at the next run's start
    }
    throw toIoError(e, path, 'write');
  }
  syncFolder(dir, path, ops);
};

/**
 * Appends text to a file (creating it); a failure (ENOSPC included) is an {@link IoError}
 * naming the file.
 *
 * @example
 * appendText('runs/a/log.jsonl', `${JSON.stringify({ step: 1, loss: 0.5 })}\n`)
 * @since 0.2.0
 */
export const appendText = (path: string, text: string): void => {
  try {
    fs.appendFileSync(path, text);
  } catch (e) {
    throw toIoError(e, path, 'append to');
  }
};

/**
 * Syncs a file's bytes to the disk (fsync), when it exists; a failure is an {@link IoError}.
 *
 * @example
 * syncFile('runs/a/log.jsonl')
 * @since 0.2.0
 */
export const syncFile = (path: string): void => {
  let fd: number | undefined;
  try {
    fd = fs.openSync(path, 'r+');
    fs.fsyncSync(fd);
  } catch (e) {
    if (errnoOf(e) !== 'ENOENT') throw toIoError(e, path, 'sync');
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
};

/** Whether a process with this id is alive (EPERM: alive, owned by someone else). */
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errnoOf(e) === 'EPERM';
  }
};

/**
 * Removes the temporary files `<name>.tmp-<pid>` that killed writes of {@link writeFileAtomic}
 * left in `dir` (not below it): those whose writer is no longer alive, or every one with
 * `all` (at the start of a training run, which is the only writer of its folder). Returns the
 * names removed and their total size; a missing folder removes nothing.
 *
 * @example
 * const { removed, bytes } = removeStaleTempFiles('runs/a/checkpoints', { all: true })
 * @since 0.2.0
 */
export const removeStaleTempFiles = (dir: string, options: { readonly all?: boolean } = {}): { removed: string[]; bytes: number } => {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (e) {
    const code = errnoOf(e);
    if (code === 'ENOENT' || code === 'ENOTDIR') return { removed: [], bytes: 0 };
    throw toIoError(e, dir, 'list folder');
  }
  const removed: string[] = [];
  let bytes = 0;
  for (const name of names.sort()) {
    const m = TEMP.exec(name);
    if (!m) continue;
    const pid = Number(m[2]);
    if (!options.all && (pid === process.pid || alive(pid))) continue;
    const p = join(dir, name);
    const st = fs.lstatSync(p, { throwIfNoEntry: false });
    if (!st || !st.isFile()) continue;
    try {
      fs.rmSync(p, { force: true });
    } catch (e) {
      throw toIoError(e, p, 'remove');
    }
    removed.push(name);
    bytes += st.size;
  }
  return { removed, bytes };
};

/** The probe file an output check writes and removes. */
const probeName = (): string => `.tesserae-probe-${process.pid}`;

/** Fails unless a file can be created, written, read back and removed in the existing folder `dir`. */
const probeFolder = (dir: string, target: string, operation: string): void => {
  const p = join(dir, probeName());
  const bytes = Buffer.from('tesserae output check\n');
  try {
    fs.writeFileSync(p, bytes);
    const back = fs.readFileSync(p);
    if (!back.equals(bytes))
      throw new IoError(target, operation, 'a file written there does not read back (the file system does not store it)');
  } catch (e) {
    throw toIoError(e, target, operation);
  } finally {
    try {
      fs.rmSync(p, { force: true });
    } catch {
      // nothing to clean up
    }
  }
};

/**
 * Checks, before any work, that `dir` can be an output folder: it is a folder or can be made
 * one (no file in the way), it is not under /proc or /sys, and a file can be written and read
 * back in it (or, when it does not exist yet, in its deepest existing parent: nothing is
 * created, so a run that fails on its input leaves nothing behind). Every problem is an
 * {@link IoError} naming the folder; with `create` the folder is also made.
 *
 * @example
 * prepareOutputFolder('runs/eval') // before loading the model
 * @since 0.2.0
 */
export const prepareOutputFolder = (dir: string, options: { readonly create?: boolean } = {}): void => {
  const operation = 'write into folder';
  const want = resolve(dir);
  let st: fs.Stats | undefined;
  try {
    st = statOf(want);
  } catch (e) {
    throw toIoError(e, dir, operation);
  }
  if (st && !st.isDirectory()) throw new IoError(dir, operation, 'it is a file, not a folder', 'EEXIST');
  const v = virtualFs(want);
  if (v !== undefined) throw new IoError(dir, operation, VIRTUAL_REASON(v));
  const at = existingAncestor(want);
  if (at === undefined) throw new IoError(dir, operation, errnoReason('ENOENT'), 'ENOENT');
  if (!fs.statSync(at).isDirectory()) throw new IoError(dir, operation, `${at} is a file, not a folder`, 'ENOTDIR');
  try {
    fs.accessSync(at, fs.constants.W_OK | fs.constants.X_OK);
  } catch (e) {
    throw toIoError(e, dir, operation);
  }
  probeFolder(at, dir, operation);
  if (options.create) makeFolder(dir);
};

/**
 * Checks, before any work, that `file` can be written: it is not a folder, and its folder can
 * be an output folder ({@link prepareOutputFolder}). Nothing is created.
 *
 * @example
 * prepareOutputFile('runs/mae.safetensors') // before loading the checkpoint
 * @since 0.2.0
 */
export const prepareOutputFile = (file: string): void => {
  let st: fs.Stats | undefined;
  try {
    st = statOf(resolve(file));
  } catch (e) {
    throw toIoError(e, file, 'write');
  }
  if (st?.isDirectory()) throw new IoError(file, 'write', errnoReason('EISDIR'), 'EISDIR');
  if (basename(resolve(file)) === '') throw new IoError(file, 'write', 'the path names no file');
  const parent = dirname(resolve(file));
  try {
    prepareOutputFolder(parent);
  } catch (e) {
    if (e instanceof IoError && e.errno === 'EEXIST') throw new IoError(file, 'write', `${parent} is a file, not a folder`, 'ENOTDIR');
    if (e instanceof IoError) throw new IoError(file, 'write', e.reason, e.errno);
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

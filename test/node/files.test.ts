import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { IoError } from '../../src/index.js';
import {
  appendText,
  errnoReason,
  makeFolder,
  nodeFileOps,
  prepareOutputFile,
  prepareOutputFolder,
  removeStaleTempFiles,
  toIoError,
  writeFileAtomic,
  type FileOps,
} from '../../src/node/index.js';

const dir = fs.mkdtempSync(join(tmpdir(), 'tesserae-files-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const sysError = (code: string): Error => Object.assign(new Error(`${code}: synthetic`), { code });
const isIo = (path: string, errno: string | undefined, reason: RegExp) => (e: unknown) =>
  e instanceof IoError && e.path === path && e.errno === errno && reason.test(e.reason);

/** A pid that no process has: a child's, after it exited. */
const deadPid = (): number => {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
};

describe('file-system errors', () => {
  it('map every common errno to words, keeping the code', () => {
    for (const [code, words] of [
      ['EISDIR', /folder, not a file/],
      ['ENOTDIR', /file, not a folder/],
      ['EEXIST', /already exists/],
      ['EACCES', /permission denied/],
      ['EPERM', /not permitted/],
      ['EROFS', /read-only/],
      ['ENOSPC', /no space left/],
      ['ENOENT', /no such file or folder/],
    ] as const) {
      assert.match(errnoReason(code), words, code);
      const e = toIoError(sysError(code), 'runs/a/x.bin', 'write');
      assert.ok(e instanceof IoError, code);
      assert.equal(e.path, 'runs/a/x.bin');
      assert.equal(e.operation, 'write');
      assert.equal(e.errno, code);
      assert.match(e.message, new RegExp(`^runs/a/x\\.bin: cannot write: .*\\(${code}\\)$`));
    }
    assert.match(errnoReason('EWHATEVER'), /system error EWHATEVER/);
    const plain = toIoError(new Error('odd'), 'p', 'read');
    assert.ok(plain instanceof IoError && plain.errno === undefined && plain.reason === 'odd');
  });

  it(
    'an ENOENT while writing under /proc or /sys says virtual file system; while reading it stays ENOENT',
    { skip: process.platform !== 'linux' },
    () => {
      const e = toIoError(sysError('ENOENT'), '/proc/x/run', 'create folder');
      assert.ok(e instanceof IoError && /proc, a virtual file system/.test(e.reason), String(e));
      const s = toIoError(sysError('ENOENT'), '/sys/tesserae-x', 'write');
      assert.ok(e instanceof IoError && s instanceof IoError && /sysfs/.test(s.reason), String(s));
      const r = toIoError(sysError('ENOENT'), '/proc/x', 'read');
      assert.ok(r instanceof IoError && r.errno === 'ENOENT');
    },
  );

  it('an ENOENT while writing on a read-only mount says read-only (EROFS)', () => {
    // a read-only tmpfs in a private mount namespace (vanishes with the child); skipped where
    // mounting is not allowed (not root, no CAP_SYS_ADMIN)
    const ro = join(dir, 'ro');
    fs.mkdirSync(ro);
    const files = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'node', 'files.js');
    const script = join(dir, 'ro.mjs');
    fs.writeFileSync(
      script,
      `import { mkdirSync } from 'node:fs';
       import { toIoError, makeFolder, writeFileAtomic } from ${JSON.stringify(files)};
       const out = [];
       try { mkdirSync(${JSON.stringify(join(ro, 'a', 'b'))}, { recursive: true }); out.push('created'); } catch (e) { out.push(toIoError(e, ${JSON.stringify(join(ro, 'a', 'b'))}, 'create folder').message); }
       try { makeFolder(${JSON.stringify(join(ro, 'a', 'b'))}); } catch (e) { out.push(e.message); }
       try { writeFileAtomic(${JSON.stringify(join(ro, 'f.txt'))}, 'x'); } catch (e) { out.push(e.message); }
       console.log(JSON.stringify(out));`,
    );
    const r = spawnSync('unshare', ['-m', 'sh', '-c', `mount -t tmpfs -o ro tmpfs "${ro}" && exec "${process.execPath}" "${script}"`], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    // root with unshare (as here and in CI) mounts it; elsewhere this fails loudly rather than skip
    assert.ok(r.status === 0 && !r.error, `cannot mount a read-only file system here: ${r.error?.message ?? r.stderr.trim()}`);
    const out = JSON.parse(r.stdout.trim()) as string[];
    assert.equal(out.length, 3, r.stdout);
    // node's recursive mkdir reports ENOENT on a read-only mount; the IoError says read-only
    for (const m of out) assert.match(m, /read-only \(EROFS\)/);
  });
});

describe('writeFileAtomic', () => {
  const recording = (calls: string[], fail?: { readonly op: keyof FileOps; readonly code: string }): FileOps => {
    const fds = new Map<number, string>();
    const maybeFail = (op: keyof FileOps): void => {
      if (fail?.op === op) throw sysError(fail.code);
    };
    return {
      openSync: (p, flags, mode) => {
        maybeFail('openSync');
        const fd = nodeFileOps.openSync(p, flags, mode);
        fds.set(fd, p);
        calls.push(`open ${p.slice(dir.length + 1)}`);
        return fd;
      },
      writeSync: (fd, b, off, len, pos) => {
        maybeFail('writeSync');
        calls.push(`write ${fds.get(fd)!.slice(dir.length + 1)}`);
        return nodeFileOps.writeSync(fd, b, off, len, pos);
      },
      fsyncSync: (fd) => {
        maybeFail('fsyncSync');
        calls.push(`fsync ${fds.get(fd)!.slice(dir.length + 1)}`);
        nodeFileOps.fsyncSync(fd);
      },
      closeSync: (fd) => {
        calls.push(`close ${fds.get(fd)!.slice(dir.length + 1)}`);
        nodeFileOps.closeSync(fd);
      },
      renameSync: (a, b) => {
        maybeFail('renameSync');
        calls.push(`rename ${a.slice(dir.length + 1)} ${b.slice(dir.length + 1)}`);
        nodeFileOps.renameSync(a, b);
      },
      rmSync: (p, o) => {
        calls.push(`rm ${p.slice(dir.length + 1)}`);
        nodeFileOps.rmSync(p, o);
      },
    };
  };

  it('syncs the temporary file before the rename, and the folder after it', () => {
    const calls: string[] = [];
    const target = join(dir, 'w', 'a.bin');
    writeFileAtomic(target, new Uint8Array(1000).fill(7), { ops: recording(calls) });
    const tmp = `w/a.bin.tmp-${process.pid}`;
    assert.deepEqual(calls, [
      `open ${tmp}`,
      `write ${tmp}`,
      `fsync ${tmp}`,
      `close ${tmp}`,
      `rename ${tmp} w/a.bin`,
      'open w',
      'fsync w',
      'close w',
    ]);
    assert.deepEqual(fs.readFileSync(target), Buffer.alloc(1000, 7));
  });

  it('a full disk is an IoError naming the target, and the temporary file is removed', () => {
    const target = join(dir, 'full', 'ck.safetensors');
    fs.mkdirSync(dirname(target));
    fs.writeFileSync(target, 'old');
    for (const op of ['writeSync', 'fsyncSync', 'renameSync'] as const) {
      const calls: string[] = [];
      assert.throws(
        () => writeFileAtomic(target, 'new bytes', { ops: recording(calls, { op, code: 'ENOSPC' }) }),
        isIo(target, 'ENOSPC', /no space left on the device/),
        op,
      );
      assert.ok(calls.includes(`rm full/ck.safetensors.tmp-${process.pid}`), `${op}: ${calls.join(', ')}`);
      assert.deepEqual(fs.readdirSync(dirname(target)), ['ck.safetensors'], op);
      assert.equal(fs.readFileSync(target, 'utf8'), 'old', op);
    }
  });

  it('a folder where the file should go, or a file where a folder should be, is an IoError naming the target', () => {
    const d = join(dir, 'isdir');
    fs.mkdirSync(join(d, 'x.bin'), { recursive: true });
    assert.throws(() => writeFileAtomic(join(d, 'x.bin'), 'x'), isIo(join(d, 'x.bin'), 'EISDIR', /folder, not a file/));
    fs.writeFileSync(join(d, 'plain'), 'x');
    assert.throws(
      () => writeFileAtomic(join(d, 'plain', 'sub', 'y.bin'), 'y'),
      isIo(join(d, 'plain', 'sub', 'y.bin'), 'ENOTDIR', /folder cannot be created: .*plain is a file, not a folder/),
    );
    assert.deepEqual(fs.readdirSync(d).sort(), ['plain', 'x.bin']);
  });

  it('appending to a full device is an IoError naming the file (ENOSPC)', { skip: !fs.existsSync('/dev/full') }, () => {
    assert.throws(() => appendText('/dev/full', '{"step":1}\n'), isIo('/dev/full', 'ENOSPC', /no space left/));
  });
});

describe('output checks', () => {
  it('a file given as an output folder, or in its path, is refused before anything is written', () => {
    const f = join(dir, 'a-file');
    fs.writeFileSync(f, 'x');
    assert.throws(() => prepareOutputFolder(f), isIo(f, 'EEXIST', /it is a file, not a folder/));
    assert.throws(
      () => prepareOutputFolder(join(f, 'run')),
      (e: unknown) => e instanceof IoError && e.errno === 'ENOTDIR',
    );
    assert.throws(() => makeFolder(f), isIo(f, 'EEXIST', /already exists/));
    assert.throws(() => prepareOutputFile(dir), isIo(dir, 'EISDIR', /folder, not a file/));
    assert.throws(
      () => prepareOutputFile(join(f, 'x.png')),
      (e: unknown) => e instanceof IoError && e.path === join(f, 'x.png'),
    );
  });

  it('a new output folder is checked without being created; with create it is made', () => {
    const d = join(dir, 'new', 'deeper');
    prepareOutputFolder(d);
    assert.equal(fs.existsSync(join(dir, 'new')), false);
    assert.deepEqual(
      fs.readdirSync(dir).filter((n) => n.startsWith('.tesserae-probe')),
      [],
      'the probe file is removed',
    );
    prepareOutputFolder(d, { create: true });
    assert.ok(fs.statSync(d).isDirectory());
    prepareOutputFile(join(dir, 'new', 'out.png'));
    assert.equal(fs.existsSync(join(dir, 'new', 'out.png')), false);
  });

  it('/proc and /sys are refused at once, and making a folder there does not spin', { skip: process.platform !== 'linux' }, () => {
    for (const p of ['/proc/tesserae-x', '/proc/tesserae-x/deeper', '/sys/tesserae-x']) {
      assert.throws(
        () => prepareOutputFolder(p),
        (e: unknown) => e instanceof IoError && /virtual file system/.test(e.reason),
        p,
      );
    }
    assert.throws(
      () => prepareOutputFile('/proc/tesserae-x.png'),
      (e: unknown) => e instanceof IoError && /virtual/.test(e.message),
    );
    // node's mkdirSync(p, { recursive: true }) loops forever here; makeFolder fails at once
    const t0 = Date.now();
    assert.throws(
      () => makeFolder('/proc/tesserae-x/deeper'),
      (e: unknown) => e instanceof IoError && /proc/.test(e.reason),
    );
    assert.throws(() => writeFileAtomic('/proc/tesserae-x/y/z.bin', 'z'), IoError);
    assert.throws(
      () => writeFileAtomic('/proc/tesserae-z.bin', 'z'),
      (e: unknown) => e instanceof IoError && e.path === '/proc/tesserae-z.bin',
    );
    assert.ok(Date.now() - t0 < 2000);
  });
});

describe('removeStaleTempFiles', () => {
  it('removes the temporary files of dead writers (all of them with all), and nothing else', () => {
    const d = join(dir, 'stale');
    fs.mkdirSync(d);
    const dead = deadPid();
    const names = [
      `step-000002.safetensors.tmp-${dead}`,
      `latest.safetensors.tmp-${process.pid}`,
      'latest.safetensors',
      'notes.tmp-x',
      'step-000004.safetensors',
    ];
    for (const n of names) fs.writeFileSync(join(d, n), 'abcd');
    const first = removeStaleTempFiles(d);
    assert.deepEqual(first.removed, [`step-000002.safetensors.tmp-${dead}`]);
    assert.equal(first.bytes, 4);
    const second = removeStaleTempFiles(d, { all: true });
    assert.deepEqual(second.removed, [`latest.safetensors.tmp-${process.pid}`]);
    assert.deepEqual(fs.readdirSync(d).sort(), ['latest.safetensors', 'notes.tmp-x', 'step-000004.safetensors']);
    assert.deepEqual(removeStaleTempFiles(join(dir, 'no-such-folder')), { removed: [], bytes: 0 });
  });
});

// The run-folder policy of `tesserae train` (refuse, --force, --resume from the newest complete
// checkpoint, resume checks), the training log's torn and corrupt lines, and the typed
// file-system errors of every command's --checkpoint / --from / --out.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  appendFileSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { writeNpy } from '../../src/index.js';

const cli = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'tesserae-runs-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const run = (args: readonly string[], timeout = 120_000) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout });
const tiny = [
  ...['--steps', '4', '--batch', '8', '--count', '32', '--held', '4', '--checkpoint-every', '2', '--log-every', '1'],
  ...['--base-lr', '5e-3', '--backend', 'wasm'],
];
/** `tesserae train` on the tiny settings, a flag in `extra` replacing the tiny setting of that flag (the parser refuses a flag given twice). */
const train = (out: string, ...extra: string[]) => {
  const replaced = new Set(extra.filter((a) => a.startsWith('--')));
  const base: string[] = [];
  for (let i = 0; i < tiny.length; i += 2) if (!replaced.has(tiny[i]!)) base.push(tiny[i]!, tiny[i + 1]!);
  return run(['train', ...base, '--out', out, ...extra]);
};
/** The log entries that do not depend on the clock. */
const logOf = (out: string) =>
  readFileSync(join(out, 'log.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { step: number; loss?: number; gradNorm?: number; heldPsnr?: number })
    .map((e) => [e.step, e.loss ?? null, e.gradNorm ?? null, e.heldPsnr ?? null]);
const ck = (out: string, name: string) => join(out, 'checkpoints', name);
const noStack = (stderr: string) => {
  assert.doesNotMatch(stderr, /SyntaxError|\n\s+at .*:\d+:\d+/, `no raw error or stack trace:\n${stderr}`);
};

const ref = join(dir, 'ref');
let n = 0;
/** A copy of the finished reference run. */
const copy = (): string => {
  const d = join(dir, `copy-${n++}`);
  cpSync(ref, d, { recursive: true });
  return d;
};

describe('run folders', () => {
  before(() => {
    const r = train(ref);
    assert.equal(r.status, 0, r.stderr);
  });

  it('a folder that holds a run is refused without --resume or --force, and left as it was', () => {
    const d = copy();
    const log = readFileSync(join(d, 'log.jsonl'));
    const latest = readFileSync(ck(d, 'latest.safetensors'));
    const r = train(d);
    assert.equal(r.status, 2, r.stdout + r.stderr);
    assert.match(
      r.stderr,
      /ConfigError: --out = ".*copy-0": holds a run \(config\.json, curves\.png, log\.jsonl, 4 checkpoint files\); pass --resume to continue it, or --force/,
    );
    assert.deepEqual(readFileSync(join(d, 'log.jsonl')), log);
    assert.deepEqual(readFileSync(ck(d, 'latest.safetensors')), latest);
    const both = train(d, '--resume', '--force');
    assert.equal(both.status, 2);
    assert.match(both.stderr, /--force = true: starts the run over, and --resume continues it/);
  });

  it('--force deletes the previous run (only its files) and starts over', () => {
    const d = copy();
    writeFileSync(join(d, 'notes.txt'), 'mine');
    writeFileSync(join(d, 'checkpoints', 'README'), 'mine too');
    const r = train(d, '--force', '--steps', '2');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /--force: deleted the previous run in .* \(\d+ files, [\d.]+ MiB\)/);
    assert.deepEqual(readdirSync(join(d, 'checkpoints')).sort(), [
      'README',
      'latest.safetensors',
      'step-000000.safetensors',
      'step-000002.safetensors',
    ]);
    assert.deepEqual(readdirSync(join(d, 'reconstructions')).sort(), ['latest.png', 'step-000000.png', 'step-000002.png']);
    assert.deepEqual(
      logOf(d).map(([s]) => s),
      [0, 1, 2, 2],
      'one run in the log: checkpoint 0, steps 1 and 2, checkpoint 2',
    );
    assert.equal(readFileSync(join(d, 'notes.txt'), 'utf8'), 'mine');
  });

  it('--resume with latest missing resumes from the highest step file, to the same bytes as the uninterrupted run', () => {
    const d = copy();
    unlinkSync(ck(d, 'latest.safetensors'));
    unlinkSync(ck(d, 'step-000004.safetensors'));
    const r = train(d, '--resume');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /resuming from .*step-000002\.safetensors at step 2/);
    assert.deepEqual(logOf(d), logOf(ref));
    assert.deepEqual(readFileSync(ck(d, 'latest.safetensors')), readFileSync(ck(ref, 'latest.safetensors')));
    assert.deepEqual(readFileSync(ck(d, 'step-000004.safetensors')), readFileSync(ck(ref, 'step-000004.safetensors')));
  });

  it('--resume skips a torn latest and a torn step file with a warning naming each, and falls back to the newest good one', () => {
    const d = copy();
    truncateSync(ck(d, 'latest.safetensors'), 1000);
    truncateSync(ck(d, 'step-000004.safetensors'), 0);
    const r = train(d, '--resume');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /warning: skipping .*latest\.safetensors, which does not read/);
    assert.match(r.stdout, /warning: skipping .*step-000004\.safetensors, which does not read/);
    assert.match(r.stdout, /resuming from .*step-000002\.safetensors at step 2/);
    assert.deepEqual(logOf(d), logOf(ref));
    assert.deepEqual(readFileSync(ck(d, 'latest.safetensors')), readFileSync(ck(ref, 'latest.safetensors')));
  });

  it('--resume of a run killed between the step file and latest resumes from the step file and repairs latest', () => {
    const d = copy();
    copyFileSync(ck(d, 'step-000002.safetensors'), ck(d, 'latest.safetensors'));
    const r = train(d, '--resume');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /resuming from .*step-000004\.safetensors at step 4/);
    assert.match(r.stdout, /nothing to train/);
    assert.deepEqual(readFileSync(ck(d, 'latest.safetensors')), readFileSync(ck(ref, 'latest.safetensors')));
  });

  it('--resume refuses other data, another count and fewer steps, naming the flag, the new and the old value', () => {
    const d = copy();
    const npy = join(dir, 'images.npy');
    writeFileSync(npy, writeNpy({ shape: [40, 32, 32, 3], data: new Float32Array(40 * 32 * 32 * 3).fill(0.5) }));
    const before = readFileSync(join(d, 'log.jsonl'));
    for (const [extra, pattern] of [
      [
        ['--data', `npy:${npy}`],
        /--data = \{"kind":"npy","images":".*images\.npy"\}: the run being resumed \(.*latest\.safetensors\) was trained with \{"kind":"synthetic"\}/,
      ],
      [['--count', '64'], /--count = 64: the run being resumed .* was trained with 32/],
      [['--seed', '3'], /--seed = 3: .* was trained with 0/],
      [['--steps', '2'], /--steps = 2: .* was set to 4 steps; steps may grow on a resume, not shrink/],
      [['--steps', '80'], /--warmup = 4: .* was trained with 0; .* give --warmup 0 to keep it/],
    ] as const) {
      const r = train(d, '--resume', ...extra);
      assert.equal(r.status, 2, `${extra.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, pattern, extra.join(' '));
      noStack(r.stderr);
    }
    assert.deepEqual(readFileSync(join(d, 'log.jsonl')), before, 'a refused resume changes nothing');
    const more = train(d, '--resume', '--steps', '6');
    assert.equal(more.status, 0, more.stderr);
    assert.match(more.stdout, /resuming from .* at step 4/);
    assert.deepEqual(
      logOf(d)
        .filter(([, loss]) => loss !== null)
        .map(([s]) => s),
      [1, 2, 3, 4, 5, 6],
      'steps may grow',
    );
  });
});

describe('the training log', () => {
  it('a torn last line is dropped with a warning and truncated away before the resume appends', () => {
    const d = copy();
    copyFileSync(ck(d, 'step-000002.safetensors'), ck(d, 'latest.safetensors'));
    unlinkSync(ck(d, 'step-000004.safetensors'));
    appendFileSync(join(d, 'log.jsonl'), '{"step": 5, "loss": 0.1');
    const plot = run(['plot', '--log', join(d, 'log.jsonl'), '--out', join(d, 'torn.png')]);
    assert.equal(plot.status, 0, plot.stderr);
    assert.match(plot.stderr, /warning: .*log\.jsonl: line 8, the last, is cut short/);
    const r = train(d, '--resume');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /warning: .*log\.jsonl: line 8, the last, is cut short .*; dropped/);
    assert.deepEqual(logOf(d), logOf(ref));
    assert.ok(readFileSync(join(d, 'log.jsonl'), 'utf8').endsWith('}\n'));
  });

  it('a corrupt line in the middle is a FormatError naming the file and the line, never a SyntaxError', () => {
    const d = copy();
    const lines = readFileSync(join(d, 'log.jsonl'), 'utf8').split('\n');
    lines.splice(2, 0, '{"step": 2, "lo\u0000\u0000');
    writeFileSync(join(d, 'log.jsonl'), lines.join('\n'));
    const r = train(d, '--resume');
    assert.equal(r.status, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /FormatError: .*log\.jsonl: line 3 is not JSON/);
    noStack(r.stderr);
    const p = run(['plot', '--log', join(d, 'log.jsonl'), '--out', join(d, 'x.png')]);
    assert.equal(p.status, 2);
    assert.match(p.stderr, /log\.jsonl: line 3 is not JSON/);
  });
});

describe('typed file-system errors', () => {
  it('a folder given as --checkpoint or --from is an IoError saying so, with the file it probably meant', () => {
    const latest = ck(ref, 'latest.safetensors');
    const out = join(dir, 'never');
    for (const args of [
      ['eval', '--checkpoint', ref],
      ['export', '--checkpoint', ref, '--out', join(out, 'x.safetensors')],
      ['inpaint', '--checkpoint', ref, '--images', 'synthetic', '--out', out],
      ['sample', '--checkpoint', ref, '--out', out],
      ['finetune', '--from', ref, '--steps', '1', '--out', out],
    ]) {
      const r = run(args);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(
        r.stderr,
        /IoError: .*ref: cannot read checkpoint: it is a folder, not a file \(did you mean .*latest\.safetensors\?\) \(EISDIR\)/,
      );
      assert.ok(r.stderr.includes(latest), r.stderr);
      noStack(r.stderr);
    }
    assert.equal(existsSync(out), false);
  });

  it('--resume where the checkpoint is a folder names it and fails with a typed error', () => {
    const d = join(dir, 'dir-latest');
    mkdirSync(ck(d, 'latest.safetensors'), { recursive: true });
    const r = train(d, '--resume');
    assert.equal(r.status, 2, r.stdout + r.stderr);
    assert.match(r.stdout, /warning: skipping .*latest\.safetensors, which does not read: .*it is a folder, not a file/);
    assert.match(r.stderr, /FormatError: .*checkpoints: holds checkpoints but none reads .*; pass --force instead of --resume/);
    noStack(r.stderr);
  });

  it('a file given as --out (or in its path) is an IoError before any work, for every command', () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    const latest = ck(ref, 'latest.safetensors');
    const cases: [string[], RegExp][] = [
      [['train', ...tiny, '--out', file], /a-file: cannot write into folder: it is a file, not a folder \(EEXIST\)/],
      [
        ['train', ...tiny, '--out', join(file, 'run')],
        /a-file\/run: cannot write into folder: .*a-file is a file, not a folder \(ENOTDIR\)/,
      ],
      [['finetune', '--from', latest, '--out', file], /cannot write into folder: it is a file/],
      [['eval', '--checkpoint', latest, '--out', file], /cannot write into folder: it is a file/],
      [['inpaint', '--checkpoint', latest, '--images', 'synthetic', '--out', file], /cannot write into folder: it is a file/],
      [['sample', '--checkpoint', latest, '--out', file], /cannot write into folder: it is a file/],
      [
        [
          'reconstruct',
          '--weights',
          latest,
          '--images',
          'x.npy',
          '--noise',
          'y.npy',
          '--heads',
          '1',
          '--decoder-heads',
          '1',
          '--out',
          file,
        ],
        /cannot write into folder: it is a file/,
      ],
      [['compare', '--methods', 'mae', '--generate', '', '--out', file], /cannot write into folder: it is a file/],
      [['demo', '--out', file], /cannot write into folder: it is a file/],
      [['export', '--checkpoint', latest, '--out', dir], /cannot write: it is a folder, not a file \(EISDIR\)/],
      [
        ['export', '--checkpoint', latest, '--out', join(file, 'w.safetensors')],
        /w\.safetensors: cannot write: .*a-file is a file, not a folder \(ENOTDIR\)/,
      ],
      [['plot', '--log', join(ref, 'log.jsonl'), '--out', join(file, 'c.png')], /c\.png: cannot write: .*not a folder \(ENOTDIR\)/],
    ];
    for (const [args, pattern] of cases) {
      const r = run(args, 30_000);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, pattern, args.join(' '));
      assert.match(r.stderr, /IoError/, args.join(' '));
      assert.doesNotMatch(r.stdout, /fine-tune step|training |wrote /, `${args[0]} did no work`);
      noStack(r.stderr);
    }
    assert.equal(readFileSync(file, 'utf8'), 'x');
  });

  it('--out under /proc or /sys fails at once with an IoError (no spinning)', { skip: process.platform !== 'linux' }, () => {
    for (const args of [
      ['train', ...tiny, '--out', '/proc/tesserae-x'],
      ['demo', '--out', '/proc/tesserae-x/deeper'],
      ['eval', '--checkpoint', ck(ref, 'latest.safetensors'), '--out', '/sys/tesserae-x'],
      ['export', '--checkpoint', ck(ref, 'latest.safetensors'), '--out', '/proc/tesserae-x.safetensors'],
    ]) {
      const t0 = Date.now();
      const r = run(args, 20_000);
      assert.equal(r.error, undefined, `${args.join(' ')}: ${String(r.error)}`);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /IoError: \/(proc|sys)\/tesserae-x.*: cannot write.*virtual file system/, args.join(' '));
      assert.ok(Date.now() - t0 < 15_000);
    }
  });

  it('--out on a read-only mount says read-only (EROFS), not ENOENT', () => {
    const ro = join(dir, 'ro');
    mkdirSync(ro);
    const cmd = `mount -t tmpfs -o ro tmpfs "${ro}" && exec "${process.execPath}" "${cli}" train ${tiny.join(' ')} --out "${join(ro, 'a', 'run')}"`;
    const probe = spawnSync('unshare', ['-m', 'sh', '-c', `mount -t tmpfs -o ro tmpfs "${ro}"`], { encoding: 'utf8' });
    // root with unshare (as here and in CI) mounts it; elsewhere this fails loudly rather than skip
    assert.ok(
      probe.status === 0 && !probe.error,
      `cannot mount a read-only file system here: ${probe.error?.message ?? probe.stderr.trim()}`,
    );
    const r = spawnSync('unshare', ['-m', 'sh', '-c', cmd], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /IoError: .*run: cannot write into folder: the file system is read-only \(EROFS\)/);
  });

  it('temporary files of killed writes are removed when the run starts again', () => {
    const d = copy();
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
    writeFileSync(ck(d, `step-000004.safetensors.tmp-${dead}`), Buffer.alloc(1 << 20));
    writeFileSync(ck(d, 'latest.safetensors.tmp-1'), Buffer.alloc(1 << 20));
    writeFileSync(join(d, 'reconstructions', `latest.png.tmp-${dead}`), 'x');
    writeFileSync(join(d, `log.jsonl.tmp-${dead}`), 'x');
    const r = train(d, '--resume');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /removed 4 temporary files \(2\.0 MiB\) left by an interrupted run/);
    const all = readdirSync(d, { recursive: true }).map(String);
    assert.deepEqual(
      all.filter((f) => f.includes('.tmp-')),
      [],
    );
  });
});

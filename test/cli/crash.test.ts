// Kill training at several moments, during checkpoint writes among them, resume each time, and
// check that the run ends bit-identical to an uninterrupted one, with no temporary file left.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, watch } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';

const cli = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'tesserae-crash-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const args = (out: string): string[] => [
  cli,
  'train',
  ...['--steps', '8', '--batch', '8', '--count', '32', '--held', '4', '--checkpoint-every', '1', '--log-every', '1'],
  ...['--base-lr', '5e-3', '--backend', 'wasm', '--resume', '--out', out],
];
/** The log without the clock (images per second, elapsed time) and with checkpoint paths relative. */
const logOf = (out: string) =>
  readFileSync(join(out, 'log.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { step: number; loss?: number; lr?: number; gradNorm?: number; heldPsnr?: number; checkpoint?: string })
    .map((e) => [e.step, e.loss, e.lr, e.gradNorm, e.heldPsnr, e.checkpoint?.slice(out.length)]);
const files = (out: string): string[] => readdirSync(out, { recursive: true }).map(String).sort();

/** When to kill a run: on the n-th temporary file it creates in checkpoints/, or after some milliseconds. */
type Kill = { readonly tmp: number } | { readonly ms: number };

/** Runs `train --resume` once, killing it (SIGKILL) at `kill`; what it left behind, and whether it finished. */
const attempt = (out: string, kill?: Kill): Promise<{ finished: boolean; killed: boolean; tempsLeft: number; stderr: string }> =>
  new Promise((resolve) => {
    const child = spawn(process.execPath, args(out), { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    let killed = false;
    let seen = 0;
    const stop = (): void => {
      if (!killed) {
        killed = true;
        child.kill('SIGKILL');
      }
    };
    // a temporary file is reported when it is created and again when it is renamed away (or
    // removed as stale): only creations count
    const present = new Set<string>();
    const watcher =
      kill && 'tmp' in kill
        ? watch(join(out, 'checkpoints'), (_event, name) => {
            const f = String(name ?? '');
            if (!/\.tmp-\d+$/.test(f)) return;
            if (!existsSync(join(out, 'checkpoints', f))) present.delete(f);
            else if (!present.has(f)) {
              present.add(f);
              if (++seen === kill.tmp) stop();
            }
          })
        : undefined;
    const timer = kill && 'ms' in kill ? setTimeout(stop, kill.ms) : undefined;
    child.on('exit', (code) => {
      watcher?.close();
      if (timer) clearTimeout(timer);
      const tempsLeft = files(out).filter((f) => /\.tmp-\d+$/.test(f)).length;
      resolve({ finished: code === 0, killed, tempsLeft, stderr });
    });
  });

describe('training killed at any moment', () => {
  it('resumes to the same bits as an uninterrupted run, and leaves no temporary file', { timeout: 120_000 }, async () => {
    const ref = join(dir, 'ref');
    const r = spawnSync(process.execPath, args(ref), { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);

    const out = join(dir, 'crashed');
    mkdirSync(join(out, 'checkpoints'), { recursive: true });
    // the first temporary file of a start is a step file, the second its latest, and so on: kills
    // during the step-0 checkpoint, during a latest write, during a later step file, and at
    // moments that fall wherever they fall (a log append, an optimiser step, a picture)
    const kills: Kill[] = [{ tmp: 1 }, { tmp: 2 }, { ms: 1200 }, { tmp: 3 }, { tmp: 2 }, { ms: 1600 }, { tmp: 4 }, { tmp: 1 }];
    let midWrite = 0;
    let finished = false;
    for (const kill of kills) {
      const a = await attempt(out, kill);
      assert.ok(a.finished || a.killed, `a run neither finished nor was killed: ${a.stderr}`);
      if (a.killed && a.tempsLeft > 0) midWrite++;
      if (a.finished) {
        finished = true;
        break;
      }
    }
    assert.ok(midWrite >= 1, 'at least one kill fell inside a checkpoint write (it left a temporary file)');
    if (!finished) {
      const last = await attempt(out);
      assert.ok(last.finished, last.stderr);
    }
    assert.deepEqual(files(out), files(ref), 'the same files, and no temporary file');
    for (const f of files(ref).filter((f) => /\.(safetensors|png|json)$/.test(f)))
      assert.ok(readFileSync(join(out, f)).equals(readFileSync(join(ref, f))), `${f} is bit-identical`);
    assert.deepEqual(logOf(out), logOf(ref));
  });
});

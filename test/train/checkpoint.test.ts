import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import {
  tf,
  encodeCheckpoint,
  decodeCheckpoint,
  initOpt,
  readSafetensors,
  writeSafetensors,
  FormatError,
  ConfigError,
  flatten,
  type TrainState,
} from '../../src/index.js';
import { saveCheckpoint, loadCheckpoint, newestCheckpoint } from '../../src/node/index.js';
import { onCpu } from '../helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'tesserae-ck-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const makeState = (seed: number, step = 5): TrainState<{ a: { kernel: tf.Tensor; bias: tf.Tensor } }> => {
  const params = { a: { kernel: tf.randomNormal([3, 2], 0, 1, 'float32', seed), bias: tf.randomNormal([2], 0, 1, 'float32', seed + 1) } };
  const opt = initOpt(params);
  return { params, opt: { ...opt, step }, step };
};

describe('checkpoints', () => {
  onCpu();

  it('round-trip params, optimiser moments, step and metadata exactly', () => {
    const s = makeState(1);
    const bytes = encodeCheckpoint(s, { model: '{"x":1}' });
    const { state, metadata } = decodeCheckpoint(bytes, 'c', s.params);
    assert.equal(state.step, 5);
    assert.equal(state.opt.step, 5);
    assert.equal(metadata['model'], '{"x":1}');
    assert.deepEqual(
      flatten(state.params).map(([k, t]) => [k, Array.from(t.dataSync())]),
      flatten(s.params).map(([k, t]) => [k, Array.from(t.dataSync())]),
    );
  });

  it('a params-only file starts a fresh optimiser', () => {
    const s = makeState(2);
    const full = readSafetensors(encodeCheckpoint(s), 'c');
    const onlyParams = writeSafetensors(
      [...full.tensors].filter(([k]) => k.startsWith('params.')),
      full.metadata,
    );
    const { state } = decodeCheckpoint(onlyParams, 'p', s.params);
    assert.equal(state.opt.step, 0);
    assert.deepEqual(Array.from(state.opt.m.a.kernel.dataSync()), [0, 0, 0, 0, 0, 0]);
  });

  it('bad checkpoints are FormatErrors naming the file and the problem', () => {
    const s = makeState(3);
    const bytes = encodeCheckpoint(s);
    const parsed = readSafetensors(bytes, 'c');
    const rewrite = (
      f: (m: Map<string, typeof parsed.tensors extends Map<string, infer V> ? V : never>, meta: Record<string, string>) => void,
    ): Uint8Array => {
      const m = new Map(parsed.tensors);
      const meta = { ...parsed.metadata };
      f(m, meta);
      return writeSafetensors(m, meta);
    };
    const cases: [Uint8Array, RegExp][] = [
      [bytes.subarray(0, bytes.length - 7), /./],
      [rewrite((_m, meta) => (meta['format'] = 'other')), /not a tesserae checkpoint/],
      [rewrite((m) => m.delete('params.a.bias')), /missing tensor "params\.a\.bias"/],
      [
        rewrite((m) => m.set('params.a.bias', { dtype: 'F32', shape: [3], data: new Float32Array(3) })),
        /"params\.a\.bias" has shape \[3\], expected \[2\]/,
      ],
      [rewrite((m) => m.set('params.a.bias', { dtype: 'I32', shape: [2], data: new Int32Array(2) })), /is I32, expected F32/],
      [rewrite((m) => m.set('params.extra', { dtype: 'F32', shape: [1], data: new Float32Array(1) })), /unexpected "params\.extra"/],
      [rewrite((_m, meta) => (meta['step'] = '-1')), /metadata step/],
    ];
    for (const [b, pattern] of cases) {
      assert.throws(
        () => decodeCheckpoint(b, 'bad.safetensors', s.params),
        (e: unknown) => e instanceof FormatError && e.file === 'bad.safetensors' && pattern.test(e.message),
      );
    }
  });

  it('saveCheckpoint writes the step file and latest; loadCheckpoint names a missing file', () => {
    const s = makeState(4, 12);
    const path = saveCheckpoint(join(dir, 'a'), s, { k: 'v' });
    assert.ok(path.endsWith('step-000012.safetensors'));
    assert.deepEqual(readFileSync(path), readFileSync(join(dir, 'a', 'latest.safetensors')));
    assert.equal(loadCheckpoint(join(dir, 'a', 'latest.safetensors'), s.params).state.step, 12);
    assert.throws(() => loadCheckpoint(join(dir, 'nope.safetensors'), s.params), /nope\.safetensors: no such file/);
    assert.deepEqual(readdirSync(join(dir, 'a')).sort(), ['latest.safetensors', 'step-000012.safetensors']);
  });

  it('newestCheckpoint: latest, a later step file, or the highest step file that reads; a refused configuration is not skipped', () => {
    const ck = join(dir, 'newest');
    const template = makeState(9).params;
    assert.equal(newestCheckpoint(join(dir, 'no-such'), template), undefined);
    for (const step of [2, 4, 6]) saveCheckpoint(ck, makeState(10 + step, step), { run: 'r' });
    const warnings: string[] = [];
    const warn = (line: string): void => void warnings.push(line);
    const a = newestCheckpoint(ck, template, { warn })!;
    assert.deepEqual([a.path, a.state.step, warnings], [join(ck, 'latest.safetensors'), 6, []]);
    // killed between the step file and latest: latest is older than the newest step file
    writeFileSync(join(ck, 'latest.safetensors'), readFileSync(join(ck, 'step-000004.safetensors')));
    const b = newestCheckpoint(ck, template, { warn })!;
    assert.deepEqual([b.path, b.state.step], [join(ck, 'step-000006.safetensors'), 6]);
    // torn latest and a torn newest step file: skipped, named, and the next one used
    truncateSync(join(ck, 'latest.safetensors'), 100);
    truncateSync(join(ck, 'step-000006.safetensors'), 0);
    const c = newestCheckpoint(ck, template, { warn })!;
    assert.deepEqual(
      [c.path, c.state.step, c.skipped.map((x) => x.path)],
      [join(ck, 'step-000004.safetensors'), 4, [join(ck, 'latest.safetensors'), join(ck, 'step-000006.safetensors')]],
    );
    assert.equal(warnings.length, 2);
    assert.match(warnings[0]!, /^warning: skipping .*latest\.safetensors, which does not read: /);
    // a step file holding another step than its name says is not trusted
    writeFileSync(join(ck, 'step-000005.safetensors'), readFileSync(join(ck, 'step-000002.safetensors')));
    assert.equal(newestCheckpoint(ck, template)!.state.step, 4);
    // a check that throws stops the search (an older file of the same run would not match either)
    assert.throws(
      () =>
        newestCheckpoint(ck, template, {
          check: () => {
            throw new ConfigError('--data', 'x', 'other data');
          },
        }),
      ConfigError,
    );
    // none reads: a FormatError naming the folder
    for (const n of readdirSync(ck)) truncateSync(join(ck, n), 10);
    assert.throws(
      () => newestCheckpoint(ck, template),
      (e: unknown) => e instanceof FormatError && e.file === ck && /holds checkpoints but none reads/.test(e.message),
    );
  });

  it('a process killed while writing never leaves a corrupt latest checkpoint', async () => {
    const ck = join(dir, 'crash');
    const s = makeState(5, 1);
    saveCheckpoint(ck, s);
    const before = readFileSync(join(ck, 'latest.safetensors'));
    // The child writes a ~96 MB checkpoint into the same folder, over and over; we kill it while a
    // write is under way (its temporary file exists) and check that latest is still whole.
    const files = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'node', 'files.js');
    const st = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'io', 'safetensors.js');
    const script = join(dir, 'writer.mjs');
    writeFileSync(
      script,
      `import { writeFileAtomic } from ${JSON.stringify(files)};
       import { writeSafetensors } from ${JSON.stringify(st)};
       const big = writeSafetensors([['params.w', { dtype: 'F32', shape: [24_000_000], data: new Float32Array(24_000_000).fill(1) }]], { format: 'tesserae/checkpoint@1', step: '2', optStep: '2' });
       process.stdout.write('ready\\n');
       for (;;) writeFileAtomic(${JSON.stringify(join(ck, 'latest.safetensors'))}, big);`,
    );
    const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    const deadline = Date.now() + 20_000;
    while (!readdirSync(ck).some((f) => f.includes('.tmp-')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    assert.ok(
      readdirSync(ck).some((f) => f.includes('.tmp-')),
      'the child was killed mid-write (its temporary file is left behind)',
    );
    const latest = readFileSync(join(ck, 'latest.safetensors'));
    const parsed = readSafetensors(new Uint8Array(latest), 'latest');
    assert.ok(latest.equals(before) || parsed.metadata['step'] === '2', 'latest is either the old checkpoint or a complete new one');
    assert.ok(existsSync(join(ck, 'step-000001.safetensors')));
  });
});

// The layout is the architecture: every import in src/ runs from a higher folder to a lower one
// (no arrow back up), and no code outside the presets table branches on a method's name (ask the
// corruption value instead). Both read the sources as text, so a new violation fails here.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const src = join(root, 'src');

/** The folders of src/, lowest first: a file may import only from its own folder or a lower one. */
const ORDER: readonly (readonly string[])[] = [
  ['core'],
  ['kernels', 'io'],
  ['backends', 'combinators'],
  ['layers'],
  ['vision'],
  ['data', 'corruption'],
  ['diffusion'],
  ['models'],
  ['train'],
  ['eval'],
  ['checkpoints'],
  ['node', 'testing'],
  ['cli'],
];
const rank = new Map(ORDER.flatMap((tier, i) => tier.map((f) => [f, i] as const)));

const files = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });

const sources = files(src).filter((f) => relative(src, f).includes('/'));

describe('the source layout', () => {
  it('every folder of src/ has a place in the order', () => {
    const folders = [...new Set(sources.map((f) => relative(src, f).split('/')[0]!))].sort();
    assert.deepEqual(
      folders.filter((f) => !rank.has(f)),
      [],
    );
  });

  it('no import runs from a lower folder to a higher one (and none between folders of one tier)', () => {
    const wrong: string[] = [];
    for (const f of sources) {
      const from = relative(src, f).split('/')[0]!;
      const text = readFileSync(f, 'utf8');
      for (const m of text.matchAll(/from '\.\.\/([a-zA-Z]+)\//g)) {
        const to = m[1]!;
        if (to === from) continue;
        const a = rank.get(from);
        const b = rank.get(to);
        if (a === undefined || b === undefined || a <= b) wrong.push(`${relative(src, f)} imports ${to}/ (${from} is not above ${to})`);
      }
    }
    assert.deepEqual(wrong, []);
  });

  it('no code outside the presets table branches on a method name', () => {
    const names = '(mae|diffmae|umd|maskdit|dit)';
    const branch = new RegExp(`(===|!==)\\s*'${names}'|'${names}'\\s*(===|!==)|case\\s+'${names}'`);
    const allowed = new Set(['models/presets.ts']);
    const wrong: string[] = [];
    for (const f of files(src)) {
      const rel = relative(src, f);
      if (allowed.has(rel)) continue;
      readFileSync(f, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          if (branch.test(line)) wrong.push(`${rel}:${i + 1}: ${line.trim()}`);
        });
    }
    assert.deepEqual(wrong, []);
  });

  it('the checks above can fail: they see a branch and a back-edge when there is one', () => {
    const names = '(mae|diffmae|umd|maskdit|dit)';
    const branch = new RegExp(`(===|!==)\\s*'${names}'|'${names}'\\s*(===|!==)|case\\s+'${names}'`);
    assert.ok(branch.test("if (spec.method === 'umd') {"));
    assert.ok(branch.test("    case 'dit':"));
    assert.ok(!branch.test("const label = 'umd micro/4';"));
    assert.ok(rank.get('models')! > rank.get('corruption')! && rank.get('cli')! > rank.get('node')!);
  });
});

// Every @example of a public export compiles as a user's snippet: it imports the public API (the
// entry points tesserae, tesserae/node, tesserae/testing; fast-check as `fc`), its free variables
// (`params`, `images`, `model`) are declared `any`, but whatever it calls or constructs must be a
// public export or its own declaration, so an example that calls an unexported function or a
// signature that no longer exists fails here. And every @since in src/ is a version x.y.z no later
// than package.json's.
import assert from 'node:assert/strict';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { checkExamples, collectExamples, readText, sinceProblems, sourceFiles, type Example } from './snippets.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Deliberately wrong and deliberately right snippets: the check must tell them apart. */
const PROBES: readonly (Example & { readonly bad: boolean })[] = [
  { symbol: '<probe: unexported call>', file: 'probe', line: 1, code: 'const k = key(0)', bad: true },
  { symbol: '<probe: wrong signature>', file: 'probe', line: 1, code: "const k = Key.key('zero')", bad: true },
  { symbol: '<probe: unknown class>', file: 'probe', line: 1, code: 'throw new NoSuchError()', bad: true },
  { symbol: '<probe: called free variable>', file: 'probe', line: 1, code: 'const y = model(params)\nconst z = model', bad: true },
  { symbol: '<probe: syntax>', file: 'probe', line: 1, code: "{ kind: 'block', ratio: 0.75 }", bad: true },
  {
    symbol: '<probe: free variables and exported names>',
    file: 'probe',
    line: 1,
    code: 'const [k1] = Key.split(Key.key(0))\nconst out = model.apply(params, { images }, ctx)\nfc.assert(fc.property(fc.nat(), (n) => n >= 0))',
    bad: false,
  },
  {
    symbol: '<probe: a local shadows an export>',
    file: 'probe',
    line: 1,
    code: "const spec = presetSpec('mae', 'micro/4')\nconst model = buildModel(spec)\nconst t = tf.zeros([1])",
    bad: false,
  },
  {
    symbol: '<probe: own import and helper>',
    file: 'probe',
    line: 1,
    code: "import { readTrainLog as read } from 'tesserae/node'\nconst helper = (n: number) => n + 1\nhelper(1)\nread",
    bad: false,
  },
];

/** The TypeScript blocks of the README (what a new user copies first), as snippets. */
const readmeBlocks = (): Example[] => {
  const text = readText(join(root, 'README.md'));
  const blocks: Example[] = [];
  for (const m of text.matchAll(/```ts\n([\s\S]*?)```/g)) {
    const line = text.slice(0, m.index).split('\n').length + 1;
    blocks.push({ symbol: `README.md block ${blocks.length + 1}`, file: 'README.md', line, code: m[1]! });
  }
  return blocks;
};

describe('doc examples', () => {
  const { examples, names, exports } = collectExamples(root);
  const readme = readmeBlocks();
  const failures = checkExamples(root, [...PROBES, ...examples, ...readme], names);

  it('the check reports wrong snippets and passes right ones', () => {
    for (const p of PROBES) {
      const f = failures.find((x) => x.example === p);
      assert.equal(
        !!f,
        p.bad,
        `${p.symbol}: ${JSON.stringify(p.code)} ${p.bad ? 'was not reported' : `was reported: ${f?.messages.join('; ')}`}`,
      );
    }
  });

  it('every @example of a public export type-checks against the public API', () => {
    assert.ok(exports > 200, `found only ${exports} public exports`);
    assert.ok(examples.length > 300, `found only ${examples.length} examples`);
    const bad = failures.filter((f) => !PROBES.includes(f.example as never) && !readme.includes(f.example));
    const report = bad.map((f) => `${f.example.symbol} (${f.example.file}:${f.example.line}):\n  ${f.messages.join('\n  ')}`);
    assert.deepEqual(report, [], `${bad.length} of ${examples.length} examples do not type-check:\n${report.join('\n')}`);
  });

  it("the README's TypeScript compiles against the public API", () => {
    assert.ok(readme.length >= 1, 'the README has a TypeScript block');
    const bad = failures.filter((f) => readme.includes(f.example));
    assert.deepEqual(
      bad.map((f) => f.messages.join('\n')),
      [],
    );
  });

  it('every @since is a version x.y.z no later than the package version', () => {
    const version = (JSON.parse(readText(join(root, 'package.json'))) as { version: string }).version;
    const files = sourceFiles(join(root, 'src'));
    const problems = files.flatMap((f) => sinceProblems(relative(root, f), readText(f), version));
    assert.deepEqual(problems, []);
    const count = files.reduce((n, f) => n + (readText(f).match(/@since\b/g)?.length ?? 0), 0);
    assert.ok(count > 300, `found only ${count} @since tags`);
  });

  it('the @since check reports a later version and a malformed one', () => {
    const text = ['/** @since 0.1.0 */', '/** @since 0.2.0 */', '/** @since 0.3.0 */', '/** @since 1.0 */', '/** @since */'].join('\n');
    assert.deepEqual(sinceProblems('x.ts', text, '0.2.0'), [
      'x.ts:3: @since 0.3.0 is later than the package version 0.2.0',
      'x.ts:4: @since "1.0" is not a version x.y.z',
      'x.ts:5: @since "*/" is not a version x.y.z',
    ]);
  });
});

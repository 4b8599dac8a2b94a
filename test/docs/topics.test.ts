// The API reference is grouped by topic (scripts/typedoc-topics.mjs gives each export the topic of
// the folder it is declared in), and the guides show their code as fenced blocks that
// scripts/guides.mjs keeps equal to the examples' regions, so they read the same on GitHub.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, it } from 'node:test';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

const sources = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : name.endsWith('.ts') ? [relative(root, path).split('\\').join('/')] : [];
  });

describe('the API reference by topic', () => {
  it('every source file an entry point can export from has a topic, and the order lists each topic', async () => {
    const topics: { topicOf: (file: string) => string | undefined; CATEGORY_ORDER: readonly string[] } = await import(
      pathToFileURL(join(root, 'scripts', 'typedoc-topics.mjs')).href
    );
    const files = sources(join(root, 'src')).filter((f) => !f.startsWith('src/cli/') && !/(^|\/)index\.ts$/.test(f));
    assert.ok(files.length > 50, `found ${files.length} source files`);
    assert.deepEqual(
      files.filter((f) => topics.topicOf(f) === undefined),
      [],
    );
    for (const f of files) assert.ok(topics.CATEGORY_ORDER.includes(topics.topicOf(f)!), f);
    assert.equal(topics.topicOf('src/cli/train.ts'), undefined);
  });

  it('typedoc.json loads the plugin', () => {
    const config = JSON.parse(readFileSync(join(root, 'typedoc.json'), 'utf8')) as { plugin?: string[] };
    assert.deepEqual(config.plugin, ['./scripts/typedoc-topics.mjs']);
  });
});

describe('the guides on GitHub', () => {
  const guides = readdirSync(join(root, 'docs', 'guides')).filter((n) => n.endsWith('.md'));

  it('no guide has a raw {@includeCode} line (GitHub shows it as text)', () => {
    assert.ok(guides.length >= 8);
    for (const g of guides) assert.doesNotMatch(readFileSync(join(root, 'docs', 'guides', g), 'utf8'), /\{@includeCode/, g);
  });

  it('every shown block equals its example region (node scripts/guides.mjs --check)', () => {
    const marked = guides.flatMap((g) => readFileSync(join(root, 'docs', 'guides', g), 'utf8').match(/^<!-- code: .+ -->$/gm) ?? []);
    assert.ok(marked.length >= 28, `${marked.length} marked blocks`);
    const r = spawnSync(process.execPath, [join(root, 'scripts', 'guides.mjs'), '--check'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  });
});

// The guides (docs/guides/*.md) show code from the examples, which the tests compile and run.
// Each shown region is a fenced block under a marker line naming its source:
//
//   <!-- code: examples/tour.ts#layer -->
//
//   ```ts
//   ...the lines between `// #region layer` and `// #endregion layer`, dedented...
//   ```
//
// so the guides read the same on GitHub and in the typedoc site (typedoc's own `{@includeCode}`
// shows as a raw line on GitHub). This script rewrites every block from its region:
//
//   node scripts/guides.mjs           rewrite the guides in place
//   node scripts/guides.mjs --check   exit 1, naming each stale block, when a guide is out of date
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const guides = join(root, 'docs', 'guides');

/** The lines of `file` between `// #region name` and `// #endregion name`, dedented. */
export const region = (file, name) => {
  const lines = readFileSync(join(root, file), 'utf8').split('\n');
  const start = lines.findIndex((l) => l.trim() === `// #region ${name}`);
  const end = lines.findIndex((l, i) => i > start && l.trim() === `// #endregion ${name}`);
  if (start < 0 || end < 0) throw new Error(`${file} has no region "${name}"`);
  const body = lines.slice(start + 1, end);
  const indent = Math.min(...body.filter((l) => l.trim() !== '').map((l) => l.length - l.trimStart().length));
  return body.map((l) => l.slice(indent)).join('\n');
};

const MARKER = /^<!-- code: ([^#\s]+)#([\w-]+) -->$/;

/** The guide's text with every marked block rewritten from its region. */
export const sync = (text) => {
  const lines = text.split('\n');
  const out = [];
  for (let i = 0; i < lines.length; i++) {
    out.push(lines[i]);
    const m = MARKER.exec(lines[i]);
    if (!m) continue;
    const [, file, name] = m;
    const lang = file.endsWith('.ts') ? 'ts' : '';
    out.push('', '```' + lang, region(file, name), '```');
    // skip the old block (an opening fence after the marker and blank lines, through its closing fence)
    let j = i + 1;
    while (j < lines.length && lines[j].trim() === '') j++;
    if (lines[j]?.startsWith('```')) {
      j++;
      while (j < lines.length && lines[j] !== '```') j++;
      i = j;
    }
  }
  return out.join('\n');
};

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const check = process.argv.includes('--check');
  const stale = [];
  for (const name of readdirSync(guides).filter((n) => n.endsWith('.md'))) {
    const path = join(guides, name);
    const text = readFileSync(path, 'utf8');
    const next = sync(text);
    if (next === text) continue;
    if (check) stale.push(`docs/guides/${name}`);
    else writeFileSync(path, next);
  }
  if (stale.length > 0) {
    console.error(`out of date with the examples: ${stale.join(', ')} (run node scripts/guides.mjs)`);
    process.exit(1);
  }
}

// The whole suite: the type-level tests are checked by the build (`npm test` runs `pretest`,
// which compiles everything, so a mis-wired pipeline in test/types fails the build), then
// node's test runner runs every compiled *.test.js under dist/test. Its closing summary
// (tests / pass / fail / duration_ms) is what CI reads.
//
// TESSERAE_TEST_BACKENDS (default "cpu,wasm") picks the backends the backend-parametrised
// suites run on.
//
// The browser demo's test drives Debian's chromium (/usr/bin/chromium). On a fresh Debian
// machine where it is missing and we are root, it is installed here first (apt-get), so that
// `npm ci && npm test` alone passes; otherwise the test fails with the command to run.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

const chromium = process.env.TESSERAE_CHROMIUM ?? '/usr/bin/chromium';
if (!existsSync(chromium) && process.getuid?.() === 0 && existsSync('/usr/bin/apt-get')) {
  console.log(`${chromium} is missing: installing Debian's chromium for the browser test (apt-get install chromium)`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  spawnSync('apt-get', ['update'], { stdio: 'inherit', env });
  spawnSync('apt-get', ['install', '-y', 'chromium'], { stdio: 'inherit', env });
}
const files = [];
const walk = (dir) => {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith('.test.js')) files.push(p);
  }
};
walk(join(root, 'dist', 'test'));
const extra = process.argv.slice(2);
const selected = extra.length ? files.filter((f) => extra.some((e) => f.includes(e))) : files;
const r = spawnSync(process.execPath, ['--test', '--test-reporter=spec', '--test-concurrency=2', ...selected], {
  stdio: 'inherit',
  cwd: root,
});
process.exit(r.status ?? 1);

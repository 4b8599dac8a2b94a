// Build: compile TypeScript (src, test, examples, bench) to dist/, then prebundle
// src/core/register.ts (tfjs-core's gradient and chained-op registrations) for Node.
//
// Why the prebundle: @tensorflow/tfjs-core registers no gradients by itself. Its CommonJS bundle
// (what Node loads) has none, and `dist/register_all_gradients.js` is ESM with extensionless
// imports that Node's ESM loader rejects. Bundlers resolve those files fine, so package.json maps
// `#tfjs-register` to the compiled register.ts under the `default` condition and to the file
// built here under the `node` condition. The prebundle carries its own copy of the ops that
// gradients call; tfjs-core keeps the engine, the kernel and gradient registries and the Tensor
// class on a global, so both copies register into and run on the same engine.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const t0 = Date.now();

// Our WebAssembly kernels (src/kernels/*.wasm.ts) are generated from WAT before compiling.
await (await import('./wasm-kernels.mjs')).generate();

execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(root, 'tsconfig.json')], {
  stdio: 'inherit',
  cwd: root,
});

// Compiled files whose TypeScript source is gone (renamed or deleted) would still run as tests.
const prune = (dir) => {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) prune(p);
    else if (/\.(js|d\.ts|js\.map)$/.test(name)) {
      const src = join(root, relative(join(root, 'dist'), p)).replace(/\.(js|d\.ts|js\.map)$/, '.ts');
      if (!existsSync(src)) rmSync(p);
    }
  }
};
for (const top of ['src', 'test', 'examples', 'bench']) prune(join(root, 'dist', top));

const gradOut = join(root, 'dist', 'tfjs-register.mjs');
const coreVersion = JSON.parse(readFileSync(require.resolve('@tensorflow/tfjs-core/package.json'), 'utf8')).version;
const stamp = `// tfjs-core ${coreVersion}, register v2\n`;
if (!existsSync(gradOut) || !readFileSync(gradOut, 'utf8').startsWith(stamp)) {
  const { build } = await import('esbuild');
  const entry = join(root, 'dist', 'src', 'core', 'register.js');
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    mainFields: ['module', 'main'],
    write: false,
    logLevel: 'warning',
    legalComments: 'none',
  });
  mkdirSync(dirname(gradOut), { recursive: true });
  writeFileSync(gradOut, stamp + result.outputFiles[0].text);
}
const cli = join(root, 'dist', 'src', 'cli', 'main.js');
if (existsSync(cli)) chmodSync(cli, 0o755);
console.error(`build: done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

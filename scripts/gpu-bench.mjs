// The training-step benchmark on an NVIDIA GPU (issue 19): `npm run bench:gpu -- [options]`.
//
// On a machine with an NVIDIA GPU (found with nvidia-smi) it
//   1. reads the GPU's name and looks up its fp32 peak (non-tensor-core) in PEAKS below, or takes
//      --peak-tflops;
//   2. installs @tensorflow/tfjs-node-gpu into a scratch prefix (--prefix, default
//      $TMPDIR/tesserae-gpu-bench), not into the project's dependencies, from npm's configured
//      registry (on Linux x86-64 only, where its native library exists; its install script fetches
//      libtensorflow, so this needs the network: when it fails, the tensorflow row says why). A
//      module-resolution hook makes `import('@tensorflow/tfjs-node-gpu')` find it there. WebGPU
//      uses the `webgpu` package (Dawn) already in node_modules, on Vulkan
//      (TESSERAE_DAWN_FLAGS=backend=vulkan unless set);
//   3. runs bench/speed.ts on the webgpu and node-gpu (tfjs `tensorflow`) backends, one thread,
//      without the CPU peer, with --peak-tflops, so its table has a model FLOP utilisation column
//      (achieved FLOP/s over the peak).
//
// Without a GPU it says so, says what it would run, and exits 0 (nothing is installed).
// --dry-run prints the plan for the GPU it finds and exits 0 without installing or running.
//
//   node scripts/gpu-bench.mjs [--peak-tflops N] [--prefix DIR] [--presets micro/4,small/4,tiny/4]
//                              [--methods mae,diffmae,umd] [--batch 64] [--steps 5]
//                              [--out bench-results/gpu] [--dry-run]
//
// TESSERAE_NVIDIA_SMI names the nvidia-smi to run (default: nvidia-smi on PATH).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** fp32 peaks (TFLOP/s, without tensor cores) of common parts, matched against nvidia-smi's name in order. */
const PEAKS = [
  { pattern: /H100.*PCIe/i, part: 'H100 PCIe', tflops: 51.2 },
  { pattern: /H100|H200/i, part: 'H100/H200 SXM', tflops: 67 },
  { pattern: /A100/i, part: 'A100', tflops: 19.5 },
  { pattern: /\bL4\b/i, part: 'L4', tflops: 30.3 },
  { pattern: /\bT4\b/i, part: 'T4', tflops: 8.1 },
  { pattern: /V100/i, part: 'V100', tflops: 15.7 },
  { pattern: /RTX 4090/i, part: 'RTX 4090', tflops: 82.6 },
];

const { values: o } = parseArgs({
  options: {
    'peak-tflops': { type: 'string' },
    prefix: { type: 'string', default: join(tmpdir(), 'tesserae-gpu-bench') },
    presets: { type: 'string', default: 'micro/4,small/4,tiny/4' },
    methods: { type: 'string', default: 'mae,diffmae,umd' },
    batch: { type: 'string', default: '64' },
    steps: { type: 'string', default: '5' },
    out: { type: 'string', default: 'bench-results/gpu' },
    'dry-run': { type: 'boolean', default: false },
  },
  strict: true,
});

const NODE_GPU = '@tensorflow/tfjs-node-gpu@4.22.0';
const prefix = resolve(o.prefix);
const smi = process.env.TESSERAE_NVIDIA_SMI || 'nvidia-smi';
const benchArgs = (peak) => [
  join(root, 'dist', 'bench', 'speed.js'),
  '--backends',
  'webgpu,node-gpu',
  '--threads',
  '1',
  '--peer',
  'off',
  '--presets',
  o.presets,
  '--methods',
  o.methods,
  '--batch',
  o.batch,
  '--steps',
  o.steps,
  '--out',
  o.out,
  ...(peak === null ? [] : ['--peak-tflops', String(peak)]),
];
const plan = (peak) =>
  [
    `  1. npm install --prefix ${prefix} ${NODE_GPU} (the tensorflow backend; from npm's configured registry, Linux x86-64 only)`,
    `  2. TESSERAE_DAWN_FLAGS=${process.env.TESSERAE_DAWN_FLAGS || 'backend=vulkan'} node --import ${join(prefix, 'register.mjs')} ${benchArgs(peak).join(' ')}`,
    `     (WebGPU through the webgpu package's Dawn on Vulkan, and tfjs-node-gpu's tensorflow backend; the table gains an MFU column: achieved FLOP/s over the fp32 peak)`,
  ].join('\n');

// 1. the GPU
const q = spawnSync(smi, ['--query-gpu=name', '--format=csv,noheader'], { encoding: 'utf8', timeout: 30_000 });
const names =
  q.status === 0
    ? q.stdout
        .split('\n')
        .map((s) => s.trim())
        .filter(Boolean)
    : [];
if (names.length === 0) {
  const why = q.error
    ? `${smi} cannot run (${q.error.code ?? q.error.message})`
    : `${smi} exited with ${q.status}: ${(q.stderr || q.stdout).trim().split('\n')[0]}`;
  console.log(`No NVIDIA GPU found on this machine: ${why}. Nothing was installed or run.`);
  console.log(`On a machine with an NVIDIA GPU, npm run bench:gpu would:\n${plan('<fp32 peak of the GPU>')}`);
  process.exit(0);
}
const name = names[0];
let peak = null;
let source = '';
if (o['peak-tflops'] !== undefined) {
  peak = Number(o['peak-tflops']);
  if (!(peak > 0)) {
    console.error(`--peak-tflops must be a positive number of TFLOP/s, not ${JSON.stringify(o['peak-tflops'])}`);
    process.exit(2);
  }
  source = 'from --peak-tflops';
} else {
  const hit = PEAKS.find((p) => p.pattern.test(name));
  if (hit) {
    peak = hit.tflops;
    source = `the fp32 (non-tensor-core) peak of the ${hit.part}`;
  }
}
console.log(`GPU: ${name}${names.length > 1 ? ` (and ${names.length - 1} more; the benchmark uses one)` : ''}`);
console.log(
  peak === null
    ? `fp32 peak: unknown for "${name}" (known: ${PEAKS.map((p) => p.part).join(', ')}); pass --peak-tflops N for the MFU column`
    : `fp32 peak: ${peak} TFLOP/s (${source})`,
);
if (o['dry-run']) {
  console.log(`Dry run: would run\n${plan(peak)}`);
  process.exit(0);
}

// 2. tfjs-node-gpu into the scratch prefix, and the hook that finds it there
mkdirSync(prefix, { recursive: true });
const installed = join(prefix, 'node_modules', '@tensorflow', 'tfjs-node-gpu', 'package.json');
if (process.platform !== 'linux' || process.arch !== 'x64')
  console.log(`${NODE_GPU} has no native library for ${process.platform}-${process.arch}: the tensorflow row will say so`);
else if (!existsSync(installed)) {
  console.log(`Installing ${NODE_GPU} into ${prefix} ...`);
  if (!existsSync(join(prefix, 'package.json'))) writeFileSync(join(prefix, 'package.json'), '{ "private": true }\n');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(npm, ['install', '--prefix', prefix, '--no-audit', '--no-fund', '--fetch-retries=1', NODE_GPU], {
    stdio: 'inherit',
    timeout: 900_000,
  });
  if (r.status !== 0)
    console.log(`npm install of ${NODE_GPU} failed (${r.error?.message ?? `exit ${r.status}`}): the tensorflow row will say so`);
}
writeFileSync(
  join(prefix, 'hooks.mjs'),
  [
    '// Resolves @tensorflow/tfjs-node-gpu from this scratch prefix (written by scripts/gpu-bench.mjs).',
    `const base = ${JSON.stringify(pathToFileURL(join(prefix, 'package.json')).href)};`,
    'export async function resolve(specifier, context, next) {',
    "  if (specifier === '@tensorflow/tfjs-node-gpu' || specifier.startsWith('@tensorflow/tfjs-node-gpu/')) return next(specifier, { ...context, parentURL: base });",
    '  return next(specifier, context);',
    '}',
    '',
  ].join('\n'),
);
writeFileSync(join(prefix, 'register.mjs'), "import { register } from 'node:module';\nregister('./hooks.mjs', import.meta.url);\n");

// 3. the benchmark
if (!existsSync(join(root, 'dist', 'bench', 'speed.js')))
  spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { stdio: 'inherit', cwd: root });
const env = { ...process.env, TESSERAE_DAWN_FLAGS: process.env.TESSERAE_DAWN_FLAGS || 'backend=vulkan' };
const run = spawnSync(process.execPath, ['--import', pathToFileURL(join(prefix, 'register.mjs')).href, ...benchArgs(peak)], {
  stdio: 'inherit',
  cwd: root,
  env,
});
process.exit(run.status ?? 1);

/**
 * The learning rate each preset carries (issue 18, item 2): `tesserae train` as a user runs it,
 * for a grid of base learning rates per preset, scored by held-out masked PSNR after a short
 * budget. The preset's own rate (`baseLrFor`, what `train` uses without `--base-lr`) is marked
 * in the table, so the table shows whether the default is the rate that learns.
 *
 *   npm run bench:lr -- [--method mae] [--steps 100] [--grid 'micro/4=1.5e-4,3e-3,6e-3,1.2e-2;small/4=1.5e-4,1.5e-3,3e-3,6e-3']
 *                       [--out bench-results/lr] [--report docs/results/learning-rates.md]
 */
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { baseLrFor, presetSpec, type MethodName } from '../src/index.js';
import { writeFileAtomic } from '../src/node/index.js';
import { flags, table } from './common.js';

const f = flags({
  method: 'mae',
  steps: '100',
  grid: 'micro/4=1.5e-4,3e-3,6e-3,1.2e-2;small/4=1.5e-4,1.5e-3,3e-3,6e-3;tiny/4=1.5e-4,7.5e-4,1.5e-3,3e-3',
  out: 'bench-results/lr',
  report: '',
});
const cli = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'cli', 'main.js');
const method = f.method as MethodName;

interface Row {
  readonly preset: string;
  readonly baseLr: number;
  readonly isDefault: boolean;
  readonly loss: { readonly first: number; readonly last: number };
  readonly heldPsnr: { readonly first: number; readonly last: number };
  readonly seconds: number;
}

const rows: Row[] = [];
const started = Date.now();
const grid = f.grid.split(';').map((part) => {
  const [preset, lrs] = part.split('=');
  return { preset: preset!, lrs: lrs!.split(',').map(Number) };
});
const total = grid.reduce((n, g) => n + g.lrs.length, 0);
for (const { preset, lrs } of grid) {
  const own = baseLrFor(presetSpec(method, preset));
  for (const baseLr of lrs) {
    const out = join(f.out, `${method}-${preset.replace('/', '-')}-${baseLr}`);
    process.stderr.write(
      `[lr ${rows.length + 1}/${total}] ${method} ${preset} base lr ${baseLr} (${Math.round((Date.now() - started) / 1000)} s so far)\n`,
    );
    const r = spawnSync(
      process.execPath,
      [
        cli,
        'train',
        '--method',
        method,
        '--preset',
        preset,
        '--steps',
        f.steps,
        '--base-lr',
        String(baseLr),
        '--checkpoint-every',
        '100000',
        '--out',
        out,
        '--force',
      ],
      { encoding: 'utf8', maxBuffer: 64 << 20 },
    );
    if (r.status !== 0) throw new Error(`train ${preset} ${baseLr} failed: ${r.stderr}`);
    const last = r.stdout.trim().split('\n').pop()!;
    const s = JSON.parse(last) as { loss: Row['loss']; heldPsnr: Row['heldPsnr']; seconds: number };
    const row = { preset, baseLr, isDefault: Math.abs(baseLr - own) < 1e-12, loss: s.loss, heldPsnr: s.heldPsnr, seconds: s.seconds };
    rows.push(row);
    console.log(JSON.stringify({ bench: 'learning-rate', method, steps: Number(f.steps), ...row }));
  }
}

const best = new Map<string, number>();
for (const r of rows) best.set(r.preset, Math.max(best.get(r.preset) ?? -Infinity, r.heldPsnr.last));
const md = table(
  ['preset', 'base lr', 'loss first -> last', 'held-out masked PSNR (dB)', 'seconds'],
  rows.map((r) => [
    r.preset,
    `${r.baseLr}${r.isDefault ? " (the preset's)" : ''}`,
    `${r.loss.first.toFixed(3)} -> ${r.loss.last.toFixed(3)}`,
    `${r.heldPsnr.first.toFixed(2)} -> ${r.heldPsnr.last.toFixed(2)}${r.heldPsnr.last === best.get(r.preset) ? ' (best)' : ''}`,
    r.seconds.toFixed(0),
  ]),
);
console.log(md);
if (f.report !== '') {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  writeFileAtomic(
    f.report,
    `# Learning rates per preset\n\nMade by \`npm run bench:lr -- --method ${method} --steps ${f.steps} --grid '${f.grid}'\` on ${new Date().toISOString().slice(0, 10)}, ` +
      `${cpus().length} cores (${cpu}), ${Math.round((Date.now() - started) / 60000)} min in all. Each row is \`tesserae train --method ${method} --preset P --steps ${f.steps} --base-lr LR\` ` +
      `(batch 64, 2000 synthetic training images, 200 held out; lr = base lr x 64 / 256, 5% warm-up, cosine to 0). "The preset's" marks the rate \`train\` uses without \`--base-lr\` (\`baseLrFor\`).\n\n${md}\n`,
  );
}

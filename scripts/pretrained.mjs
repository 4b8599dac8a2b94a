// Makes the pretrained checkpoints that ship in pretrained/ from finished training runs, as
// pretrained/README.md records: half-precision weights-only exports of the Fashion-MNIST runs of
// `npm run compare:fashion` (MAE, DiffMAE, UMD) and of the `npm start` run (MAE on the synthetic
// data), plus 16 Fashion-MNIST test images for the browser demo. Run after those commands:
//   npm run compare:fashion && npm start && node scripts/pretrained.mjs
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist', 'src', 'cli', 'main.js');
const out = join(root, 'pretrained');
mkdirSync(out, { recursive: true });
const runs = process.env.TESSERAE_RUNS ?? join(root, 'runs');
const sources = {
  'mae-fashion': join(runs, 'compare-fashion', 'mae'),
  'diffmae-fashion': join(runs, 'compare-fashion', 'diffmae'),
  'umd-fashion': join(runs, 'compare-fashion', 'umd'),
  'mae-synthetic': join(runs, 'mae-micro'),
};
for (const [name, run] of Object.entries(sources)) {
  const ckpt = join(run, 'checkpoints', 'latest.safetensors');
  if (!existsSync(ckpt)) {
    console.error(`pretrained: ${ckpt} is missing: run the command pretrained/README.md gives for ${name} first`);
    process.exit(2);
  }
  const target = join(out, `${name}.safetensors`);
  execFileSync(process.execPath, [cli, 'export', '--checkpoint', ckpt, '--out', target, '--dtype', 'float16'], {
    stdio: 'inherit',
  });
}
// 16 test images (the first 16 of the official test split), uint8 [16, 28, 28, 1], for the demo page
const { loadFashionMnist, FASHION_MNIST_DIR } = await import(join(root, 'dist', 'src', 'node', 'loaders.js'));
const { writeNpy } = await import(join(root, 'dist', 'src', 'io', 'npy.js'));
const test = loadFashionMnist(FASHION_MNIST_DIR, 'test');
const n = 16;
const per = 28 * 28;
const images = Uint8Array.from(test.images.subarray(0, n * per), (v) => Math.round(v * 255));
writeFileSync(join(out, 'fashion-mnist-test-16.npy'), writeNpy({ shape: [n, 28, 28, 1], data: images }));
writeFileSync(join(out, 'fashion-mnist-test-16-labels.npy'), writeNpy({ shape: [n], data: Int32Array.from(test.labels.subarray(0, n)) }));
console.log(`wrote ${Object.keys(sources).length} checkpoints and 16 test images to ${out}`);

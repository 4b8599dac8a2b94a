/**
 * The browser demo in a real browser: Debian's chromium driven by playwright-core. Builds the
 * bundle, makes MAE and DiffMAE checkpoints with the CLI and exports them, serves the page on
 * 127.0.0.1, and checks that the page runs on WebGPU (chromium's SwiftShader adapter, enabled by
 * --enable-unsafe-webgpu), that its reconstruction and inpainting agree with the CPU backend
 * here in Node, that it falls back to WASM without WebGPU and says so, and that it reports
 * missing or truncated checkpoints clearly. chromium must be at /usr/bin/chromium; .ci/run
 * installs it (apt-get install chromium).
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { inflateSync } from 'node:zlib';
import { chromium, type Browser, type Page } from 'playwright-core';
import {
  Mask,
  Sampler,
  batchTensor,
  decodePng,
  disposeParams,
  drawMask,
  gridOf,
  Key,
  maskedPsnr,
  openModelBytes,
  predictRemoved,
  tf,
  useBackend,
  type LabelledImages,
} from '../../src/index.js';
import { demoImages, type DemoApi, type DemoStatus, type RunOptions, type RunResult } from '../../examples/browser/api.js';
import { serve, type Served } from '../../examples/browser/serve.js';
import { FASHION_MNIST_DIR, loadFashionMnist } from '../../src/node/loaders.js';

/** Debian's chromium (.ci/run installs it); TESSERAE_CHROMIUM points elsewhere. */
const CHROMIUM = process.env['TESSERAE_CHROMIUM'] ?? '/usr/bin/chromium';
/** Float32 on a GPU against float32 on the CPU, through a small ViT (and three DDIM steps). */
const TOLERANCE = 1e-3;
const PSNR_TOLERANCE = 0.05;
const BASE_ARGS = ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
/** What gives navigator.gpu an adapter in headless chromium: SwiftShader's Vulkan, via Dawn. */
const WEBGPU_ARGS = ['--enable-unsafe-webgpu'];

const root = (() => {
  let d = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(d, 'package.json'))) d = dirname(d);
  return d;
})();
const cli = join(root, 'dist', 'src', 'cli', 'main.js');
const run = promisify(execFile);

const work = mkdtempSync(join(tmpdir(), 'tesserae-browser-'));
const ckpt = (name: string): string => join(work, 'checkpoints', name);

/** A fixed mask: 20 of the 64 patches of the 8 x 8 grid, scattered and in a block. */
const REMOVED = [0, 9, 10, 11, 18, 19, 20, 21, 27, 28, 29, 30, 36, 37, 45, 46, 52, 55, 60, 63];

const maxAbsDiff = (a: readonly number[], b: readonly number[]): number => {
  assert.equal(a.length, b.length, 'result lengths differ');
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

/** The page's computation on tfjs' CPU backend, here in Node, through the library's predictRemoved. */
const reference = (file: string, o: Required<RunOptions>, given?: LabelledImages): { result: number[]; psnr: number; input: number[] } => {
  const m = openModelBytes(new Uint8Array(readFileSync(file)), file);
  try {
    const [h, w, c] = m.model.image;
    const grid = gridOf(m.model.corruption.patching, [h, w, c]);
    const data = given ?? demoImages(h);
    const per = h * w * c;
    const images = batchTensor(data, Int32Array.of(o.image), m.norm);
    const draw = drawMask(Mask.explicit(o.removed), Key.key(o.seed), 1, grid);
    const { pred, x0, mask } = predictRemoved(m.model, m.params, images, draw, m.norm, Key.key(o.seed), Sampler.ddim({ steps: o.steps }));
    const psnr = maskedPsnr(grid, pred, x0, mask, m.norm)[0]!;
    const result = Array.from(pred.dataSync());
    tf.dispose([images, pred, x0, mask]);
    return { result, psnr, input: Array.from(data.images.subarray(o.image * per, (o.image + 1) * per)) };
  } finally {
    disposeParams(m.params);
  }
};

const api = async <T>(page: Page, f: (api: DemoApi, arg: unknown) => Promise<T> | T, arg?: unknown): Promise<T> =>
  page.evaluate(
    // playwright serialises the function; `api` is looked up in the page
    async ([src, a]) => {
      const fn = new Function(`return (${src})`)() as (api: unknown, arg: unknown) => unknown;
      return (await fn((window as unknown as { tesserae: unknown }).tesserae, a)) as T;
    },
    [f.toString(), arg] as const,
  );

const open = async (browser: Browser, query: string): Promise<{ page: Page; status: DemoStatus; errors: string[] }> => {
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${server.url}index.html${query}`);
  const status = await api(page, (t) => t.ready);
  return { page, status, errors };
};

const compare = async (
  page: Page,
  file: string,
  o: Required<RunOptions>,
): Promise<{ r: RunResult; diff: number; dPsnr: number; ref: ReturnType<typeof reference> }> => {
  const before = await api(page, (t) => t.numTensors());
  const r = await api(page, (t, a) => t.run(a as RunOptions), o);
  const after = await api(page, (t) => t.numTensors());
  assert.equal(after, before, `the page leaked ${after - before} tensors in one run`);
  const ref = reference(file, o);
  assert.deepEqual(r.input, ref.input, 'the page and Node generated different synthetic images');
  assert.deepEqual(
    r.removed,
    [...o.removed].sort((a, b) => a - b),
  );
  const diff = maxAbsDiff(r.result, ref.result);
  const dPsnr = Math.abs(r.psnr - ref.psnr);
  return { r, diff, dPsnr, ref };
};

let server: Served;
let gpu: Browser;

describe('browser demo (chromium, playwright-core)', { timeout: 240_000 }, () => {
  before(async () => {
    if (!existsSync(CHROMIUM))
      throw new Error(
        `${CHROMIUM} is missing: the browser demo's test needs Debian's chromium; .ci/run installs it (apt-get install chromium)`,
      );
    execFileSync(process.execPath, [join(root, 'scripts', 'build-browser.mjs')], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
    const train = (method: string) =>
      run(process.execPath, [
        cli,
        'train',
        ...['--method', method, '--preset', 'micro/4', '--steps', '2', '--batch', '8', '--count', '40', '--held', '8'],
        ...['--checkpoint-every', '2', '--backend', 'wasm', '--out', join(work, method)],
      ]);
    await Promise.all([train('mae'), train('diffmae')]);
    mkdirSync(join(work, 'checkpoints'));
    await Promise.all(
      ['mae', 'diffmae'].map((m) =>
        run(process.execPath, [
          cli,
          'export',
          ...['--checkpoint', join(work, m, 'checkpoints', 'step-000002.safetensors'), '--out', ckpt(`${m}.safetensors`)],
        ]),
      ),
    );
    const bytes = readFileSync(ckpt('mae.safetensors'));
    writeFileSync(ckpt('mae-truncated.safetensors'), bytes.subarray(0, Math.floor(bytes.length / 2)));
    server = await serve({ mounts: { '/checkpoints/': join(work, 'checkpoints') } });
    gpu = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...BASE_ARGS, ...WEBGPU_ARGS] });
    await useBackend('cpu');
  });

  after(async () => {
    await gpu?.close();
    await server?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('runs MAE reconstruction on WebGPU and matches the CPU backend', async (t) => {
    const { page, status, errors } = await open(gpu, '?checkpoint=/checkpoints/mae.safetensors');
    assert.equal(status.error, null);
    assert.equal(
      status.backend,
      'webgpu',
      `WebGPU did not start in chromium with ${WEBGPU_ARGS.join(' ')}: ${status.fallback ?? 'no reason given'}`,
    );
    assert.equal(status.fallback, null);
    assert.equal(await page.locator('#backend').textContent(), 'webgpu');
    assert.equal(await page.locator('#fallback').isVisible(), false);
    assert.equal(status.model?.method, 'mae micro/4'); // the spec's label
    assert.deepEqual(status.model?.grid, [8, 8]);
    const o = { image: 3, removed: REMOVED, seed: 7, steps: 1 };
    const { r, diff, dPsnr, ref } = await compare(page, ckpt('mae.safetensors'), o);
    t.diagnostic(
      `MAE webgpu vs cpu: max |diff| ${diff.toExponential(2)}, PSNR ${r.psnr.toFixed(4)} vs ${ref.psnr.toFixed(4)} dB (|diff| ${dPsnr.toExponential(2)}), ${r.ms.toFixed(0)} ms`,
    );
    assert.equal(r.backend, 'webgpu');
    assert.deepEqual(r.shape, [1, 64, 48]);
    assert.ok(diff < TOLERANCE, `MAE: WebGPU and CPU differ by up to ${diff}`);
    assert.ok(dPsnr < PSNR_TOLERANCE, `MAE: PSNR ${r.psnr} on WebGPU, ${ref.psnr} on CPU`);
    assert.match((await page.locator('#psnr').textContent()) ?? '', /Masked-region PSNR: \d+\.\d\d dB \(20 patches, webgpu/);
    // one pass (the corruption has a clean branch): no DDIM steps
    assert.equal(r.steps, 0);
    assert.equal(await page.locator('#result-caption').textContent(), 'mae micro/4 reconstruction, visible patches pasted');
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('inpaints with DiffMAE (DDIM) on WebGPU with a progress display, matching the CPU backend', async (t) => {
    const { page, status, errors } = await open(gpu, '?checkpoint=/checkpoints/diffmae.safetensors');
    assert.equal(status.backend, 'webgpu', `WebGPU did not start: ${status.fallback}`);
    assert.equal(status.model?.method, 'diffmae micro/4');
    // record what the progress line says while the reverse process runs
    await page.evaluate(() => {
      const seen: string[] = [];
      (window as unknown as { seen: string[] }).seen = seen;
      const el = document.getElementById('progress-text')!;
      new MutationObserver(() => seen.push(`${el.textContent} @ ${(document.getElementById('bar') as HTMLProgressElement).value}`)).observe(
        el,
        { childList: true, characterData: true, subtree: true },
      );
    });
    const o = { image: 5, removed: REMOVED, seed: 11, steps: 3 };
    const { r, diff, dPsnr, ref } = await compare(page, ckpt('diffmae.safetensors'), o);
    t.diagnostic(
      `DiffMAE (3 DDIM steps) webgpu vs cpu: max |diff| ${diff.toExponential(2)}, PSNR ${r.psnr.toFixed(4)} vs ${ref.psnr.toFixed(4)} dB (|diff| ${dPsnr.toExponential(2)}), ${r.ms.toFixed(0)} ms`,
    );
    assert.equal(r.steps, 3);
    assert.deepEqual(r.progress, ['step 1/3', 'step 2/3', 'step 3/3']);
    // the reverse process (the corruption noises the removed patches)
    assert.equal(await page.locator('#result-caption').textContent(), 'diffmae micro/4 inpainting (DDIM, 3 steps), visible patches pasted');
    const seen = await page.evaluate(() => (window as unknown as { seen: string[] }).seen);
    for (const [i, frac] of [
      [1, 1 / 3],
      [2, 2 / 3],
      [3, 1],
    ] as const)
      assert.ok(
        seen.some((s) => s.startsWith(`reverse process: step ${i}/3`) && s.endsWith(`@ ${frac}`)),
        `progress never showed step ${i}/3: ${seen.join(' | ')}`,
      );
    assert.ok(diff < TOLERANCE, `DiffMAE: WebGPU and CPU differ by up to ${diff}`);
    assert.ok(dPsnr < PSNR_TOLERANCE, `DiffMAE: PSNR ${r.psnr} on WebGPU, ${ref.psnr} on CPU`);

    // the same through the controls: clear, click two patches, 3 steps, Run
    await page.click('#mask-clear');
    const box = (await page.locator('#input').boundingBox())!;
    const cell = box.width / 8;
    for (const [row, col] of [
      [2, 3],
      [5, 6],
    ] as const)
      await page.mouse.click(box.x + (col + 0.5) * cell, box.y + (row + 0.5) * cell);
    assert.equal(await page.locator('#mask-count').textContent(), '2 of 64 patches masked');
    await page.click('#mask-center');
    assert.equal(await page.locator('#mask-count').textContent(), '16 of 64 patches masked');
    await page.locator('#steps').selectOption('3');
    await page.click('#run');
    await page.waitForFunction(() => document.getElementById('progress-text')!.textContent!.startsWith('done'), undefined, {
      timeout: 60_000,
    });
    assert.match((await page.locator('#psnr').textContent()) ?? '', /\(16 patches, webgpu/);

    const shot = join(work, 'demo.png');
    await page.screenshot({ path: shot, fullPage: true });
    const png = readFileSync(shot);
    const img = decodePng(new Uint8Array(png), shot, (z, n) => inflateSync(z, { maxOutputLength: n }));
    assert.ok(img.width >= 800 && img.height >= 600, `screenshot is ${img.width} x ${img.height}`);
    const colours = new Set<number>();
    for (let i = 0; i < img.width * img.height; i++) {
      const p = i * img.channels;
      colours.add((img.data[p]! << 16) | (img.data[p + 1]! << 8) | img.data[p + 2]!);
    }
    assert.ok(colours.size > 64, `the screenshot has only ${colours.size} colours`);
    // the picture in the docs: refreshed on request, written when absent
    const docs = join(root, 'examples', 'browser', 'screenshot.png');
    if (process.env['TESSERAE_UPDATE_SCREENSHOT'] === '1' || !existsSync(docs)) copyFileSync(shot, docs);
    t.diagnostic(`screenshot: ${img.width} x ${img.height}, ${colours.size} colours, ${png.length} bytes`);
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('opens ready to use: the pretrained DiffMAE on real Fashion-MNIST test images, and inpaints them', async (t) => {
    const { page, status, errors } = await open(gpu, '');
    assert.equal(status.error, null);
    assert.equal(status.model?.url, '/pretrained/diffmae-fashion.safetensors');
    assert.deepEqual(status.model?.image, [28, 28, 1]);
    assert.match((await page.locator('#image option').first().textContent()) ?? '', /^0: ankle boot$/);
    // the centre quarter of the 7 x 7 patch grid
    const centre = [16, 17, 18, 23, 24, 25, 30, 31, 32];
    const r = await api(page, (tt, a) => tt.run(a as RunOptions), { image: 0, removed: centre, seed: 1, steps: 3 });
    // the page's first image is the first official test image, and the page computes what Node does
    const test = loadFashionMnist(FASHION_MNIST_DIR, 'test');
    const ref = reference(join(root, 'pretrained', 'diffmae-fashion.safetensors'), { image: 0, removed: centre, seed: 1, steps: 3 }, test);
    assert.ok(
      maxAbsDiff(r.input, Array.from(test.images.subarray(0, 784))) < 1e-6,
      'the page shows another image than the first test image',
    );
    const diff = maxAbsDiff(r.result, ref.result);
    t.diagnostic(
      `pretrained DiffMAE in the page: masked PSNR ${r.psnr.toFixed(2)} dB (Node ${ref.psnr.toFixed(2)}), max |diff| ${diff.toExponential(2)}, ${r.ms.toFixed(0)} ms on ${r.backend}`,
    );
    assert.equal(r.steps, 3);
    assert.ok(diff < TOLERANCE, `the page and Node differ by up to ${diff}`);
    assert.ok(Math.abs(r.psnr - ref.psnr) < PSNR_TOLERANCE);
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('falls back to WASM without WebGPU, says so, and still reconstructs', async (t) => {
    const plain = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: BASE_ARGS });
    try {
      const { page, status, errors } = await open(plain, '?checkpoint=/checkpoints/mae.safetensors');
      assert.equal(status.error, null);
      assert.equal(status.backend, 'wasm');
      assert.match(status.fallback ?? '', /WebGPU is unavailable: .*no WebGPU adapter.*Running on wasm instead/);
      assert.ok(await page.locator('#fallback').isVisible(), 'the fallback message is not visible');
      assert.match((await page.locator('#fallback').textContent()) ?? '', /WebGPU is unavailable/);
      assert.equal(await page.locator('#backend').textContent(), 'wasm');
      const { r, diff, dPsnr } = await compare(page, ckpt('mae.safetensors'), { image: 3, removed: REMOVED, seed: 7, steps: 1 });
      t.diagnostic(`MAE wasm vs cpu: max |diff| ${diff.toExponential(2)}, PSNR diff ${dPsnr.toExponential(2)} dB, ${r.ms.toFixed(0)} ms`);
      assert.equal(r.backend, 'wasm');
      assert.ok(diff < TOLERANCE, `MAE: WASM and CPU differ by up to ${diff}`);
      assert.ok(dPsnr < PSNR_TOLERANCE);
      assert.deepEqual(errors, []);
    } finally {
      await plain.close();
    }
  });

  it('shows a clear error for a missing or truncated checkpoint', async () => {
    const missing = await open(gpu, '?checkpoint=/checkpoints/missing.safetensors');
    assert.match(missing.status.error ?? '', /Could not load the checkpoint: cannot fetch \/checkpoints\/missing\.safetensors: HTTP 404/);
    assert.equal(missing.status.model, null);
    assert.ok(await missing.page.locator('#error').isVisible());
    assert.match((await missing.page.locator('#error').textContent()) ?? '', /HTTP 404/);
    assert.ok(await missing.page.locator('#run').isDisabled(), 'Run is enabled without a checkpoint');
    await assert.rejects(
      api(missing.page, (t) => t.run()),
      /load a checkpoint first/,
    );
    await missing.page.close();

    const cut = await open(gpu, '?checkpoint=/checkpoints/mae-truncated.safetensors');
    assert.match(cut.status.error ?? '', /Could not load the checkpoint: \/checkpoints\/mae-truncated\.safetensors: /);
    assert.match(cut.status.error ?? '', /data_offsets|beyond the file|truncated|shorter/);
    assert.equal(cut.status.model, null);
    assert.ok(await cut.page.locator('#error').isVisible());
    // a good checkpoint loads over the failure and clears the error
    const ok = await api(cut.page, (t) => t.load('/checkpoints/mae.safetensors'));
    assert.equal(ok.error, null);
    assert.equal(ok.model?.method, 'mae micro/4');
    assert.equal(await cut.page.locator('#error').isVisible(), false);
    assert.deepEqual(missing.errors.concat(cut.errors), []);
    await cut.page.close();
  });
});

/**
 * The browser demo: load a checkpoint (a `tesserae export` file or a training checkpoint) and
 * reconstruct (a model with a clean branch: MAE, UMD) or inpaint (a model whose corruption noises
 * the removed patches: DiffMAE, DDIM) the patches the user masks by clicking, on WebGPU; without
 * WebGPU it falls back to WASM, then CPU, and says why on the page. Which of the two a model does
 * is a question about its corruption (`inpaintingOf`), never its name.
 *
 * Build with `node scripts/build.mjs && node scripts/build-browser.mjs`, serve with
 * `node dist/examples/browser/serve.js [--checkpoints DIR]` and open the printed URL: it opens
 * the pretrained DiffMAE on Fashion-MNIST (`/pretrained/diffmae-fashion.safetensors`, with 16
 * real test images), ready to inpaint. Query parameters: `checkpoint` (a URL to load instead,
 * e.g. `/pretrained/mae-fashion.safetensors` or `/checkpoints/NAME.safetensors`; empty for
 * none), `backend` (webgpu, the default; wasm; cpu).
 *
 * Progress during the reverse process is live: the page drives tesserae's `inpaintSteps`
 * generator one step at a time, reads each step's x0 estimate asynchronously, paints it with
 * step i/N on the bar, and yields a frame before the next step, so the browser repaints.
 *
 * @since 0.1.0
 */
// Registers the webgpu backend (only when navigator.gpu exists as this module loads).
import '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import {
  Key,
  Mask,
  Sampler,
  activeBackend,
  dataRange,
  disposeParams,
  drawMask,
  gridOf,
  inpainter,
  inpaintingOf,
  inpaintSteps,
  openModelBytes,
  pasteVisible,
  patches,
  patchifyOp,
  predictRemoved,
  psnr,
  readNpy,
  removedIds,
  tf,
  unpatchifyOp,
  useBackend,
  type BackendName,
  type Grid,
  type LabelledImages,
  type OpenedModel,
  type Tensor,
} from '../../src/index.js';
import { DEMO_IMAGES, demoImages, type DemoApi, type DemoStatus, type RunOptions, type RunResult } from './api.js';

// --- page elements ------------------------------------------------------------------------

const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`index.html has no #${id}`);
  return el as T;
};
const ui = {
  backend: $<HTMLElement>('backend'),
  modelInfo: $<HTMLElement>('model-info'),
  fallback: $<HTMLElement>('fallback'),
  error: $<HTMLElement>('error'),
  checkpointFile: $<HTMLInputElement>('checkpoint-file'),
  image: $<HTMLSelectElement>('image'),
  picture: $<HTMLInputElement>('picture'),
  maskRandom: $<HTMLButtonElement>('mask-random'),
  maskCenter: $<HTMLButtonElement>('mask-center'),
  maskClear: $<HTMLButtonElement>('mask-clear'),
  maskCount: $<HTMLElement>('mask-count'),
  seed: $<HTMLInputElement>('seed'),
  steps: $<HTMLSelectElement>('steps'),
  run: $<HTMLButtonElement>('run'),
  bar: $<HTMLProgressElement>('bar'),
  progress: $<HTMLElement>('progress-text'),
  input: $<HTMLCanvasElement>('input'),
  original: $<HTMLCanvasElement>('original'),
  masked: $<HTMLCanvasElement>('masked'),
  result: $<HTMLCanvasElement>('result'),
  resultCaption: $<HTMLElement>('result-caption'),
  psnr: $<HTMLElement>('psnr'),
};

// --- state --------------------------------------------------------------------------------

type Loaded = OpenedModel & { readonly url: string; readonly grid: Grid };

/** A model's name for people: its spec's label (a preset's is `"<method> <preset>"`, e.g. `mae micro/4`). */
const labelOf = (o: OpenedModel): string => o.spec.label ?? 'unlabelled model';

/** Whether a model inpaints by the reverse process (masked noise, DiffMAE) rather than in one pass. */
const diffuses = (o: OpenedModel): boolean => inpaintingOf(o.model.corruption) === 'diffusion';

let backend = 'none';
let fallback: string | null = null;
let error: string | null = null;
let model: Loaded | null = null;
/** Before a checkpoint is loaded the page shows the micro/4 geometry (32 x 32 RGB, patch 4). */
let grid: Grid = gridOf(patches(4), [32, 32, 3]);
let images: LabelledImages = demoImages(32);
/** Real test images for models on 28 x 28 x 1 (the pretrained Fashion-MNIST ones), fetched at start when the server has them. */
let fashion: LabelledImages | null = null;
let imageIndex = 0;
/** A picture chosen with the file picker, [H, W, C] in [0, 1]; replaces the synthetic image. */
let picture: Float32Array | null = null;
let removed = new Set<number>();
let maskDraws = 0;
let busy = false;

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

const status = (): DemoStatus => ({
  backend,
  fallback,
  error,
  model: model
    ? {
        url: model.url,
        method: labelOf(model),
        step: model.step,
        weights: model.weights,
        image: [grid.height, grid.width, grid.channels],
        grid: [grid.rows, grid.cols],
      }
    : null,
});

const showError = (text: string | null): void => {
  error = text;
  ui.error.textContent = text ?? '';
  ui.error.hidden = text === null;
};

const say = (text: string, done?: number): void => {
  ui.progress.textContent = text;
  if (done === undefined) ui.bar.removeAttribute('value');
  else ui.bar.value = done;
};

/** Lets the browser paint: the next animation frame (or 100 ms, for a hidden page). */
const frame = (): Promise<void> =>
  new Promise((resolve) => {
    let done = false;
    const finish = (): void => {
      if (!done) ((done = true), resolve());
    };
    requestAnimationFrame(() => setTimeout(finish, 0));
    setTimeout(finish, 100);
  });

const setControls = (enabled: boolean): void => {
  for (const el of [ui.run, ui.maskRandom, ui.maskCenter, ui.maskClear, ui.image, ui.picture, ui.checkpointFile, ui.seed, ui.steps])
    el.disabled = !enabled || (el === ui.run && model === null);
};

// --- drawing ------------------------------------------------------------------------------

const scaleFor = (g: Grid, target: number): number => Math.max(1, Math.round(target / Math.max(g.height, g.width)));

/** Paints an image [H, W, C] (C = 1 or 3, values in [0, 1]) magnified `scale` times. */
const paint = (canvas: HTMLCanvasElement, px: ArrayLike<number>, g: Grid, scale: number): CanvasRenderingContext2D => {
  const { height: h, width: w, channels: c } = g;
  const rgba = new ImageData(w, h);
  for (let i = 0; i < h * w; i++)
    for (let k = 0; k < 4; k++) {
      const v = k === 3 ? 1 : px[i * c + (c === 1 ? 0 : k)]!;
      rgba.data[i * 4 + k] = Math.round(255 * Math.min(1, Math.max(0, Number.isFinite(v) ? v : 0)));
    }
  const small = document.createElement('canvas');
  small.width = w;
  small.height = h;
  small.getContext('2d')!.putImageData(rgba, 0, 0);
  canvas.width = w * scale;
  canvas.height = h * scale;
  const ctx = canvas.getContext('2d')!;
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(small, 0, 0, w * scale, h * scale);
  return ctx;
};

const currentPixels = (): Float32Array => {
  if (picture) return picture;
  const per = grid.height * grid.width * grid.channels;
  return images.images.subarray(imageIndex * per, (imageIndex + 1) * per);
};

/** The input canvas: the image, the patch grid, and the masked patches greyed out. */
const drawInput = (): void => {
  const scale = scaleFor(grid, 256);
  const ctx = paint(ui.input, currentPixels(), grid, scale);
  const s = grid.patch * scale;
  ctx.fillStyle = 'rgba(128, 128, 128, 0.88)';
  ctx.strokeStyle = 'rgba(60, 60, 60, 0.9)';
  for (const id of removed) {
    const [r, c] = [Math.floor(id / grid.cols), id % grid.cols];
    ctx.fillRect(c * s, r * s, s, s);
    ctx.beginPath();
    ctx.moveTo(c * s + 2, r * s + 2);
    ctx.lineTo(c * s + s - 2, r * s + s - 2);
    ctx.stroke();
  }
  ctx.strokeStyle = 'rgba(255, 255, 255, 0.45)';
  ctx.lineWidth = 1;
  ctx.beginPath();
  for (let r = 0; r <= grid.rows; r++) (ctx.moveTo(0, r * s + 0.5), ctx.lineTo(grid.cols * s, r * s + 0.5));
  for (let c = 0; c <= grid.cols; c++) (ctx.moveTo(c * s + 0.5, 0), ctx.lineTo(c * s + 0.5, grid.rows * s));
  ctx.stroke();
  ui.maskCount.textContent = `${removed.size} of ${grid.rows * grid.cols} patches masked`;
};

const setMask = (ids: Iterable<number>): void => {
  removed = new Set(ids);
  drawInput();
};

// --- backends -----------------------------------------------------------------------------

// The wasm backend's binaries sit next to this bundle (scripts/build-browser.mjs copies them).
setWasmPaths(new URL('./', import.meta.url).href);

/** WebGPU by name (`auto` would skip a software adapter), else WASM, else CPU, saying why. */
const initBackend = async (wanted: string): Promise<void> => {
  const order: BackendName[] = wanted === 'wasm' ? ['wasm', 'cpu'] : wanted === 'cpu' ? ['cpu'] : ['webgpu', 'wasm', 'cpu'];
  const why: string[] = [];
  for (const name of order) {
    try {
      await useBackend(name);
      backend = activeBackend() ?? name;
      fallback = why.length ? `${why.join('; ')}. Running on ${backend} instead.` : null;
      break;
    } catch (e) {
      why.push(name === 'webgpu' ? `WebGPU is unavailable: ${message(e)}` : `${name} failed: ${message(e)}`);
    }
  }
  if (backend === 'none') throw new Error(`no tfjs backend could be initialised (${why.join('; ')})`);
  ui.backend.textContent = backend;
  ui.fallback.textContent = fallback ?? '';
  ui.fallback.hidden = fallback === null;
};

// --- checkpoints --------------------------------------------------------------------------

const fillImageChoices = (): void => {
  ui.image.replaceChildren(
    ...Array.from({ length: images.count }, (_, i) => {
      const o = document.createElement('option');
      o.value = String(i);
      o.textContent = `${i}: ${images.classes[images.labels[i]!]}`;
      return o;
    }),
  );
  ui.image.value = String(imageIndex);
};

/** Opens checkpoint bytes; replaces (and frees) the loaded model on success. */
const openBytes = (bytes: Uint8Array, url: string): void => {
  const opened = openModelBytes(bytes, url);
  const image = opened.model.image as readonly number[];
  const supported = inpaintingOf(opened.model.corruption) !== 'none' && image.length === 3;
  if (!supported) {
    disposeParams(opened.params);
    throw new Error(
      `${url}: a ${labelOf(opened)} checkpoint on inputs [${image.join(', ')}]; this page reconstructs images [H, W, C] with a model that has a clean branch (as MAE and UMD have) or noises the removed patches (as DiffMAE does)`,
    );
  }
  const g = gridOf(opened.model.corruption.patching, image);
  if (model) disposeParams(model.params);
  model = { ...opened, url, grid: g };
  if (g.height !== grid.height || g.width !== grid.width || g.channels !== grid.channels || g.patch !== grid.patch) {
    grid = g;
    picture = null;
    removed = new Set();
    if (fashion && g.height === fashion.height && g.width === fashion.width && g.channels === fashion.channels) images = fashion;
    else if (g.height === g.width && g.channels === 3) images = demoImages(g.height);
    else ((images = demoImages(32)), (picture = new Float32Array(g.height * g.width * g.channels).fill(0.5)));
    imageIndex = Math.min(imageIndex, images.count - 1);
    fillImageChoices();
  }
  ui.modelInfo.textContent =
    `${labelOf(opened)} checkpoint ${url}: step ${opened.step} (${opened.weights} weights), ` +
    `${g.height}×${g.width}×${g.channels} images, ${g.rows}×${g.cols} patches of ${g.patch}`;
  drawInput();
};

const loadFrom = async (what: string, bytes: () => Promise<Uint8Array>): Promise<DemoStatus> => {
  showError(null);
  setControls(false);
  say(`loading ${what}…`);
  try {
    openBytes(await bytes(), what);
    say(`loaded ${what}; pick patches, then Run.`, 0);
  } catch (e) {
    showError(`Could not load the checkpoint: ${message(e)}`);
    say('no checkpoint loaded', 0);
  } finally {
    setControls(true);
  }
  return status();
};

const load = (url: string): Promise<DemoStatus> =>
  loadFrom(url, async () => {
    let res: Response;
    try {
      res = await fetch(url);
    } catch (e) {
      throw new Error(`cannot fetch ${url} (${message(e)})`);
    }
    if (!res.ok) throw new Error(`cannot fetch ${url}: HTTP ${res.status} ${res.statusText}`.trim());
    const bytes = new Uint8Array(await res.arrayBuffer());
    const length = Number(res.headers.get('content-length') ?? NaN);
    if (!res.headers.get('content-encoding') && Number.isFinite(length) && bytes.length < length)
      throw new Error(`${url}: the download was cut short (${bytes.length} of ${length} bytes)`);
    return bytes;
  });

// --- running ------------------------------------------------------------------------------

/** Pixels [H, W, C] in [0, 1] of patches [1, L, P] in model units. */
const pixelsOf = (m: Loaded, tokens: Tensor): Tensor =>
  tf.tidy(() => tf.add(tf.mul(unpatchifyOp(m.grid, tokens), tf.tensor1d([...m.norm.std])), tf.tensor1d([...m.norm.mean])));

/** A model with masked noise (DiffMAE): inpaint with DDIM step by step, showing each step's x0 estimate as it comes. */
const inpaintShowingSteps = async (
  m: Loaded,
  input: Tensor,
  ids: readonly number[],
  seed: number,
  steps: number,
  progress: string[],
): Promise<Tensor> => {
  const draw = drawMask(Mask.explicit(ids), Key.key(seed), 1, m.grid);
  say(`reverse process: ${steps} DDIM steps on ${backend}…`);
  await frame();
  // exactly what predictRemoved does for a model that inpaints by diffusion, one step at a time
  const ip = inpainter(m.model, m.params, input, draw, Key.key(seed));
  const it = inpaintSteps(ip.denoise, ip.schedule, ip.x0, draw, {
    sampler: Sampler.ddim({ steps }),
    key: Key.key(seed),
    clip: dataRange(m.norm),
  });
  const scale = scaleFor(m.grid, 192);
  try {
    for (;;) {
      const r = it.next();
      if (r.done) return r.value;
      const s = r.value;
      const px = pixelsOf(m, s.x0);
      const data = await px.data(); // on WebGPU this waits for the step to finish on the GPU
      px.dispose();
      paint(ui.result, data, m.grid, scale);
      const label = `step ${s.i + 1}/${s.n}`;
      progress.push(label);
      ui.resultCaption.textContent = `x0 estimate, ${label} (t = ${s.t})`;
      say(`reverse process: ${label} (t = ${s.t})`, (s.i + 1) / s.n);
      await frame();
    }
  } catch (e) {
    it.return(undefined as never); // frees what the generator holds
    throw e;
  } finally {
    ip.dispose(); // the encoder's outputs and the clean patches
  }
};

const run = async (o: RunOptions = {}): Promise<RunResult> => {
  const m = model;
  if (!m) throw new Error('load a checkpoint first');
  if (busy) throw new Error('a run is already in progress');
  busy = true;
  setControls(false);
  showError(null);
  try {
    // options override the controls, and the controls show what runs
    if (o.image !== undefined) {
      if (!(Number.isInteger(o.image) && o.image >= 0 && o.image < images.count))
        throw new Error(`image must be an integer in [0, ${images.count})`);
      imageIndex = o.image;
      picture = null;
      ui.image.value = String(imageIndex);
    }
    if (o.removed !== undefined) setMask(o.removed);
    if (o.seed !== undefined) ui.seed.value = String(o.seed);
    if (o.steps !== undefined) {
      if (!Array.from(ui.steps.options).some((op) => op.value === String(o.steps))) ui.steps.add(new Option(String(o.steps)));
      ui.steps.value = String(o.steps);
    }
    drawInput();
    const seed = Number(ui.seed.value);
    const steps = diffuses(m) ? Number(ui.steps.value) : 0;
    const ids = [...removed].sort((a, b) => a - b);
    if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`seed must be a non-negative integer, got ${ui.seed.value}`);
    if (diffuses(m) && !(Number.isInteger(steps) && steps >= 1)) throw new Error(`DDIM steps must be >= 1`);
    if (ids.length === 0) throw new Error('mask at least one patch (click the input, or use Random / Center)');
    if (ids.length === m.grid.tokens) throw new Error('leave at least one patch visible');

    const t0 = performance.now();
    const pixels = Float32Array.from(currentPixels());
    const { mean, std } = m.norm;
    const c = m.grid.channels;
    const input = tf.tensor4d(
      pixels.map((v, i) => (v - mean[i % c]!) / std[i % c]!),
      [1, m.grid.height, m.grid.width, c],
    );
    const progress: string[] = [];
    let pred: Tensor;
    let x0: Tensor;
    let mask: Tensor;
    try {
      if (diffuses(m)) {
        pred = await inpaintShowingSteps(m, input, ids, seed, steps, progress);
        x0 = patchifyOp(m.model.corruption.patching, input);
        mask = tf.tensor2d(drawMask(Mask.explicit(ids), Key.key(seed), 1, m.grid).mask, [1, m.grid.tokens]);
      } else {
        say('reconstructing (one pass)…');
        await frame();
        ({ pred, x0, mask } = predictRemoved(
          m.model,
          m.params,
          input,
          drawMask(Mask.explicit(ids), Key.key(seed), 1, m.grid),
          m.norm,
          Key.key(seed),
        ));
        progress.push('one pass');
      }
    } finally {
      input.dispose();
    }
    try {
      const [shown, original, hole] = tf.tidy(() => [
        pixelsOf(m, pasteVisible(pred, x0, mask)),
        pixelsOf(m, x0),
        unpatchifyOp(m.grid, tf.mul(tf.onesLike(x0), tf.expandDims(mask, -1))),
      ]);
      const [shownPx, originalPx, holePx, result] = await Promise.all([shown.data(), original.data(), hole.data(), pred.data()]);
      tf.dispose([shown, original, hole]);
      // masked-region PSNR in pixel units, as maskedPsnr computes it
      let sum = 0;
      let count = 0;
      for (let i = 0; i < holePx.length; i++)
        if (holePx[i]! > 0.5) {
          const d = shownPx[i]! - originalPx[i]!;
          sum += d * d;
          count++;
        }
      const db = psnr(sum / Math.max(count, 1), 1);
      const scale = scaleFor(m.grid, 192);
      paint(ui.original, originalPx, m.grid, scale);
      paint(
        ui.masked,
        originalPx.map((v, i) => (holePx[i]! > 0.5 ? 0.5 : v)),
        m.grid,
        scale,
      );
      paint(ui.result, shownPx, m.grid, scale);
      const what = diffuses(m) ? `${labelOf(m)} inpainting (DDIM, ${steps} steps)` : `${labelOf(m)} reconstruction`;
      ui.resultCaption.textContent = `${what}, visible patches pasted`;
      const ms = performance.now() - t0;
      ui.psnr.textContent = `Masked-region PSNR: ${db.toFixed(2)} dB (${ids.length} patches, ${backend}, ${(ms / 1000).toFixed(2)} s)`;
      say(`done: ${what} on ${backend}`, 1);
      return {
        backend,
        method: labelOf(m),
        psnr: db,
        result: Array.from(result),
        shape: [...pred.shape],
        input: Array.from(pixels),
        removed: ids,
        seed,
        steps,
        progress,
        ms,
      };
    } finally {
      tf.dispose([pred, x0, mask]);
    }
  } catch (e) {
    showError(`Run failed: ${message(e)}`);
    say('run failed', 0);
    throw e;
  } finally {
    busy = false;
    setControls(true);
  }
};

// --- wiring -------------------------------------------------------------------------------

ui.input.addEventListener('click', (ev) => {
  if (busy) return;
  const r = ui.input.getBoundingClientRect();
  // image pixels, whatever size CSS shows the canvas at
  const x = ((ev.clientX - r.left - ui.input.clientLeft) * grid.width) / ui.input.clientWidth;
  const y = ((ev.clientY - r.top - ui.input.clientTop) * grid.height) / ui.input.clientHeight;
  const col = Math.floor(x / grid.patch);
  const row = Math.floor(y / grid.patch);
  if (row < 0 || row >= grid.rows || col < 0 || col >= grid.cols) return;
  const id = row * grid.cols + col;
  if (removed.has(id)) removed.delete(id);
  else removed.add(id);
  drawInput();
});
ui.maskRandom.addEventListener('click', () => {
  const d = drawMask(Mask.random(0.75), Key.fold(Key.key(Number(ui.seed.value) || 0), `mask ${maskDraws++}`), 1, grid);
  setMask(Array.from(d.mask.keys()).filter((i) => d.mask[i] === 1));
});
ui.maskCenter.addEventListener('click', () => setMask(removedIds(Mask.center(0.25), grid.rows, grid.cols)));
ui.maskClear.addEventListener('click', () => setMask([]));
ui.image.addEventListener('change', () => {
  imageIndex = Number(ui.image.value);
  picture = null;
  drawInput();
});
ui.picture.addEventListener('change', async () => {
  const file = ui.picture.files?.[0];
  if (!file) return;
  try {
    const bmp = await createImageBitmap(file);
    const { height: h, width: w, channels: c } = grid;
    const cv = document.createElement('canvas');
    cv.width = w;
    cv.height = h;
    const ctx = cv.getContext('2d')!;
    const s = Math.max(w / bmp.width, h / bmp.height); // cover, centred
    ctx.drawImage(bmp, (w - bmp.width * s) / 2, (h - bmp.height * s) / 2, bmp.width * s, bmp.height * s);
    const rgba = ctx.getImageData(0, 0, w, h).data;
    picture = Float32Array.from({ length: h * w * c }, (_, i) => {
      const p = Math.floor(i / c) * 4;
      return c === 1 ? (0.299 * rgba[p]! + 0.587 * rgba[p + 1]! + 0.114 * rgba[p + 2]!) / 255 : rgba[p + (i % c)]! / 255;
    });
    drawInput();
  } catch (e) {
    showError(`Could not read the picture: ${message(e)}`);
  }
});
ui.checkpointFile.addEventListener('change', () => {
  const file = ui.checkpointFile.files?.[0];
  if (file) void loadFrom(file.name, async () => new Uint8Array(await file.arrayBuffer()));
});
ui.run.addEventListener('click', () => {
  run().catch(() => undefined); // shown on the page
});

/** The pretrained checkpoint the page opens when the URL names none (`?checkpoint=` opens none). */
const DEFAULT_CHECKPOINT = '/pretrained/diffmae-fashion.safetensors';
const FASHION_CLASSES = ['t-shirt/top', 'trouser', 'pullover', 'dress', 'coat', 'sandal', 'shirt', 'sneaker', 'bag', 'ankle boot'];

/** Fetches the 16 Fashion-MNIST test images served with the pretrained checkpoints (null when the server has none). */
const fetchFashion = async (): Promise<LabelledImages | null> => {
  const get = async (url: string): Promise<Uint8Array | null> => {
    try {
      const res = await fetch(url);
      return res.ok ? new Uint8Array(await res.arrayBuffer()) : null;
    } catch {
      return null;
    }
  };
  const [x, y] = await Promise.all([get('/pretrained/fashion-mnist-test-16.npy'), get('/pretrained/fashion-mnist-test-16-labels.npy')]);
  if (!x || !y) return null;
  const im = readNpy(x, 'fashion-mnist-test-16.npy');
  const lb = readNpy(y, 'fashion-mnist-test-16-labels.npy');
  const [count, height, width, channels] = im.shape as [number, number, number, number];
  return {
    count,
    height,
    width,
    channels,
    images: Float32Array.from(im.data as Uint8Array, (v) => v / 255),
    labels: Int32Array.from(lb.data as Int32Array),
    classes: FASHION_CLASSES,
  };
};

const start = async (): Promise<DemoStatus> => {
  const q = new URLSearchParams(location.search);
  fillImageChoices();
  setMask(removedIds(Mask.center(0.25), grid.rows, grid.cols));
  setControls(false);
  try {
    await initBackend(q.get('backend') ?? 'webgpu');
  } catch (e) {
    ui.backend.textContent = 'none';
    showError(message(e));
    return status();
  }
  fashion = await fetchFashion();
  const url = q.get('checkpoint') ?? DEFAULT_CHECKPOINT;
  if (url) return load(url);
  setControls(true);
  say(`Load a checkpoint (synthetic inputs: seed ${DEMO_IMAGES.seed}, images ${DEMO_IMAGES.start}…), pick patches, then Run.`, 0);
  return status();
};

const api: DemoApi = { ready: start(), status, load, run, numTensors: () => tf.memory().numTensors };
(window as unknown as { tesserae: DemoApi }).tesserae = api;

/**
 * The browser demo: load a checkpoint (a `tesserae export` file or a training checkpoint) and
 * reconstruct (a model with a clean branch: MAE, UMD) or inpaint (a model whose corruption noises
 * the removed patches: DiffMAE, DDIM) the patches the user masks by clicking or dragging, for
 * images [H, W, C] and videos [T, H, W, C] (tubelets; the frames shown in a row). Which of the
 * two a model does is a question about its corruption (`inpaintingOf`), never its name.
 *
 * Backends: WebGPU when the browser has a hardware adapter; where the only adapter is a software
 * renderer (SwiftShader, llvmpipe, lavapipe: `adapter.info`, or `isFallbackAdapter`) the page
 * runs on WASM, measured 35 times faster than SwiftShader, and says so; without WebGPU it falls
 * back to WASM, then CPU, and says why on the page.
 *
 * Build with `node scripts/build.mjs && node scripts/build-browser.mjs`, serve with
 * `node dist/examples/browser/serve.js [--checkpoints DIR]` and open the printed URL: it opens
 * the pretrained DiffMAE on Fashion-MNIST (`/pretrained/diffmae-fashion.safetensors`, with 16
 * real test images) beside the pretrained MAE (`/pretrained/mae-fashion.safetensors`), ready to
 * inpaint. Query parameters: `checkpoint` (a URL to load instead, e.g.
 * `/checkpoints/NAME.safetensors`; empty for none), `compare` (a second model run on the same
 * image and mask; empty for none; the default is the pretrained MAE when `checkpoint` is not
 * given), `backend` (webgpu, the default, declining a software adapter; webgpu-force, WebGPU on
 * any adapter; wasm; cpu).
 *
 * A picked picture goes through `fitImage`, the resize policy the command line's folder loaders
 * use: centre crop (scale to cover the model's input, keep the centre), Rec. 601 grey for a grey
 * model, alpha dropped.
 *
 * Progress during the reverse process is live: the page drives tesserae's `inpaintSteps`
 * generator one step at a time, reads each step's x0 estimate asynchronously, paints it with
 * step i/N on the bar, and yields a frame before the next step, so the browser repaints. Each
 * step's estimate is kept on the host (pixels, not tensors); the steps slider shows them again.
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
  fitImage,
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
import {
  DEMO_IMAGES,
  demoImages,
  demoVideos,
  type DemoApi,
  type DemoModel,
  type DemoStatus,
  type RunOptions,
  type RunResult,
  type SlotResult,
} from './api.js';

// --- page elements ------------------------------------------------------------------------

const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`index.html has no #${id}`);
  return el as T;
};
const ui = {
  backend: $<HTMLElement>('backend'),
  modelInfo: $<HTMLElement>('model-info'),
  compareInfo: $<HTMLElement>('compare-info'),
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
  stepRow: $<HTMLElement>('step-row'),
  stepSlider: $<HTMLInputElement>('step-slider'),
  stepLabel: $<HTMLElement>('step-label'),
  psnr: $<HTMLElement>('psnr'),
  result2Figure: $<HTMLElement>('result2-figure'),
  result2: $<HTMLCanvasElement>('result2'),
  result2Caption: $<HTMLElement>('result2-caption'),
  psnr2: $<HTMLElement>('psnr2'),
};

// --- state --------------------------------------------------------------------------------

type Loaded = OpenedModel & { readonly url: string; readonly grid: Grid };

/** A model's name for people: its spec's label (a preset's is `"<method> <preset>"`, e.g. `mae micro/4`). */
const labelOf = (o: OpenedModel): string => o.spec.label ?? 'unlabelled model';

/** Whether a model inpaints by the reverse process (masked noise, DiffMAE) rather than in one pass. */
const diffuses = (o: OpenedModel): boolean => inpaintingOf(o.model.corruption) === 'diffusion';

let backend = 'none';
let fallback: string | null = null;
let softwareAdapter: string | null = null;
let error: string | null = null;
let model: Loaded | null = null;
/** The second slot: run on the same image and mask as `model`. */
let other: Loaded | null = null;
/** Before a checkpoint is loaded the page shows the micro/4 geometry (32 x 32 RGB, patch 4). */
let grid: Grid = gridOf(patches(4), [32, 32, 3]);
let images: LabelledImages = demoImages(32);
/** Real test images for models on 28 x 28 x 1 (the pretrained Fashion-MNIST ones), fetched at start when the server has them. */
let fashion: LabelledImages | null = null;
let imageIndex = 0;
/** A picture chosen with the file picker, [H, W, C] in [0, 1] (through fitImage); replaces the synthetic image. */
let picture: Float32Array | null = null;
let pictureName: string | null = null;
let removed = new Set<number>();
let maskDraws = 0;
let busy = false;
/** The last run's steps, for the slider: each step's x0 estimate (visible patches pasted) as pixels, and its t. */
let recorded: { pixels: Float32Array; t: number }[] = [];
let recordedGrid: Grid = grid;

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

const modelInfo = (m: Loaded): DemoModel => ({
  url: m.url,
  method: labelOf(m),
  step: m.step,
  weights: m.weights,
  image: [...(m.model.image as readonly number[])],
  grid: [m.grid.rows, m.grid.cols],
});

const status = (): DemoStatus => ({
  backend,
  fallback,
  softwareAdapter,
  error,
  model: model ? modelInfo(model) : null,
  compare: other ? modelInfo(other) : null,
  picture: picture ? pictureName : null,
  removed: [...removed].sort((a, b) => a - b),
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
  ui.stepSlider.disabled = !enabled || recorded.length === 0;
};

// --- drawing ------------------------------------------------------------------------------

/** Frames are shown side by side, this many canvas pixels apart. */
const GAP = 0;

/** A magnification that makes the (row of frames of the) image about `target` canvas pixels across. */
const scaleFor = (g: Grid, target: number): number =>
  Math.max(1, Math.round((g.frames > 1 ? 2 * target : target) / Math.max(g.height, g.width * g.frames)));

/** Paints an image [H, W, C] or a clip [T, H, W, C] (C = 1 or 3, values in [0, 1]) magnified `scale` times, frames in a row. */
const paint = (canvas: HTMLCanvasElement, px: ArrayLike<number>, g: Grid, scale: number): CanvasRenderingContext2D => {
  const { height: h, width: w, channels: c, frames: f } = g;
  const rgba = new ImageData(w * f, h);
  for (let t = 0; t < f; t++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const src = ((t * h + y) * w + x) * c;
        const dst = (y * w * f + t * w + x) * 4;
        for (let k = 0; k < 4; k++) {
          const v = k === 3 ? 1 : px[src + (c === 1 ? 0 : k)]!;
          rgba.data[dst + k] = Math.round(255 * Math.min(1, Math.max(0, Number.isFinite(v) ? v : 0)));
        }
      }
  const small = document.createElement('canvas');
  small.width = w * f;
  small.height = h;
  small.getContext('2d')!.putImageData(rgba, 0, 0);
  canvas.width = w * f * scale + GAP * (f - 1);
  canvas.height = h * scale;
  const ctx = canvas.getContext('2d')!;
  ctx.imageSmoothingEnabled = false;
  for (let t = 0; t < f; t++) ctx.drawImage(small, t * w, 0, w, h, t * (w * scale + GAP), 0, w * scale, h * scale);
  return ctx;
};

const perSample = (g: Grid): number => g.frames * g.height * g.width * g.channels;

const currentPixels = (): Float32Array => {
  if (picture) return picture;
  const per = perSample(grid);
  return images.images.subarray(imageIndex * per, (imageIndex + 1) * per);
};

/** The token of frame pixel (t, y, x): its tubelet's time slice, then row-major on the patch grid. */
const tokenAt = (g: Grid, t: number, y: number, x: number): number =>
  Math.floor(t / g.tubelet) * g.rows * g.cols + Math.floor(y / g.patch) * g.cols + Math.floor(x / g.patch);

/** The input canvas: the image (or frames), the patch grid, and the masked patches greyed out. */
const drawInput = (): void => {
  const scale = scaleFor(grid, 256);
  const ctx = paint(ui.input, currentPixels(), grid, scale);
  const s = grid.patch * scale;
  const fw = grid.width * scale + GAP;
  const hw = grid.rows * grid.cols;
  ctx.fillStyle = 'rgba(128, 128, 128, 0.88)';
  ctx.strokeStyle = 'rgba(60, 60, 60, 0.9)';
  for (const id of removed) {
    const [ti, r, c] = [Math.floor(id / hw), Math.floor((id % hw) / grid.cols), id % grid.cols];
    for (let t = ti * grid.tubelet; t < (ti + 1) * grid.tubelet; t++) {
      const x0 = t * fw + c * s;
      ctx.fillRect(x0, r * s, s, s);
      ctx.beginPath();
      ctx.moveTo(x0 + 2, r * s + 2);
      ctx.lineTo(x0 + s - 2, r * s + s - 2);
      ctx.stroke();
    }
  }
  ctx.strokeStyle = 'rgba(255, 255, 255, 0.45)';
  ctx.lineWidth = 1;
  ctx.beginPath();
  for (let t = 0; t < grid.frames; t++) {
    const x0 = t * fw;
    for (let r = 0; r <= grid.rows; r++) (ctx.moveTo(x0, r * s + 0.5), ctx.lineTo(x0 + grid.cols * s, r * s + 0.5));
    for (let c = 0; c <= grid.cols; c++) (ctx.moveTo(x0 + c * s + 0.5, 0), ctx.lineTo(x0 + c * s + 0.5, grid.rows * s));
  }
  ctx.stroke();
  if (grid.frames > 1) {
    ctx.strokeStyle = 'rgba(255, 200, 0, 0.9)';
    ctx.lineWidth = 2;
    ctx.beginPath();
    for (let t = 1; t < grid.frames; t++) (ctx.moveTo(t * fw, 0), ctx.lineTo(t * fw, grid.rows * s));
    ctx.stroke();
  }
  ui.maskCount.textContent = `${removed.size} of ${grid.tokens} patches masked`;
};

const setMask = (ids: Iterable<number>): void => {
  removed = new Set(ids);
  drawInput();
};

// --- backends -----------------------------------------------------------------------------

// The wasm backend's binaries sit next to this bundle (scripts/build-browser.mjs copies them).
setWasmPaths(new URL('./', import.meta.url).href);

/** What the page reads of a WebGPU adapter (the DOM's GPUAdapter, where the browser has one). */
interface AdapterLike {
  readonly isFallbackAdapter?: boolean;
  readonly info?: AdapterInfoLike;
  readonly requestAdapterInfo?: () => Promise<AdapterInfoLike>;
}
interface AdapterInfoLike {
  readonly vendor?: string;
  readonly architecture?: string;
  readonly device?: string;
  readonly description?: string;
  readonly isFallbackAdapter?: boolean;
}

/** Software renderers by name (Chromium's SwiftShader, Mesa's llvmpipe and lavapipe). */
const SOFTWARE = /swiftshader|llvmpipe|lavapipe/i;

/**
 * The name of the browser's WebGPU adapter when it is a software renderer (by its info's vendor,
 * architecture, device and description, or its fallback flag); null for a hardware adapter or none.
 */
const softwareAdapterName = async (): Promise<string | null> => {
  const gpu = (navigator as unknown as { gpu?: { requestAdapter: () => Promise<AdapterLike | null> } }).gpu;
  if (!gpu) return null;
  let adapter: AdapterLike | null;
  try {
    adapter = await gpu.requestAdapter();
  } catch {
    return null;
  }
  if (!adapter) return null;
  let info: AdapterInfoLike = adapter.info ?? {};
  if (!adapter.info && adapter.requestAdapterInfo)
    try {
      info = await adapter.requestAdapterInfo();
    } catch {
      info = {};
    }
  const words = [info.vendor, info.architecture, info.device, info.description].filter((w): w is string => !!w && w.length > 0);
  const name = words.join(' ');
  if (SOFTWARE.test(name) || adapter.isFallbackAdapter === true || info.isFallbackAdapter === true) return name || 'a fallback adapter';
  return null;
};

/**
 * WebGPU by name (`auto` would skip a software adapter silently) unless the only adapter is a
 * software renderer (then WASM, saying so); `webgpu-force` takes WebGPU on any adapter. Else
 * WASM, else CPU, saying why.
 */
const initBackend = async (wanted: string): Promise<void> => {
  const choices = ['webgpu', 'webgpu-force', 'wasm', 'cpu'];
  if (!choices.includes(wanted)) throw new Error(`backend=${wanted} is not one of ${choices.join(', ')}`);
  const why: string[] = [];
  let order: BackendName[] = wanted === 'wasm' ? ['wasm', 'cpu'] : wanted === 'cpu' ? ['cpu'] : ['webgpu', 'wasm', 'cpu'];
  if (wanted === 'webgpu') {
    softwareAdapter = await softwareAdapterName();
    if (softwareAdapter !== null) {
      order = ['wasm', 'cpu'];
      why.push(
        `WebGPU adapter is a software renderer (${softwareAdapter}): running on wasm (much faster than WebGPU on the CPU; open with ?backend=webgpu-force to use it anyway)`,
      );
    }
  }
  for (const name of order) {
    try {
      await useBackend(name);
      backend = activeBackend() ?? name;
      break;
    } catch (e) {
      why.push(name === 'webgpu' ? `WebGPU is unavailable: ${message(e)}` : `${name} failed: ${message(e)}`);
    }
  }
  if (backend === 'none') throw new Error(`no tfjs backend could be initialised (${why.join('; ')})`);
  fallback =
    why.length === 0
      ? null
      : softwareAdapter !== null && backend === 'wasm'
        ? why.join('; ')
        : `${why.join('; ')}. Running on ${backend} instead.`;
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

const sameGrid = (a: Grid, b: Grid): boolean =>
  a.frames === b.frames &&
  a.tubelet === b.tubelet &&
  a.height === b.height &&
  a.width === b.width &&
  a.channels === b.channels &&
  a.patch === b.patch;

const gridText = (g: Grid): string =>
  g.video
    ? `${g.frames}×${g.height}×${g.width}×${g.channels} clips, ${g.times}×${g.rows}×${g.cols} tubelets of ${g.tubelet}×${g.patch}×${g.patch}`
    : `${g.height}×${g.width}×${g.channels} images, ${g.rows}×${g.cols} patches of ${g.patch}`;

/** Opens checkpoint bytes as a model the page can run (one that inpaints, on images [H, W, C] or clips [T, H, W, C]); frees it on refusal. */
const openRunnable = (bytes: Uint8Array, url: string): Loaded => {
  const opened = openModelBytes(bytes, url);
  const image = opened.model.image as readonly number[];
  const supported = inpaintingOf(opened.model.corruption) !== 'none' && (image.length === 3 || image.length === 4);
  if (!supported) {
    disposeParams(opened.params);
    throw new Error(
      `${url}: a ${labelOf(opened)} checkpoint on inputs [${image.join(', ')}]; this page reconstructs images [H, W, C] or clips [T, H, W, C] with a model that has a clean branch (as MAE and UMD have) or noises the removed patches (as DiffMAE does)`,
    );
  }
  return { ...opened, url, grid: gridOf(opened.model.corruption.patching, image) };
};

/** Opens checkpoint bytes into the first slot; replaces (and frees) the loaded model on success. */
const openBytes = (bytes: Uint8Array, url: string): void => {
  const opened = openRunnable(bytes, url);
  const g = opened.grid;
  if (model) disposeParams(model.params);
  model = opened;
  if (other && !sameGrid(other.grid, g)) {
    showError(`The second model (${other.url}) takes ${gridText(other.grid)}, not ${gridText(g)}: it is unloaded.`);
    disposeParams(other.params);
    other = null;
    showOther();
  }
  if (!sameGrid(g, grid)) {
    grid = g;
    picture = null;
    removed = new Set();
    if (fashion && !g.video && g.height === fashion.height && g.width === fashion.width && g.channels === fashion.channels)
      images = fashion;
    else if (g.height === g.width && g.channels === 3 && g.height >= 8)
      images = g.video ? demoVideos(g.frames, g.height) : demoImages(g.height);
    else ((images = demoImages(32)), (picture = new Float32Array(perSample(g)).fill(0.5)));
    imageIndex = Math.min(imageIndex, images.count - 1);
    fillImageChoices();
  }
  ui.modelInfo.textContent = `${labelOf(opened)} checkpoint ${url}: step ${opened.step} (${opened.weights} weights), ${gridText(g)}`;
  drawInput();
};

/** Shows (or hides) the second slot's panel and its line. */
const showOther = (): void => {
  ui.result2Figure.hidden = other === null;
  ui.compareInfo.textContent = other ? `Beside it: ${labelOf(other)} checkpoint ${other.url} (step ${other.step})` : '';
  ui.compareInfo.hidden = other === null;
  ui.psnr2.textContent = '';
};

/** Opens checkpoint bytes into the second slot: it must take what the first does. */
const openOther = (bytes: Uint8Array, url: string): void => {
  const opened = openRunnable(bytes, url);
  const first = model?.grid ?? grid;
  if (!sameGrid(opened.grid, first)) {
    disposeParams(opened.params);
    throw new Error(
      `${url} takes ${gridText(opened.grid)}; the first model takes ${gridText(first)}, and both run on the same image and mask`,
    );
  }
  if (other) disposeParams(other.params);
  other = opened;
  showOther();
};

const fetchBytes = async (url: string): Promise<Uint8Array> => {
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
};

const loadFrom = async (what: string, bytes: () => Promise<Uint8Array>, slot: 'first' | 'second' = 'first'): Promise<DemoStatus> => {
  showError(null);
  setControls(false);
  say(`loading ${what}…`);
  try {
    if (slot === 'first') openBytes(await bytes(), what);
    else openOther(await bytes(), what);
    say(`loaded ${what}; pick patches, then Run.`, 0);
  } catch (e) {
    showError(`Could not load the ${slot === 'first' ? 'checkpoint' : 'second checkpoint'}: ${message(e)}`);
    say(slot === 'first' && model === null ? 'no checkpoint loaded' : `could not load ${what}`, 0);
  } finally {
    setControls(true);
  }
  return status();
};

const load = (url: string): Promise<DemoStatus> => loadFrom(url, () => fetchBytes(url));

const loadCompare = async (url: string): Promise<DemoStatus> => {
  if (url === '') {
    if (other) disposeParams(other.params);
    other = null;
    showOther();
    return status();
  }
  return loadFrom(url, () => fetchBytes(url), 'second');
};

// --- running ------------------------------------------------------------------------------

/** Pixels [H, W, C] (or [T, H, W, C]) in [0, 1] of patches [1, L, P] in model units. */
const pixelsOf = (m: Loaded, tokens: Tensor): Tensor =>
  tf.tidy(() => tf.add(tf.mul(unpatchifyOp(m.grid, tokens), tf.tensor1d([...m.norm.std])), tf.tensor1d([...m.norm.mean])));

/**
 * A model with masked noise (DiffMAE): inpaint with DDIM step by step, handing each step's x0
 * estimate (visible patches pasted) as pixels to `onStep` as it comes.
 */
const inpaintByStep = async (
  m: Loaded,
  input: Tensor,
  ids: readonly number[],
  seed: number,
  steps: number,
  onStep: (pixels: Float32Array, i: number, n: number, t: number) => Promise<void>,
): Promise<Tensor> => {
  const draw = drawMask(Mask.explicit(ids), Key.key(seed), 1, m.grid);
  // exactly what predictRemoved does for a model that inpaints by diffusion, one step at a time
  const ip = inpainter(m.model, m.params, input, draw, Key.key(seed));
  const it = inpaintSteps(ip.denoise, ip.schedule, ip.x0, draw, {
    sampler: Sampler.ddim({ steps }),
    key: Key.key(seed),
    clip: dataRange(m.norm),
  });
  try {
    for (;;) {
      const r = it.next();
      if (r.done) return r.value;
      const s = r.value;
      const px = pixelsOf(m, s.x0);
      const data = await px.data(); // on WebGPU this waits for the step to finish on the GPU
      px.dispose();
      await onStep(Float32Array.from(data), s.i, s.n, s.t);
    }
  } catch (e) {
    it.return(undefined as never); // frees what the generator holds
    throw e;
  } finally {
    ip.dispose(); // the encoder's outputs and the clean patches
  }
};

/** One model's prediction of the removed patches: [1, L, P] predictions, the clean patches and the mask. */
const predict = async (
  m: Loaded,
  input: Tensor,
  ids: readonly number[],
  seed: number,
  steps: number,
  onStep: (pixels: Float32Array, i: number, n: number, t: number) => Promise<void>,
): Promise<{ pred: Tensor; x0: Tensor; mask: Tensor }> => {
  if (!diffuses(m))
    return predictRemoved(m.model, m.params, input, drawMask(Mask.explicit(ids), Key.key(seed), 1, m.grid), m.norm, Key.key(seed));
  const pred = await inpaintByStep(m, input, ids, seed, steps, onStep);
  return {
    pred,
    x0: patchifyOp(m.model.corruption.patching, input),
    mask: tf.tensor2d(drawMask(Mask.explicit(ids), Key.key(seed), 1, m.grid).mask, [1, m.grid.tokens]),
  };
};

/** Shown pixels (visible patches pasted), original pixels, the hole, the raw prediction and the masked-region PSNR. Frees nothing. */
const score = async (
  m: Loaded,
  pred: Tensor,
  x0: Tensor,
  mask: Tensor,
): Promise<{ shownPx: Float32Array; originalPx: Float32Array; holePx: Float32Array; result: Float32Array; db: number }> => {
  const [shown, original, hole] = tf.tidy(() => [
    pixelsOf(m, pasteVisible(pred, x0, mask)),
    pixelsOf(m, x0),
    unpatchifyOp(m.grid, tf.mul(tf.onesLike(x0), tf.expandDims(mask, -1))),
  ]);
  try {
    const [shownPx, originalPx, holePx, result] = (await Promise.all([
      shown.data(),
      original.data(),
      hole.data(),
      pred.data(),
    ])) as Float32Array[];
    // masked-region PSNR in pixel units, as maskedPsnr computes it
    let sum = 0;
    let count = 0;
    for (let i = 0; i < holePx!.length; i++)
      if (holePx![i]! > 0.5) {
        const d = shownPx![i]! - originalPx![i]!;
        sum += d * d;
        count++;
      }
    return { shownPx: shownPx!, originalPx: originalPx!, holePx: holePx!, result: result!, db: psnr(sum / Math.max(count, 1), 1) };
  } finally {
    tf.dispose([shown, original, hole]);
  }
};

/** Shows the slider's step `i` (1-based) of the last run. */
const showStep = (i: number): void => {
  const s = recorded[i - 1];
  if (!s) return;
  paint(ui.result, s.pixels, recordedGrid, scaleFor(recordedGrid, 192));
  ui.stepLabel.textContent = `step ${i}/${recorded.length} (t = ${s.t})`;
  ui.resultCaption.textContent = `x0 estimate, step ${i}/${recorded.length} (t = ${s.t}), visible patches pasted`;
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
    const ddim = Number(ui.steps.value);
    const steps = diffuses(m) ? ddim : 0;
    const ids = [...removed].sort((a, b) => a - b);
    if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`seed must be a non-negative integer, got ${ui.seed.value}`);
    if ((diffuses(m) || (other && diffuses(other))) && !(Number.isInteger(ddim) && ddim >= 1)) throw new Error(`DDIM steps must be >= 1`);
    if (ids.length === 0) throw new Error('mask at least one patch (click or drag on the input, or use Random / Center)');
    if (ids.length === m.grid.tokens) throw new Error('leave at least one patch visible');

    const t0 = performance.now();
    const pixels = Float32Array.from(currentPixels());
    const c = m.grid.channels;
    const normed = (n: Loaded): Tensor =>
      tf.tensor(
        pixels.map((v, i) => (v - n.norm.mean[i % c]!) / n.norm.std[i % c]!),
        [1, ...(n.model.image as readonly number[])],
      );
    const progress: string[] = [];
    const steps1: { pixels: Float32Array; t: number }[] = [];
    const scale = scaleFor(m.grid, 192);
    recorded = [];
    ui.stepRow.hidden = true;
    say(diffuses(m) ? `reverse process: ${steps} DDIM steps on ${backend}…` : 'reconstructing (one pass)…');
    await frame();
    const input = normed(m);
    let first: { pred: Tensor; x0: Tensor; mask: Tensor };
    try {
      first = await predict(m, input, ids, seed, steps, async (px, i, n, t) => {
        steps1.push({ pixels: px, t });
        paint(ui.result, px, m.grid, scale);
        const label = `step ${i + 1}/${n}`;
        progress.push(label);
        ui.resultCaption.textContent = `x0 estimate, ${label} (t = ${t})`;
        say(`reverse process: ${label} (t = ${t})`, (i + 1) / n);
        await frame();
      });
    } finally {
      input.dispose();
    }
    if (!diffuses(m)) progress.push('one pass');
    let s1: Awaited<ReturnType<typeof score>>;
    try {
      s1 = await score(m, first.pred, first.x0, first.mask);
    } finally {
      tf.dispose([first.pred, first.x0, first.mask]);
    }
    const shape = [1, m.grid.tokens, m.grid.patchDim];
    paint(ui.original, s1.originalPx, m.grid, scale);
    paint(
      ui.masked,
      s1.originalPx.map((v, i) => (s1.holePx[i]! > 0.5 ? 0.5 : v)),
      m.grid,
      scale,
    );
    paint(ui.result, s1.shownPx, m.grid, scale);
    const what = diffuses(m) ? `${labelOf(m)} inpainting (DDIM, ${steps} steps)` : `${labelOf(m)} reconstruction`;
    ui.resultCaption.textContent = `${what}, visible patches pasted`;
    const ms = performance.now() - t0;
    ui.psnr.textContent = `Masked-region PSNR: ${s1.db.toFixed(2)} dB (${ids.length} patches, ${backend}, ${(ms / 1000).toFixed(2)} s)`;
    if (steps1.length > 0) {
      recorded = steps1;
      recordedGrid = m.grid;
      ui.stepSlider.min = '1';
      ui.stepSlider.max = String(steps1.length);
      ui.stepSlider.value = String(steps1.length);
      ui.stepLabel.textContent = `final result (drag to see step 1 to ${steps1.length})`;
      ui.stepRow.hidden = false;
    }

    // the second slot: same pixels, same mask, same seed
    let compare: SlotResult | null = null;
    const o2 = other;
    if (o2) {
      const steps2 = diffuses(o2) ? ddim : 0;
      say(`${labelOf(o2)}: ${steps2 ? `reverse process, ${steps2} DDIM steps` : 'one pass'} on ${backend}…`);
      await frame();
      const t1 = performance.now();
      const input2 = normed(o2);
      let second: { pred: Tensor; x0: Tensor; mask: Tensor };
      try {
        second = await predict(o2, input2, ids, seed, steps2, async (px, i, n) => {
          paint(ui.result2, px, o2.grid, scale);
          say(`${labelOf(o2)}: reverse process step ${i + 1}/${n}`, (i + 1) / n);
          await frame();
        });
      } finally {
        input2.dispose();
      }
      let s2: Awaited<ReturnType<typeof score>>;
      try {
        s2 = await score(o2, second.pred, second.x0, second.mask);
      } finally {
        tf.dispose([second.pred, second.x0, second.mask]);
      }
      paint(ui.result2, s2.shownPx, o2.grid, scale);
      const what2 = diffuses(o2) ? `${labelOf(o2)} inpainting (DDIM, ${steps2} steps)` : `${labelOf(o2)} reconstruction`;
      ui.result2Caption.textContent = `${what2}, visible patches pasted`;
      ui.psnr2.textContent = `${labelOf(o2)}: masked-region PSNR ${s2.db.toFixed(2)} dB (same image and mask, ${((performance.now() - t1) / 1000).toFixed(2)} s)`;
      compare = {
        url: o2.url,
        method: labelOf(o2),
        psnr: s2.db,
        result: Array.from(s2.result),
        shape: [1, o2.grid.tokens, o2.grid.patchDim],
        steps: steps2,
      };
    }
    say(`done: ${what}${o2 ? ` and ${labelOf(o2)}` : ''} on ${backend}`, 1);
    return {
      backend,
      method: labelOf(m),
      psnr: s1.db,
      result: Array.from(s1.result),
      shape,
      input: Array.from(pixels),
      removed: ids,
      seed,
      steps,
      progress,
      stepImages: steps1.map((s) => Array.from(s.pixels)),
      compare,
      ms,
    };
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

/** The patch under a pointer on the input canvas (frames in a row), or null off the image. */
const patchUnder = (ev: PointerEvent | MouseEvent, at?: { x: number; y: number }): number | null => {
  const r = ui.input.getBoundingClientRect();
  // canvas pixels, whatever size CSS shows the canvas at
  const cx = at?.x ?? ((ev.clientX - r.left - ui.input.clientLeft) * ui.input.width) / ui.input.clientWidth;
  const cy = at?.y ?? ((ev.clientY - r.top - ui.input.clientTop) * ui.input.height) / ui.input.clientHeight;
  const scale = ui.input.height / grid.height;
  const fw = grid.width * scale + GAP;
  const t = Math.floor(cx / fw);
  const x = (cx - t * fw) / scale;
  const y = cy / scale;
  if (t < 0 || t >= grid.frames || x < 0 || x >= grid.width || y < 0 || y >= grid.height) return null;
  return tokenAt(grid, t, y, x);
};
const canvasPoint = (ev: PointerEvent): { x: number; y: number } => {
  const r = ui.input.getBoundingClientRect();
  return {
    x: ((ev.clientX - r.left - ui.input.clientLeft) * ui.input.width) / ui.input.clientWidth,
    y: ((ev.clientY - r.top - ui.input.clientTop) * ui.input.height) / ui.input.clientHeight,
  };
};

/** A drag: paints (or erases, when the first patch was masked) every patch the pointer crosses. */
let stroke: { readonly paint: boolean; last: { x: number; y: number } } | null = null;
const touch = (id: number | null, paintIt: boolean): boolean => {
  if (id === null || removed.has(id) === paintIt) return false;
  if (paintIt) removed.add(id);
  else removed.delete(id);
  return true;
};
ui.input.addEventListener('pointerdown', (ev) => {
  if (busy || ev.button !== 0) return;
  const id = patchUnder(ev);
  if (id === null) return;
  stroke = { paint: !removed.has(id), last: canvasPoint(ev) };
  touch(id, stroke.paint);
  ui.input.setPointerCapture?.(ev.pointerId);
  ev.preventDefault();
  drawInput();
});
ui.input.addEventListener('pointermove', (ev) => {
  if (!stroke || busy) return;
  const to = canvasPoint(ev);
  const from = stroke.last;
  // every patch on the segment: samples at most a quarter of a patch apart
  const step = Math.max(1, (grid.patch * ui.input.height) / grid.height / 4);
  const n = Math.max(1, Math.ceil(Math.hypot(to.x - from.x, to.y - from.y) / step));
  let changed = false;
  for (let k = 1; k <= n; k++) {
    const at = { x: from.x + ((to.x - from.x) * k) / n, y: from.y + ((to.y - from.y) * k) / n };
    changed = touch(patchUnder(ev, at), stroke.paint) || changed;
  }
  stroke.last = to;
  if (changed) drawInput();
});
for (const end of ['pointerup', 'pointercancel', 'lostpointercapture'] as const)
  ui.input.addEventListener(end, () => {
    stroke = null;
  });
ui.maskRandom.addEventListener('click', () => {
  const d = drawMask(Mask.random(0.75), Key.fold(Key.key(Number(ui.seed.value) || 0), `mask ${maskDraws++}`), 1, grid);
  setMask(Array.from(d.mask.keys()).filter((i) => d.mask[i] === 1));
});
ui.maskCenter.addEventListener('click', () => {
  const one = removedIds(Mask.center(0.25), grid.rows, grid.cols);
  // the same square in every token time slice (a tube) for video
  setMask(Array.from({ length: grid.times }, (_, t) => one.map((id) => t * grid.rows * grid.cols + id)).flat());
});
ui.maskClear.addEventListener('click', () => setMask([]));
ui.image.addEventListener('change', () => {
  imageIndex = Number(ui.image.value);
  picture = null;
  drawInput();
});
ui.stepSlider.addEventListener('input', () => showStep(Number(ui.stepSlider.value)));

/** The most pixels a picked picture may have (it is decoded whole before it is resized). */
const MAX_PICTURE_PIXELS = 64 * 2 ** 20;

ui.picture.addEventListener('change', async () => {
  const file = ui.picture.files?.[0];
  if (!file) return;
  try {
    if (grid.video) throw new Error('this model takes clips; a picture is one frame');
    // the stored colours, as the PNG and JPEG decoders in Node give them: no colour management, alpha not premultiplied
    const bmp = await createImageBitmap(file, { premultiplyAlpha: 'none', colorSpaceConversion: 'none' });
    if (bmp.width * bmp.height > MAX_PICTURE_PIXELS) throw new Error(`${bmp.width}×${bmp.height} pixels is more than this page decodes`);
    const cv = document.createElement('canvas');
    cv.width = bmp.width;
    cv.height = bmp.height;
    const ctx = cv.getContext('2d', { willReadFrequently: true })!;
    ctx.drawImage(bmp, 0, 0);
    const rgba = ctx.getImageData(0, 0, bmp.width, bmp.height).data;
    // the command line's policy (loadImageFolder): centre crop to the model's input, grey by luma, alpha dropped
    picture = fitImage(
      { width: bmp.width, height: bmp.height, channels: 4, data: new Uint8Array(rgba.buffer, rgba.byteOffset, rgba.byteLength) },
      { height: grid.height, width: grid.width, fit: 'crop', channels: grid.channels === 1 ? 1 : 3 },
    );
    bmp.close();
    pictureName = file.name;
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

/** The pretrained checkpoints the page opens when the URL names none (`?checkpoint=` opens none). */
const DEFAULT_CHECKPOINT = '/pretrained/diffmae-fashion.safetensors';
const DEFAULT_COMPARE = '/pretrained/mae-fashion.safetensors';
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
  showOther();
  try {
    await initBackend(q.get('backend') ?? 'webgpu');
  } catch (e) {
    ui.backend.textContent = 'none';
    showError(message(e));
    return status();
  }
  fashion = await fetchFashion();
  const url = q.get('checkpoint') ?? DEFAULT_CHECKPOINT;
  const second = q.get('compare') ?? (q.has('checkpoint') ? '' : DEFAULT_COMPARE);
  if (url) {
    const first = await load(url);
    if (first.model === null || !second) return first;
    const both = await loadCompare(second);
    // an error loading the second model is shown; the first stays usable
    return both;
  }
  setControls(true);
  say(`Load a checkpoint (synthetic inputs: seed ${DEMO_IMAGES.seed}, images ${DEMO_IMAGES.start}…), pick patches, then Run.`, 0);
  return status();
};

const api: DemoApi = { ready: start(), status, load, loadCompare, run, numTensors: () => tf.memory().numTensors };
(window as unknown as { tesserae: DemoApi }).tesserae = api;

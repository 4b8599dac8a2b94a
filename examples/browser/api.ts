/**
 * What the browser demo exposes on `window.tesserae` (for scripts and the real-browser test),
 * and the inputs it offers: one synthetic image per class, made in the page by the same pure
 * TypeScript generator that training uses, so a test in Node can rebuild them bit for bit.
 *
 * @since 0.1.0
 */
import { synthetic, type LabelledImages } from '../../src/index.js';

/**
 * The synthetic images the page offers: `count` consecutive images of the generator with
 * `seed`, starting at `start` (past the indices a small training run uses), one per class.
 *
 * @since 0.1.0
 */
export const DEMO_IMAGES = { count: 10, seed: 0, start: 1000 } as const;

/**
 * The page's synthetic inputs at an image size (square).
 *
 * @example
 * demoImages(32).images // Float32Array of 10 * 32 * 32 * 3 values in [0, 1]
 * @since 0.1.0
 */
export const demoImages = (size: number): LabelledImages => synthetic({ ...DEMO_IMAGES, size });

/**
 * Where the page stands: the backend in use, why it is not WebGPU (null when it is), the
 * loaded checkpoint (null before one is) and the last error shown on the page (null if none).
 *
 * @since 0.1.0
 */
export interface DemoStatus {
  readonly backend: string;
  readonly fallback: string | null;
  readonly model: {
    readonly url: string;
    readonly method: string;
    readonly step: number;
    readonly weights: string;
    readonly image: readonly [number, number, number];
    readonly grid: readonly [number, number];
  } | null;
  readonly error: string | null;
}

/**
 * What {@link DemoApi.run} takes; every field defaults to what the page's controls show.
 *
 * @since 0.1.0
 */
export interface RunOptions {
  /** Index into the synthetic images ({@link DEMO_IMAGES}). */
  readonly image?: number;
  /** The removed (masked) patch ids, row-major on the patch grid. */
  readonly removed?: readonly number[];
  /** The key seed: `key(seed)` drives the model (and DiffMAE's noise). */
  readonly seed?: number;
  /** DDIM steps for DiffMAE inpainting. */
  readonly steps?: number;
}

/**
 * What one run gives back.
 *
 * @since 0.1.0
 */
export interface RunResult {
  readonly backend: string;
  readonly method: string;
  /** Masked-region PSNR in dB (pixel units, data range 1). */
  readonly psnr: number;
  /** The predicted patches [1, L, P] in model (normalised) units, flattened. */
  readonly result: number[];
  readonly shape: number[];
  /** The input image [H, W, C] in [0, 1], flattened. */
  readonly input: number[];
  readonly removed: number[];
  readonly seed: number;
  /** DDIM steps run (0 for a one-pass reconstruction). */
  readonly steps: number;
  /** The progress labels the page showed, in order ("step 1/3", ...). */
  readonly progress: string[];
  readonly ms: number;
}

/**
 * `window.tesserae`.
 *
 * @since 0.1.0
 */
export interface DemoApi {
  /** Settles when the backend is chosen and the `?checkpoint=` URL (if any) is loaded or failed; never rejects. */
  readonly ready: Promise<DemoStatus>;
  readonly status: () => DemoStatus;
  /** Loads a checkpoint URL (errors are shown on the page and in the status). */
  readonly load: (url: string) => Promise<DemoStatus>;
  /** Runs a reconstruction (MAE, UMD) or an inpainting (DiffMAE) and shows it. */
  readonly run: (o?: RunOptions) => Promise<RunResult>;
  /** tfjs' live tensor count (for leak checks). */
  readonly numTensors: () => number;
}

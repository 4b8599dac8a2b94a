/**
 * What the browser demo exposes on `window.tesserae` (for scripts and the real-browser test),
 * and the inputs it offers: one synthetic image per class, made in the page by the same pure
 * TypeScript generator that training uses, so a test in Node can rebuild them bit for bit.
 *
 * @since 0.1.0
 */
import { synthetic, syntheticVideos, type LabelledImages } from '../../src/index.js';

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
 * The page's synthetic clips for a video model ([T, H, W, C] inputs, square RGB frames): the
 * training generator's clips {@link DEMO_IMAGES} (seed, start), one per class.
 *
 * @example
 * demoVideos(4, 16).frames // 4
 * @since 0.2.0
 */
export const demoVideos = (frames: number, size: number): LabelledImages => syntheticVideos({ ...DEMO_IMAGES, frames, size });

/**
 * A loaded checkpoint, as {@link DemoStatus} describes it.
 *
 * @since 0.2.0
 */
export interface DemoModel {
  readonly url: string;
  readonly method: string;
  readonly step: number;
  readonly weights: string;
  /** [H, W, C] for an image model, [T, H, W, C] for a video model. */
  readonly image: readonly number[];
  /** Patch grid [rows, cols] (of each token time slice, for video). */
  readonly grid: readonly [number, number];
}

/**
 * Where the page stands: the backend in use, why it is not WebGPU (null when it is), the
 * loaded checkpoint (null before one is) and the last error shown on the page (null if none).
 *
 * @since 0.1.0
 */
export interface DemoStatus {
  readonly backend: string;
  /** Why the page is not on WebGPU: no adapter, or a software adapter (SwiftShader, llvmpipe, lavapipe). */
  readonly fallback: string | null;
  /** The WebGPU adapter's name when it is a software renderer the page declined (null otherwise). */
  readonly softwareAdapter: string | null;
  readonly model: DemoModel | null;
  /** The second model slot (`?compare=URL`), run on the same image and mask (null when empty). */
  readonly compare: DemoModel | null;
  /** The name of the picked picture the page shows instead of a synthetic image (null when none). */
  readonly picture: string | null;
  /** The patches masked now, sorted. */
  readonly removed: readonly number[];
  readonly error: string | null;
}

/**
 * What {@link DemoApi.run} takes; every field defaults to what the page's controls show.
 *
 * @since 0.1.0
 */
export interface RunOptions {
  /** Index into the synthetic images (or clips) ({@link DEMO_IMAGES}); leaves a picked picture otherwise. */
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
  /**
   * The image the steps slider shows at each position: step i's x0 estimate (visible patches
   * pasted), [H, W, C] (or [T, H, W, C]) in [0, 1], flattened; empty for a one-pass model.
   */
  readonly stepImages: number[][];
  /** The second slot's run on the same input and mask (null without a second model). */
  readonly compare: SlotResult | null;
  readonly ms: number;
}

/**
 * What the second model slot gives back from a run.
 *
 * @since 0.2.0
 */
export interface SlotResult {
  readonly url: string;
  readonly method: string;
  readonly psnr: number;
  readonly result: number[];
  readonly shape: number[];
  readonly steps: number;
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
  /** Loads a checkpoint URL into the second slot (`''` empties it). */
  readonly loadCompare: (url: string) => Promise<DemoStatus>;
  /** Runs a reconstruction (MAE, UMD) or an inpainting (DiffMAE) and shows it. */
  readonly run: (o?: RunOptions) => Promise<RunResult>;
  /** tfjs' live tensor count (for leak checks). */
  readonly numTensors: () => number;
}

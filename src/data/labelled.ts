/**
 * The data every loader returns and every trainer and probe takes: images or clips with labels,
 * as host arrays.
 *
 * @since 0.2.0
 */
/**
 * Images (or video clips) with labels, as host arrays in [0, 1]: images [count, height, width,
 * channels], or, when `frames` is set, clips [count, frames, height, width, channels].
 *
 * @since 0.1.0
 */
export interface LabelledImages {
  readonly count: number;
  /** Frames per clip, for video datasets. */
  readonly frames?: number;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  readonly images: Float32Array;
  readonly labels: Int32Array;
  readonly classes: readonly string[];
}

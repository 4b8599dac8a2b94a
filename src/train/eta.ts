/**
 * The time left in a run, from the time its steps took: an exponential moving average of the
 * seconds per step that leaves out the first (warm-up) steps, whose kernel compilation would
 * otherwise make the first estimates several times too long.
 *
 * @since 0.2.0
 */

/**
 * The state of an ETA estimate: the smoothed seconds per step (NaN until a step past the
 * warm-up was timed) and how many steps were timed.
 *
 * @since 0.2.0
 */
export interface Eta {
  readonly perStep: number;
  readonly timed: number;
}

/**
 * Options of {@link nextEta}: steps left out at the start (default 2) and the weight of the
 * newest step in the average (default 0.1).
 *
 * @since 0.2.0
 */
export interface EtaOptions {
  readonly warmup?: number;
  readonly alpha?: number;
}

/**
 * The estimate before any step was timed.
 *
 * @example
 * etaSeconds(ETA_START, 100) // NaN: nothing timed yet
 * @since 0.2.0
 */
export const ETA_START: Eta = { perStep: NaN, timed: 0 };

/**
 * The estimate after one more step that took `seconds`. The first `warmup` steps are counted
 * but not averaged; the first step after them starts the average; non-finite or negative times
 * are ignored.
 *
 * @example
 * let e = ETA_START
 * for (const s of [60, 5, 1, 1, 1]) e = nextEta(e, s)
 * etaSeconds(e, 100) // 100: the 60 s and 5 s warm-up steps are left out
 * @since 0.2.0
 */
export const nextEta = (e: Eta, seconds: number, o: EtaOptions = {}): Eta => {
  const warmup = o.warmup ?? 2;
  const alpha = o.alpha ?? 0.1;
  const timed = e.timed + 1;
  if (timed <= warmup || !Number.isFinite(seconds) || seconds < 0) return { perStep: e.perStep, timed };
  return { perStep: Number.isNaN(e.perStep) ? seconds : (1 - alpha) * e.perStep + alpha * seconds, timed };
};

/**
 * Seconds left for `remaining` more steps at the smoothed rate; NaN while only warm-up steps
 * were timed (shown as `?` by the progress line), 0 when nothing remains.
 *
 * @example
 * etaSeconds({ perStep: 0.5, timed: 10 }, 40) // 20
 * @since 0.2.0
 */
export const etaSeconds = (e: Eta, remaining: number): number => (remaining <= 0 ? 0 : e.perStep * remaining);

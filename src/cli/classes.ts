/**
 * Class names of a checkpoint, for `tesserae sample`: read from its metadata (untrusted: a
 * list that does not fit the model is ignored), and a `--class` value read as an index, a name
 * or `all`.
 *
 * @since 0.2.0
 */
import { ConfigError } from '../core/errors.js';
import { SYNTHETIC_CLASSES } from '../data/synthetic.js';
import { nearest, parseNumber } from './args.js';

/** A class name fit for a label: 1 to 40 characters, no control characters (file names go through {@link fileSafe}). */
const NAME = /^[^\u0000-\u001f\u007f]{1,40}$/u;

/**
 * The class names recorded in checkpoint metadata (`classes`, a JSON list written by training),
 * or, for a checkpoint without them trained on the synthetic data, the synthetic class names;
 * `[]` when none are known or the recorded list is not `classes` fitting names (it is data, not
 * trusted: nothing it holds chooses a path or an allocation).
 *
 * @example
 * classNames({ classes: '["disk","square"]' }, 2) // ['disk', 'square']
 * @since 0.2.0
 */
export const classNames = (meta: Readonly<Record<string, string>>, classes: number): readonly string[] => {
  const recorded = meta['classes'];
  if (recorded !== undefined && recorded.length <= 64 * 1024) {
    try {
      const v: unknown = JSON.parse(recorded);
      if (
        Array.isArray(v) &&
        v.length === classes &&
        v.every((x): x is string => typeof x === 'string' && NAME.test(x)) &&
        new Set(v).size === v.length
      )
        return v;
    } catch {
      // not JSON: ignored, as a list that does not fit is
    }
    return [];
  }
  return meta['data']?.includes('synthetic') && classes === SYNTHETIC_CLASSES.length ? SYNTHETIC_CLASSES : [];
};

/**
 * The classes a `--class` value names: `all`, an index in `0..classes-1`, or one of `names`.
 * Anything else is a {@link ConfigError} on `--class` listing the known names (with the nearest
 * suggested) or the index range.
 *
 * @example
 * parseClass('square', ['disk', 'square'], 2) // [1]
 * parseClass('all', [], 3) // [0, 1, 2]
 * @since 0.2.0
 */
export const parseClass = (text: string, names: readonly string[], classes: number): number[] => {
  if (text === 'all') return Array.from({ length: classes }, (_, k) => k);
  const byName = names.indexOf(text);
  if (byName >= 0) return [byName];
  const range = `0..${classes - 1}`;
  if (/^[+-]?\d/.test(text)) {
    const k = parseNumber('--class', text);
    if (!Number.isInteger(k) || k < 0 || k >= classes)
      throw new ConfigError('--class', text, `must be all, a class index in ${range}${names.length ? ` or a class name` : ''}`);
    return [k];
  }
  if (names.length === 0)
    throw new ConfigError('--class', text, `is not a class: this checkpoint records no class names; give all or an index in ${range}`);
  const near = nearest(text, names);
  throw new ConfigError(
    '--class',
    text,
    `is not a class of this checkpoint${near.length ? `; did you mean ${near.join(' or ')}?` : ''} (classes: ${names.join(', ')}; or an index in ${range}, or all)`,
  );
};

/**
 * A class name as part of a file name: characters other than letters, digits, `_` and `-` become `_`.
 *
 * @example
 * fileSafe('T-shirt/top') // 'T-shirt_top'
 * @since 0.2.0
 */
export const fileSafe = (name: string): string => name.replace(/[^\w-]/g, '_');

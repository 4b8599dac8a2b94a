import { ConfigError } from '../core/errors.js';

/**
 * Checks the keys of a combinator's record: non-empty, and no array-index-like keys (JavaScript
 * orders those first, which would silently reorder a serial composition).
 */
export const checkKeys = (combinator: string, record: object): string[] => {
  const keys = Object.keys(record);
  if (keys.length === 0) throw new ConfigError(combinator, record, 'needs at least one layer');
  for (const k of keys) {
    if (/^(0|[1-9]\d*)$/.test(k))
      throw new ConfigError(`${combinator}.${k}`, k, 'layer names must not be integers; use stack() for numbered layers');
  }
  return keys;
};

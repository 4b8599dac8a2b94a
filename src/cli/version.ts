/**
 * The version of the installed package, read at run time from the package.json above this
 * module (so it cannot drift from the published version).
 *
 * @since 0.2.0
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The `version` of the nearest package.json named `tesserae` above `from` (default: this
 * module's folder), or `unknown` when none is found.
 *
 * @example
 * packageVersion() // '0.2.0'
 * @since 0.2.0
 */
export const packageVersion = (from: string = dirname(fileURLToPath(import.meta.url))): string => {
  for (let d = from; ;) {
    const file = join(d, 'package.json');
    if (existsSync(file)) {
      try {
        const pkg: unknown = JSON.parse(readFileSync(file, 'utf8'));
        if (typeof pkg === 'object' && pkg !== null && 'name' in pkg && pkg.name === 'tesserae' && 'version' in pkg)
          return typeof pkg.version === 'string' ? pkg.version : 'unknown';
      } catch {
        // an unreadable package.json on the way up: keep looking
      }
    }
    const up = dirname(d);
    if (up === d) return 'unknown';
    d = up;
  }
};

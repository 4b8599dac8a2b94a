/**
 * Plain-text tables for the terminal.
 *
 * @since 0.1.0
 */

/**
 * Renders rows as an aligned table with a header rule.
 *
 * @example
 * table([{ method: 'mae', keep: 16 }])
 * @since 0.1.0
 */
export const table = (rows: readonly Record<string, string | number>[]): string => {
  if (rows.length === 0) return '';
  const cols = Object.keys(rows[0]!);
  const cell = (v: string | number | undefined): string =>
    typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toPrecision(4)) : (v ?? '');
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (vals: string[]): string =>
    vals
      .map((v, i) => v.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(cols), line(widths.map((w) => '-'.repeat(w))), ...rows.map((r) => line(cols.map((c) => cell(r[c]))))].join('\n');
};

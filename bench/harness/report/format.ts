/** How figures are written in the report and on the terminal. */

/** Whole numbers from 100 up, three significant digits below, thousands separated: 1,234,567 / 123 / 1.23 / 0.0123. */
export function formatCount(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (value === 0) return '0';
  const magnitude = Math.floor(Math.log10(Math.abs(value)));
  const decimals = Math.max(0, 2 - magnitude);
  const rounded = Number(value.toPrecision(Math.max(3, magnitude + 1)));
  return rounded.toLocaleString('en-US', { maximumFractionDigits: decimals, minimumFractionDigits: 0 });
}

/** Bytes as MiB with three significant digits. */
export function formatMiB(bytes: number): string {
  return formatCount(bytes / (1024 * 1024));
}

/** A ratio: 1.23×. */
export function formatRatio(ratio: number): string {
  return `${formatCount(ratio)}×`;
}

/** Milliseconds as "12.3 s" or "4 min 5 s". */
export function formatDuration(ms: number): string {
  const s = ms / 1000;
  if (s < 60) return `${formatCount(s)} s`;
  const minutes = Math.floor(s / 60);
  return `${minutes} min ${Math.round(s - minutes * 60)} s`;
}

import { ConfigError } from './errors.js';

/** Milliseconds as a number, or a string such as "250ms", "10s", "5m", "1h", "1m30s". */
export type Duration = number | string;

const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const part = /(\d+(?:\.\d+)?)(ms|s|m|h)/y;

/** Parses a duration to milliseconds; returns undefined when it is not one. */
export function tryParseDuration(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (text === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  let total = 0;
  part.lastIndex = 0;
  while (part.lastIndex < text.length) {
    const start = part.lastIndex;
    const match = part.exec(text);
    if (!match || match.index !== start) return undefined;
    total += Number(match[1]) * units[match[2]!]!;
  }
  return total;
}

/** Parses a duration to milliseconds, or throws `ERR_CONFIG` naming `what`. */
export function parseDuration(value: Duration, what = 'duration'): number {
  const ms = tryParseDuration(value);
  if (ms === undefined) {
    throw new ConfigError(`${what} must be a duration such as 250ms, 10s, 5m or 1h, or a number of milliseconds; got ${JSON.stringify(value)}`, what);
  }
  return ms;
}

import { describeValue } from './describe-value.js';
import { ConfigError } from './errors.js';

/** Milliseconds as a number, or a string such as "250ms", "10s", "5m", "1h", "1m30s". */
export type Duration = number | string;

/**
 * The longest duration disco accepts: 2³¹−1 ms (about 24.8 days), the longest delay Node's
 * timers can wait. Node runs a longer `setTimeout` after 1 ms, with only a warning.
 */
export const maxDurationMs = 2 ** 31 - 1;

const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const part = /(\d+(?:\.\d+)?)(ms|s|m|h)/y;

/**
 * Parses a duration to milliseconds; undefined when it is not one (negative, not finite, not
 * a number or a string in the duration syntax). It does not apply {@link maxDurationMs}:
 * `parseDuration` does, for durations that reach a timer.
 */
export function tryParseDuration(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (text === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return finite(Number(text));
  let total = 0;
  part.lastIndex = 0;
  while (part.lastIndex < text.length) {
    const start = part.lastIndex;
    const match = part.exec(text);
    if (!match || match.index !== start) return undefined;
    total += Number(match[1]) * units[match[2]!]!;
  }
  return finite(total);
}

function finite(ms: number): number | undefined {
  return Number.isFinite(ms) ? ms : undefined;
}

export interface DurationOptions {
  /** Accept `Infinity`, meaning "never" (for `maxStale`): the caller must not start a timer for it. */
  unlimited?: boolean;
}

/**
 * What is wrong with `value` as a duration for `what` (a field or variable name), or
 * undefined when it is fine: it must parse, and be at most {@link maxDurationMs}.
 * The text reads "<what> must be …; got <value>".
 */
export function durationProblem(value: unknown, what: string, options: DurationOptions = {}): string | undefined {
  if (options.unlimited && value === Infinity) return undefined;
  const ms = tryParseDuration(value);
  if (ms === undefined) return `${what} must be a duration such as 250ms, 10s, 5m or 1h, or a number of milliseconds; got ${describeValue(value)}`;
  if (ms > maxDurationMs) return `${what} must be at most ${maxDurationMs} ms (about 24.8 days, the longest delay Node's timers can wait); got ${describeValue(value)}`;
  return undefined;
}

/**
 * Parses a duration to milliseconds, or throws `ERR_CONFIG` naming `what`: for a value that
 * is not a duration, and for one longer than {@link maxDurationMs} (about 24.8 days), which
 * Node's timers would run after 1 ms instead. With `{ unlimited: true }`, `Infinity` passes
 * through as itself.
 */
export function parseDuration(value: Duration, what = 'duration', options: DurationOptions = {}): number {
  const problem = durationProblem(value, what, options);
  if (problem !== undefined) throw new ConfigError(problem, what);
  return value === Infinity ? Infinity : tryParseDuration(value)!;
}

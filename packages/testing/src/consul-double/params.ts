// Query parameters as Consul's HTTP handlers read them (agent/http.go parseConsistency,
// parseWait; health_endpoint.go getBoolQueryParam), with Consul's 400 texts; and the rule for
// documented parameters the double does not implement: a loud 501, never a silent ignore.

/** An answer other than 200 that a handler decided on: Consul's status and text. */
export class HttpError extends Error {
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

const unitNs: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, μs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/**
 * Go's `time.ParseDuration`, in milliseconds: a signed sequence of decimal numbers each with a
 * unit (`300ms`, `-1.5h`, `2h45m`); `0` alone needs no unit. Undefined where Go errs (`5`, `abc`, `1d`).
 */
export function parseGoDuration(text: string): number | undefined {
  let rest = text;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    if (rest[0] === '-') sign = -1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') return undefined;
  let total = 0;
  const part = /^(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/;
  while (rest !== '') {
    const match = part.exec(rest);
    if (!match) return undefined;
    total += Number(match[1]) * unitNs[match[2]!]!;
    rest = rest.slice(match[0].length);
  }
  return (sign * total) / 1e6;
}

/** Go's `strconv.ParseBool`. */
export function parseGoBool(text: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(text)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(text)) return false;
  return undefined;
}

export type Consistency = 'leader' | 'stale' | 'consistent';

export interface QueryOptions {
  consistency: Consistency;
  /** `?index` (MinQueryIndex); 0 when absent. */
  index: number;
  /** `?wait` in ms; undefined when absent. */
  waitMs: number | undefined;
}

/** `parseConsistency` then `parseWait`, in Consul's order, with Consul's 400 texts. */
export function parseQueryOptions(query: URLSearchParams): QueryOptions {
  let consistency: Consistency = 'leader';
  const stale = query.has('stale');
  const consistent = query.has('consistent');
  const maxStale = query.get('max_stale');
  let allowStale = stale;
  if (maxStale) {
    const ms = parseGoDuration(maxStale);
    if (ms === undefined) throw new HttpError(400, `Invalid max_stale value ${JSON.stringify(maxStale)}`);
    if (ms > 0) allowStale = true;
  }
  if (allowStale && consistent) throw new HttpError(400, 'Cannot specify ?stale with ?consistent, conflicting semantics.');
  if (allowStale) consistency = 'stale';
  if (consistent) consistency = 'consistent';
  let waitMs: number | undefined;
  const wait = query.get('wait');
  if (wait) {
    waitMs = parseGoDuration(wait);
    if (waitMs === undefined) throw new HttpError(400, 'Invalid wait time');
  }
  let index = 0;
  const idx = query.get('index');
  if (idx) {
    // strconv.ParseUint(idx, 10, 64)
    if (!/^\d+$/.test(idx) || BigInt(idx) > 18446744073709551615n) throw new HttpError(400, 'Invalid index');
    index = Number(idx);
  }
  return { consistency, index, waitMs };
}

/**
 * A boolean query parameter as Consul's `getBoolQueryParam` reads it: absent is false, present
 * without a value is true, else Go's ParseBool; anything else is 400 "Invalid value for ?<name>".
 */
export function boolParam(query: URLSearchParams, name: string): boolean {
  if (!query.has(name)) return false;
  const value = query.get(name)!;
  if (value === '') return true;
  const parsed = parseGoBool(value);
  if (parsed === undefined) throw new HttpError(400, `Invalid value for ?${name}`);
  return parsed;
}

/**
 * Parameters Consul documents for an endpoint that the double does not implement: a request
 * carrying one is answered 501 naming it, so a test never passes because the double ignored it.
 */
export function refuseUnimplemented(query: URLSearchParams, path: string, names: readonly string[]): void {
  for (const name of names) {
    if (query.has(name)) throw new HttpError(501, `the Consul double does not implement ?${name} on ${path}; it answers 501 rather than ignore it`);
  }
}

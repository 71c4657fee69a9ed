import { ConfigError } from '../errors.js';

/** Edit distance, for "did you mean" hints on mistyped option keys. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(above + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

/** The known key closest to `key`. */
export function nearestKey(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const d = distance(key.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

/**
 * Throws `ERR_CONFIG` for an option key nobody reads (`etcd.endpoint` instead of
 * `etcd.endpoints`), naming the nearest known key: a typo must not silently fall back to a
 * default such as localhost.
 */
export function assertKnownKeys(options: object, known: readonly string[], section: string): void {
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    const nearest = nearestKey(key, known);
    throw new ConfigError(`unknown option "${section}.${key}"${nearest ? `; did you mean "${nearest}"?` : ''} (known: ${known.join(', ')})`, `${section}.${key}`);
  }
}

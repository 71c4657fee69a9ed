/** A source of uniform numbers in [0, 1), like `Math.random`. Inject a seeded one for deterministic tests. */
export type RandomSource = () => number;

/**
 * mulberry32: a tiny, fast, seedable generator with a 2^32 period. Good enough for spreading
 * load and for reproducible tests; not for anything secret.
 */
export function seededRandom(seed: number): RandomSource {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A uniform index below `n`, even if a custom source returns exactly 1. */
export function randomIndex(random: RandomSource, n: number): number {
  const i = Math.floor(random() * n);
  return i < n ? i : n - 1;
}

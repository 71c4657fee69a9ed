/** A source of uniform numbers in [0, 1), like `Math.random`. Inject a seeded one for deterministic tests. */
export type RandomSource = () => number;

/**
 * The generator inside every strategy. Its state is one int32 and `next()` is small and
 * monomorphic, so the optimizer inlines it and no number is boxed: a random source called
 * through a function value returns a heap-allocated double whenever the call is not inlined
 * (that includes `Math.random` held in a variable), which would make `pick` allocate.
 */
export class Rng {
  #state: number;
  readonly #source: RandomSource | undefined;

  private constructor(seed: number, source: RandomSource | undefined) {
    this.#state = seed >>> 0;
    this.#source = source;
  }

  /**
   * The generator for a strategy's `random` option: a `seededRandom` source is read directly
   * (allocation-free); no option (or `Math.random` itself) means a mulberry32 seeded from
   * `Math.random` once; any other function is called on every draw (it may allocate a number
   * per call).
   */
  static from(source: RandomSource | undefined): Rng {
    if (source === undefined || source === Math.random) return Rng.seeded(Math.floor(Math.random() * 2 ** 32));
    return seeded.get(source) ?? new Rng(0, source);
  }

  static seeded(seed: number): Rng {
    return new Rng(seed, undefined);
  }

  /** mulberry32: tiny, fast, 2^32 period; fine for spreading load, not for secrets. */
  next(): number {
    if (this.#source) return this.#source();
    const s = (this.#state = (this.#state + 0x6d2b79f5) | 0);
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** A uniform index below `n`, even if a custom source returns exactly 1. */
  index(n: number): number {
    const i = Math.floor(this.next() * n);
    return i < n ? i : n - 1;
  }
}

const seeded = new WeakMap<RandomSource, Rng>();

/** A reproducible random source (mulberry32) for tests and simulations. */
export function seededRandom(seed: number): RandomSource {
  const rng = Rng.seeded(seed);
  const source: RandomSource = () => rng.next();
  seeded.set(source, rng);
  return source;
}

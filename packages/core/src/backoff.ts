import { parseDuration, type Duration } from './duration.js';

export interface BackoffOptions {
  /** First delay. Default 100ms. */
  initial?: Duration;
  /** Largest delay. Default 30s. */
  max?: Duration;
  /** Growth per failure. Default 2. */
  factor?: number;
  /** Random source in [0, 1), injectable for tests. */
  random?: () => number;
}

/**
 * Exponential backoff with full jitter (AWS's "full jitter": a uniform draw in
 * [0, min(max, initial * factor^n)]), so that many clients restarting after one outage spread
 * their retries out instead of arriving together. One instance per retry loop.
 */
export class Backoff {
  readonly #initial: number;
  readonly #max: number;
  readonly #factor: number;
  readonly #random: () => number;
  #attempt = 0;

  constructor(options: BackoffOptions = {}) {
    this.#initial = parseDuration(options.initial ?? 100, 'backoff.initial');
    this.#max = parseDuration(options.max ?? 30_000, 'backoff.max');
    this.#factor = options.factor ?? 2;
    this.#random = options.random ?? Math.random;
  }

  /** Failures since the last reset. */
  get attempt(): number {
    return this.#attempt;
  }

  /** The delay before the next try, in ms; each call counts one more failure. */
  next(): number {
    const ceiling = Math.min(this.#max, this.#initial * this.#factor ** this.#attempt);
    this.#attempt++;
    return Math.round(ceiling * this.#random());
  }

  /** Call after a success. */
  reset(): void {
    this.#attempt = 0;
  }
}

/** `ms` scaled by a random factor in [1 - spread, 1 + spread]: de-synchronises periodic work. */
export function jitter(ms: number, spread = 0.1, random: () => number = Math.random): number {
  return Math.round(ms * (1 - spread + 2 * spread * random()));
}

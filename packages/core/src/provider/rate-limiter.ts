import { delay } from '../abort.js';

/**
 * A token bucket: up to `burst` requests at once, then `perSecond`. The engine takes a token
 * before every list and follow it starts, so no answer a server can give (garbage, instant
 * clean ends, endless 410s) makes a watch request faster than this.
 *
 * Kept as one number, GCRA-style (the time the next request would be due at the steady rate):
 * thousands of watched services each hold a limiter.
 */
export class RateLimiter {
  /** ms between requests at the steady rate. */
  readonly #interval: number;
  /** How far ahead of the steady rate a burst may run, in ms. */
  readonly #tolerance: number;
  readonly #now: (() => number) | undefined;
  #due = -Infinity;

  constructor(perSecond: number, burst: number, now?: () => number) {
    this.#interval = 1000 / perSecond;
    this.#tolerance = (Math.max(1, burst) - 1) * this.#interval;
    this.#now = now;
  }

  /**
   * Takes a token: at once (undefined) when one is free, else a promise that resolves when it is
   * due (rejects with ERR_ABORTED when `signal` fires first, and then takes nothing).
   */
  take(signal?: AbortSignal): Promise<void> | undefined {
    const now = this.#now ? this.#now() : performance.now();
    const due = Math.max(this.#due, now);
    const wait = due - this.#tolerance - now;
    this.#due = due + this.#interval;
    if (wait <= 0) return undefined;
    return delay(Math.ceil(wait), signal).catch((error: unknown) => {
      this.#due -= this.#interval; // not taken after all
      throw error;
    });
  }
}

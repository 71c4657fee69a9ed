import { delay } from '@disco/core';

/**
 * A token bucket for one blocking-query loop. A loop whose queries block as they should takes
 * one token per `wait` and never sleeps; a loop whose queries return at once (results
 * churning, or a server that does not block) drains the bucket and is held to `perSecond`.
 */
export class RateLimiter {
  readonly #perSecond: number;
  readonly #burst: number;
  #tokens: number;
  #last: number;
  readonly #now: () => number;

  constructor(perSecond: number, burst: number, now: () => number = performance.now.bind(performance)) {
    this.#perSecond = perSecond;
    this.#burst = burst;
    this.#tokens = burst;
    this.#now = now;
    this.#last = now();
  }

  /** Waits (abortably) until a query may go. */
  async take(signal: AbortSignal): Promise<void> {
    const now = this.#now();
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#last) / 1000) * this.#perSecond);
    this.#last = now;
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return;
    }
    const waitMs = ((1 - this.#tokens) / this.#perSecond) * 1000;
    this.#tokens -= 1;
    await delay(Math.ceil(waitMs), signal);
  }
}

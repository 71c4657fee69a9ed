import { delay } from '../abort.js';

/**
 * A token bucket: up to `burst` requests at once, then `perSecond`. The engine takes a token
 * before every list and follow it starts, so no answer a server can give (garbage, instant
 * clean ends, endless 410s) makes a watch request faster than this.
 */
export class RateLimiter {
  readonly #perSecond: number;
  readonly #burst: number;
  readonly #now: () => number;
  #tokens: number;
  #updatedAt: number;

  constructor(perSecond: number, burst: number, now: () => number = () => performance.now()) {
    this.#perSecond = perSecond;
    this.#burst = Math.max(1, burst);
    this.#now = now;
    this.#tokens = this.#burst;
    this.#updatedAt = now();
  }

  /** Waits for a token (rejects with ERR_ABORTED when `signal` fires first). */
  async take(signal?: AbortSignal): Promise<void> {
    this.#refill();
    if (this.#tokens < 1) {
      await delay(Math.ceil(((1 - this.#tokens) / this.#perSecond) * 1000), signal);
      this.#refill();
    }
    this.#tokens -= 1;
  }

  #refill(): void {
    const now = this.#now();
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#updatedAt) / 1000) * this.#perSecond);
    this.#updatedAt = now;
  }
}

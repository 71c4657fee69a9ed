const slots = 10;

/**
 * Finagle's / Envoy's retry budget for one service: over a sliding window, retries may number
 * at most `ratio` × requests + `minPerSecond` × window seconds. A broken service so sees at most
 * that much extra load, never a storm; a healthy one, which retries rarely, is not held back.
 *
 * Counts live in ten slots of window/10 each, so the window slides in steps of a tenth.
 */
export class RetryBudget {
  readonly #ratio: number;
  readonly #floor: number;
  readonly #slotMs: number;
  readonly #now: () => number;
  readonly #requests = new Float64Array(slots);
  readonly #retries = new Float64Array(slots);
  #slot = 0;
  #slotEnd: number;
  #requestSum = 0;
  #retrySum = 0;

  constructor(options: { ratio: number; minPerSecond: number; windowMs: number }, now: () => number = () => performance.now()) {
    this.#ratio = options.ratio;
    this.#floor = (options.minPerSecond * options.windowMs) / 1000;
    this.#slotMs = options.windowMs / slots;
    this.#now = now;
    this.#slotEnd = now() + this.#slotMs;
  }

  /** Counts a request (not a retry): each one makes room for `ratio` of a retry. */
  deposit(): void {
    this.#advance();
    this.#requests[this.#slot]!++;
    this.#requestSum++;
  }

  /** Takes one retry out of the budget; false when the budget is spent. */
  tryWithdraw(): boolean {
    this.#advance();
    if (this.#retrySum + 1 > this.#ratio * this.#requestSum + this.#floor) return false;
    this.#retries[this.#slot]!++;
    this.#retrySum++;
    return true;
  }

  /** Requests and retries counted in the current window. */
  get counts(): { requests: number; retries: number } {
    this.#advance();
    return { requests: this.#requestSum, retries: this.#retrySum };
  }

  #advance(): void {
    const now = this.#now();
    if (now < this.#slotEnd) return;
    // Every slot that ended is emptied (all of them after a quiet spell of a window or more).
    const passed = Math.min(slots, Math.floor((now - this.#slotEnd) / this.#slotMs) + 1);
    for (let i = 0; i < passed; i++) {
      this.#slot = (this.#slot + 1) % slots;
      this.#requestSum -= this.#requests[this.#slot]!;
      this.#retrySum -= this.#retries[this.#slot]!;
      this.#requests[this.#slot] = 0;
      this.#retries[this.#slot] = 0;
    }
    this.#slotEnd = passed === slots ? now + this.#slotMs : this.#slotEnd + passed * this.#slotMs;
  }
}

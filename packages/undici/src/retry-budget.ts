const slots = 10;

/**
 * Finagle's / Envoy's retry budget for one service: over a sliding window, retries may number
 * at most `ratio` × requests + `minPerSecond` × window seconds. A broken service so sees at most
 * that much extra load, never a storm; a healthy one, which retries rarely, is not held back.
 *
 * Counts live in ten slots of window/10 each, so the window slides in steps of a tenth. A timer
 * moves it on (not a clock read per request: deposit is on every request's path).
 */
export class RetryBudget {
  readonly #ratio: number;
  readonly #floor: number;
  readonly #requests = new Float64Array(slots);
  readonly #retries = new Float64Array(slots);
  readonly #timer: NodeJS.Timeout;
  #slot = 0;
  #requestSum = 0;
  #retrySum = 0;

  constructor(options: { ratio: number; minPerSecond: number; windowMs: number }) {
    this.#ratio = options.ratio;
    this.#floor = (options.minPerSecond * options.windowMs) / 1000;
    this.#timer = setInterval(() => this.#advance(), options.windowMs / slots);
    // Counting must never keep a process alive.
    this.#timer.unref();
  }

  /** Counts a request (not a retry): each one makes room for `ratio` of a retry. */
  deposit(): void {
    this.#requests[this.#slot]!++;
    this.#requestSum++;
  }

  /** Takes one retry out of the budget; false when the budget is spent. */
  tryWithdraw(): boolean {
    if (this.#retrySum + 1 > this.#ratio * this.#requestSum + this.#floor) return false;
    this.#retries[this.#slot]!++;
    this.#retrySum++;
    return true;
  }

  /** Stops the timer. */
  stop(): void {
    clearInterval(this.#timer);
  }

  /** The oldest slot leaves the window and becomes the current one, empty. */
  #advance(): void {
    this.#slot = (this.#slot + 1) % slots;
    this.#requestSum -= this.#requests[this.#slot]!;
    this.#retrySum -= this.#retries[this.#slot]!;
    this.#requests[this.#slot] = 0;
    this.#retries[this.#slot] = 0;
  }
}

import { jitter } from '@disco/core/provider';

/**
 * Feeds one TTL check: `beat` runs every third of the TTL (jittered), so one lost or slow
 * beat does not let the check expire. A failed beat is the beat's business; the rhythm goes on.
 */
export class Heartbeat {
  readonly #periodMs: number;
  readonly #beat: () => Promise<void>;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(ttlMs: number, beat: () => Promise<void>) {
    this.#periodMs = Math.max(50, ttlMs / 3);
    this.#beat = beat;
    this.#schedule();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      void this.#beat()
        .catch(() => undefined)
        .then(() => this.#schedule());
    }, jitter(this.#periodMs, 0.1));
  }
}

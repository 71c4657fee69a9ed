import { Backoff, Listeners, reconcile, type DiscoveryError, type Instance, type Unsubscribe, type WatchEvent, type WatchListener } from '@disco/core';
import type { LookupResult } from './lookup.js';

export interface WatchTiming {
  readonly refreshMinMs: number;
  readonly refreshMaxMs: number;
}

/**
 * The polling loop behind every watch of one service name, shared by all its listeners.
 * Re-reads when the records' TTL runs out (clamped to [refreshMin, refreshMax]), tells
 * listeners only about real changes (`reconcile` keeps unchanged snapshots identical), and
 * on failure sends one `{error}` per failure streak, keeps the last good snapshot and backs
 * off; the first good read after a failure is sent even if nothing changed, so listeners
 * know they are current again.
 */
export class ServiceWatch {
  readonly #listeners: Listeners<WatchEvent>;
  readonly #read: (signal: AbortSignal) => Promise<LookupResult>;
  readonly #timing: WatchTiming;
  readonly #backoff: Backoff;
  readonly #controller: AbortController;
  readonly #onListenerError: (error: unknown) => void;
  readonly #toDiscoveryError: (error: unknown) => DiscoveryError;
  #timer: NodeJS.Timeout | undefined;
  #snapshot: readonly Instance[] | undefined;
  #error: DiscoveryError | undefined;

  constructor(
    read: (signal: AbortSignal) => Promise<LookupResult>,
    timing: WatchTiming,
    closing: AbortSignal,
    onListenerError: (error: unknown) => void,
    toDiscoveryError: (error: unknown) => DiscoveryError,
  ) {
    this.#read = read;
    this.#timing = timing;
    this.#backoff = new Backoff({ initial: timing.refreshMinMs, max: timing.refreshMaxMs });
    this.#controller = new AbortController();
    this.#onListenerError = onListenerError;
    this.#listeners = new Listeners(onListenerError);
    this.#toDiscoveryError = toDiscoveryError;
    closing.addEventListener('abort', () => this.stop(), { once: true, signal: this.#controller.signal });
    void this.#tick();
  }

  /** The last good snapshot, unless the last read failed. */
  get fresh(): readonly Instance[] | undefined {
    return this.#error === undefined ? this.#snapshot : undefined;
  }

  add(listener: WatchListener): Unsubscribe {
    let subscribed = true;
    const remove = this.#listeners.add(listener);
    // Someone joining a running watch hears the current state first, on a later tick.
    const snapshot = this.#snapshot;
    const error = this.#error;
    if (snapshot !== undefined || error !== undefined) {
      queueMicrotask(() => {
        if (!subscribed) return;
        if (snapshot !== undefined) this.#deliver(listener, { instances: snapshot });
        if (error !== undefined) this.#deliver(listener, { error });
      });
    }
    return () => {
      subscribed = false;
      remove();
    };
  }

  stop(): void {
    this.#listeners.clear();
    this.#controller.abort();
    clearTimeout(this.#timer);
  }

  async #tick(): Promise<void> {
    const signal = this.#controller.signal;
    let delayMs: number;
    try {
      const result = await this.#read(signal);
      if (signal.aborted) return;
      const next = reconcile(this.#snapshot, result.instances);
      const recovered = this.#error !== undefined;
      const changed = next !== this.#snapshot;
      this.#snapshot = next;
      this.#error = undefined;
      this.#backoff.reset();
      if (changed || recovered) this.#listeners.emit({ instances: next });
      const ttlMs = result.ttlSeconds === undefined ? this.#timing.refreshMaxMs : result.ttlSeconds * 1000;
      const clamped = Math.min(this.#timing.refreshMaxMs, Math.max(this.#timing.refreshMinMs, ttlMs));
      // A little after expiry, never before: a caching resolver would repeat the old answer.
      delayMs = clamped * (1 + 0.1 * Math.random());
    } catch (error) {
      if (signal.aborted) return;
      const first = this.#error === undefined;
      this.#error = this.#toDiscoveryError(error);
      if (first) this.#listeners.emit({ error: this.#error });
      delayMs = Math.max(this.#timing.refreshMinMs, this.#backoff.next());
    }
    this.#timer = setTimeout(() => void this.#tick(), delayMs);
  }

  /** A newcomer's first events; broadcasts go through `#listeners`, which isolates the same way. */
  #deliver(listener: WatchListener, event: WatchEvent): void {
    try {
      listener(event);
    } catch (error) {
      this.#onListenerError(error);
    }
  }
}

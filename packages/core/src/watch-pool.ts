import { unsubscribeOnAbort } from './listeners.js';
import type { Unsubscribe, WatchListener } from './provider.js';

/** How a provider starts, joins and stops its backend watch of one service. */
export interface WatchPoolBackend<W> {
  /** Starts the backend watch of `name`; called when its first listener arrives. */
  create(name: string): W;
  /** Adds a listener to a running watch and returns its unsubscribe. */
  subscribe(watch: W, listener: WatchListener): Unsubscribe;
  /** Stops a watch whose last listener left, or every watch on `close()`; a promise is awaited by `close()`. */
  stop(watch: W): void | Promise<void>;
}

/**
 * One backend watch per service name, shared by all of that name's listeners: the first
 * listener creates it, the last one to leave (or abort its signal) stops it, and the next
 * listener creates a fresh one. `close()` stops them all and waits for every stop to settle.
 */
export class WatchPool<W> {
  readonly #backend: WatchPoolBackend<W>;
  readonly #entries = new Map<string, { readonly watch: W; listeners: number }>();
  readonly #stopping = new Set<Promise<void>>();

  constructor(backend: WatchPoolBackend<W>) {
    this.#backend = backend;
  }

  /** The running watch of `name`, if any (a provider may answer `discover` from it). */
  get(name: string): W | undefined {
    return this.#entries.get(name)?.watch;
  }

  watch(name: string, listener: WatchListener, signal?: AbortSignal): Unsubscribe {
    let entry = this.#entries.get(name);
    if (!entry) {
      entry = { watch: this.#backend.create(name), listeners: 0 };
      this.#entries.set(name, entry);
    }
    const current = entry;
    const unsubscribe = this.#backend.subscribe(current.watch, listener);
    current.listeners++;
    return unsubscribeOnAbort(signal, () => {
      unsubscribe();
      current.listeners--;
      // A watch already replaced (after close, or stopped and created again) is not this entry's to stop.
      if (current.listeners === 0 && this.#entries.get(name) === current) {
        this.#entries.delete(name);
        this.#stop(current.watch);
      }
    });
  }

  /** Stops every watch; resolves once every stop, including those begun earlier, has settled. */
  async close(): Promise<void> {
    const entries = [...this.#entries.values()];
    this.#entries.clear();
    for (const entry of entries) this.#stop(entry.watch);
    await Promise.allSettled(this.#stopping);
  }

  #stop(watch: W): void {
    const stopped = this.#backend.stop(watch);
    if (!stopped) return;
    const settled: Promise<void> = stopped.then(
      () => void this.#stopping.delete(settled),
      () => void this.#stopping.delete(settled),
    );
    this.#stopping.add(settled);
  }
}

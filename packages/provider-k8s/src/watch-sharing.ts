export type NamespaceWatchMode = 'auto' | 'always' | 'never';

/**
 * Decides, per provider, whether the services it watches share one namespace-wide list + watch
 * ({@link NamespaceFeed}) or watch one by one: `always`, `never`, or `auto` — shared once more
 * than `threshold` services are being listed or followed at once, and back to their own
 * watches when no more than half of that remain (so a service coming and going at the edge
 * does not flip every watch). Each change of mode is told to `flipped`, in a microtask of its
 * own: the change is decided inside a list or an attach, and moving every running watch there
 * would run engines' deliveries (and their listeners) in the middle of another's.
 */
export class WatchSharing {
  readonly #mode: NamespaceWatchMode;
  readonly #threshold: number;
  readonly #flipped: () => void;
  readonly #demand = new Map<string, number>();
  #shared: boolean;

  constructor(mode: NamespaceWatchMode, threshold: number, eligible: boolean, flipped: () => void) {
    this.#mode = eligible ? mode : 'never';
    this.#threshold = threshold;
    this.#flipped = flipped;
    this.#shared = this.#mode === 'always';
  }

  get shared(): boolean {
    return this.#shared;
  }

  /** Counts `service` as listed or followed, until {@link leave}. */
  enter(service: string): void {
    this.#demand.set(service, (this.#demand.get(service) ?? 0) + 1);
    this.#decide();
  }

  leave(service: string): void {
    const left = (this.#demand.get(service) ?? 1) - 1;
    if (left === 0) this.#demand.delete(service);
    else this.#demand.set(service, left);
    this.#decide();
  }

  #decide(): void {
    if (this.#mode !== 'auto') return;
    const next = this.#shared ? this.#demand.size > Math.floor(this.#threshold / 2) : this.#demand.size > this.#threshold;
    if (next === this.#shared) return;
    this.#shared = next;
    queueMicrotask(this.#flipped);
  }
}

import { abortable } from './abort.js';
import { ProviderUnavailableError, type DiscoveryError } from './errors.js';
import { applyFilter, healthyFilter, type InstanceFilter } from './instance-filter.js';
import { pollingWatch } from './polling-watch.js';
import type { Provider, Unsubscribe, WatchEvent, WatchListener } from './provider.js';
import type { Instance } from './service.js';
import { reconcile, sameSnapshot } from './snapshot.js';
import { toDiscoveryError } from './to-discovery-error.js';

export interface CacheHost {
  provider(): Promise<Provider>;
  /** A read or the watch failed; `service` is the name. */
  reportError(service: string, error: DiscoveryError): void;
  readonly ttlMs: number;
  readonly maxStaleMs: number;
  readonly now: () => number;
  readonly random: () => number;
}

interface Subscriber {
  readonly filter: InstanceFilter;
  readonly listener: WatchListener;
  /** What this subscriber saw last; undefined after an error, so recovery is always delivered. */
  last: readonly Instance[] | undefined;
}

const empty: readonly Instance[] = Object.freeze([]);

/**
 * The cache for one service name. While anybody watches, one backend watch feeds it and it
 * never expires. Otherwise reads go through a TTL with refresh-ahead: a read in the last
 * stretch of the TTL (a jittered 75–95 %) returns the cached snapshot and refreshes in the
 * background, so hot names never wait; concurrent misses share one backend call. When the
 * backend fails, the last good snapshot is served until it has been stale for `maxStale`.
 */
export class CacheEntry {
  readonly name: string;
  readonly #host: CacheHost;
  #snapshot: readonly Instance[] | undefined;
  #healthy: readonly Instance[] = empty;
  #fetchedAt = 0;
  #refreshAt = 0;
  #inflight: Promise<readonly Instance[]> | undefined;
  readonly #subscribers = new Set<Subscriber>();
  #watchGeneration = 0;
  #unwatch: Unsubscribe | undefined;
  #watchFed = false;
  #staleSince: number | undefined;
  #staleTimer: NodeJS.Timeout | undefined;
  #expired = false;
  #closed = false;

  constructor(name: string, host: CacheHost) {
    this.name = name;
    this.#host = host;
  }

  get watching(): boolean {
    return this.#subscribers.size > 0;
  }

  /** The current snapshot through `filter`, reading the backend only when the cache cannot answer. */
  async read(filter: InstanceFilter, signal?: AbortSignal): Promise<readonly Instance[]> {
    const snapshot = this.#snapshot;
    if (snapshot && !this.#expired) {
      if (this.#watchFed) return this.#view(filter);
      const now = this.#host.now();
      if (now - this.#fetchedAt < this.#host.ttlMs) {
        if (now >= this.#refreshAt && !this.#inflight) this.#refresh().catch(() => {});
        return this.#view(filter);
      }
    }
    try {
      await abortable(this.#refresh(), signal, `discover("${this.name}")`);
    } catch (error) {
      if (this.#snapshot && !this.#expired && (error as DiscoveryError).code !== 'ERR_ABORTED') return this.#view(filter);
      throw error;
    }
    return this.#view(filter);
  }

  /** Adds a subscriber: it gets the current state first, then every change it can see. */
  subscribe(filter: InstanceFilter, listener: WatchListener): Unsubscribe {
    const subscriber: Subscriber = { filter, listener, last: undefined };
    this.#subscribers.add(subscriber);
    if (this.#subscribers.size === 1) this.#startWatch();
    else if (this.#snapshot) queueMicrotask(() => this.#subscribers.has(subscriber) && this.#deliver(subscriber));
    return () => {
      if (!this.#subscribers.delete(subscriber) || this.#subscribers.size > 0) return;
      this.#stopWatch();
    };
  }

  /** Stops the watch; subscribers still attached hear `reason` (e.g. ERR_CLOSED) last. */
  close(reason?: DiscoveryError): void {
    if (reason) for (const subscriber of this.#subscribers) this.#call(subscriber, { error: reason });
    this.#closed = true;
    this.#subscribers.clear();
    this.#stopWatch();
    clearTimeout(this.#staleTimer);
  }

  #view(filter: InstanceFilter): readonly Instance[] {
    if (this.#expired || !this.#snapshot) return empty;
    if (filter === healthyFilter) return this.#healthy;
    return applyFilter(this.#snapshot, filter);
  }

  #refresh(): Promise<readonly Instance[]> {
    this.#inflight ??= (async () => {
      let source = 'provider';
      try {
        const provider = await this.#host.provider();
        source = provider.name;
        this.#accept(await provider.discover(this.name));
        return this.#snapshot!;
      } catch (error) {
        const failure = toDiscoveryError(error, source);
        this.#fail(failure);
        throw failure;
      } finally {
        this.#inflight = undefined;
      }
    })();
    return this.#inflight;
  }

  #startWatch(): void {
    const generation = ++this.#watchGeneration;
    if (this.#snapshot) {
      const snapshot = this.#snapshot;
      queueMicrotask(() => {
        if (this.#watchGeneration === generation && this.#snapshot === snapshot) for (const s of this.#subscribers) if (s.last === undefined) this.#deliver(s);
      });
    }
    let source = 'provider';
    const onEvent = (event: WatchEvent) => {
      if (this.#watchGeneration !== generation || this.#closed) return;
      if ('instances' in event) {
        this.#watchFed = true;
        this.#accept(event.instances);
      } else {
        // Providers should send DiscoveryErrors; wrap anything else rather than pass it on.
        this.#fail(toDiscoveryError(event.error, source));
      }
    };
    this.#host.provider().then(
      (provider) => {
        if (this.#watchGeneration !== generation || this.#closed) return;
        source = provider.name;
        this.#unwatch = provider.capabilities.watch
          ? provider.watch(this.name, onEvent)
          : pollingWatch((signal) => provider.discover(this.name, { signal }), onEvent, () => this.#host.ttlMs, provider.name);
      },
      (error: unknown) => onEvent({ error: toDiscoveryError(error, 'provider') }),
    );
  }

  #stopWatch(): void {
    this.#watchGeneration++;
    this.#unwatch?.();
    this.#unwatch = undefined;
    if (this.#watchFed) {
      // From here on the snapshot ages like a fresh read.
      this.#watchFed = false;
      this.#fetchedAt = this.#host.now();
      this.#refreshAt = this.#nextRefreshAt();
    }
  }

  #nextRefreshAt(): number {
    return this.#fetchedAt + this.#host.ttlMs * (0.75 + 0.2 * this.#host.random());
  }

  #accept(instances: readonly Instance[]): void {
    const next = reconcile(this.#snapshot, instances);
    this.#fetchedAt = this.#host.now();
    this.#refreshAt = this.#nextRefreshAt();
    const changed = next !== this.#snapshot || this.#expired;
    this.#snapshot = next;
    this.#staleSince = undefined;
    this.#expired = false;
    clearTimeout(this.#staleTimer);
    this.#staleTimer = undefined;
    if (changed) this.#healthy = applyFilter(next, healthyFilter);
    // Subscribers who saw an error get the snapshot again even if it is unchanged: it says "fresh".
    for (const subscriber of this.#subscribers) this.#deliver(subscriber);
  }

  #fail(error: DiscoveryError): void {
    if (this.#closed) return;
    this.#host.reportError(this.name, error);
    if (this.#staleSince === undefined) {
      this.#staleSince = this.#host.now();
      if (this.#snapshot && Number.isFinite(this.#host.maxStaleMs)) {
        this.#staleTimer = setTimeout(() => this.#expire(), this.#host.maxStaleMs);
      }
    }
    for (const subscriber of this.#subscribers) {
      subscriber.last = undefined;
      this.#call(subscriber, { error });
    }
  }

  /** The last good snapshot is now older than maxStale: stop serving it. */
  #expire(): void {
    this.#expired = true;
    this.#staleTimer = undefined;
    const error = new ProviderUnavailableError('cache', `"${this.name}": the backend has failed for longer than maxStale (${this.#host.maxStaleMs} ms); the last snapshot is no longer served`);
    this.#host.reportError(this.name, error);
    for (const subscriber of this.#subscribers) {
      this.#call(subscriber, { error });
      this.#deliver(subscriber);
    }
  }

  #deliver(subscriber: Subscriber): void {
    const view = this.#view(subscriber.filter);
    if (subscriber.last !== undefined && sameSnapshot(subscriber.last, view)) return;
    subscriber.last = view;
    this.#call(subscriber, { instances: view });
  }

  #call(subscriber: Subscriber, event: WatchEvent): void {
    try {
      subscriber.listener(event);
    } catch (error) {
      this.#host.reportError(this.name, toDiscoveryError(error, 'watch listener'));
    }
  }
}

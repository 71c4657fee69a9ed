import type { Instance } from '@disco/core';
import type { FollowEnd, FollowSink, ListResult, ServiceSource } from '@disco/core/provider';
import type { KubernetesSource } from './kubernetes-source.js';
import type { NamespaceFeed } from './namespace-feed.js';

export type NamespaceWatchMode = 'auto' | 'always' | 'never';

/** The position of a list answered by the namespace feed: nothing to watch from on one's own. */
const fromFeed = 'namespace-feed';

/**
 * Decides, per provider, whether the services it watches share one namespace-wide list + watch
 * ({@link NamespaceFeed}) or watch one by one: `always`, `never`, or `auto` — shared once more
 * than `threshold` services are being listed or followed at once, and back to their own
 * watches when no more than half of that remain (so a service coming and going at the edge
 * does not flip every watch). Each flip aborts `flipped`, which every running follow listens to.
 */
export class WatchSharing {
  readonly #mode: NamespaceWatchMode;
  readonly #threshold: number;
  readonly #demand = new Map<string, number>();
  #shared: boolean;
  #flip = new AbortController();

  constructor(mode: NamespaceWatchMode, threshold: number, eligible: boolean) {
    this.#mode = eligible ? mode : 'never';
    this.#threshold = threshold;
    this.#shared = this.#mode === 'always';
  }

  get shared(): boolean {
    return this.#shared;
  }

  /** Aborts at the next change of mode. */
  get flipped(): AbortSignal {
    return this.#flip.signal;
  }

  /** Services listed or followed right now. */
  get watched(): number {
    return this.#demand.size;
  }

  /** Counts `service` as in use until the returned function is called. */
  use(service: string): () => void {
    this.#demand.set(service, (this.#demand.get(service) ?? 0) + 1);
    this.#decide();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = this.#demand.get(service)! - 1;
      if (left === 0) this.#demand.delete(service);
      else this.#demand.set(service, left);
      this.#decide();
    };
  }

  #decide(): void {
    if (this.#mode !== 'auto') return;
    const next = this.#shared ? this.#demand.size > Math.floor(this.#threshold / 2) : this.#demand.size > this.#threshold;
    if (next === this.#shared) return;
    this.#shared = next;
    const flip = this.#flip;
    this.#flip = new AbortController();
    flip.abort();
  }
}

/** Waits one turn of the event loop, so that watches started together are counted together. */
const gather = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * One service's source, for core's engine: its own list + watch ({@link KubernetesSource}) or
 * its share of the namespace feed, whichever {@link WatchSharing} says — and it moves between
 * the two inside one `follow` when the mode flips (feed → own: list, `replace`, then watch;
 * own → feed: the feed's `replace`), so the engine sees neither an end nor a gap.
 */
export class SwitchingSource implements ServiceSource<string> {
  readonly #service: string;
  readonly #own: KubernetesSource;
  readonly #feed: NamespaceFeed;
  readonly #sharing: WatchSharing;
  readonly backoff;

  constructor(service: string, own: KubernetesSource, feed: NamespaceFeed, sharing: WatchSharing, backoff: ServiceSource['backoff']) {
    this.#service = service;
    this.#own = own;
    this.#feed = feed;
    this.#sharing = sharing;
    this.backoff = backoff;
  }

  async list(signal: AbortSignal): Promise<ListResult<string>> {
    const release = this.#sharing.use(this.#service);
    try {
      await gather();
      if (this.#sharing.shared) return { instances: await this.#feed.snapshot(this.#service, signal), position: fromFeed };
      return await this.#own.list(signal);
    } finally {
      release();
    }
  }

  async follow(position: string, sink: FollowSink<string>, signal: AbortSignal): Promise<FollowEnd> {
    const release = this.#sharing.use(this.#service);
    let at = position;
    // The engine's sink keeps its methods on its prototype: delegate, never spread it.
    const tracking: FollowSink<string> = {
      replace: (instances: Iterable<Instance>, p?: string) => {
        if (p !== undefined) at = p;
        sink.replace(instances, p);
      },
      resync: (instances: Iterable<Instance>, p?: string) => {
        if (p !== undefined) at = p;
        sink.resync(instances, p);
      },
      upsert: (instance) => sink.upsert(instance),
      remove: (id) => sink.remove(id),
      advance: (p) => {
        at = p;
        sink.advance(p);
      },
      invalid: (error) => sink.invalid(error),
      stale: (error) => sink.stale(error),
    };
    try {
      // Each turn is one mode; a turn ends only when the mode flips (or the engine stops us).
      while (!signal.aborted) {
        const flipped = this.#sharing.flipped;
        const until = AbortSignal.any([signal, flipped]);
        if (this.#sharing.shared) {
          await this.#feed.follow(this.#service, sink, until);
          at = fromFeed;
          continue;
        }
        if (at === fromFeed) {
          let listed: ListResult<string>;
          try {
            listed = await this.#own.list(until);
          } catch (error) {
            if (until.aborted) continue;
            throw error;
          }
          if (until.aborted) continue;
          tracking.replace(listed.instances, listed.position);
        }
        const end = await this.#own.follow(at, tracking, until);
        if (signal.aborted || flipped.aborted) continue;
        return end;
      }
      return 'ended';
    } finally {
      release();
    }
  }
}

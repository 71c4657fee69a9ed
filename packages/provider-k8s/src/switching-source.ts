import { ClosedError } from '@disco/core';
import type { AttachedSink, ListResult, ServiceSource, Unhook } from '@disco/core/provider';
import type { KubernetesSource } from './kubernetes-source.js';
import type { NamespaceFeed } from './namespace-feed.js';
import { fromFeed, OwnWatch } from './own-watch.js';
import { WatchSharing, type NamespaceWatchMode } from './watch-sharing.js';

export interface SwitchOptions {
  readonly mode: NamespaceWatchMode;
  readonly threshold: number;
  /** Whether every service's objects can be read at once (see the provider's `#sharedListing`). */
  readonly eligible: boolean;
}

/** Waits one turn of the event loop, so that watches started together are counted together. */
const gather = () => new Promise<void>((resolve) => setImmediate(resolve));
const noop = () => {};

/**
 * Where each engine sink the provider's sources were attached is hooked on — the namespace feed
 * or a watch of the service's own ({@link OwnWatch}) — whichever {@link WatchSharing} says, and
 * the move of every one of them when the mode flips (feed → own: list, `replace`, then watch;
 * own → feed: the feed's `replace`), so no engine sees an end or a gap. A sink on the feed costs
 * the feed's reference and an entry here: no promise, controller or closure of its own. Every
 * sink gets the same unhook, which finds where the sink is now.
 */
export class WatchSwitch {
  readonly #feed: NamespaceFeed;
  readonly #sharing: WatchSharing;
  /** Each attached sink: its own watch, or (hooked onto the feed) the service's own source, for a move off it. */
  readonly #attached = new Map<AttachedSink<string>, OwnWatch | KubernetesSource>();
  /** Own watches moved onto the feed, still letting go of their connections. */
  readonly #lettingGo = new Set<Promise<void>>();
  #closed = false;

  constructor(feed: NamespaceFeed, options: SwitchOptions) {
    this.#feed = feed;
    this.#sharing = new WatchSharing(options.mode, options.threshold, options.eligible, () => this.#flip());
  }

  /** One service's source for core's engine, on its own list + watch or on the feed. */
  source(service: string, own: KubernetesSource, backoff: ServiceSource['backoff']): ServiceSource<string> {
    return new SwitchingSource(service, own, this, backoff);
  }

  async list(own: KubernetesSource, service: string, signal: AbortSignal): Promise<ListResult<string>> {
    this.#sharing.enter(service);
    try {
      await gather();
      if (this.#sharing.shared) return { instances: await this.#feed.snapshot(service, signal), position: fromFeed };
      return await own.list(signal);
    } finally {
      this.#sharing.leave(service);
    }
  }

  attach(own: KubernetesSource, position: string, sink: AttachedSink<string>): Unhook<string> {
    if (this.#closed) {
      sink.end(new ClosedError('kubernetes provider'));
      return noop;
    }
    // May flip the mode: the move that follows finds this sink where the new mode puts it.
    this.#sharing.enter(sink.service);
    this.#hook(sink, own, position);
    return this.#unhook;
  }

  /** Resolves once the own watches moved onto the feed have let go of their connections. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all(this.#lettingGo);
  }

  #hook(sink: AttachedSink<string>, own: KubernetesSource, position: string): void {
    if (this.#sharing.shared) {
      this.#attached.set(sink, own);
      this.#feed.attach(sink.service, sink);
    } else {
      this.#attached.set(sink, new OwnWatch(own, position, sink, this));
    }
  }

  readonly #unhook: Unhook<string> = (sink) => {
    const at = this.#attached.get(sink);
    if (at === undefined) return;
    this.#attached.delete(sink);
    const letGo = at instanceof OwnWatch ? at.stop() : this.#feed.detach(sink);
    this.#sharing.leave(sink.service);
    return letGo;
  };

  /** An own watch ended by itself (its engine hears the end next, and attaches again). */
  ended(watch: OwnWatch): void {
    if (this.#attached.get(watch.sink) !== watch) return;
    this.#attached.delete(watch.sink);
    this.#sharing.leave(watch.service);
  }

  /** Moves every attached sink to where the mode now says. */
  #flip(): void {
    if (this.#closed) return;
    for (const [sink, at] of [...this.#attached]) {
      // A delivery of an earlier move may have made an engine unhook or attach meanwhile.
      if (this.#attached.get(sink) !== at) continue;
      if ((at instanceof OwnWatch) !== this.#sharing.shared) continue; // already where the mode says
      if (at instanceof OwnWatch) {
        const letGo = at.stop().catch(noop);
        this.#lettingGo.add(letGo);
        void letGo.then(() => this.#lettingGo.delete(letGo));
        this.#hook(sink, at.source, fromFeed);
      } else {
        this.#feed.detach(sink);
        this.#hook(sink, at, fromFeed);
      }
    }
  }
}

/**
 * One service's source for core's engine: it lists and attaches through the provider's
 * {@link WatchSwitch}, with the service's own list + watch for when it is not shared.
 */
class SwitchingSource implements ServiceSource<string> {
  readonly #service: string;
  readonly #own: KubernetesSource;
  readonly #switch: WatchSwitch;
  readonly backoff: ServiceSource['backoff'];

  constructor(service: string, own: KubernetesSource, watchSwitch: WatchSwitch, backoff: ServiceSource['backoff']) {
    this.#service = service;
    this.#own = own;
    this.#switch = watchSwitch;
    this.backoff = backoff;
  }

  list(signal: AbortSignal): Promise<ListResult<string>> {
    return this.#switch.list(this.#own, this.#service, signal);
  }

  attach(position: string, sink: AttachedSink<string>): Unhook<string> {
    return this.#switch.attach(this.#own, position, sink);
  }
}

import { abortable, delay } from '../abort.js';
import { Backoff, jitter, type BackoffOptions } from '../backoff.js';
import { channels, difference } from '../diagnostics.js';
import { maxDurationMs } from '../duration.js';
import { ClosedError, InvalidRecordError, ProviderUnavailableError, type DiscoveryError } from '../errors.js';
import { applyFilter, healthyFilter, type InstanceFilter } from '../instance-filter.js';
import type { ProviderEvent, Unsubscribe, WatchEvent, WatchListener } from '../provider.js';
import type { Instance } from '../service.js';
import { sameSnapshot } from '../snapshot.js';
import { toDiscoveryError } from '../to-discovery-error.js';
import { instanceProblem } from './instance-check.js';
import { InstanceSet } from './instance-set.js';
import { RateLimiter } from './rate-limiter.js';
import type { FollowEnd, FollowSink, ServiceSource } from './source.js';

/** What the engine tells its owner (a Discovery, or a provider's own `watch`). */
export interface EngineHooks {
  /** An outage began (once per outage, not per retry), or the last snapshot expired. */
  error(error: DiscoveryError): void;
  /** Something worth an event: a skipped record, a re-list that found missed changes, a recovery. */
  event(event: ProviderEvent): void;
  /** A subscriber's listener threw; the others were still called. */
  listenerError(error: unknown): void;
}

export interface EngineOptions {
  /** The service this engine follows. */
  readonly name: string;
  /** Names the provider in errors that are not DiscoveryErrors already. */
  readonly provider: string;
  /** The source, created on first use (a provider may still be loading). */
  readonly source: () => ServiceSource | Promise<ServiceSource>;
  readonly hooks: EngineHooks;
  /** Retry delays after failures (full jitter). Default 100ms growing ×2 to 30s. */
  readonly backoff?: BackoffOptions | undefined;
  /** Bound on lists and follows started per second, whatever the server answers. Default 5/s, burst 10. */
  readonly rate?: { readonly perSecond: number; readonly burst: number } | undefined;
  /** How long a snapshot read without a watch is fresh. Default 10s. */
  readonly ttlMs?: number | undefined;
  /** How long the last good snapshot is served while the source fails. Default: for ever. */
  readonly maxStaleMs?: number | undefined;
  readonly now?: (() => number) | undefined;
  readonly random?: (() => number) | undefined;
}

/** A follow shorter than this that received nothing counts as a failure (client-go's rule). */
export const minHealthyFollowMs = 1_000;

interface Subscriber {
  readonly filter: InstanceFilter;
  readonly listener: WatchListener;
  /** What this subscriber saw last; undefined after an error, so that recovery is always delivered. */
  last: readonly Instance[] | undefined;
  /** Whether `last` was the set's own snapshot (not a filtered copy). */
  lastRaw: boolean;
}

interface Run {
  readonly signal: AbortSignal;
  received: boolean;
  live: boolean;
  /** Where the next follow starts (the list's position, moved on by replace/advance). */
  position: unknown;
}

const empty: readonly Instance[] = [];

/**
 * Core's watch engine: the one place that turns a provider's {@link ServiceSource} into the
 * snapshots subscribers see, for one service name (go-kit's `instance.Cache`, carried through).
 * Its rules, which the conformance suite pins for every provider:
 * 1. One source run per engine, however many subscribers.
 * 2. A new subscriber gets the current state at once (and the error, while the source fails).
 * 3. An outage is one `{error}` per subscriber, not one per retry; recovery always delivers a
 *    snapshot, even an unchanged one. The last good snapshot is served up to `maxStale`.
 * 4. Retries back off with full jitter; the backoff resets once a follow has stayed up for a
 *    second, never because something (even garbage) arrived.
 * 5. A follow that ends cleanly is resumed at once from its position; only one that ends in
 *    under a second having received nothing counts as a failure. Requests are rate-limited.
 * 6. A periodic re-list (`resyncMs`) catches what a silent stream hides; snapshots keep
 *    unchanged `Instance` objects and are never equal twice in a row.
 * 7. Reads without a watch are stale-while-revalidate: after the TTL the cached snapshot is
 *    returned at once and refreshed in the background; only a cold read waits.
 * 8. A subscriber that joined during an outage recovers when the source does.
 */
export class WatchEngine {
  readonly name: string;
  readonly #options: EngineOptions;
  readonly #set = new InstanceSet();
  readonly #subscribers = new Set<Subscriber>();
  #backoff: Backoff;
  #limiter: RateLimiter;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #ttlMs: number;
  readonly #maxStaleMs: number;
  /** Problems already reported while they stay bad, so a re-list does not repeat them. */
  #reported: Set<string> | undefined;
  /** The skipped records the last full list reported (`ListResult.invalid`). */
  #listInvalid: Set<string> | undefined;
  #snapshot: readonly Instance[] | undefined;
  #healthy: readonly Instance[] = empty;
  #stale: DiscoveryError | undefined;
  #staleSince: number | undefined;
  #staleTimer: NodeJS.Timeout | undefined;
  #expired = false;
  #run: AbortController | undefined;
  /** Source runs not finished yet (a stopped one may still be letting go of its stream). */
  readonly #loops = new Set<Promise<void>>();
  /** Aborts reads in flight on close. */
  #closing: AbortController | undefined;
  #synced = false;
  #fetchedAt = 0;
  #refreshAt = 0;
  #inflight: Promise<void> | undefined;
  #publishQueued = false;
  #closed = false;

  constructor(options: EngineOptions) {
    this.name = options.name;
    this.#options = options;
    this.#now = options.now ?? (() => performance.now());
    this.#random = options.random ?? Math.random;
    this.#backoff = new Backoff({ random: this.#random, ...options.backoff });
    this.#limiter = new RateLimiter(options.rate?.perSecond ?? 5, options.rate?.burst ?? 10, this.#now);
    this.#ttlMs = options.ttlMs ?? 10_000;
    this.#maxStaleMs = options.maxStaleMs ?? Infinity;
  }

  /** Whether a source run is following the backend (somebody subscribes). */
  get following(): boolean {
    return this.#run !== undefined;
  }

  /** While the source fails: the error subscribers were told (cleared by the next full list). */
  get error(): DiscoveryError | undefined {
    return this.#stale;
  }

  /** The snapshot, when it is current: followed and synced, not failing. */
  get fresh(): readonly Instance[] | undefined {
    return this.#run && this.#synced && !this.#stale ? this.#snapshot : undefined;
  }

  /** Adds a subscriber: the current state first, then every change it can see. */
  subscribe(filter: InstanceFilter, listener: WatchListener): Unsubscribe {
    if (this.#closed) throw new ClosedError(`the watch of "${this.name}"`);
    const subscriber: Subscriber = { filter, listener, last: undefined, lastRaw: false };
    this.#subscribers.add(subscriber);
    if (!this.#run) this.#start();
    if (this.#snapshot || this.#stale) {
      queueMicrotask(() => {
        if (!this.#subscribers.has(subscriber) || subscriber.last !== undefined) return;
        if (this.#snapshot) this.#deliver(subscriber);
        if (this.#stale) {
          // Like every subscriber told of the outage: the recovery must reach it, even unchanged.
          subscriber.last = undefined;
          this.#call(subscriber, { error: this.#stale });
        }
      });
    }
    return () => {
      if (!this.#subscribers.delete(subscriber) || this.#subscribers.size > 0) return;
      this.#stop();
    };
  }

  /** The current snapshot through `filter`; reads the backend only for a cold or expired cache. */
  async read(filter: InstanceFilter, signal?: AbortSignal): Promise<readonly Instance[]> {
    if (this.#snapshot && !this.#expired) {
      if (this.#run && this.#synced) return this.#view(filter);
      if (this.#now() >= this.#refreshAt && !this.#inflight) this.#refresh().catch(() => {});
      // Stale-while-revalidate: past the TTL the cached answer still comes at once.
      return this.#view(filter);
    }
    try {
      await abortable(this.#refresh(), signal, `discover("${this.name}")`);
    } catch (error) {
      if (this.#snapshot && !this.#expired && (error as DiscoveryError).code !== 'ERR_ABORTED') return this.#view(filter);
      throw error;
    }
    return this.#view(filter);
  }

  /**
   * Stops for good; subscribers still attached hear `reason` (e.g. ERR_CLOSED) last. Resolves
   * once every source run has let go of its requests and streams.
   */
  async close(reason?: DiscoveryError): Promise<void> {
    if (!this.#closed) {
      if (reason) for (const subscriber of this.#subscribers) this.#call(subscriber, { error: reason });
      this.#closed = true;
      this.#subscribers.clear();
      this.#stop();
      this.#closing?.abort();
      clearTimeout(this.#staleTimer);
    }
    await Promise.allSettled([...this.#loops, ...(this.#inflight ? [this.#inflight] : [])]);
  }

  #view(filter: InstanceFilter): readonly Instance[] {
    if (this.#expired || !this.#snapshot) return empty;
    if (filter === healthyFilter) return this.#healthy;
    return applyFilter(this.#snapshot, filter);
  }

  // ---- the source run ----------------------------------------------------------------

  #start(): void {
    const controller = new AbortController();
    this.#run = controller;
    const loop = this.#loop(controller.signal).catch((error: unknown) => {
      // Only a bug gets here; say so rather than leave the watch dead without a word.
      this.#options.hooks.listenerError(error);
    });
    this.#loops.add(loop);
    void loop.finally(() => this.#loops.delete(loop));
  }

  #stop(): void {
    this.#run?.abort();
    this.#run = undefined;
    if (this.#synced) {
      // From here on the snapshot ages like a fresh read.
      this.#synced = false;
      this.#fetchedAt = this.#now();
      this.#refreshAt = this.#nextRefreshAt();
    }
  }

  async #loop(signal: AbortSignal): Promise<void> {
    let source: ServiceSource;
    for (;;) {
      try {
        source = await this.#options.source();
        // The provider's own tuning, where it gives one, wins over the engine's defaults.
        if (source.backoff) this.#backoff = new Backoff({ random: this.#random, ...this.#options.backoff, ...source.backoff });
        if (source.rate) this.#limiter = new RateLimiter(source.rate.perSecond, source.rate.burst, this.#now);
        break;
      } catch (error) {
        if (signal.aborted) return;
        this.#fail(error);
        if (!(await this.#sleep(this.#backoff.next(), signal))) return;
      }
    }
    let needList = true;
    let resyncing = false;
    let position: unknown;
    while (!signal.aborted) {
      if (needList) {
        let result;
        try {
          await this.#limiter.take(signal);
          result = await source.list(signal);
        } catch (error) {
          if (signal.aborted) return;
          this.#fail(error);
          if (!(await this.#sleep(this.#backoff.next(), signal))) return;
          continue;
        }
        if (signal.aborted) return;
        const before = this.#snapshot;
        this.#accept(result.instances, result.invalid);
        this.#synced = true;
        if (resyncing && this.#snapshot !== before) {
          this.#options.hooks.event({ type: 'resync', service: this.name, message: `a re-list of "${this.name}" found changes the watch had not delivered` });
        }
        resyncing = false;
        needList = false;
        if (!source.follow) {
          this.#backoff.reset();
          const wait = (result.refreshMs ?? source.pollMs ?? 30_000) * (1 + 0.1 * this.#random());
          if (!(await this.#sleep(wait, signal))) return;
          needList = true;
          continue;
        }
        position = result.position;
      }
      const follow = source.follow!;
      // One controller per follow, tied to the run by a listener: whatever a source leaves on its
      // follow's signal goes with it (AbortSignal.any would keep a registry of weak references).
      const resyncMs = source.resyncMs ?? 0;
      // A subscriber may have left while the list was delivered: then there is nothing to follow.
      if (signal.aborted) return;
      const stopFollow = new AbortController();
      const stopWithRun = () => stopFollow.abort();
      signal.addEventListener('abort', stopWithRun, { once: true });
      const run: Run = { signal: stopFollow.signal, received: false, live: true, position };
      const resyncTimer =
        resyncMs > 0
          ? setTimeout(() => {
              resyncing = true;
              stopFollow.abort();
            }, Math.min(maxDurationMs, jitter(resyncMs, 0.1, this.#random)))
          : undefined;
      const started = this.#now();
      let end: FollowEnd | undefined;
      let failure: unknown;
      let failed = false;
      try {
        await this.#limiter.take(run.signal);
        end = await follow.call(source, position, new WatchEngine.#Sink(this, run), run.signal);
      } catch (error) {
        failed = true;
        failure = error;
      }
      run.live = false;
      position = run.position;
      clearTimeout(resyncTimer);
      signal.removeEventListener('abort', stopWithRun);
      stopFollow.abort();
      this.#flush();
      if (signal.aborted) return;
      if (resyncing) {
        needList = true;
        continue;
      }
      const healthy = this.#now() - started >= minHealthyFollowMs;
      if (healthy) this.#backoff.reset();
      if (failed) {
        this.#fail(failure);
        needList = true;
        if (!(await this.#sleep(this.#backoff.next(), signal))) return;
      } else if (end === 'relist') {
        this.#options.hooks.event({ type: 'resync', service: this.name, message: `the watch position of "${this.name}" is gone (compacted, or 410 Gone); listing again` });
        needList = true;
        if (!healthy && !(await this.#sleep(this.#backoff.next(), signal))) return;
      } else if (!healthy && !run.received) {
        // A clean end that came at once with nothing in it is a server going away, not a watch that ran its course.
        if (!(await this.#sleep(this.#backoff.next(), signal))) return;
      }
    }
  }

  /**
   * What a follow writes into: one small object per follow with its methods on the prototype
   * (closures per follow cost ~0.5 KB for each of thousands of watched services). Nested in the
   * engine's class body so it may reach the engine's private state.
   */
  static readonly #Sink = class Sink implements FollowSink {
    readonly #engine: WatchEngine;
    readonly #run: Run;

    constructor(engine: WatchEngine, run: Run) {
      this.#engine = engine;
      this.#run = run;
    }

    /** Whether this follow may still write (not ended, not stopped). */
    #take(): boolean {
      const run = this.#run;
      if (!run.live || run.signal.aborted) return false;
      run.received = true;
      return true;
    }

    replace(instances: Iterable<Instance>, position?: unknown): void {
      if (!this.#take()) return;
      const engine = this.#engine;
      if (position !== undefined) this.#run.position = position;
      if (engine.#stale) return engine.#accept(instances);
      if (engine.#set.replace(engine.#checked(instances)) || engine.#publishQueued) {
        engine.#publishQueued = true;
        engine.#flush();
      }
    }

    upsert(instance: Instance): void {
      if (!this.#take()) return;
      const engine = this.#engine;
      const problem = instanceProblem(instance);
      if (problem) return engine.#invalid(new InvalidRecordError(`instance of "${engine.name}"`, problem));
      if (engine.#set.upsert(instance)) engine.#queuePublish();
    }

    remove(id: string): void {
      if (this.#take() && this.#engine.#set.remove(id)) this.#engine.#queuePublish();
    }

    advance(position: unknown): void {
      if (this.#take()) this.#run.position = position;
    }

    invalid(error: InvalidRecordError): void {
      if (this.#run.live && !this.#run.signal.aborted) this.#engine.#invalid(error);
    }

    stale(error: DiscoveryError): void {
      if (this.#run.live && !this.#run.signal.aborted) this.#engine.#fail(error);
    }
  };

  /** Waits `ms` (clamped to what a timer can hold); false when the run was stopped meanwhile. */
  async #sleep(ms: number, signal: AbortSignal): Promise<boolean> {
    try {
      await delay(Math.min(maxDurationMs, Math.max(0, ms)), signal);
      return true;
    } catch {
      return false;
    }
  }

  // ---- reads without a watch ----------------------------------------------------------

  #refresh(): Promise<void> {
    this.#inflight ??= (async () => {
      try {
        const source = await this.#options.source();
        this.#closing ??= new AbortController();
        const result = await source.list(this.#closing.signal);
        if (this.#closed) return;
        this.#backoff.reset();
        this.#accept(result.instances, result.invalid);
      } catch (error) {
        const failure = this.#fail(error);
        // A failing backend is not read again by every read: the next try waits a backoff.
        this.#refreshAt = this.#now() + this.#backoff.next();
        throw failure;
      } finally {
        this.#inflight = undefined;
      }
    })();
    return this.#inflight;
  }

  #nextRefreshAt(): number {
    // Refresh-ahead: a read in the last stretch of the TTL (a jittered 75–95 %) refreshes in the background.
    return this.#fetchedAt + this.#ttlMs * (0.75 + 0.2 * this.#random());
  }

  // ---- state and delivery -------------------------------------------------------------

  /** A full list arrived: the state is exactly this, and the source is healthy again. */
  #accept(instances: Iterable<Instance>, invalid: readonly InvalidRecordError[] = []): void {
    // A list's skipped records are reported once while they stay bad: one that a later list no
    // longer skips is forgotten, so it is reported again if it goes bad again.
    if (invalid.length > 0 || this.#listInvalid) {
      const listed = new Set(invalid.map((error) => error.message));
      for (const message of this.#listInvalid ?? []) if (!listed.has(message)) this.#reported?.delete(message);
      this.#listInvalid = listed.size > 0 ? listed : undefined;
    }
    for (const error of invalid) this.#invalid(error);
    this.#set.replace(this.#checked(instances));
    this.#fetchedAt = this.#now();
    this.#refreshAt = this.#nextRefreshAt();
    const recovered = this.#stale !== undefined;
    if (recovered && channels.watchRecovered.hasSubscribers) {
      channels.watchRecovered.publish({ service: this.name, provider: this.#options.provider, staleMs: this.#now() - (this.#staleSince ?? this.#now()) });
    }
    this.#stale = undefined;
    this.#staleSince = undefined;
    this.#expired = false;
    clearTimeout(this.#staleTimer);
    this.#staleTimer = undefined;
    this.#publishQueued = false;
    this.#publish();
    if (recovered) this.#options.hooks.event({ type: 'reconnected', service: this.name, message: `"${this.name}" is back in sync with ${this.#options.provider}` });
  }

  /** Drops (and reports) what is not a well-formed instance, so no provider can hand out a broken one. */
  #checked(instances: Iterable<Instance>): Instance[] {
    const kept: Instance[] = [];
    for (const instance of instances) {
      const problem = instanceProblem(instance);
      if (problem) this.#invalid(new InvalidRecordError(`instance of "${this.name}"`, problem));
      else kept.push(instance);
    }
    return kept;
  }

  #queuePublish(): void {
    if (this.#publishQueued) return;
    this.#publishQueued = true;
    // Changes made in one turn of the event loop (a watch response, a rolling update) are one snapshot.
    queueMicrotask(() => this.#flush());
  }

  #flush(): void {
    if (!this.#publishQueued) return;
    this.#publishQueued = false;
    this.#fetchedAt = this.#now();
    this.#publish();
  }

  #publish(): void {
    const next = this.#set.snapshot();
    if (next !== this.#snapshot) {
      const previous = this.#snapshot ?? empty;
      this.#snapshot = next;
      this.#healthy = this.#set.unhealthy === 0 ? next : applyFilter(next, healthyFilter);
      if (channels.snapshot.hasSubscribers) {
        const { name: service, provider } = this.#options;
        channels.snapshot.publish({ service, provider, instances: next.length, healthy: next.length - this.#set.unhealthy, added: difference(next, previous), removed: difference(previous, next) });
      }
    }
    for (const subscriber of this.#subscribers) this.#deliver(subscriber);
  }

  #fail(cause: unknown): DiscoveryError {
    const error = toDiscoveryError(cause, this.#options.provider);
    if (this.#closed) return error;
    const first = this.#stale === undefined;
    this.#stale = error;
    if (!first) return error;
    this.#staleSince = this.#now();
    if (channels.watchError.hasSubscribers) channels.watchError.publish({ service: this.name, provider: this.#options.provider, error });
    this.#options.hooks.error(error);
    if (this.#snapshot && Number.isFinite(this.#maxStaleMs)) {
      this.#staleTimer = setTimeout(() => this.#expire(), Math.min(maxDurationMs, this.#maxStaleMs));
    }
    for (const subscriber of this.#subscribers) {
      subscriber.last = undefined;
      this.#call(subscriber, { error });
    }
    return error;
  }

  /** The last good snapshot is now older than maxStale: stop serving it. */
  #expire(): void {
    this.#expired = true;
    this.#staleTimer = undefined;
    const error = new ProviderUnavailableError(this.#options.provider, `"${this.name}": the backend has failed for longer than maxStale (${this.#maxStaleMs} ms); the last snapshot is no longer served`);
    this.#options.hooks.error(error);
    for (const subscriber of this.#subscribers) {
      this.#call(subscriber, { error });
      this.#deliver(subscriber);
    }
  }

  #invalid(error: InvalidRecordError): void {
    this.#reported ??= new Set();
    if (this.#reported.has(error.message)) return;
    if (this.#reported.size >= 10_000) this.#reported.clear();
    this.#reported.add(error.message);
    this.#options.hooks.event({ type: 'invalid-record', service: this.name, message: error.message, error });
  }

  #deliver(subscriber: Subscriber): void {
    const view = this.#view(subscriber.filter);
    const raw = view === this.#snapshot;
    if (subscriber.last !== undefined && view === subscriber.last) return;
    // The set's own snapshot is a new array only when something changed: from one of those to
    // the next needs no comparing (an O(n) walk saved per change); a derived view does.
    if (subscriber.last !== undefined && !(raw && subscriber.lastRaw) && sameSnapshot(subscriber.last, view)) return;
    subscriber.last = view;
    subscriber.lastRaw = raw;
    this.#call(subscriber, { instances: view });
  }

  #call(subscriber: Subscriber, event: WatchEvent): void {
    try {
      subscriber.listener(event);
    } catch (error) {
      this.#options.hooks.listenerError(error);
    }
  }
}

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
import { attachFollow } from './attach-follow.js';
import { instanceProblem } from './instance-check.js';
import { InstanceSet } from './instance-set.js';
import { RateLimiter } from './rate-limiter.js';
import type { AttachedSink, FollowEnd, ServiceSource, Unhook } from './source.js';

/** What the engine tells its owner (a Discovery, or a provider's own `watch`). */
export interface EngineHooks {
  /** An outage of `service` began (once per outage, not per retry), or its last snapshot expired. */
  error(error: DiscoveryError, service: string): void;
  /** Something worth an event: a skipped record, a re-list that found missed changes, a recovery. */
  event(event: ProviderEvent): void;
  /** A subscriber's listener threw; the others were still called. */
  listenerError(error: unknown, service: string): void;
}

/**
 * What every engine of one owner shares (one object for all of a Discovery's services: a
 * watched service costs its own state only).
 */
export interface EngineOptions {
  /** Names the provider in errors that are not DiscoveryErrors already. */
  readonly provider: string;
  /** The source of one service, created when its engine first needs it (a provider may still be loading). */
  readonly source: (name: string) => ServiceSource | Promise<ServiceSource>;
  readonly hooks: EngineHooks;
  /** Retry delays after failures (full jitter), unless the source brings its own. Default 100ms growing ×2 to 30s. */
  readonly backoff?: BackoffOptions | undefined;
  /** Bound on lists and follows started per second, unless the source brings its own. Default 5/s, burst 10. */
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
  /** Unsubscribed (a delivery already under way skips it). */
  gone: boolean;
}

/** From the first subscriber to the last: the source's lists and follows. */
interface Run {
  stopped: boolean;
  /** Aborts the list or wait under way; none while following, so a followed service holds no controller. */
  controller: AbortController | undefined;
  /** The follow under way. */
  follow: Follow | undefined;
  /** Where the next follow starts (the list's position, moved on by replace/advance). */
  position: unknown;
  /** The re-list under way was started by `resyncMs` (a change it finds is reported). */
  resyncing: boolean;
}

/** One follow: the sink its source writes into, and what the engine keeps about it. */
interface Follow extends AttachedSink {
  readonly run: Run;
  readonly started: number;
  /** Still delivering: not ended, not let go of. */
  live: boolean;
  /** The engine let go of it (stop, resync): it is to be unhooked. */
  released: boolean;
  /** Something real arrived (the clean-end rule). */
  received: boolean;
  position: unknown;
  detach: Unhook | undefined;
  resyncTimer: NodeJS.Timeout | undefined;
}

const empty: readonly Instance[] = [];
const none: readonly Subscriber[] = [];

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
 *
 * A followed service waits on nothing: lists and waits run as short async steps, and a follow
 * is a sink the source (or the engine, for a `follow` with its own stream) ends by callback.
 */
export class WatchEngine {
  readonly name: string;
  readonly #options: EngineOptions;
  readonly #set = new InstanceSet();
  /** Replaced, never changed in place: a delivery under way walks the array it started with. */
  #subscribers = none;
  #backoff: Backoff | undefined;
  #limiter: RateLimiter | undefined;
  /** The source, once made (kept: lists, follows and reads all use it). */
  #source: ServiceSource | undefined;
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
  #run: Run | undefined;
  /** Steps and follows not settled yet (a stopped follow may still be letting go of its stream). */
  #busy = 0;
  /** What `close()` waits on while something is under way (one for every caller), and what settles it. */
  #idle: { readonly reached: Promise<void>; readonly resolve: () => void } | undefined;
  /** Aborts reads in flight on close. */
  #closing: AbortController | undefined;
  #synced = false;
  /** When a read without a watch refreshes in the background (kept only without a run: a followed snapshot is current). */
  #refreshAt = 0;
  #inflight: Promise<void> | undefined;
  #publishQueued = false;
  #closed = false;

  /** `options` may be shared by any number of engines. */
  constructor(name: string, options: EngineOptions) {
    this.name = name;
    this.#options = options;
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
    const subscriber: Subscriber = { filter, listener, last: undefined, lastRaw: false, gone: false };
    this.#subscribers = [...this.#subscribers, subscriber];
    if (!this.#run) this.#start();
    if (this.#snapshot || this.#stale) {
      queueMicrotask(() => {
        if (subscriber.gone || subscriber.last !== undefined) return;
        if (this.#snapshot) this.#deliver(subscriber);
        if (this.#stale) {
          // Like every subscriber told of the outage: the recovery must reach it, even unchanged.
          subscriber.last = undefined;
          this.#call(subscriber, { error: this.#stale });
        }
      });
    }
    return () => {
      if (subscriber.gone) return;
      subscriber.gone = true;
      this.#subscribers = this.#subscribers.filter((other) => other !== subscriber);
      if (this.#subscribers.length === 0) this.#stop();
    };
  }

  /** The current snapshot through `filter`; reads the backend only for a cold or expired cache. */
  async read(filter: InstanceFilter, signal?: AbortSignal): Promise<readonly Instance[]> {
    if (this.#snapshot && !this.#expired) {
      if (this.#run && this.#synced) return this.#view(filter);
      if (this.#clock() >= this.#refreshAt && !this.#inflight) this.#refresh().catch(() => {});
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
      for (const subscriber of this.#subscribers) subscriber.gone = true;
      this.#subscribers = none;
      this.#stop();
      this.#closing?.abort();
      clearTimeout(this.#staleTimer);
    }
    if (this.#busy > 0) {
      if (!this.#idle) {
        let resolve!: () => void;
        const reached = new Promise<void>((done) => (resolve = done));
        this.#idle = { reached, resolve };
      }
      await this.#idle.reached;
    }
    if (this.#inflight) await this.#inflight.catch(() => {});
  }

  #view(filter: InstanceFilter): readonly Instance[] {
    if (this.#expired || !this.#snapshot) return empty;
    if (filter === healthyFilter) return this.#healthy;
    return applyFilter(this.#snapshot, filter);
  }

  #clock(): number {
    return this.#options.now ? this.#options.now() : performance.now();
  }

  #random(): number {
    return this.#options.random ? this.#options.random() : Math.random();
  }

  // ---- the source run ----------------------------------------------------------------

  #start(): void {
    const run: Run = { stopped: false, controller: undefined, follow: undefined, position: undefined, resyncing: false };
    this.#run = run;
    this.#step(run, true, 0);
  }

  #stop(): void {
    const run = this.#run;
    if (run) {
      this.#run = undefined;
      run.stopped = true;
      run.controller?.abort();
      const follow = run.follow;
      if (follow) this.#release(follow);
    }
    if (this.#synced) {
      // From here on the snapshot ages like a fresh read.
      this.#synced = false;
      this.#refreshAt = this.#nextRefreshAt();
    }
  }

  /** In the background: after `waitMs`, list when `needList` (retrying with backoff), then follow. */
  #step(run: Run, needList: boolean, waitMs: number): void {
    this.#track(this.#prepare(run, needList, waitMs));
  }

  async #prepare(run: Run, needList: boolean, waitMs: number): Promise<void> {
    const controller = new AbortController();
    run.controller = controller;
    const signal = controller.signal;
    let source: ServiceSource;
    try {
      if (waitMs > 0 && !(await this.#sleep(waitMs, signal))) return;
      for (;;) {
        try {
          if (this.#source) source = this.#source;
          else {
            const made = this.#options.source(this.name);
            source = this.#made(made instanceof Promise ? await made : made);
          }
          break;
        } catch (error) {
          if (signal.aborted) return;
          this.#fail(error);
          if (!(await this.#sleep(this.#retryDelay(), signal))) return;
        }
      }
      while (needList) {
        let result;
        try {
          const token = this.#limiter!.take(signal);
          if (token) await token;
          result = await source.list(signal);
        } catch (error) {
          if (signal.aborted) return;
          this.#fail(error);
          if (!(await this.#sleep(this.#retryDelay(), signal))) return;
          continue;
        }
        if (signal.aborted) return;
        const before = this.#snapshot;
        this.#accept(result.instances, result.invalid);
        this.#synced = true;
        if (run.resyncing && this.#snapshot !== before) this.#missed();
        run.resyncing = false;
        // A subscriber may have left while the list was delivered: then there is nothing to follow.
        if (signal.aborted) return;
        if (!source.follow && !source.attach) {
          this.#backoff?.reset();
          const wait = (result.refreshMs ?? source.pollMs ?? 30_000) * (1 + 0.1 * this.#random());
          if (!(await this.#sleep(wait, signal))) return;
          continue;
        }
        run.position = result.position;
        needList = false;
      }
      try {
        const token = this.#limiter!.take(signal);
        if (token) await token;
      } catch {
        return; // stopped while waiting for a token
      }
    } finally {
      if (run.controller === controller) run.controller = undefined;
    }
    if (!run.stopped) this.#follow(run, source);
  }

  /** Keeps the source; its own backoff and rate bound, where it gives them, win over the engine's defaults. */
  #made(source: ServiceSource): ServiceSource {
    if (this.#source) return this.#source;
    this.#source = source;
    // A backoff made before the source was (its factory failed) is made again with its options.
    if (source.backoff) this.#backoff = undefined;
    const rate = source.rate ?? this.#options.rate;
    this.#limiter = new RateLimiter(rate?.perSecond ?? 5, rate?.burst ?? 10, this.#options.now);
    return source;
  }

  #retryDelay(): number {
    this.#backoff ??= new Backoff({ random: this.#options.random, ...this.#options.backoff, ...this.#source?.backoff });
    return this.#backoff.next();
  }

  #follow(run: Run, source: ServiceSource): void {
    const follow = new WatchEngine.#Follow(this, run, this.#clock());
    run.follow = follow;
    const resyncMs = source.resyncMs ?? 0;
    if (resyncMs > 0) {
      follow.resyncTimer = setTimeout(() => {
        run.resyncing = true;
        this.#release(follow);
        this.#ended(follow, 'ended');
      }, Math.min(maxDurationMs, jitter(resyncMs, 0.1, this.#options.random)));
    }
    let detach: Unhook;
    try {
      detach = source.attach ? source.attach(run.position, follow) : attachFollow(source.follow!.bind(source), run.position, follow);
    } catch (error) {
      // An attach that throws fails like a follow that rejects: the engine lists again after its backoff.
      follow.end(error as DiscoveryError);
      return;
    }
    if (follow.live) follow.detach = detach;
    // Let go of during attach (a listener left on the state it was handed): unhook it now. One
    // that the stream ended at once (nothing to follow from there) is not unhooked.
    else if (follow.released) this.#letGo(detach(follow));
  }

  /** The engine lets go of a follow (stop, resync): later deliveries and its end are ignored. */
  #release(follow: Follow): void {
    if (!follow.live) return;
    follow.live = false;
    follow.released = true;
    clearTimeout(follow.resyncTimer);
    const detach = follow.detach;
    follow.detach = undefined;
    this.#flush();
    if (detach) this.#letGo(detach(follow));
  }

  /** A stream of its own may take a while to let go: close() waits for it. */
  #letGo(unhooked: void | Promise<void>): void {
    if (unhooked) this.#track(unhooked.catch(() => {})); // how it let go is the source's business
  }

  /** A follow ended (by its source, or for a resync): what to do next (rules 4 and 5). */
  #ended(follow: Follow, result: FollowEnd | DiscoveryError): void {
    const run = follow.run;
    follow.live = false;
    clearTimeout(follow.resyncTimer);
    if (run.follow === follow) run.follow = undefined;
    this.#flush();
    if (run.stopped) return;
    run.position = follow.position;
    if (run.resyncing) return this.#step(run, true, 0);
    const healthy = this.#clock() - follow.started >= minHealthyFollowMs;
    if (healthy) this.#backoff?.reset();
    if (result !== 'ended' && result !== 'relist') {
      this.#fail(result);
      return this.#step(run, true, this.#retryDelay());
    }
    if (result === 'relist') {
      this.#options.hooks.event({ type: 'resync', service: this.name, message: `the watch position of "${this.name}" is gone (compacted, or 410 Gone); listing again` });
      return this.#step(run, true, healthy ? 0 : this.#retryDelay());
    }
    // A clean end that came at once with nothing in it is a server going away, not a watch that ran its course.
    this.#step(run, false, !healthy && !follow.received ? this.#retryDelay() : 0);
  }

  /** Counts `work` as under way until it settles (`close()` waits for all of it). */
  #track(work: Promise<void>): void {
    this.#busy++;
    work.then(
      () => this.#settled(),
      (error: unknown) => {
        // Only a bug gets here; say so rather than leave the watch dead without a word.
        this.#options.hooks.listenerError(error, this.name);
        this.#settled();
      },
    );
  }

  #settled(): void {
    if (--this.#busy > 0) return;
    this.#idle?.resolve();
    this.#idle = undefined;
  }

  /**
   * One follow: the sink its source writes into, with its methods on the prototype (closures per
   * follow would cost ~0.5 KB for each of thousands of watched services). Nested in the engine's
   * class body so it may reach the engine's private state.
   */
  static readonly #Follow = class implements Follow {
    readonly #engine: WatchEngine;
    readonly run: Run;
    readonly started: number;
    /** Still delivering: not ended, not let go of. */
    live = true;
    released = false;
    /** Something real arrived (the clean-end rule). */
    received = false;
    position: unknown;
    detach: Unhook | undefined;
    resyncTimer: NodeJS.Timeout | undefined;

    constructor(engine: WatchEngine, run: Run, started: number) {
      this.#engine = engine;
      this.run = run;
      this.started = started;
      this.position = run.position;
    }

    #take(): boolean {
      if (!this.live) return false;
      this.received = true;
      return true;
    }

    replace(instances: Iterable<Instance>, position?: unknown): void {
      if (!this.#take()) return;
      const engine = this.#engine;
      if (position !== undefined) this.position = position;
      if (engine.#stale) return engine.#accept(instances);
      if (engine.#set.replace(engine.#checked(instances)) || engine.#publishQueued) {
        engine.#publishQueued = true;
        engine.#flush();
      }
    }

    resync(instances: Iterable<Instance>, position?: unknown): void {
      if (!this.#take()) return;
      const engine = this.#engine;
      if (position !== undefined) this.position = position;
      if (engine.#stale) return engine.#accept(instances);
      const changed = engine.#set.replace(engine.#checked(instances));
      if (changed) engine.#missed();
      if (changed || engine.#publishQueued) {
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
      if (this.#take()) this.position = position;
    }

    invalid(error: InvalidRecordError): void {
      if (this.live) this.#engine.#invalid(error);
    }

    stale(error: DiscoveryError): void {
      if (this.live) this.#engine.#fail(error);
    }

    end(result: FollowEnd | DiscoveryError): void {
      if (this.live) this.#engine.#ended(this, result);
    }

    get service(): string {
      return this.#engine.name;
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
        const source = this.#source ?? this.#made(await this.#options.source(this.name));
        this.#closing ??= new AbortController();
        const result = await source.list(this.#closing.signal);
        if (this.#closed) return;
        this.#backoff?.reset();
        this.#accept(result.instances, result.invalid);
      } catch (error) {
        const failure = this.#fail(error);
        // A failing backend is not read again by every read: the next try waits a backoff.
        this.#refreshAt = this.#clock() + this.#retryDelay();
        throw failure;
      } finally {
        this.#inflight = undefined;
      }
    })();
    return this.#inflight;
  }

  #nextRefreshAt(): number {
    // Refresh-ahead: a read in the last stretch of the TTL (a jittered 75–95 %) refreshes in the background.
    return this.#clock() + (this.#options.ttlMs ?? 10_000) * (0.75 + 0.2 * this.#random());
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
    // While followed the snapshot is current; the run's stop starts its TTL.
    if (!this.#run) this.#refreshAt = this.#nextRefreshAt();
    const recovered = this.#stale !== undefined;
    if (recovered && channels.watchRecovered.hasSubscribers) {
      channels.watchRecovered.publish({ service: this.name, provider: this.#options.provider, staleMs: this.#clock() - (this.#staleSince ?? this.#clock()) });
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
  #checked(instances: Iterable<Instance>): readonly Instance[] {
    const list = Array.isArray(instances) ? (instances as readonly Instance[]) : [...instances];
    let kept: Instance[] | undefined;
    for (let i = 0; i < list.length; i++) {
      const problem = instanceProblem(list[i]);
      if (problem === undefined) {
        kept?.push(list[i]!);
        continue;
      }
      // Copied only once something has to be left out.
      kept ??= list.slice(0, i);
      this.#invalid(new InvalidRecordError(`instance of "${this.name}"`, problem));
    }
    return kept ?? list;
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
    this.#publish();
  }

  #publish(): void {
    const next = this.#set.snapshot();
    if (next !== this.#snapshot) {
      const previous = this.#snapshot ?? empty;
      this.#snapshot = next;
      this.#healthy = this.#set.unhealthy === 0 ? next : applyFilter(next, healthyFilter);
      if (channels.snapshot.hasSubscribers) {
        channels.snapshot.publish({ service: this.name, provider: this.#options.provider, instances: next.length, healthy: next.length - this.#set.unhealthy, added: difference(next, previous), removed: difference(previous, next) });
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
    this.#staleSince = this.#clock();
    if (channels.watchError.hasSubscribers) channels.watchError.publish({ service: this.name, provider: this.#options.provider, error });
    this.#options.hooks.error(error, this.name);
    const maxStaleMs = this.#options.maxStaleMs ?? Infinity;
    if (this.#snapshot && Number.isFinite(maxStaleMs)) {
      this.#staleTimer = setTimeout(() => this.#expire(), Math.min(maxDurationMs, maxStaleMs));
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
    const error = new ProviderUnavailableError(this.#options.provider, `"${this.name}": the backend has failed for longer than maxStale (${this.#options.maxStaleMs} ms); the last snapshot is no longer served`);
    this.#options.hooks.error(error, this.name);
    for (const subscriber of this.#subscribers) {
      this.#call(subscriber, { error });
      this.#deliver(subscriber);
    }
  }

  /** A re-list found what the stream had not delivered. */
  #missed(): void {
    this.#options.hooks.event({ type: 'resync', service: this.name, message: `a re-list of "${this.name}" found changes the watch had not delivered` });
  }

  #invalid(error: InvalidRecordError): void {
    this.#reported ??= new Set();
    if (this.#reported.has(error.message)) return;
    if (this.#reported.size >= 10_000) this.#reported.clear();
    this.#reported.add(error.message);
    this.#options.hooks.event({ type: 'invalid-record', service: this.name, message: error.message, error });
  }

  #deliver(subscriber: Subscriber): void {
    if (subscriber.gone) return;
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
    if (subscriber.gone) return;
    try {
      subscriber.listener(event);
    } catch (error) {
      this.#options.hooks.listenerError(error, this.name);
    }
  }
}

import { ClosedError, type DiscoveryError, type Instance, type ProviderEvent } from '@disco/core';
import { Backoff, delay, minHealthyFollowMs, RateLimiter, toDiscoveryError, type AttachedSink, type BackoffOptions } from '@disco/core/provider';
import type { ObjectMapper } from './candidate.js';
import type { KubeApi, KubeItem } from './kube-api.js';
import { sendChanges } from './kubernetes-source.js';
import { listObjects, watchObjects, type Change, type KeyedItem, type StreamContext } from './object-stream.js';
import { ServiceView, type Policy } from './service-view.js';

export interface NamespaceFeedOptions {
  readonly pageSize: number;
  readonly watchTimeoutMs: number;
  readonly watchGraceMs: number;
  readonly backoff: BackoffOptions;
  /** The bound on the feed's own lists and watches (the engine's default: 5/s, burst 10). */
  readonly rate?: { readonly perSecond: number; readonly burst: number } | undefined;
  /** How long the feed keeps running after its last member left (a member re-listing, a watch between two subscribers). */
  readonly lingerMs: number;
  readonly random?: (() => number) | undefined;
}

export interface NamespaceFeedHooks {
  readonly context: StreamContext;
  /** The label whose value names an object's service (`kubernetes.io/service-name`, or the pods selector's `{service}` label). */
  readonly label: string;
  mapper(service: string): ObjectMapper<KubeItem>;
  readonly policy: Policy;
  /** A service's own events (its records' `invalid-record`). */
  emit(service: string, event: ProviderEvent): void;
}

interface Member {
  readonly view: ServiceView;
  /** The engines' sinks hooked on (replaced, never changed in place: a delivery walks the array it started with). */
  sinks: readonly AttachedSink<string>[];
  /** Lists waiting on the feed for this service. */
  pending: number;
}

interface Held {
  readonly service: string | undefined;
  readonly object: KeyedItem;
}

interface Waiter {
  resolve(): void;
  reject(error: DiscoveryError): void;
}

const empty: readonly Instance[] = [];
const none: readonly AttachedSink<string>[] = [];

/**
 * One list + watch of a whole namespace's EndpointSlices (or pods) for every service the
 * provider watches there, demultiplexed by the service label: client-go's shared informer,
 * carried into core's engine. Each watched service's engine still runs its own source; in
 * namespace mode that source's `list` is this feed's current state of the service and its
 * `attach` hooks the engine's sink onto the feed, which hands it `replace` on every (re-)list,
 * upserts and removes as events arrive, and `stale` while the feed fails — so the engine's rules
 * (replay, one error per outage, recovery snapshot) hold per service. The feed itself keeps
 * the engine's source rules: list, then watch from the list's resourceVersion; 410 Gone lists
 * again; a clean end resumes at once unless it came in under a second with nothing in it;
 * failures back off with full jitter; requests are rate-bound.
 *
 * What it costs: it holds every object of the namespace that carries the label (watched or
 * not) and reads every change to any of them; a service's own view is kept only while it is
 * watched.
 */
export class NamespaceFeed {
  readonly #api: KubeApi;
  readonly #options: NamespaceFeedOptions;
  readonly #hooks: NamespaceFeedHooks;
  readonly #random: () => number;
  readonly #held = new Map<string, Held>();
  readonly #byService = new Map<string, Set<string>>();
  readonly #members = new Map<string, Member>();
  readonly #dirty = new Set<string>();
  readonly #waiters = new Set<Waiter>();
  #run: AbortController | undefined;
  #loop: Promise<void> | undefined;
  #linger: NodeJS.Timeout | undefined;
  #synced = false;
  #failure: DiscoveryError | undefined;
  #closed = false;

  constructor(api: KubeApi, options: NamespaceFeedOptions, hooks: NamespaceFeedHooks) {
    this.#api = api;
    this.#options = options;
    this.#hooks = hooks;
    this.#random = options.random ?? Math.random;
  }

  /** Whether the feed's list + watch is running. */
  get running(): boolean {
    return this.#run !== undefined;
  }

  /** Objects held (every labelled object of the namespace, watched or not). */
  get objects(): number {
    return this.#held.size;
  }

  /** The service's instances once the feed is in sync (starting it if needed); rejects with the feed's failure while it fails. */
  async snapshot(service: string, signal: AbortSignal): Promise<readonly Instance[]> {
    if (this.#closed) throw new ClosedError('kubernetes namespace watch');
    // A feed that only lingers (nobody attached) vouches for nothing: a list then reads afresh.
    if (this.#members.size === 0 && this.#linger) this.#stop();
    const member = this.#member(service);
    member.pending++;
    try {
      this.#start();
      if (!this.#synced || this.#failure) {
        await new Promise<void>((resolve, reject) => {
          const waiter: Waiter = {
            resolve: () => {
              cleanup();
              resolve();
            },
            reject: (error) => {
              cleanup();
              reject(error);
            },
          };
          const onAbort = () => waiter.reject(toDiscoveryError(signal.reason ?? new Error('aborted'), 'kubernetes'));
          const cleanup = () => {
            this.#waiters.delete(waiter);
            signal.removeEventListener('abort', onAbort);
          };
          this.#waiters.add(waiter);
          signal.addEventListener('abort', onAbort, { once: true });
          if (signal.aborted) onAbort();
        });
      }
      return member.view.snapshot ?? empty;
    } finally {
      member.pending--;
      this.#release(service);
    }
  }

  /**
   * Hooks an engine's sink onto `service` until {@link detach}: the current state at once
   * (`replace`, or `stale` while the feed fails), then every change. The feed holds the sink
   * and nothing else for it (no promise, no controller): thousands of services follow at the
   * cost of their engines' state.
   */
  attach(service: string, sink: AttachedSink<string>): void {
    if (this.#closed) return;
    const member = this.#member(service);
    member.sinks = [...member.sinks, sink];
    this.#start();
    if (this.#synced) sink.replace(member.view.snapshot ?? empty);
    if (this.#failure) sink.stale(this.#failure);
  }

  /** Unhooks a sink {@link attach}ed (nothing for one that is not hooked on). */
  detach(sink: AttachedSink<string>): void {
    const member = this.#members.get(sink.service);
    if (!member?.sinks.includes(sink)) return;
    member.sinks = member.sinks.length === 1 ? none : member.sinks.filter((other) => other !== sink);
    this.#release(sink.service);
  }

  /** Stops at once; resolves when the watch has let go of its connection. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#stop();
    for (const waiter of [...this.#waiters]) waiter.reject(new ClosedError('kubernetes namespace watch'));
    await this.#loop;
  }

  #member(service: string): Member {
    let member = this.#members.get(service);
    if (!member) {
      const view = new ServiceView(this.#hooks.mapper(service), this.#hooks.policy, (problem) => this.#hooks.emit(service, { type: 'invalid-record', service, message: problem.message, error: problem }));
      member = { view, sinks: none, pending: 0 };
      if (this.#synced) view.replace(this.#objectsOf(service));
      this.#members.set(service, member);
    }
    return member;
  }

  #release(service: string): void {
    const member = this.#members.get(service);
    if (member && member.sinks.length === 0 && member.pending === 0) this.#members.delete(service);
    if (this.#members.size > 0 || !this.#run || this.#linger) return;
    this.#linger = setTimeout(() => {
      this.#linger = undefined;
      if (this.#members.size === 0) this.#stop();
    }, this.#options.lingerMs);
  }

  #start(): void {
    clearTimeout(this.#linger);
    this.#linger = undefined;
    if (this.#run || this.#closed) return;
    const run = new AbortController();
    this.#run = run;
    this.#loop = this.#follow(run.signal).catch((error: unknown) => {
      // Only a bug gets here: fail every member rather than leave them silent.
      this.#fail(error);
    });
  }

  #stop(): void {
    clearTimeout(this.#linger);
    this.#linger = undefined;
    this.#run?.abort();
    this.#run = undefined;
    // Nobody is watching: hold nothing (the next start lists again).
    this.#synced = false;
    this.#failure = undefined;
    this.#held.clear();
    this.#byService.clear();
  }

  async #sleep(ms: number, signal: AbortSignal): Promise<boolean> {
    try {
      await delay(Math.max(0, ms), signal);
      return true;
    } catch {
      return false;
    }
  }

  async #follow(signal: AbortSignal): Promise<void> {
    const backoff = new Backoff({ random: this.#random, ...this.#options.backoff });
    const limiter = new RateLimiter(this.#options.rate?.perSecond ?? 5, this.#options.rate?.burst ?? 10);
    const { context } = this.#hooks;
    let needList = true;
    let position = '0';
    while (!signal.aborted) {
      if (needList) {
        try {
          await limiter.take(signal);
          const listed = await listObjects(this.#api, this.#options.pageSize, context, signal);
          if (signal.aborted) return;
          this.#replaceAll(listed.objects);
          position = listed.resourceVersion;
        } catch (error) {
          if (signal.aborted) return;
          this.#fail(error);
          if (!(await this.#sleep(backoff.next(), signal))) return;
          continue;
        }
        needList = false;
      }
      const started = performance.now();
      let received = false;
      let end: 'ended' | 'relist' | undefined;
      let failure: unknown;
      try {
        await limiter.take(signal);
        end = await watchObjects(
          this.#api,
          position,
          { watchTimeoutMs: this.#options.watchTimeoutMs, watchGraceMs: this.#options.watchGraceMs, random: this.#random },
          context,
          {
            change: (type, object) => {
              received = true;
              return this.#change(type, object);
            },
            flush: (at) => {
              received = true;
              position = at;
              this.#publish();
            },
            invalid: (problem) => context.invalid(problem),
          },
          signal,
        );
      } catch (error) {
        failure = error;
      }
      if (signal.aborted) return;
      const healthy = performance.now() - started >= minHealthyFollowMs;
      if (healthy) backoff.reset();
      if (end === undefined) {
        this.#fail(failure);
        needList = true;
        if (!(await this.#sleep(backoff.next(), signal))) return;
      } else if (end === 'relist') {
        context.emit('resync', 'the watch position is gone (410 Gone); listing the namespace again');
        needList = true;
        if (!healthy && !(await this.#sleep(backoff.next(), signal))) return;
      } else if (!healthy && !received) {
        // A clean end that came at once with nothing in it is a server going away, not a watch that ran its course.
        if (!(await this.#sleep(backoff.next(), signal))) return;
      }
    }
  }

  #labelOf(object: KeyedItem): string | undefined {
    const labels = (object.metadata as { labels?: unknown }).labels;
    const value = typeof labels === 'object' && labels !== null ? (labels as Record<string, unknown>)[this.#hooks.label] : undefined;
    return typeof value === 'string' && value !== '' ? value : undefined;
  }

  #objectsOf(service: string): KeyedItem[] {
    return [...(this.#byService.get(service) ?? [])].map((name) => this.#held.get(name)!.object);
  }

  #index(name: string, held: Held | undefined): void {
    const before = this.#held.get(name)?.service;
    if (before !== undefined && before !== held?.service) {
      const names = this.#byService.get(before)!;
      names.delete(name);
      if (names.size === 0) this.#byService.delete(before);
    }
    if (held === undefined) this.#held.delete(name);
    else {
      this.#held.set(name, held);
      if (held.service !== undefined) {
        let names = this.#byService.get(held.service);
        if (!names) this.#byService.set(held.service, (names = new Set()));
        names.add(name);
      }
    }
  }

  /** A full list: the namespace is exactly this; every member gets its state with `replace` (which ends an outage). */
  #replaceAll(objects: readonly KeyedItem[]): void {
    this.#held.clear();
    this.#byService.clear();
    for (const object of objects) this.#index(object.metadata.name, { service: this.#labelOf(object), object });
    this.#synced = true;
    this.#failure = undefined;
    this.#dirty.clear();
    for (const [service, member] of this.#members) {
      member.view.replace(this.#objectsOf(service));
      for (const sink of member.sinks) sink.replace(member.view.snapshot ?? empty);
    }
    for (const waiter of [...this.#waiters]) waiter.resolve();
  }

  /** One watch event: applied to the views of the services it leaves and enters. */
  #change(type: Change, object: KeyedItem): boolean {
    const name = object.metadata.name;
    const before = this.#held.get(name);
    const service = type === 'DELETED' ? undefined : this.#labelOf(object);
    this.#index(name, type === 'DELETED' ? undefined : { service, object });
    let changed = false;
    if (before?.service !== undefined && before.service !== service) {
      const left = this.#members.get(before.service);
      if (left?.view.apply('DELETED', before.object)) {
        this.#dirty.add(before.service);
        changed = true;
      }
    }
    const owner = type === 'DELETED' ? before?.service : service;
    const member = owner === undefined ? undefined : this.#members.get(owner);
    if (member && owner !== undefined) {
      const kind: Change = type === 'DELETED' ? 'DELETED' : before?.service === service ? type : 'ADDED';
      if (member.view.apply(kind, object)) {
        this.#dirty.add(owner);
        changed = true;
      }
    }
    return changed;
  }

  /** What changed in one chunk of the stream, to each watching engine. */
  #publish(): void {
    for (const service of this.#dirty) {
      const member = this.#members.get(service);
      if (!member) continue;
      const before = member.view.snapshot ?? empty;
      if (!member.view.rebuild()) continue;
      const after = member.view.snapshot ?? empty;
      for (const sink of member.sinks) sendChanges(before, after, sink);
    }
    this.#dirty.clear();
  }

  #fail(cause: unknown): void {
    const error = toDiscoveryError(cause, 'kubernetes');
    const first = this.#failure === undefined;
    this.#failure = error;
    for (const waiter of [...this.#waiters]) waiter.reject(error);
    if (!first) return;
    for (const member of this.#members.values()) for (const sink of member.sinks) sink.stale(error);
  }
}

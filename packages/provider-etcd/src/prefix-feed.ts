import { ProviderUnavailableError, type DiscoveryError, type Instance, type Logger, type ProviderEvent } from '@disco/core';
import { abortable, InstanceSet, jitter, sameSnapshot, type AttachedSink, type FollowEnd, type ListResult } from '@disco/core/provider';
import type { Etcd3, IKeyValue, IWatchResponse, Watcher } from 'etcd3';
import type { MemberHealth } from './members.js';

/** What the shared feed needs from its provider. */
export interface PrefixFeedContext {
  readonly client: Etcd3;
  readonly prefix: string;
  /** The feed's own re-list period (one range over the prefix); 0 = never. */
  readonly resyncMs: number;
  readonly cancelTimeoutMs: number;
  /** Keys per page of the range over the prefix (all pages are read at the first page's revision). */
  readonly pageSize: number;
  readonly members: MemberHealth | undefined;
  readonly logger: Logger;
  read(name: string, keyPrefix: string, kv: IKeyValue): Instance | undefined;
  toError(error: unknown, what: string): DiscoveryError;
  emit(event: ProviderEvent): void;
}

interface ServiceState {
  readonly name: string;
  /** A sorted array underneath: a Map per watched service would cost ~0.5 KB at ten instances. */
  instances: InstanceSet;
  /** Whether `instances` holds what etcd holds (as of `since` plus the events applied since). */
  loaded: boolean;
  /** Events at or below this revision are already in `instances` (the range it came from). */
  since: number;
  /** The engines' sinks hooked onto this name (replaced, never changed in place). */
  followers: readonly AttachedSink<number>[];
  /** Lists in flight for this name. */
  lists: number;
  /** When it last had a follower or a list (ms, performance.now()). */
  usedAt: number;
}

/** An event that arrived while a range was in flight, to be replayed onto that range's answer. */
interface Recorded {
  readonly state: ServiceState;
  readonly kv: IKeyValue;
  readonly deleted: boolean;
  readonly revision: number;
}

/** How long a name with neither follower nor list keeps its state (engines re-list between follows). */
const idleMs = 5_000;
const none: readonly AttachedSink<number>[] = [];
const noop = () => {};

/**
 * Prefix mode: one range and one watch over the whole prefix, demultiplexed by service name to
 * the per-service sources core's engines run. The feed holds the parsed instances of the names
 * somebody watches (the same `Instance` objects the engines hold); keys of other names cross
 * the wire and are skipped by their name, never parsed. A source's `list` answers from this
 * state once it is loaded, and its `follow` receives that name's events from the shared watch.
 *
 * - The first list (or the first after a failure) loads every watched name with one range over
 *   the prefix (paged at one revision), then one prefix watch starts from its revision + 1.
 *   Lists that arrive meanwhile wait for it: a thousand cold lists cost one range.
 * - A name first listed after that is loaded by a range of its own; names listed in the same
 *   turn are loaded together, by one range over the prefix when they are `bulk` or more.
 * - Events that arrive while a range is in flight are replayed onto its answer; events at or
 *   below a name's range revision are ignored, so nothing is lost or applied twice.
 * - A watch that fails (disconnect, or a member found cut off from its quorum) fails every
 *   follower; one etcd cancels (compaction) asks each to re-list. Either way the state is
 *   dropped, and the next list loads it again, with one range.
 * - Every `resyncMs` the feed re-lists the prefix (one range) and hands each follower whose
 *   state it corrects a `replace`, with a `resync` event.
 */
export class PrefixFeed {
  readonly #context: PrefixFeedContext;
  readonly #bulk: number;
  readonly #services = new Map<string, ServiceState>();
  #followed = 0;
  /** The last revision the state reflects (the range's, then each watch response's). */
  #revision = 0;
  #synced = false;
  #syncing: Promise<void> | undefined;
  #watcher: Watcher | undefined;
  #watchMember: string | undefined;
  #releaseChecks: (() => void) | undefined;
  /** Events recorded while a range is in flight (one array per range). */
  readonly #recorders = new Set<Recorded[]>();
  #toLoad = new Set<ServiceState>();
  #loading: Promise<void> | undefined;
  #sweepTimer: NodeJS.Timeout | undefined;
  #resyncTimer: NodeJS.Timeout | undefined;
  readonly #stopBad: (() => void) | undefined;
  #closed = false;

  constructor(context: PrefixFeedContext, bulk: number) {
    this.#context = context;
    this.#bulk = bulk;
    this.#stopBad = context.members?.onBad((memberId) => {
      if (this.#watcher && memberId === this.#watchMember) this.#fail(new ProviderUnavailableError('etcd', `the member serving the prefix watch (${memberId}) cannot reach its quorum; watching from another member`));
    });
  }

  /** Names with state (watched, or listed within the last few seconds). */
  get size(): number {
    return this.#services.size;
  }

  /** Names with at least one engine hooked on. */
  get followed(): number {
    return this.#followed;
  }

  async list(name: string, signal: AbortSignal): Promise<ListResult<number>> {
    const state = this.#state(name);
    state.lists++;
    try {
      for (let attempt = 0; !state.loaded; attempt++) {
        if (attempt >= 3) throw new ProviderUnavailableError('etcd', `the state of "${name}" kept being dropped while it was loaded`);
        await abortable(this.#synced ? this.#load(state) : this.#sync(), signal, `listing "${name}"`);
      }
      return { instances: [...state.instances.values()], position: this.#revision + 1 };
    } finally {
      state.lists--;
      state.usedAt = performance.now();
    }
  }

  /** Hooks an engine's sink onto `name`'s events; returns what unhooks it. */
  attach(name: string, position: number, sink: AttachedSink<number>): () => void {
    const state = this.#state(name);
    if (!state.loaded || !this.#watcher) {
      // The state was dropped between the list and this attach (the watch failed): list again.
      sink.end('relist');
      return noop;
    }
    if (state.followers.length === 0) this.#followed++;
    state.followers = [...state.followers, sink];
    // The list came from another range (per-service mode, or before a re-list of the feed): start from the feed's state.
    if (position !== this.#revision + 1) sink.replace([...state.instances.values()], this.#revision + 1);
    return () => this.#detach(state, sink);
  }

  #detach(state: ServiceState, sink: AttachedSink<number>): void {
    if (!state.followers.includes(sink)) return;
    state.followers = state.followers.filter((other) => other !== sink);
    if (state.followers.length === 0) this.#followed--;
    state.usedAt = performance.now();
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#stopBad?.();
    clearTimeout(this.#sweepTimer);
    clearTimeout(this.#resyncTimer);
    await this.#reset('ended');
    this.#services.clear();
  }

  #state(name: string): ServiceState {
    let state = this.#services.get(name);
    if (!state) {
      state = { name, instances: new InstanceSet(), loaded: false, since: 0, followers: none, lists: 0, usedAt: performance.now() };
      this.#services.set(name, state);
      this.#scheduleSweep();
    }
    return state;
  }

  // ---- loading ------------------------------------------------------------------------

  /** Loads every watched name with one range over the prefix, then starts the watch. Shared by concurrent callers. */
  #sync(): Promise<void> {
    this.#syncing ??= (async () => {
      try {
        // Every name known when the first page arrives is loaded by this one range: lists that
        // start while it is in flight (engines starting together) join it.
        const revision = await this.#rangePrefix(() => [...this.#services.values()]);
        if (this.#closed) return;
        this.#revision = revision;
        this.#synced = true;
        this.#startWatch(revision + 1);
        this.#scheduleResync();
      } finally {
        this.#syncing = undefined;
      }
    })();
    return this.#syncing;
  }

  /** Loads names first listed after the feed synced: together, in the next turn. */
  #load(state: ServiceState): Promise<void> {
    this.#toLoad.add(state);
    this.#loading ??= new Promise<void>((resolve) => setImmediate(resolve)).then(async () => {
      const batch = [...this.#toLoad].filter((s) => !s.loaded);
      this.#toLoad = new Set();
      this.#loading = undefined;
      if (batch.length === 0) return;
      if (batch.length >= this.#bulk) await this.#rangePrefix(batch);
      else await Promise.all(batch.map((s) => this.#rangeName(s)));
    });
    return this.#loading;
  }

  /**
   * One range over the whole prefix (in pages, all at the first page's revision); the names in
   * `states` get exactly what it found, plus the events that arrived meanwhile. Returns its revision.
   */
  async #rangePrefix(which: readonly ServiceState[] | (() => readonly ServiceState[])): Promise<number> {
    const { client, prefix, pageSize } = this.#context;
    let states: readonly ServiceState[] = [];
    let wanted = new Map<string, Map<string, Instance>>();
    const recorded: Recorded[] = [];
    this.#recorders.add(recorded);
    let revision = 0;
    try {
      const end = prefixEnd(Buffer.from(prefix));
      let key = Buffer.from(prefix);
      for (let page = 0; page < 1_000_000; page++) {
        let response;
        try {
          response = await client.kv.range({ key, range_end: end, limit: pageSize, revision: revision || 0 });
        } catch (error) {
          throw this.#context.toError(error, `listing the prefix "${prefix}"`);
        }
        if (revision === 0) {
          revision = Number(response.header.revision);
          states = typeof which === 'function' ? which() : which;
          wanted = new Map(states.map((s) => [s.name, new Map<string, Instance>()]));
        }
        for (const kv of response.kvs) {
          const text = kv.key.toString();
          const slash = text.indexOf('/', prefix.length);
          if (slash < 0) continue;
          const instances = wanted.get(text.slice(prefix.length, slash));
          if (!instances) continue; // a service nobody watches: crosses the wire, never parsed
          const name = text.slice(prefix.length, slash);
          const instance = this.#context.read(name, `${prefix}${name}/`, kv);
          if (instance) instances.set(instance.id, instance);
        }
        if (!response.more || response.kvs.length === 0) break;
        key = Buffer.concat([response.kvs[response.kvs.length - 1]!.key, Buffer.from([0])]);
      }
    } finally {
      this.#recorders.delete(recorded);
    }
    for (const state of states) this.#install(state, wanted.get(state.name)!, revision, recorded);
    return revision;
  }

  /** One range over one name's keys. */
  async #rangeName(state: ServiceState): Promise<void> {
    const recorded: Recorded[] = [];
    this.#recorders.add(recorded);
    const keyPrefix = this.#keyPrefix(state);
    let response;
    try {
      response = await this.#context.client.kv.range({ key: Buffer.from(keyPrefix), range_end: prefixEnd(Buffer.from(keyPrefix)) });
    } catch (error) {
      throw this.#context.toError(error, `listing service "${state.name}"`);
    } finally {
      this.#recorders.delete(recorded);
    }
    const instances = new Map<string, Instance>();
    for (const kv of response.kvs) {
      const instance = this.#context.read(state.name, keyPrefix, kv);
      if (instance) instances.set(instance.id, instance);
    }
    this.#install(state, instances, Number(response.header.revision), recorded);
  }

  /** A range's answer for one name, with the events recorded while it was in flight replayed on top. */
  #install(state: ServiceState, instances: Map<string, Instance>, revision: number, recorded: readonly Recorded[]): void {
    if (this.#services.get(state.name) !== state) return; // dropped meanwhile
    const before = state.loaded ? [...state.instances.values()] : undefined;
    // Unchanged instances keep their objects: the engines hold them, and nothing is held twice.
    state.instances.replace([...instances.values()]);
    state.since = revision;
    state.loaded = true;
    for (const event of recorded) if (event.state === state && event.revision > revision) this.#apply(state, event.kv, event.deleted, false);
    if (!before || state.followers.length === 0 || sameSnapshot(before, [...state.instances.values()])) return;
    // A re-list found what the watch had not delivered: the followers take the listed state.
    this.#context.emit({ type: 'resync', service: state.name, message: `a re-list of the prefix found changes to "${state.name}" the watch had not delivered` });
    const list = [...state.instances.values()];
    for (const sink of state.followers) sink.replace(list, this.#revision + 1);
  }

  // ---- the shared watch ---------------------------------------------------------------

  #startWatch(from: number): void {
    const { client, prefix } = this.#context;
    let watcher: Watcher;
    try {
      watcher = client.watch().prefix(prefix).startRevision(String(from)).watcher();
    } catch (error) {
      this.#fail(this.#context.toError(error, `watching the prefix "${prefix}"`));
      return;
    }
    this.#watcher = watcher;
    this.#watchMember = undefined;
    this.#releaseChecks = this.#context.members?.use();
    watcher
      .on('connected', (response: { header?: { member_id?: string } }) => this.#onMember(watcher, response.header?.member_id))
      .on('data', (response: IWatchResponse) => {
        if (this.#watcher !== watcher) return;
        this.#onMember(watcher, response.header.member_id);
        try {
          this.#onResponse(response);
        } catch (error) {
          // Never let a bug escape into the etcd3 client (it rethrows from a setImmediate).
          this.#fail(this.#context.toError(error, 'reading a prefix watch response'));
        }
      })
      .on('disconnected', (error: Error) => {
        if (this.#watcher === watcher) this.#fail(this.#context.toError(error, `watching the prefix "${prefix}"`));
      })
      .on('error', (error: Error) => {
        if (this.#watcher !== watcher) return;
        // etcd cancelled the watch (its start revision was compacted): every follower lists again.
        this.#context.logger.info({ err: this.#context.toError(error, 'watch') }, `etcd cancelled the prefix watch of "${prefix}"; listing again`);
        void this.#reset('relist', false);
      });
  }

  #onMember(watcher: Watcher, memberId: string | undefined): void {
    if (memberId === undefined || memberId === '0' || this.#watcher !== watcher || this.#watchMember === memberId) return;
    this.#watchMember = memberId;
    if (this.#context.members?.avoidMember(memberId)) this.#fail(new ProviderUnavailableError('etcd', `the prefix watch reached member ${memberId}, which cannot reach its quorum; watching from another member`));
  }

  #onResponse(response: IWatchResponse): void {
    const prefix = this.#context.prefix;
    let touched: Set<ServiceState> | undefined;
    for (const event of response.events) {
      const kv = event.kv;
      const text = kv.key.toString();
      const slash = text.indexOf('/', prefix.length);
      if (slash < 0) continue;
      const state = this.#services.get(text.slice(prefix.length, slash));
      if (!state) continue; // nobody watches this service
      const revision = Number(kv.mod_revision);
      const deleted = event.type === 'Delete';
      for (const recorder of this.#recorders) recorder.push({ state, kv, deleted, revision });
      if (!state.loaded || revision <= state.since) continue;
      this.#apply(state, kv, deleted, true);
      if (state.followers.length > 0) (touched ??= new Set()).add(state);
    }
    this.#revision = Number(response.header.revision);
    // Engines resume from their position only after a clean end; keep it current where something moved.
    if (touched) for (const state of touched) for (const sink of state.followers) sink.advance(this.#revision + 1);
  }

  #apply(state: ServiceState, kv: IKeyValue, deleted: boolean, notify: boolean): void {
    const keyPrefix = this.#keyPrefix(state);
    const id = kv.key.toString().slice(keyPrefix.length);
    const instance = deleted ? undefined : this.#context.read(state.name, keyPrefix, kv);
    if (instance) {
      if (state.instances.upsert(instance) && notify) for (const sink of state.followers) sink.upsert(instance);
    } else {
      // A delete, or a corrupt overwrite (the old value is gone too).
      if (state.instances.remove(id) && notify) for (const sink of state.followers) sink.remove(id);
    }
  }

  /** `<prefix><name>/`, made when needed rather than kept for each of thousands of names. */
  #keyPrefix(state: ServiceState): string {
    return `${this.#context.prefix}${state.name}/`;
  }

  /** The watch failed: every follower fails (its engine reports the outage and lists again). */
  #fail(error: DiscoveryError): void {
    void this.#reset(error);
  }

  /** Drops the watch and every name's state; followers end with `end`. */
  async #reset(end: FollowEnd | DiscoveryError, cancel = true): Promise<void> {
    const watcher = this.#watcher;
    this.#watcher = undefined;
    this.#watchMember = undefined;
    this.#synced = false;
    this.#releaseChecks?.();
    this.#releaseChecks = undefined;
    clearTimeout(this.#resyncTimer);
    for (const state of this.#services.values()) {
      state.loaded = false;
      state.instances = new InstanceSet();
      const followers = state.followers;
      if (followers.length === 0) continue;
      state.followers = none;
      this.#followed--;
      state.usedAt = performance.now();
      for (const sink of followers) sink.end(end);
    }
    if (!watcher) return;
    watcher.removeAllListeners().on('error', () => {});
    if (cancel) await release(watcher, this.#context.cancelTimeoutMs);
  }

  // ---- housekeeping -------------------------------------------------------------------

  /** Drops names nobody has followed or listed for a while; the watch goes with the last one. */
  #scheduleSweep(): void {
    if (this.#sweepTimer || this.#closed) return;
    this.#sweepTimer = setTimeout(() => {
      this.#sweepTimer = undefined;
      const now = performance.now();
      for (const [name, state] of this.#services) {
        if (state.followers.length === 0 && state.lists === 0 && now - state.usedAt >= idleMs) this.#services.delete(name);
      }
      if (this.#services.size === 0) void this.#reset('ended');
      else this.#scheduleSweep();
    }, idleMs);
    this.#sweepTimer.unref();
  }

  #scheduleResync(): void {
    clearTimeout(this.#resyncTimer);
    const resyncMs = this.#context.resyncMs;
    if (resyncMs <= 0 || this.#closed) return;
    this.#resyncTimer = setTimeout(() => {
      this.#resyncTimer = undefined;
      if (!this.#synced) return;
      const loaded = [...this.#services.values()].filter((s) => s.loaded);
      this.#rangePrefix(loaded).then(
        () => this.#scheduleResync(),
        (error: unknown) => {
          // A re-list that fails says nothing about the watch; try again next period.
          this.#context.logger.warn({ err: error }, 'etcd: re-list of the prefix failed');
          this.#scheduleResync();
        },
      );
    }, Math.min(2 ** 31 - 1, jitter(resyncMs, 0.1)));
    this.#resyncTimer.unref();
  }
}

/** The end of etcd's range over every key that starts with `prefix`. */
export function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]! += 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

/** Cancels a watcher, waiting at most `timeoutMs` for etcd to confirm (it may be unreachable). */
export async function release(watcher: Watcher, timeoutMs: number): Promise<void> {
  let cancel: Promise<void>;
  try {
    cancel = watcher.cancel().catch(() => {});
  } catch {
    return; // the client's stream is already gone, and the watcher with it
  }
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([cancel, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
  clearTimeout(timer);
}

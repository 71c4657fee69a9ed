import { ProviderUnavailableError, type DiscoveryError, type Instance, type Logger } from '@disco/core';
import { abortable, InstanceSet, jitter, settleWithin, type AttachedSink, type FollowEnd, type ListResult, type Unhook } from '@disco/core/provider';
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
  /** `key`: the key as text, where the caller has it already. */
  read(name: string, keyPrefix: string, kv: IKeyValue, key?: string): Instance | undefined;
  toError(error: unknown, what: string): DiscoveryError;
}

interface ServiceState {
  readonly name: string;
  /**
   * What etcd holds for the name (as of `since`, plus the events applied since), kept while a
   * list needs it and dropped once an engine is hooked on: the engine holds that state itself,
   * and a second copy per watched service would cost ~0.2 KB at ten instances.
   */
  instances: InstanceSet | undefined;
  /** The name's events are being applied: to `instances`, or by the hooked-on engines. */
  loaded: boolean;
  /** Events at or below this revision are already applied (the range it came from). */
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
 * the per-service sources core's engines run. Keys of names nobody watches cross the wire and
 * are skipped by their name, never parsed. A source's `list` answers from the feed's copy of its
 * name, and its `attach` hooks the engine's sink onto that name's events; from then on the
 * engine holds the state and the feed keeps no copy (a later list of the name ranges it again).
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
 * - Every `resyncMs` the feed re-lists the prefix (one range) and hands each hooked-on engine
 *   its name's listed state (`sink.resync`): an engine whose state it corrects reports a
 *   `resync` event.
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
      for (let attempt = 0; !state.instances; attempt++) {
        if (attempt >= 3) throw new ProviderUnavailableError('etcd', `the state of "${name}" kept being dropped while it was loaded`);
        await abortable(this.#synced ? this.#load(state) : this.#sync(), signal, `listing "${name}"`);
      }
      // The set's own array: it copies on its next change, and the engine copies what it keeps.
      return { instances: state.instances.snapshot(), position: this.#revision + 1 };
    } finally {
      state.lists--;
      state.usedAt = performance.now();
    }
  }

  /** Hooks an engine's sink onto `name`'s events; returns what unhooks it (the same function for every sink). */
  attach(name: string, position: number, sink: AttachedSink<number>): Unhook<number> {
    const state = this.#state(name);
    if (!state.loaded || !this.#watcher) {
      // The state was dropped between the list and this attach (the watch failed): list again.
      sink.end('relist');
      return noop;
    }
    if (position !== this.#revision + 1) {
      // Changes arrived since the list (or it came from another range): start from the feed's copy.
      if (!state.instances) {
        // Another engine of this name took it over meanwhile: this one lists again.
        sink.end('relist');
        return noop;
      }
      sink.replace(state.instances.snapshot(), this.#revision + 1);
    }
    if (state.followers.length === 0) this.#followed++;
    state.followers = [...state.followers, sink];
    // The engine holds the state from here; a copy stays only for a list still waiting on it.
    if (state.lists === 0) state.instances = undefined;
    return this.#unhook;
  }

  readonly #unhook: Unhook<number> = (sink) => {
    const state = this.#services.get(sink.service);
    if (!state?.followers.includes(sink)) return;
    state.followers = state.followers.filter((other) => other !== sink);
    state.usedAt = performance.now();
    if (state.followers.length > 0) return;
    this.#followed--;
    // Nobody holds the name's state any more: the next list ranges it.
    if (!state.instances) state.loaded = false;
  };

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
      state = { name, instances: undefined, loaded: false, since: 0, followers: none, lists: 0, usedAt: performance.now() };
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
      const batch = [...this.#toLoad].filter((s) => !s.instances);
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
    // Keys come sorted, and an instance's id is its key's last part: each name's list arrives in id order.
    let wanted = new Map<string, Instance[]>();
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
          wanted = new Map(states.map((s) => [s.name, []]));
        }
        for (const kv of response.kvs) {
          const text = kv.key.toString();
          const slash = text.indexOf('/', prefix.length);
          if (slash < 0) continue;
          const name = text.slice(prefix.length, slash);
          const instances = wanted.get(name);
          if (!instances) continue; // a service nobody watches: crosses the wire, never parsed
          const instance = this.#context.read(name, `${prefix}${name}/`, kv, text);
          if (instance) instances.push(instance);
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
    const instances: Instance[] = [];
    for (const kv of response.kvs) {
      const instance = this.#context.read(state.name, keyPrefix, kv);
      if (instance) instances.push(instance);
    }
    this.#install(state, instances, Number(response.header.revision), recorded);
  }

  /** A range's answer for one name, with the events recorded while it was in flight replayed on top. */
  #install(state: ServiceState, instances: Instance[], revision: number, recorded: readonly Recorded[]): void {
    if (this.#services.get(state.name) !== state) return; // dropped meanwhile
    const set = state.instances ?? new InstanceSet();
    set.replace(instances);
    state.instances = set;
    state.since = revision;
    state.loaded = true;
    for (const event of recorded) if (event.state === state && event.revision > revision) this.#apply(state, event.kv, event.deleted, false);
    if (state.followers.length === 0) return;
    // Hooked-on engines take the listed state; one it corrects reports what its stream had missed.
    const list = set.snapshot();
    for (const sink of state.followers) sink.resync(list, this.#revision + 1);
    if (state.lists === 0) state.instances = undefined;
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
    // Without a copy the engines sort out what changed.
    if (instance) {
      if ((state.instances?.upsert(instance) ?? true) && notify) for (const sink of state.followers) sink.upsert(instance);
    } else {
      // A delete, or a corrupt overwrite (the old value is gone too).
      if ((state.instances?.remove(id) ?? true) && notify) for (const sink of state.followers) sink.remove(id);
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
      state.instances = undefined;
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
    cancel = watcher.cancel();
  } catch {
    return; // the client's stream is already gone, and the watcher with it
  }
  await settleWithin(cancel, timeoutMs);
}

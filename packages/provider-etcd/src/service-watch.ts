import { Backoff, jitter, Listeners, reconcile, sameInstance, type BackoffOptions, type DiscoveryError, type Instance, type InvalidRecordError, type Logger, type ProviderEvent, type Unsubscribe, type WatchEvent, type WatchListener } from '@disco/core';
import type { Etcd3, IKeyValue, IRangeResponse, IWatchResponse, Watcher } from 'etcd3';
import { readEntry, type RecordCodec } from './record.js';

/** What a ServiceWatch needs from its provider. */
export interface WatchContext {
  readonly client: Etcd3;
  readonly prefix: string;
  readonly codec: RecordCodec;
  readonly resyncMs: number;
  readonly backoff: BackoffOptions;
  readonly logger: Logger;
  /** Reads one entry; reports (once) and returns undefined for a corrupt one. */
  read(name: string, keyPrefix: string, kv: IKeyValue): Instance | undefined;
  emit(event: ProviderEvent): void;
  toError(error: unknown, what: string): DiscoveryError;
}

/** Reads every kv of a range, skipping (and reporting) corrupt ones. */
export function readAll(context: WatchContext, name: string, keyPrefix: string, kvs: readonly IKeyValue[]): Map<string, Instance> {
  const records = new Map<string, Instance>();
  for (const kv of kvs) {
    const instance = context.read(name, keyPrefix, kv);
    if (instance) records.set(kv.key.toString(), instance);
  }
  return records;
}

/** Reads one kv for {@link WatchContext.read}; the caller reports the error. */
export function readKv(codec: RecordCodec, name: string, keyPrefix: string, kv: IKeyValue): Instance | undefined | InvalidRecordError {
  try {
    return readEntry(codec, keyPrefix, name, kv.key.toString(), kv.value);
  } catch (error) {
    return error as InvalidRecordError;
  }
}

/**
 * The live view of one service: list the prefix, then watch from the list's revision + 1 so
 * nothing between the two is missed. Any trouble (disconnect, compaction cancel, a stream
 * that never connects) ends the etcd watcher and starts over with a fresh list after a
 * backoff — a list is the only way back to the truth after a compaction. A periodic re-list
 * catches a watch that went silent. One per service name, shared by all its listeners.
 */
export class ServiceWatch {
  readonly name: string;
  readonly #context: WatchContext;
  readonly #keyPrefix: string;
  readonly #listeners: Listeners<WatchEvent>;
  readonly #backoff: Backoff;
  #records = new Map<string, Instance>();
  #snapshot: readonly Instance[] | undefined;
  /** Set while what the listeners hold may be stale. */
  #error: DiscoveryError | undefined;
  /** Revision of the last list: watch events at or below it are already in `#records`. */
  #floor = 0;
  #watcher: Watcher | undefined;
  #pendingCancels = new Set<Promise<void>>();
  #timer: NodeJS.Timeout | undefined;
  /** Bumped by every (re)start, so that a late answer of an older attempt is ignored. */
  #generation = 0;
  #closed = false;

  constructor(name: string, context: WatchContext) {
    this.name = name;
    this.#context = context;
    this.#keyPrefix = `${context.prefix}${name}/`;
    this.#backoff = new Backoff(context.backoff);
    this.#listeners = new Listeners((error) => context.logger.error({ err: error, service: name }, 'a watch listener threw'));
  }

  /** Adds a listener; it gets the current state (snapshot, then error if stale) on the next tick. */
  add(listener: WatchListener): Unsubscribe {
    const first = this.#listeners.size === 0 && this.#generation === 0;
    let subscribed = true;
    const remove = this.#listeners.add(listener);
    if (first) void this.#sync();
    else {
      queueMicrotask(() => {
        if (!subscribed) return;
        if (this.#snapshot) this.#call(listener, { instances: this.#snapshot });
        if (this.#error) this.#call(listener, { error: this.#error });
      });
    }
    return () => {
      subscribed = false;
      remove();
    };
  }

  /** Stops for good; resolves when the etcd watcher is cancelled (bounded by `timeoutMs`). */
  async close(timeoutMs: number): Promise<void> {
    this.#closed = true;
    this.#generation++;
    this.#listeners.clear();
    clearTimeout(this.#timer);
    this.#dropWatcher();
    if (this.#pendingCancels.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled(this.#pendingCancels), new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
  }

  /** List, publish, watch from the list's revision + 1. On failure: report, back off, retry. */
  async #sync(): Promise<void> {
    const generation = ++this.#generation;
    clearTimeout(this.#timer);
    this.#dropWatcher();
    let response: IRangeResponse;
    try {
      response = await this.#context.client.getAll().prefix(this.#keyPrefix).exec();
    } catch (error) {
      if (generation !== this.#generation) return;
      this.#fail(this.#context.toError(error, `listing service "${this.name}"`));
      this.#schedule(this.#backoff.next(), () => void this.#sync());
      return;
    }
    if (generation !== this.#generation) return;
    const recovered = this.#error !== undefined;
    this.#apply(response);
    // A listener may have closed this watch while being told the snapshot.
    if (generation !== this.#generation) return;
    this.#startWatcher(Number(response.header.revision) + 1);
    if (recovered) this.#context.emit({ type: 'reconnected', message: `watch of "${this.name}" is back in sync with etcd`, service: this.name });
  }

  #apply(response: IRangeResponse): void {
    this.#records = readAll(this.#context, this.name, this.#keyPrefix, response.kvs);
    this.#floor = Number(response.header.revision);
    this.#publish();
  }

  #startWatcher(fromRevision: number): void {
    const watcher = this.#context.client.watch().prefix(this.#keyPrefix).startRevision(String(fromRevision)).watcher();
    this.#watcher = watcher;
    watcher
      .on('connected', () => {
        if (this.#watcher !== watcher) return;
        this.#backoff.reset();
        this.#scheduleResync();
      })
      .on('data', (response: IWatchResponse) => {
        if (this.#watcher === watcher) this.#onChanges(response);
      })
      .on('disconnected', (error: Error) => {
        if (this.#watcher !== watcher) return;
        // The client would resume by itself; we start over from a list instead, paced by our backoff.
        this.#fail(this.#context.toError(error, `watching service "${this.name}"`));
        this.#dropWatcher();
        this.#schedule(this.#backoff.next(), () => void this.#sync());
      })
      .on('error', (error: Error) => {
        if (this.#watcher !== watcher) return;
        // The client has already dropped this watcher: forget it without a cancel request.
        this.#watcher = undefined;
        watcher.removeAllListeners().on('error', () => {});
        // etcd cancelled the watch: usually its start revision was compacted. Never resume at
        // the compact revision (changes in between are gone): list again.
        this.#context.emit({
          type: 'resync',
          message: `etcd cancelled the watch of "${this.name}" (${this.#context.toError(error, 'watch').message}); listing again`,
          service: this.name,
        });
        // Through the backoff, so that a watch etcd keeps refusing cannot spin.
        this.#schedule(this.#backoff.next(), () => void this.#sync());
      });
  }

  #onChanges(response: IWatchResponse): void {
    let changed = false;
    for (const event of response.events) {
      if (Number(event.kv.mod_revision) <= this.#floor) continue; // already in the last list
      const key = event.kv.key.toString();
      if (event.type === 'Delete') {
        changed = this.#records.delete(key) || changed;
        continue;
      }
      const instance = this.#context.read(this.name, this.#keyPrefix, event.kv);
      // A corrupt overwrite means the old value is gone too.
      if (instance) this.#records.set(key, instance);
      else this.#records.delete(key);
      changed = true;
    }
    if (changed) this.#publish();
  }

  /** Periodic re-list: catches a watch that has gone silent (a known failure of long-lived etcd watchers). */
  async #resync(): Promise<void> {
    const generation = this.#generation;
    let response: IRangeResponse;
    try {
      response = await this.#context.client.getAll().prefix(this.#keyPrefix).exec();
    } catch (error) {
      // The watch may still be fine; try again next period.
      this.#context.logger.debug({ err: this.#context.toError(error, 'resync'), service: this.name }, 'etcd resync list failed');
      if (generation === this.#generation) this.#scheduleResync();
      return;
    }
    if (generation !== this.#generation) return;
    const listed = readAll(this.#context, this.name, this.#keyPrefix, response.kvs);
    const differences = countDifferences(this.#records, listed);
    if (differences === 0) {
      this.#scheduleResync();
      return;
    }
    this.#context.emit({
      type: 'resync',
      message: `re-list of "${this.name}" found ${differences} change(s) the watch had not delivered; restarting the watch`,
      service: this.name,
    });
    const restart = ++this.#generation;
    this.#dropWatcher();
    this.#apply(response);
    if (restart === this.#generation) this.#startWatcher(Number(response.header.revision) + 1);
  }

  #publish(): void {
    const next = reconcile(this.#snapshot, [...this.#records.values()]);
    const recovered = this.#error !== undefined;
    this.#error = undefined;
    // After an error, even an unchanged snapshot is news: it says "fresh again".
    if (next === this.#snapshot && !recovered) return;
    this.#snapshot = next;
    this.#listeners.emit({ instances: next });
  }

  #fail(error: DiscoveryError): void {
    const first = this.#error === undefined;
    this.#error = error;
    if (!first) return; // one error per outage, not one per retry
    this.#context.logger.warn({ err: error, service: this.name }, 'etcd watch lost; serving the last snapshot');
    this.#listeners.emit({ error });
  }

  /** A newcomer's first events; broadcasts go through `#listeners`, which isolates the same way. */
  #call(listener: WatchListener, event: WatchEvent): void {
    try {
      listener(event);
    } catch (error) {
      this.#context.logger.error({ err: error, service: this.name }, 'a watch listener threw');
    }
  }

  #dropWatcher(): void {
    const watcher = this.#watcher;
    if (!watcher) return;
    this.#watcher = undefined;
    // A late 'error' of a cancelled watcher must not crash the process.
    watcher.removeAllListeners().on('error', () => {});
    let cancel: Promise<void>;
    try {
      cancel = watcher.cancel().catch(() => {});
    } catch {
      return; // the client's stream is already gone, and the watcher with it
    }
    this.#pendingCancels.add(cancel);
    void cancel.then(() => this.#pendingCancels.delete(cancel));
  }

  #schedule(ms: number, fn: () => void): void {
    clearTimeout(this.#timer);
    if (this.#closed) return;
    this.#timer = setTimeout(fn, ms);
  }

  #scheduleResync(): void {
    if (this.#context.resyncMs > 0) this.#schedule(jitter(this.#context.resyncMs), () => void this.#resync());
  }
}

function countDifferences(held: Map<string, Instance>, listed: Map<string, Instance>): number {
  let count = 0;
  for (const [key, instance] of listed) {
    const mine = held.get(key);
    if (!mine || !sameInstance(mine, instance)) count++;
  }
  for (const key of held.keys()) if (!listed.has(key)) count++;
  return count;
}

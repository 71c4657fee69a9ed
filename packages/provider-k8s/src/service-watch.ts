import { Listeners, type DiscoveryError, type Instance, type InvalidRecordError, type Unsubscribe, type WatchEvent, type WatchListener } from '@disco/core';
import type { ObjectMapper } from './candidate.js';
import type { KubeItem, ListWatchSource } from './list-watch-source.js';
import { Reflector, type ReflectorOptions } from './reflector.js';
import { ServiceView, type Policy } from './service-view.js';

export interface ServiceWatchHooks {
  problem(problem: InvalidRecordError): void;
  notice(type: string, message: string): void;
  toError(error: unknown): DiscoveryError;
}

/**
 * One list + watch for one service, shared by all its subscribers. Sends each subscriber the
 * current state first, then a snapshot per change; while the API is unreachable it sends one
 * `{error}` and keeps the last snapshot; once the API answers again it sends the snapshot
 * again (changed or not), which tells caches they are fresh.
 */
export class ServiceWatch {
  readonly #listeners: Listeners<WatchEvent>;
  /** Listeners still owed their first event. */
  readonly #pending = new Set<WatchListener>();
  readonly #view: ServiceView<KubeItem>;
  readonly #reflector: Reflector;
  readonly #hooks: ServiceWatchHooks;
  #failure: DiscoveryError | undefined;
  #synced = false;
  #flushQueued = false;
  #last: WatchEvent | undefined;

  constructor(source: ListWatchSource, map: ObjectMapper<KubeItem>, policy: Policy, options: ReflectorOptions, hooks: ServiceWatchHooks) {
    this.#hooks = hooks;
    this.#listeners = new Listeners((error) => this.#listenerThrew(error));
    this.#view = new ServiceView(map, policy, hooks.problem);
    this.#reflector = new Reflector(
      source,
      {
        replace: (items) => {
          this.#view.replace(items);
          this.#synced = true;
          this.#sendSnapshot();
        },
        apply: (type, item) => {
          if (!this.#view.apply(type, item) || this.#flushQueued) return;
          // Events read in one turn of the event loop (a rolling update) cost one merge, not one each.
          this.#flushQueued = true;
          setImmediate(() => {
            this.#flushQueued = false;
            if (this.#view.rebuild()) this.#sendSnapshot();
          });
        },
        connected: () => {
          if (this.#failure === undefined) return;
          this.#failure = undefined;
          hooks.notice('reconnected', 'the API server answers again');
          this.#sendSnapshot();
        },
        failed: (error) => {
          if (this.#failure !== undefined) return;
          this.#failure = hooks.toError(error);
          this.#send({ error: this.#failure });
        },
        notice: (type, message) => hooks.notice(type, message),
      },
      options,
    );
    this.#reflector.start();
  }

  /** Synced and not failing: its snapshot can answer discover(). */
  get fresh(): boolean {
    return this.#synced && this.#failure === undefined;
  }

  get snapshot(): readonly Instance[] {
    return this.#view.snapshot ?? [];
  }

  /** Adds a listener and sends it the current state (on a later tick, never from inside this call). */
  subscribe(listener: WatchListener): Unsubscribe {
    const remove = this.#listeners.add(listener);
    this.#pending.add(listener);
    queueMicrotask(() => {
      if (!this.#pending.delete(listener)) return;
      if (this.#synced) this.#call(listener, { instances: this.snapshot });
      else if (this.#failure) this.#call(listener, { error: this.#failure });
    });
    return () => {
      remove();
      this.#pending.delete(listener);
    };
  }

  stop(): void {
    this.#listeners.clear();
    this.#pending.clear();
    this.#reflector.stop();
  }

  #sendSnapshot(): void {
    const snapshot = this.snapshot;
    const last = this.#last;
    if (last && 'instances' in last && last.instances === snapshot) return;
    this.#send({ instances: snapshot });
  }

  #send(event: WatchEvent): void {
    this.#last = event;
    this.#pending.clear();
    this.#listeners.emit(event);
  }

  /** A newcomer's first event; broadcasts go through `#listeners`, which isolates the same way. */
  #call(listener: WatchListener, event: WatchEvent): void {
    try {
      listener(event);
    } catch (error) {
      this.#listenerThrew(error);
    }
  }

  #listenerThrew(error: unknown): void {
    this.#hooks.notice('listener-error', `a watch listener threw: ${(error as Error)?.message ?? String(error)}`);
  }
}

import type { Balancer, CallOutcome, PickContext } from './balancer.js';
import { channels } from './diagnostics.js';
import { ClosedError, NoInstancesError, type DiscoveryError } from './errors.js';
import type { InstanceFilter } from './instance-filter.js';
import type { Unsubscribe, WatchListener } from './provider.js';
import type { Instance } from './service.js';

/** One call's hold on an instance; `release` (or leaving a `using` block) reports how it went. */
export interface Lease extends Disposable {
  readonly instance: Instance;
  /** Reports the call's outcome to the balancer; later calls are ignored. Default `{ ok: true }`, latency measured. */
  release(outcome?: { ok?: boolean; latencyMs?: number }): void;
}

const pending: Balancer = Object.freeze({ name: 'pending', pick: () => undefined });
const empty: readonly Instance[] = [];

/** What a handle subscribes to (core's watch engine for the service). */
export interface HandleSource {
  subscribe(filter: InstanceFilter, listener: WatchListener): Unsubscribe;
}

/**
 * One call's lease: a class, not closures, so an acquire/release costs one small object
 * (acquire is on every call's path). The outcome object is made only for whoever hears it.
 */
class CallLease implements Lease {
  readonly instance: Instance;
  readonly #service: string;
  readonly #balancer: Balancer;
  readonly #started = performance.now();
  #released = false;

  constructor(service: string, instance: Instance, balancer: Balancer) {
    this.#service = service;
    this.instance = instance;
    this.#balancer = balancer;
  }

  release(outcome?: { ok?: boolean; latencyMs?: number }): void {
    if (this.#released) return;
    this.#released = true;
    const published = channels.callEnd.hasSubscribers;
    if (!this.#balancer.onEnd && !published) return;
    const result: CallOutcome = { ok: outcome?.ok ?? true, latencyMs: outcome?.latencyMs ?? performance.now() - this.#started };
    this.#balancer.onEnd?.(this.instance, result);
    if (published) channels.callEnd.publish({ service: this.#service, instance: this.instance, ok: result.ok, latencyMs: result.latencyMs });
  }

  [Symbol.dispose](): void {
    this.release();
  }
}

/**
 * A live view of one service: kept current by the shared watch, with its own balancer.
 * `pick()` is synchronous and does no I/O, allocation or clock read.
 */
export class ServiceHandle implements Disposable {
  readonly name: string;
  /**
   * Resolves once the first snapshot (and the balancer) is there; rejects if the backend
   * failed first. Either way the handle keeps following the service: one created during an
   * outage starts routing as soon as the backend answers.
   */
  readonly ready: Promise<void>;
  #instances: readonly Instance[] = empty;
  #balancer: Balancer = pending;
  #unsubscribe: Unsubscribe | undefined;
  #closed = false;
  #synced = false;
  readonly #onClose: (handle: ServiceHandle) => void;

  /** @internal created by `discovery.service(name)` */
  constructor(name: string, source: HandleSource, filter: InstanceFilter, balancer: Promise<Balancer>, onClose: (handle: ServiceHandle) => void) {
    this.name = name;
    this.#onClose = onClose;
    let settle!: { resolve: () => void; reject: (error: DiscoveryError) => void };
    const firstSnapshot = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
    // The balancer is installed when it exists, not when `ready` settles: a handle whose first
    // event was an error must still route once instances arrive.
    const installed = balancer.then((b) => {
      if (!this.#closed) this.#balancer = b;
    });
    this.#unsubscribe = source.subscribe(filter, (event) => {
      if ('instances' in event) {
        this.#instances = event.instances;
        this.#synced = true;
        settle.resolve();
      } else {
        settle.reject(event.error);
      }
    });
    this.ready = Promise.all([installed, firstSnapshot]).then(() => {
      if (this.#closed) throw new ClosedError(`service handle "${name}"`);
    });
    // Nobody has to await `ready`; an unobserved failure must not crash the process.
    this.ready.catch(() => {});
  }

  /** Whether a balancer is installed and at least one instance is there to pick. */
  get routable(): boolean {
    return this.#balancer !== pending && this.#instances.length > 0;
  }

  /** Whether a snapshot has arrived (even an empty one) and the balancer is installed. */
  get synced(): boolean {
    return this.#balancer !== pending && this.#synced;
  }

  /** This handle's balancer (a placeholder that picks nothing until it is created). */
  get balancer(): Balancer {
    return this.#balancer;
  }

  /** The current instances (healthy ones unless the handle was created with `healthyOnly: false`). */
  get instances(): readonly Instance[] {
    return this.#instances;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** One instance chosen by the balancer, or undefined when there is none (or before `ready`). */
  pick(context?: PickContext): Instance | undefined {
    return this.#balancer.pick(this.#instances, context);
  }

  /** Picks for one call and tells the balancer it started; throws `ERR_NO_INSTANCES` when there is none. */
  acquire(context?: PickContext): Lease {
    if (this.#closed) throw new ClosedError(`service handle "${this.name}"`);
    const instance = this.pick(context);
    if (!instance) throw new NoInstancesError(this.name);
    const balancer = this.#balancer;
    balancer.onStart?.(instance);
    if (channels.callStart.hasSubscribers) channels.callStart.publish({ service: this.name, instance });
    return new CallLease(this.name, instance, balancer);
  }

  /** Releases this handle's share of the watch. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    this.#instances = empty;
    this.#balancer = pending;
    this.#onClose(this);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

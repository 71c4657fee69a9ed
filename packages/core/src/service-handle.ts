import type { Balancer, CallOutcome, PickContext } from './balancer.js';
import type { CacheEntry } from './cache-entry.js';
import { ClosedError, NoInstancesError, type DiscoveryError } from './errors.js';
import type { InstanceFilter } from './instance-filter.js';
import type { Unsubscribe } from './provider.js';
import type { Instance } from './service.js';

/** One call's hold on an instance; `release` (or leaving a `using` block) reports how it went. */
export interface Lease extends Disposable {
  readonly instance: Instance;
  /** Reports the call's outcome to the balancer; later calls are ignored. Default `{ ok: true }`, latency measured. */
  release(outcome?: { ok?: boolean; latencyMs?: number }): void;
}

const pending: Balancer = Object.freeze({ name: 'pending', pick: () => undefined });
const empty: readonly Instance[] = Object.freeze([]);

/**
 * A live view of one service: kept current by the shared watch, with its own balancer.
 * `pick()` is synchronous and does no I/O, allocation or clock read.
 */
export class ServiceHandle implements Disposable {
  readonly name: string;
  /** Resolves once the first snapshot has arrived; rejects if the backend failed first. */
  readonly ready: Promise<void>;
  #instances: readonly Instance[] = empty;
  #balancer: Balancer = pending;
  #unsubscribe: Unsubscribe | undefined;
  #closed = false;
  readonly #onClose: (handle: ServiceHandle) => void;

  /** @internal created by `discovery.service(name)` */
  constructor(name: string, entry: CacheEntry, filter: InstanceFilter, balancer: Promise<Balancer>, onClose: (handle: ServiceHandle) => void) {
    this.name = name;
    this.#onClose = onClose;
    let settle!: { resolve: () => void; reject: (error: DiscoveryError) => void };
    const firstSnapshot = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
    this.#unsubscribe = entry.subscribe(filter, (event) => {
      if ('instances' in event) {
        this.#instances = event.instances;
        settle.resolve();
      } else {
        settle.reject(event.error);
      }
    });
    this.ready = Promise.all([balancer, firstSnapshot]).then(([b]) => {
      if (this.#closed) throw new ClosedError(`service handle "${name}"`);
      this.#balancer = b;
    });
    // Nobody has to await `ready`; an unobserved failure must not crash the process.
    this.ready.catch(() => {});
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
    const started = performance.now();
    let released = false;
    const release = (outcome: { ok?: boolean; latencyMs?: number } = {}) => {
      if (released) return;
      released = true;
      const result: CallOutcome = { ok: outcome.ok ?? true, latencyMs: outcome.latencyMs ?? performance.now() - started };
      balancer.onEnd?.(instance, result);
    };
    return { instance, release, [Symbol.dispose]: () => release() };
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

import { createBalancer, NoInstancesError, TimeoutError, type Discovery, type Instance, type Lease, type ServiceHandle, type Unsubscribe } from '@disco/core';
import { errors, type Dispatcher, type Pool } from 'undici';
import { AvoidingBalancer, hasUntried, type AvoidContext } from './avoiding-balancer.js';
import { InstancePools, type PoolFactory } from './instance-pools.js';
import type { ServiceSettings } from './options.js';
import { RetryBudget } from './retry-budget.js';

export interface RouteContext {
  readonly discovery: Discovery;
  readonly settings: ServiceSettings;
  readonly pool: { readonly factory: PoolFactory | undefined; readonly options: Pool.Options; readonly drainMs: number };
  readonly readyTimeoutMs: number;
  /** Called when the route gave up before it was ready, so the next request starts a fresh one. */
  readonly onFailed: (route: ServiceRoute) => void;
}

/**
 * Everything the dispatcher keeps for one service: a live handle with the service's balancer
 * (wrapped to avoid tried instances), a watch that closes the pools of departed instances, the
 * pools, and the retry budget. Made on the first request to the service.
 */
export class ServiceRoute {
  readonly name: string;
  readonly settings: ServiceSettings;
  readonly budget: RetryBudget | undefined;
  readonly pools: InstancePools;
  /** Settles when the first snapshot is in (or the route failed); undefined once ready. */
  pending: Promise<void> | undefined;
  #handle: ServiceHandle | undefined;
  #unwatch: Unsubscribe | undefined;
  #closed = false;
  #closedByDispatcher = false;
  /** Ends the wait for the first snapshot. */
  #onStop: (() => void) | undefined;

  constructor(name: string, context: RouteContext) {
    this.name = name;
    this.settings = context.settings;
    const retry = context.settings.retry;
    this.budget = retry ? new RetryBudget(retry.budget) : undefined;
    this.pools = new InstancePools(context.pool.factory, context.pool.options, context.pool.drainMs);
    this.pending = this.#start(context).then(
      () => {
        this.pending = undefined;
      },
      (error: unknown) => {
        context.onFailed(this);
        const closed = this.#closedByDispatcher;
        void this.#shutdown();
        throw closed ? new errors.ClientClosedError() : error;
      },
    );
    // Requests waiting on it observe the failure; an unobserved one must not crash the process.
    this.pending.catch(() => {});
  }

  async #start(context: RouteContext): Promise<void> {
    const { discovery, settings } = context;
    const inner = await createBalancer(settings.balancer, settings.balancerOptions);
    // Closed while the balancer was loading: the requests waiting hear why (above).
    if (this.#closed) throw new errors.ClientClosedError();
    const filter = { tags: settings.tags, healthyOnly: settings.healthyOnly };
    const handle = discovery.service(this.name, { ...filter, balancer: new AvoidingBalancer(inner) });
    this.#handle = handle;
    // Subscribed after the handle, so the handle holds a snapshot before its departed pools close.
    this.#unwatch = discovery.watch(
      this.name,
      (event) => {
        if ('instances' in event) this.pools.retain(event.instances);
        else if (event.error.code === 'ERR_CLOSED') {
          // The Discovery closed: so do the pools; the next request makes a new route (and hears ERR_CLOSED).
          context.onFailed(this);
          void this.#shutdown();
        }
      },
      filter,
    );
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TimeoutError(`discovering "${this.name}" for an HTTP request`, context.readyTimeoutMs)), context.readyTimeoutMs);
    });
    // A closed handle's ready may never settle; stopping the route must end the wait.
    const stopped = new Promise<never>((_, reject) => {
      this.#onStop = () => reject(new errors.ClientClosedError());
    });
    try {
      await Promise.race([handle.ready, timeout, stopped]);
    } finally {
      this.#onStop = undefined;
      clearTimeout(timer);
    }
  }

  /** The instances a request can be sent to now. */
  get instances(): readonly Instance[] {
    return this.#handle?.instances ?? [];
  }

  /** Picks an instance not in `avoid` and starts a call on it; `ERR_NO_INSTANCES` when there is none. */
  acquire(avoid: readonly string[]): Lease {
    const handle = this.#handle!;
    if (avoid.length === 0) {
      // A closed handle's acquire() says why (ERR_CLOSED).
      if (handle.instances.length === 0 && !handle.closed) {
        throw new NoInstancesError(this.name, `no healthy instance is registered; check the host in the URL (http://${this.name}/...) and that the service is registered`);
      }
      return handle.acquire();
    }
    const context: AvoidContext = { avoid };
    return handle.acquire(context);
  }

  /** Whether a retry could go somewhere this request has not been. */
  hasUntried(tried: readonly string[]): boolean {
    return hasUntried(this.instances, tried);
  }

  /** The instance's pool (TLS with this server name when given). */
  pool(instance: Instance, servername: string | undefined): Dispatcher {
    return this.pools.get(instance, servername);
  }

  /** The dispatcher is closing: requests still waiting for the first snapshot hear `UND_ERR_CLOSED`. */
  close(): Promise<void> {
    this.#closedByDispatcher = true;
    return this.#shutdown();
  }

  destroy(error?: Error): Promise<void> {
    this.#closedByDispatcher = true;
    this.#stop();
    return this.pools.destroy(error);
  }

  #shutdown(): Promise<void> {
    this.#stop();
    return this.pools.close();
  }

  #stop(): void {
    this.#closed = true;
    this.#onStop?.();
    this.budget?.stop();
    this.#unwatch?.();
    this.#handle?.close();
  }
}

import { endpoint, type Instance } from '@disco/core';
import { buildConnector, Pool, type Dispatcher } from 'undici';

export type PoolFactory = (origin: string, options: Pool.Options) => Dispatcher;

interface Entry {
  readonly pool: Dispatcher;
  /** `address:port`: what must still be in the snapshot for the pool to live. */
  readonly endpoint: string;
}

/**
 * One undici Pool per instance origin of one service (go-kit's factory and closer): made on
 * the first request to the instance, reused after, and closed when the instance leaves the
 * snapshot — gracefully (requests in flight finish), then destroyed after the drain deadline —
 * so no socket outlives its instance.
 */
export class InstancePools {
  readonly #factory: PoolFactory;
  readonly #options: Pool.Options;
  readonly #drainMs: number;
  readonly #pools = new Map<string, Entry>();
  /** Plain-HTTP pools by the instance object (snapshots keep unchanged instances): no key to build per request. */
  #byInstance = new WeakMap<Instance, Dispatcher>();
  readonly #retiring = new Set<Promise<void>>();
  #closed = false;

  constructor(factory: PoolFactory | undefined, options: Pool.Options, drainMs: number) {
    this.#factory = factory ?? ((origin, opts) => new Pool(origin, opts));
    this.#options = options;
    this.#drainMs = drainMs;
  }

  /** The pool for an instance, over TLS with this server name when `servername` is given. */
  get(instance: Instance, servername: string | undefined): Dispatcher {
    if (servername === undefined) {
      const known = this.#byInstance.get(instance);
      if (known !== undefined) return known;
    }
    const address = endpoint(instance);
    const key = servername === undefined ? `http://${address}` : `https://${address}#${servername}`;
    let entry = this.#pools.get(key);
    if (entry === undefined) {
      const origin = servername === undefined ? `http://${address}` : `https://${address}`;
      entry = { pool: this.#factory(origin, servername === undefined ? this.#options : pinServername(this.#options, servername)), endpoint: address };
      // A pool made after close() would never be closed; retire it at once (its request fails and is retried or reported).
      if (this.#closed) this.#retire(entry.pool);
      else this.#pools.set(key, entry);
    }
    if (servername === undefined && !this.#closed) this.#byInstance.set(instance, entry.pool);
    return entry.pool;
  }

  /** Closes the pools of instances that are not in `instances` any more. */
  retain(instances: readonly Instance[]): void {
    if (this.#pools.size === 0) return;
    const live = new Set<string>();
    for (const instance of instances) live.add(endpoint(instance));
    let retired = false;
    for (const [key, entry] of this.#pools) {
      if (live.has(entry.endpoint)) continue;
      this.#pools.delete(key);
      this.#retire(entry.pool);
      retired = true;
    }
    // Forget instance shortcuts to retired pools (a departed instance could come back as the same object).
    if (retired) this.#byInstance = new WeakMap();
  }

  /** Origins with an open pool. */
  get origins(): string[] {
    return [...this.#pools.keys()].map((key) => key.replace(/#.*$/, ''));
  }

  /** Closes every pool gracefully (each destroyed after the drain deadline); resolves when all are closed. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const entry of this.#pools.values()) this.#retire(entry.pool);
    this.#pools.clear();
    this.#byInstance = new WeakMap();
    await Promise.all(this.#retiring);
  }

  /** Destroys every pool now, failing what is in flight. */
  async destroy(error?: Error): Promise<void> {
    this.#closed = true;
    const pools = [...this.#pools.values()].map((entry) => entry.pool);
    this.#pools.clear();
    this.#byInstance = new WeakMap();
    await Promise.all([...pools.map((pool) => pool.destroy(error ?? null)), ...this.#retiring]);
  }

  #retire(pool: Dispatcher): void {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        void pool.destroy(null).then(resolve, resolve);
      }, this.#drainMs);
      // A drain must not keep the process alive on its own.
      timer.unref();
    });
    const closed = pool.close().catch(() => {});
    const done: Promise<void> = Promise.race([closed, deadline]).then(() => {
      clearTimeout(timer);
      this.#retiring.delete(done);
    });
    this.#retiring.add(done);
  }
}

/**
 * TLS options whose SNI (and certificate check) is `connect.servername` if configured, else the
 * service's host name. undici takes a connection's server name from the request's Host header
 * before the connect options, so the name is pinned in a connector that wraps undici's own
 * (built from the same options a Pool would build it from).
 */
function pinServername(options: Pool.Options, servername: string): Pool.Options {
  const connect = options.connect;
  // A custom connector function decides TLS itself.
  if (typeof connect === 'function') return options;
  const name = (connect as { servername?: string } | undefined)?.servername ?? servername;
  const connector = buildConnector({
    ...(options.maxCachedSessions !== undefined && { maxCachedSessions: options.maxCachedSessions }),
    ...(options.allowH2 !== undefined && { allowH2: options.allowH2 }),
    ...(options.connectTimeout !== undefined && { timeout: options.connectTimeout }),
    ...(options.autoSelectFamily !== undefined && { autoSelectFamily: options.autoSelectFamily, autoSelectFamilyAttemptTimeout: options.autoSelectFamilyAttemptTimeout }),
    ...connect,
    servername: name,
  });
  return { ...options, connect: (opts, callback) => connector({ ...opts, servername: name }, callback) };
}

import { abortable, settleWithin, throwIfAborted } from './abort.js';
import { createBalancer, type BalancerSpec, type PickContext } from './balancer.js';
import { roundRobin } from './balancers/round-robin.js';
import { describeValue } from './describe-value.js';
import { channels, traced } from './diagnostics.js';
import { parseDuration, type Duration } from './duration.js';
import { ClosedError, ConfigError, NoInstancesError, TimeoutError, UnsupportedError, type DiscoveryError } from './errors.js';
import { sourceFromProvider } from './provider/provider-source.js';
import { WatchEngine, type EngineOptions } from './provider/watch-engine.js';
import { HealthAgent } from './health/health-agent.js';
import { httpProbe } from './health/http-probe.js';
import { assertHealthStatus, getProbe, type HealthProbe, type HealthStatus, type ProbeKind } from './health/probe.js';
import { tcpProbe } from './health/tcp-probe.js';
import { healthyFilter, type InstanceFilter } from './instance-filter.js';
import { silentLogger, type Logger } from './logger.js';
import { Listeners, unsubscribeOnAbort } from './listeners.js';
import { loadProvider, type ProviderName } from './provider-loader.js';
import type { OperationOptions, Provider, ProviderEvent, ProviderModule, Unsubscribe, WatchListener } from './provider.js';
import { endpoint, type Instance, type Service } from './service.js';
import { ServiceHandle, type Lease } from './service-handle.js';
import type { StaticProviderOptions } from './static/static-provider.js';
import { toDiscoveryError } from './to-discovery-error.js';
import { validateService, validateServiceName } from './validate.js';

/**
 * Options of each provider that can be named by string, under its name. Provider packages add
 * their entry by declaration merging (`declare module '@disco/core' { interface
 * ProviderOptionsMap { etcd: EtcdProviderOptions } }`), so that once a provider package is
 * imported, `createDiscovery({ etcd: { ttll: 1 } })` fails to compile.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface ProviderOptionsMap {}

type ProviderOptionSections = {
  [K in 'etcd' | 'consul' | 'kubernetes' | 'dns']?: K extends keyof ProviderOptionsMap ? ProviderOptionsMap[K] : Record<string, unknown>;
};

export interface DiscoveryConfig extends ProviderOptionSections {
  /** A provider object, or the name of one to load: static (default), etcd, consul, kubernetes (k8s), dns. */
  provider?: Provider | ProviderName;
  /** Options for the provider loaded by name, under its name (etcd, consul, kubernetes and dns come from their packages). */
  static?: StaticProviderOptions;
  /** Balancer for `service()` and `resolve()`: a registered name, a factory, or an object. Default round_robin. */
  balancer?: BalancerSpec;
  /** How long a snapshot read without a watch is fresh. Default 10s. */
  cacheTtl?: Duration;
  /** How long the last good snapshot is served while the backend fails. Default: for ever. */
  maxStale?: Duration;
  /** Run local health checks for registrations where the backend does not. Default true. */
  healthCheck?: boolean;
  /** The name this process registers under when `register()` is given none. */
  serviceName?: string;
  /** Deadline for deregistering everything in `close()`. Default 5s. */
  closeTimeout?: Duration;
  /** pino-compatible; silent by default. */
  logger?: Logger;
  /** Probes for the local health agent beyond the registered ones (`grpc` from @disco/grpc-resolver). */
  probes?: Partial<Record<ProbeKind, HealthProbe>>;
  /** Environment used for provider-specific variables (set by `configFromEnv`). */
  env?: Readonly<Record<string, string | undefined>>;
  /**
   * Provider packages handed over up front, by name (`{ etcd: await import('@disco/provider-etcd') }`),
   * so that `provider: 'etcd'` needs no import by name at run time (a bundle).
   */
  providers?: Readonly<Record<string, ProviderModule>>;
}

export interface FilterOptions {
  /** Only instances carrying every one of these tags. */
  tags?: readonly string[];
  /** Leave out unhealthy instances. Default true. */
  healthyOnly?: boolean;
}

export interface ServiceOptions extends FilterOptions {
  /** This handle's balancer (default: the Discovery's). */
  balancer?: BalancerSpec;
  balancerOptions?: Record<string, unknown>;
}

export interface DiscoveryEvents {
  /** A read or watch failed: what you hold may be stale (it keeps being served up to maxStale). */
  error: { readonly error: DiscoveryError; readonly service?: string };
  /** Something the provider reported: a skipped record, a lost lease, a reconnect. */
  provider: ProviderEvent;
  /** A local health check result for one of this process's registrations. */
  health: { readonly serviceId: string; readonly name: string; readonly status: HealthStatus; readonly changed: boolean };
}

interface Registration {
  service: Service;
  agent: HealthAgent | undefined;
}

/** What users hold. Create with {@link createDiscovery}. */
export class Discovery implements AsyncDisposable {
  readonly #config: DiscoveryConfig;
  readonly #logger: Logger;
  readonly #events: { readonly [K in keyof DiscoveryEvents]: Listeners<DiscoveryEvents[K]> };
  readonly #ttlMs: number;
  readonly #maxStaleMs: number;
  readonly #entries = new Map<string, WatchEngine>();
  #engineOptions: EngineOptions | undefined;
  readonly #registrations = new Map<string, Registration>();
  readonly #handles = new Set<ServiceHandle>();
  /** One live handle per name (and filter) behind `resolve()` and `acquire()`. */
  readonly #resolvers = new Map<string, ServiceHandle>();
  readonly #onClose = new Set<() => void>();
  #provider: Promise<Provider> | undefined;
  /** The provider once loaded: engines then make their sources without waiting a turn. */
  #loaded: Provider | undefined;
  #closing: Promise<void> | undefined;

  /** @internal use createDiscovery() */
  constructor(config: DiscoveryConfig = {}) {
    this.#config = config;
    this.#logger = config.logger ?? silentLogger;
    const onListenerError = (error: unknown) => this.#logger.error({ err: error }, 'disco: an event listener threw');
    this.#events = { error: new Listeners(onListenerError), provider: new Listeners(onListenerError), health: new Listeners(onListenerError) };
    this.#ttlMs = parseDuration(config.cacheTtl ?? '10s', 'cacheTtl');
    this.#maxStaleMs = parseDuration(config.maxStale ?? Infinity, 'maxStale', { unlimited: true });
    if (config.serviceName !== undefined) validateServiceName(config.serviceName);
    if (config.provider !== undefined && typeof config.provider !== 'string' && typeof config.provider?.discover !== 'function') {
      throw new ConfigError('provider must be a provider object or one of: static, etcd, consul, kubernetes, k8s, dns', 'provider');
    }
  }

  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** Subscribes to `error`, `provider` or `health` events. */
  on<K extends keyof DiscoveryEvents>(type: K, listener: (event: DiscoveryEvents[K]) => void): Unsubscribe {
    return this.#events[type].add(listener);
  }

  /** The provider (loaded on first use when named by string). */
  provider(): Promise<Provider> {
    this.#assertOpen();
    return this.#getProvider();
  }

  /**
   * Registers a service (validated first: every problem is listed). It is remembered, so
   * `close()` takes it out again; where the backend runs no checks itself, the local health
   * agent starts probing it.
   */
  async register(service: Service, options: OperationOptions = {}): Promise<void> {
    this.#assertOpen();
    const valid = validateService(service, { name: this.#config.serviceName });
    throwIfAborted(options.signal, 'register');
    const provider = await this.#getProvider();
    const previous = this.#registrations.get(valid.id);
    const context = { provider: provider.name, service: valid.name, serviceId: valid.id };
    await traced(channels.register, context, () => provider.register(valid, { signal: options.signal, healthy: true }));
    if (previous?.agent) await previous.agent.stop();
    const registration: Registration = { service: valid, agent: undefined };
    this.#registrations.set(valid.id, registration);
    registration.agent = this.#startAgent(provider, registration);
    this.#logger.info({ service: valid.name, id: valid.id, endpoint: endpoint(valid) }, 'disco: registered');
  }

  /** Removes a registration and stops its health agent. Unknown ids are fine. */
  async deregister(serviceId: string, options: OperationOptions = {}): Promise<void> {
    this.#assertOpen();
    const registration = this.#registrations.get(serviceId);
    this.#registrations.delete(serviceId);
    await registration?.agent?.stop();
    const provider = await this.#getProvider();
    const context = { provider: provider.name, service: registration?.service.name ?? '', serviceId };
    await traced(channels.deregister, context, () => provider.deregister(serviceId, options));
    if (registration) this.#logger.info({ id: serviceId }, 'disco: deregistered');
  }

  /**
   * For registrations with a `ttl` check: the status the service reports from now on
   * (`passing`, `warning` or `critical`). It sticks until the next call, and disco keeps
   * reporting it: the backend's agent (Consul) hears it within each TTL, so a process that dies
   * or hangs goes critical; elsewhere the local agent applies it at once.
   */
  async heartbeat(serviceId: string, status: HealthStatus = 'passing'): Promise<void> {
    this.#assertOpen();
    assertHealthStatus(status, 'heartbeat');
    const registration = this.#registrations.get(serviceId);
    if (registration?.service.health?.ttl === undefined) throw new ConfigError(`heartbeat: ${describeValue(serviceId)} is not a registration of this process with a ttl check`, 'serviceId');
    if (registration.agent) return registration.agent.heartbeat(status);
    const provider = await this.#getProvider();
    if (!provider.heartbeat) throw new ConfigError(`heartbeat: ${describeValue(serviceId)} has no ttl check running: local health checks are off (healthCheck: false) and ${provider.name} runs none`, 'healthCheck');
    await provider.heartbeat(serviceId, status);
  }

  /**
   * Takes every registration of this process out of rotation before a shutdown:
   * `deregister` removes them, `unhealthy` keeps them but marks them unhealthy.
   */
  async withdraw(mode: 'deregister' | 'unhealthy' = 'deregister'): Promise<void> {
    this.#assertOpen();
    const provider = await this.#getProvider();
    const registrations = [...this.#registrations.values()];
    await Promise.all(registrations.map((r) => r.agent?.stop()));
    await Promise.all(
      registrations.map(async (r) => {
        if (mode === 'unhealthy') await provider.register(r.service, { healthy: false });
        else {
          await provider.deregister(r.service.id);
          this.#registrations.delete(r.service.id);
        }
      }),
    );
  }

  /** The instances of a service, through the cache. */
  async discover(name: string, options: FilterOptions & OperationOptions = {}): Promise<readonly Instance[]> {
    this.#assertOpen();
    const entry = this.#entry(validateServiceName(name));
    return traced(channels.discover, { provider: this.#providerName, service: name }, () => entry.read(this.#filter(options), options.signal));
  }

  /**
   * The names of the services the backend knows, sorted, each once (straight from the backend,
   * not cached). `ERR_UNSUPPORTED` naming the provider when it cannot list them.
   */
  async listServices(options: OperationOptions = {}): Promise<string[]> {
    this.#assertOpen();
    throwIfAborted(options.signal, 'listServices');
    const provider = await this.#getProvider();
    if (!provider.listServices) throw new UnsupportedError(`listServices: the ${provider.name} provider cannot list services; name the service you want instead`);
    const names = await provider.listServices({ signal: options.signal });
    return [...new Set(names)].sort();
  }

  /**
   * Calls `listener` with the current state, then on every change (never twice with equal
   * snapshots), or with `{error}` when what it holds may be stale. However many watch one
   * service, the backend sees one watch.
   */
  watch(name: string, listener: WatchListener, options: FilterOptions & OperationOptions = {}): Unsubscribe {
    this.#assertOpen();
    const entry = this.#entry(validateServiceName(name));
    throwIfAborted(options.signal, 'watch');
    return unsubscribeOnAbort(options.signal, entry.subscribe(this.#filter(options), listener));
  }

  /**
   * The service's snapshots as an async iterable: the current one first, then each change.
   * A consumer slower than the changes gets the latest snapshot, not a backlog. Ends when
   * `signal` aborts, the loop breaks, or the Discovery closes.
   */
  updates(name: string, options: FilterOptions & OperationOptions = {}): AsyncIterableIterator<readonly Instance[]> {
    let latest: readonly Instance[] | undefined;
    let waiting: ((result: IteratorResult<readonly Instance[]>) => void) | undefined;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      unsubscribe();
      options.signal?.removeEventListener('abort', finish);
      this.#onClose.delete(finish);
      waiting?.({ done: true, value: undefined });
      waiting = undefined;
    };
    const unsubscribe = this.watch(name, (event) => {
      if (!('instances' in event)) return;
      if (waiting) {
        const resolve = waiting;
        waiting = undefined;
        resolve({ done: false, value: event.instances });
      } else latest = event.instances;
    }, { tags: options.tags, healthyOnly: options.healthyOnly });
    options.signal?.addEventListener('abort', finish, { once: true });
    this.#onClose.add(finish);
    if (options.signal?.aborted) finish();
    return {
      next: () => {
        if (latest) {
          const value = latest;
          latest = undefined;
          return Promise.resolve({ done: false, value });
        }
        if (done) return Promise.resolve({ done: true, value: undefined });
        return new Promise((resolve) => (waiting = resolve));
      },
      return: () => {
        finish();
        return Promise.resolve({ done: true, value: undefined });
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }

  /**
   * One instance through the balancer; `ERR_NO_INSTANCES` when there is none. The service
   * stays watched (one live handle per name) until `close()`, so later calls answer from
   * memory. A balancer that counts calls or latency (least_connections, peak_ewma, …) must
   * hear when each call ends, which `resolve()` cannot tell it: use {@link acquire} then.
   */
  resolve(name: string, options?: FilterOptions & { context?: PickContext }): Promise<Instance> {
    try {
      const handle = this.#resolver(name, options);
      // Warm: one settled promise, as cheap as awaiting any value.
      if (handle.routable) return Promise.resolve(this.#pickOne(handle, options?.context));
      return this.#settle(handle).then(() => this.#pickOne(handle, options?.context));
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  #pickOne(handle: ServiceHandle, context: PickContext | undefined): Instance {
    const balancer = handle.balancer;
    if (balancer.onStart || balancer.onEnd) {
      throw new ConfigError(`balancer "${balancer.name}" needs to hear when each call ends, which resolve() cannot tell it: use \`await discovery.acquire("${handle.name}")\` and \`lease.release({ ok })\`, or service("${handle.name}").acquire()`, 'balancer');
    }
    const instance = handle.pick(context);
    if (!instance) throw this.#noInstance(handle);
    return instance;
  }

  /**
   * Picks one instance for one call and tells the balancer the call started; report how it
   * went with `lease.release({ ok, latencyMs })` (or `using lease = …`). `ERR_NO_INSTANCES`
   * when there is none.
   */
  async acquire(name: string, options: FilterOptions & { context?: PickContext } = {}): Promise<Lease> {
    const handle = this.#resolver(name, options);
    if (!handle.routable) await this.#settle(handle);
    if (!handle.routable) throw this.#noInstance(handle);
    return handle.acquire(options.context);
  }

  /** Why nothing could be picked: the backend's failure while it lasts, else ERR_NO_INSTANCES. */
  #noInstance(handle: ServiceHandle): DiscoveryError {
    const outage = handle.instances.length === 0 ? this.#entries.get(handle.name)?.error : undefined;
    return outage ?? new NoInstancesError(handle.name, handle.instances.length === 0 ? 'no healthy instance is registered' : 'the balancer chose none');
  }

  /** A live handle: `await handle.ready`, then `handle.pick()` synchronously. Close it when done. */
  service(name: string, options: ServiceOptions = {}): ServiceHandle {
    this.#assertOpen();
    const entry = this.#entry(validateServiceName(name));
    const balancer = createBalancer(options.balancer ?? this.#config.balancer ?? roundRobin, options.balancerOptions);
    const handle = new ServiceHandle(name, entry, this.#filter(options), balancer, (h) => this.#handles.delete(h));
    this.#handles.add(handle);
    return handle;
  }

  /** The live handle behind resolve()/acquire(): on a warm name one map read, no allocation. */
  #resolver(name: string, options?: FilterOptions): ServiceHandle {
    this.#assertOpen();
    const filtered = options !== undefined && (Boolean(options.tags?.length) || options.healthyOnly === false);
    const key = filtered ? `${name}\u0000${options.healthyOnly ?? true}\u0000${(options.tags ?? []).join('\u0000')}` : name;
    let handle = this.#resolvers.get(key);
    if (!handle || handle.closed) {
      // Only a valid name ever gets into the map, so a hit needs no validation.
      validateServiceName(name);
      handle = this.service(name, { tags: options?.tags, healthyOnly: options?.healthyOnly });
      this.#resolvers.set(key, handle);
    }
    return handle;
  }

  /** Waits until the handle can route, or its first answer says it cannot. */
  async #settle(handle: ServiceHandle): Promise<void> {
    // A handle that has had a snapshot answers from it, even if its first event was an error.
    if (!handle.synced) await handle.ready;
  }

  /**
   * Deregisters everything this process registered (bounded by `closeTimeout`), stops
   * watches, agents and timers, and closes the provider. Safe to call twice.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #close(): Promise<void> {
    // Stop everything that listens first, so nobody sees our own deregistrations as updates.
    for (const handle of [...this.#handles]) handle.close();
    for (const finish of [...this.#onClose]) finish();
    // Watchers still attached (handles and updates() ended above) learn why events stop.
    const closed = new ClosedError();
    const engines = [...this.#entries.values()].map((entry) => entry.close(closed));
    this.#entries.clear();
    this.#resolvers.clear();
    const registrations = [...this.#registrations.values()];
    this.#registrations.clear();
    await Promise.all(registrations.map((r) => r.agent?.stop()));
    const provider = this.#provider ? await this.#provider.catch(() => undefined) : undefined;
    if (provider && registrations.length > 0) {
      const ms = parseDuration(this.#config.closeTimeout ?? '5s', 'closeTimeout');
      const signal = AbortSignal.timeout(ms);
      // abortable(): a provider that ignores the signal must not hold close() past the deadline.
      const results = await Promise.allSettled(registrations.map((r) => abortable(provider.deregister(r.service.id, { signal }), signal)));
      for (const [i, result] of results.entries()) {
        if (result.status === 'rejected') {
          const error = signal.aborted ? new TimeoutError(`deregistering "${registrations[i]!.service.id}" on close`, ms) : toDiscoveryError(result.reason, provider.name);
          this.#reportError(error);
        }
      }
    }
    // Sources let go of their streams promptly once stopped; a stuck one must not hold close().
    await settleWithin(Promise.allSettled(engines), 2_000);
    if (provider) await provider.close();
    for (const listeners of Object.values(this.#events)) listeners.clear();
  }

  #assertOpen(): void {
    if (this.#closing) throw new ClosedError();
  }

  #getProvider(): Promise<Provider> {
    if (this.#provider) return this.#provider;
    const spec = this.#config.provider ?? 'static';
    this.#provider = (async () => {
      const provider = typeof spec === 'string' ? await loadProvider(spec, this.#config, { logger: this.#logger, env: this.#config.env ?? process.env }) : spec;
      provider.onEvent?.((event) => this.#providerEvent(event));
      this.#loaded = provider;
      return provider;
    })();
    // Loading failures surface on the calls that need the provider; don't leave it unobserved.
    this.#provider.catch(() => {});
    return this.#provider;
  }

  #entry(name: string): WatchEngine {
    let entry = this.#entries.get(name);
    if (entry) return entry;
    // One settings object for every engine: a watched service costs only its own state.
    this.#engineOptions ??= {
      provider: this.#providerName,
      source: (service) =>
        this.#loaded ? sourceFromProvider(this.#loaded, service, this.#ttlMs) : this.#getProvider().then((provider) => sourceFromProvider(provider, service, this.#ttlMs)),
      ttlMs: this.#ttlMs,
      maxStaleMs: this.#maxStaleMs,
      hooks: {
        error: (error, service) => this.#reportError(error, service),
        event: (event) => this.#providerEvent(event),
        listenerError: (error, service) => this.#logger.error({ service, err: error }, 'disco: a watch listener threw'),
      },
    };
    entry = new WatchEngine(name, this.#engineOptions);
    this.#entries.set(name, entry);
    return entry;
  }

  get #providerName(): string {
    const spec = this.#config.provider ?? 'static';
    return typeof spec === 'string' ? spec : spec.name;
  }

  #providerEvent(event: ProviderEvent): void {
    if (channels.providerEvent.hasSubscribers) channels.providerEvent.publish({ provider: this.#providerName, event });
    if (event.error) this.#logger.warn({ service: event.service, code: event.error.code, type: event.type }, `disco: ${event.message}`);
    else this.#logger.debug({ service: event.service, type: event.type }, `disco: ${event.message}`);
    this.#events.provider.emit(event);
  }

  #filter(options: FilterOptions): InstanceFilter {
    const healthyOnly = options.healthyOnly ?? true;
    if (healthyOnly && (!options.tags || options.tags.length === 0)) return healthyFilter;
    return Object.freeze({ healthyOnly, tags: options.tags ? Object.freeze([...options.tags]) : undefined });
  }

  #reportError(error: DiscoveryError, service?: string): void {
    const heard = this.#events.error.size > 0;
    this.#events.error.emit(service === undefined ? { error } : { error, service });
    if (!heard) this.#logger.warn({ service, code: error.code }, `disco: ${error.message}`);
  }

  #startAgent(provider: Provider, registration: Registration): HealthAgent | undefined {
    const { service } = registration;
    const check = service.health;
    if (!check || this.#config.healthCheck === false || provider.capabilities.serverHealthChecks) return undefined;
    let probe: { kind: string; target: string; run: HealthProbe } | undefined;
    if (check.ttl === undefined) {
      const kind = (['http', 'tcp', 'grpc'] as const).find((k) => check[k] !== undefined)!;
      // Built-ins by reference, not by registration: bundlers drop side-effect-only imports of a sideEffects:false package.
      const run = this.#config.probes?.[kind] ?? getProbe(kind) ?? (kind === 'http' ? httpProbe : kind === 'tcp' ? tcpProbe : undefined);
      if (!run) {
        const hint = kind === 'grpc' ? ' (install @disco/grpc-resolver and call registerGrpcProbe(), or pass probes: { grpc })' : '';
        this.#reportError(new ConfigError(`no probe for "${kind}" health checks is available${hint}; "${service.id}" is registered without a local check`, 'health'));
        return undefined;
      }
      probe = { kind, target: check[kind]!, run };
    }
    const agent = new HealthAgent(check, probe, {
      setHealthy: (healthy) => provider.register(service, { healthy }),
      remove: () => provider.deregister(service.id),
      observe: (status, changed) => {
        if (changed) this.#logger.info({ id: service.id, status }, 'disco: health changed');
        this.#events.health.emit({ serviceId: service.id, name: service.name, status, changed });
        if (channels.health.hasSubscribers) channels.health.publish({ serviceId: service.id, service: service.name, status, changed });
      },
      fail: (error) => this.#reportError(toDiscoveryError(error, provider.name), service.name),
    });
    agent.start();
    return agent;
  }
}

/** Creates a Discovery. Nothing connects until the first call; a provider named by string is loaded then. */
export function createDiscovery(config: DiscoveryConfig = {}): Discovery {
  return new Discovery(config);
}

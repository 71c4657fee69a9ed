import {
  assertHealthStatus,
  ClosedError,
  ConfigError,
  InvalidServiceError,
  parseDuration,
  ProviderUnavailableError,
  silentLogger,
  validateService,
  validateServiceName,
  type HealthStatus,
  type Instance,
  type Logger,
  type OperationOptions,
  type Provider,
  type ProviderContext,
  type ProviderEvent,
  type RegisterOptions,
  type Service,
  type Unsubscribe,
  type WatchListener,
} from '@disco/core';
import { Listeners, throwIfAborted, WatchHub } from '@disco/core/provider';
import { ChangeFeed } from './consul-feed.js';
import { ConsulHttp } from './consul-http.js';
import { ConsulSource, type SourceHost } from './consul-source.js';
import { Heartbeat } from './heartbeat.js';
import { checkId, toRegistration } from './mapping.js';
import { resolveOptions, type ConsulProviderOptions, type ResolvedOptions } from './options.js';

interface Registration {
  service: Service;
  healthy: boolean;
  /** What the TTL check reports: the service's own word (`heartbeat()`), passing until it speaks. */
  status: HealthStatus;
  heartbeat: Heartbeat | undefined;
}

/** Consul's TTL update endpoints: /v1/agent/check/{pass,warn,fail}/:check_id. */
const ttlVerb = { passing: 'pass', warning: 'warn', critical: 'fail' } as const satisfies Record<HealthStatus, string>;

/**
 * disco's provider for Consul, over the agent's HTTP API: services are registered with the
 * local agent (which runs their HTTP/TCP/gRPC checks; TTL checks are fed by this provider),
 * instances are read from `/v1/health/service/:name`, and watches are blocking queries.
 */
export class ConsulProvider implements Provider {
  readonly name = 'consul';
  readonly capabilities = Object.freeze({ register: true, watch: true, serverHealthChecks: true });
  readonly #options: ResolvedOptions;
  readonly #http: ConsulHttp;
  readonly #logger: Logger;
  readonly #hub: WatchHub;
  readonly #registrations = new Map<string, Registration>();
  /** Services this process put in maintenance mode. */
  readonly #maintenance = new Set<string>();
  readonly #events: Listeners<ProviderEvent>;
  readonly #host: SourceHost;
  readonly #feed: ChangeFeed;
  #closed = false;

  /** Options win over the CONSUL_* variables of `context.env` (default `process.env`); see options.ts. */
  constructor(options: ConsulProviderOptions = {}, context?: Partial<ProviderContext>) {
    this.#options = resolveOptions(options ?? {}, context?.env ?? process.env);
    this.#logger = options?.logger ?? context?.logger ?? silentLogger;
    this.#events = new Listeners((error) => this.#logger.error({ err: error }, 'a provider event listener threw'));
    this.#http = new ConsulHttp(this.#options);
    this.#feed = new ChangeFeed(this.#http, this.#options);
    this.#host = { http: this.#http, options: this.#options, logger: this.#logger, feed: this.#feed, emit: (event) => this.#emit(event) };
    this.#hub = new WatchHub({
      provider: this.name,
      source: (name) => this.source(name),
      emit: (event) => this.#emit(event),
      logger: this.#logger,
    });
  }

  /**
   * The source core's watch engine runs for one service: an unblocked read of
   * `/v1/health/service/:name` positioned at X-Consul-Index, then one blocking query at a time.
   */
  source(name: string): ConsulSource {
    validateServiceName(name);
    return new ConsulSource(this.#host, name);
  }

  /**
   * Registers (or updates) a service with the agent. `healthy: false` puts it in Consul's
   * maintenance mode: it stays registered, every reader sees it critical, DNS leaves it out.
   */
  async register(service: Service, options: RegisterOptions = {}): Promise<void> {
    this.#ensureOpen();
    validateService(service);
    throwIfAborted(options.signal, 'register');
    const healthy = options.healthy !== false;
    // An update of the service keeps the status its TTL check was given.
    const status = this.#registrations.get(service.id)?.status ?? 'passing';
    const body = toRegistration(service, healthy, status);
    const what = `register ${service.id}`;
    const need = `service:write on "${service.name}"`;
    // Re-registering an unhealthy one keeps its maintenance check (no replace), so it does not blink healthy.
    await this.#http.call('PUT', '/v1/agent/service/register', { query: { 'replace-existing-checks': healthy ? 'true' : undefined }, body, signal: options.signal, what, need });
    await this.#setMaintenance(service.id, !healthy, options.signal, need);
    const previous = this.#registrations.get(service.id);
    previous?.heartbeat?.stop();
    const registration: Registration = { service, healthy, status, heartbeat: undefined };
    this.#registrations.set(service.id, registration);
    const ttl = service.health?.ttl;
    if (ttl !== undefined && !this.#closed) {
      registration.heartbeat = new Heartbeat(parseDuration(ttl, 'health.ttl'), () => this.#beat(service.id, true));
      if (healthy) await this.#beat(service.id, false);
    }
  }

  async deregister(serviceId: string, options: OperationOptions = {}): Promise<void> {
    this.#ensureOpen();
    await this.#deregister(serviceId, options.signal);
  }

  /**
   * The status this registration's TTL check reports from now on. It is sent at once (an
   * error if Consul refuses it), then with every heartbeat until the next call.
   */
  async heartbeat(serviceId: string, status: HealthStatus, options: OperationOptions = {}): Promise<void> {
    this.#ensureOpen();
    const registration = this.#registrations.get(serviceId);
    if (!registration?.heartbeat) throw new ConfigError(`heartbeat: this provider holds no registration "${serviceId}" with a ttl check`, 'serviceId');
    assertHealthStatus(status, 'heartbeat');
    registration.status = status;
    const need = `service:write on "${registration.service.name}"`;
    if (registration.healthy) await this.#http.call('PUT', this.#ttlPath(registration), { signal: options.signal, what: `heartbeat of ${serviceId}`, need });
  }

  async discover(name: string, options: OperationOptions = {}): Promise<Instance[]> {
    this.#ensureOpen();
    validateServiceName(name);
    throwIfAborted(options.signal, 'discover');
    // One-shot: retried (p-retry, `retries`) on network trouble, 5xx and 429; a watched name answers from its engine.
    return this.#http.retry(() => this.#hub.discover(name, options.signal), options.signal, `discover ${name}`);
  }

  /** The service names of the datacenter's catalog (`GET /v1/catalog/services`), which the ACL token may read. */
  async listServices(options: OperationOptions = {}): Promise<string[]> {
    this.#ensureOpen();
    throwIfAborted(options.signal, 'listServices');
    const what = 'list services';
    const { consistency } = this.#options;
    const response = await this.#http.call('GET', '/v1/catalog/services', {
      query: { stale: consistency === 'stale' ? true : undefined, consistent: consistency === 'consistent' ? true : undefined },
      signal: options.signal,
      what,
      need: 'service:read',
    });
    let catalog: unknown;
    try {
      catalog = JSON.parse(response.body);
    } catch {
      throw new ProviderUnavailableError('consul', `${what}: Consul's answer is not JSON`, { retryable: true });
    }
    if (typeof catalog !== 'object' || catalog === null || Array.isArray(catalog)) throw new ProviderUnavailableError('consul', `${what}: Consul's answer is not an object of service names`, { retryable: true });
    return Object.keys(catalog);
  }

  watch(name: string, listener: WatchListener, options: OperationOptions = {}): Unsubscribe {
    this.#ensureOpen();
    validateServiceName(name);
    if (options.signal?.aborted) return () => {};
    return this.#hub.watch(name, listener, options.signal);
  }

  onEvent(listener: (event: ProviderEvent) => void): Unsubscribe {
    return this.#events.add(listener);
  }

  /** Stops every watch and heartbeat, deregisters this process's services (unless told not to), closes the connections. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const watchesStopped = this.#hub.close();
    for (const registration of this.#registrations.values()) registration.heartbeat?.stop();
    if (this.#options.deregisterOnClose) {
      const deadline = AbortSignal.timeout(5_000);
      const results = await Promise.allSettled([...this.#registrations.keys()].map((id) => this.#deregister(id, deadline)));
      for (const result of results) {
        if (result.status === 'rejected') this.#logger.warn({ err: result.reason }, `consul: deregistering on close failed: ${(result.reason as Error).message}`);
      }
    }
    this.#registrations.clear();
    this.#events.clear();
    await watchesStopped;
    this.#feed.close();
    await this.#http.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #deregister(serviceId: string, signal: AbortSignal | undefined): Promise<void> {
    if (typeof serviceId !== 'string' || serviceId === '') throw new InvalidServiceError(['service id must be a non-empty string'], 'service id');
    const registration = this.#registrations.get(serviceId);
    registration?.heartbeat?.stop();
    this.#registrations.delete(serviceId);
    this.#maintenance.delete(serviceId);
    await this.#http.call('PUT', `/v1/agent/service/deregister/${encodeURIComponent(serviceId)}`, { signal, notFoundOk: true, what: `deregister ${serviceId}`, need: 'service:write' });
  }

  async #setMaintenance(serviceId: string, enable: boolean, signal: AbortSignal | undefined, need: string): Promise<void> {
    if (!enable && !this.#maintenance.has(serviceId)) return;
    await this.#http.call('PUT', `/v1/agent/service/maintenance/${encodeURIComponent(serviceId)}`, {
      query: { enable: String(enable), reason: enable ? this.#options.maintenanceReason : undefined },
      signal,
      what: `${enable ? 'enable' : 'disable'} maintenance of ${serviceId}`,
      need,
    });
    if (enable) this.#maintenance.add(serviceId);
    else this.#maintenance.delete(serviceId);
  }

  /** One TTL heartbeat. When the agent no longer knows the check (restarted without state, reaped), registers again. */
  async #beat(serviceId: string, mayRegister: boolean): Promise<void> {
    const registration = this.#registrations.get(serviceId);
    if (this.#closed) return;
    try {
      if (!registration) return;
      const response = await this.#http.request('PUT', this.#ttlPath(registration), { what: `heartbeat of ${serviceId}` });
      if (response.status === 200) return;
      // 404 since Consul 1.x; older agents answered 500 with the same words.
      const lost = response.status === 404 || /does not have associated TTL/.test(response.body);
      if (lost && mayRegister && registration && this.#registrations.get(serviceId) === registration) {
        this.#logger.info({ serviceId }, `consul: the agent lost ${serviceId}; registering it again`);
        await this.register(registration.service, { healthy: registration.healthy });
        this.#emit({ type: 'reregistered', service: registration.service.name, message: `the Consul agent had lost ${serviceId}; registered it again` });
        return;
      }
      throw this.#http.fail(response, `heartbeat of ${serviceId}`, 'service:write');
    } catch (error) {
      if (this.#closed) return;
      const message = (error as Error).message;
      this.#logger.warn({ serviceId }, `consul: ${message}`);
      this.#emit({ type: 'heartbeat-failed', service: registration?.service.name ?? serviceId, message });
    }
  }

  #ttlPath(registration: Registration): string {
    return `/v1/agent/check/${ttlVerb[registration.status]}/${encodeURIComponent(checkId(registration.service.id))}`;
  }

  #emit(event: ProviderEvent): void {
    this.#events.emit(event);
  }

  #ensureOpen(): void {
    if (this.#closed) throw new ClosedError('consul provider');
  }
}

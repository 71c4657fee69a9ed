import {
  abortable,
  AbortedError,
  ClosedError,
  Listeners,
  reconcile,
  silentLogger,
  throwIfAborted,
  toDiscoveryError,
  UnsupportedError,
  validateServiceName,
  WatchPool,
  type Instance,
  type Logger,
  type OperationOptions,
  type Provider,
  type ProviderEvent,
  type RegisterOptions,
  type Service,
  type Unsubscribe,
  type WatchListener,
} from '@disco/core';
import { lookupService, type LookupResult } from './lookup.js';
import { resolveSettings, type DnsProviderOptions, type DnsSettings } from './options.js';
import { Resolver } from './resolver.js';
import { ServiceWatch } from './service-watch.js';

const toError = (error: unknown) => toDiscoveryError(error, 'dns');

/**
 * Discovery through DNS: SRV records (RFC 2782) or A/AAAA records, polled at the pace of
 * their TTLs. Read-only: services are registered in the DNS server (e.g. Consul) itself.
 */
export class DnsProvider implements Provider {
  readonly name = 'dns';
  readonly capabilities = Object.freeze({ register: false, watch: true, serverHealthChecks: false });
  readonly settings: DnsSettings;
  readonly #resolver: Resolver;
  readonly #logger: Logger;
  readonly #closing = new AbortController();
  readonly #watches: WatchPool<ServiceWatch>;
  readonly #inflight = new Map<string, Promise<LookupResult>>();
  readonly #events: Listeners<ProviderEvent>;
  /** Problems already reported per service, so a bad record is reported once, not every poll. */
  readonly #reported = new Map<string, Set<string>>();

  constructor(options: DnsProviderOptions = {}, logger: Logger = silentLogger) {
    this.settings = resolveSettings(options);
    this.#logger = logger;
    this.#events = new Listeners((error) => this.#logger.error({ err: error }, 'dns provider: an event listener threw'));
    this.#resolver = new Resolver(this.settings.servers, this.settings.timeoutMs, this.#closing.signal);
    this.#watches = new WatchPool({
      create: (name) =>
        new ServiceWatch(
          (signal) => this.#lookup(name, signal),
          this.settings,
          this.#closing.signal,
          (error) => this.#logger.error({ err: error, service: name }, 'dns provider: a watch listener threw'),
          toError,
        ),
      subscribe: (watch, listener) => watch.add(listener),
      stop: (watch) => watch.stop(),
    });
  }

  get #closed(): boolean {
    return this.#closing.signal.aborted;
  }

  async register(service: Service, _options?: RegisterOptions): Promise<void> {
    this.#assertOpen();
    const name = typeof service?.name === 'string' ? `"${service.name}"` : 'services';
    throw new UnsupportedError(
      `the dns provider is read-only and cannot register ${name}: register in the DNS server instead ` +
        '(in Consul, whose DNS interface then serves <name>.service.consul; or as SRV records of your zone)',
    );
  }

  async deregister(serviceId: string, _options?: OperationOptions): Promise<void> {
    this.#assertOpen();
    throw new UnsupportedError(
      `the dns provider is read-only and cannot deregister "${serviceId}": deregister in the DNS server instead (Consul, or your zone's SRV records)`,
    );
  }

  async discover(name: string, options: OperationOptions = {}): Promise<Instance[]> {
    this.#assertOpen();
    validateServiceName(name);
    throwIfAborted(options.signal, `discover("${name}")`);
    const watched = this.#watches.get(name)?.fresh;
    if (watched) return [...watched];
    let lookup = this.#inflight.get(name);
    if (!lookup) {
      // One lookup per name however many callers; a caller's abort only stops its own wait.
      lookup = this.#lookup(name, this.#closing.signal).finally(() => this.#inflight.delete(name));
      this.#inflight.set(name, lookup);
    }
    const result = await abortable(lookup, options.signal, `discover("${name}")`);
    return [...reconcile(undefined, result.instances)];
  }

  watch(name: string, listener: WatchListener, options: OperationOptions = {}): Unsubscribe {
    if (this.#closed || options.signal?.aborted) {
      const error = this.#closed ? new ClosedError('dns provider') : new AbortedError(`watch("${name}")`, { cause: options.signal?.reason });
      queueMicrotask(() => listener({ error }));
      return () => {};
    }
    validateServiceName(name);
    return this.#watches.watch(name, listener, options.signal);
  }

  onEvent(listener: (event: ProviderEvent) => void): Unsubscribe {
    return this.#events.add(listener);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closing.abort();
    const watchesStopped = this.#watches.close();
    this.#events.clear();
    this.#reported.clear();
    // In-flight queries were aborted with the signal; wait for them to let go of their sockets.
    await Promise.allSettled([watchesStopped, ...this.#inflight.values()]);
  }

  #assertOpen(): void {
    if (this.#closed) throw new ClosedError('dns provider');
  }

  async #lookup(name: string, signal: AbortSignal): Promise<LookupResult> {
    const result = await lookupService(this.#resolver, this.settings, name, signal);
    this.#report(name, result);
    return result;
  }

  #report(service: string, result: LookupResult): void {
    const before = this.#reported.get(service);
    const now = new Set(result.problems.map((p) => p.message));
    if (now.size === 0) this.#reported.delete(service);
    else this.#reported.set(service, now);
    for (const error of result.problems) {
      if (before?.has(error.message)) continue;
      this.#logger.warn({ err: error, service }, error.message);
      this.#events.emit({ type: 'invalid-record', message: error.message, service, error });
    }
  }
}

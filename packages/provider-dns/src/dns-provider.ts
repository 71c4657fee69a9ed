import {
  AbortedError,
  ClosedError,
  silentLogger,
  UnsupportedError,
  validateServiceName,
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
import { abortable, Listeners, throwIfAborted, WatchHub, type ServiceSource } from '@disco/core/provider';
import { dnsSource } from './dns-source.js';
import { lookupService } from './lookup.js';
import { mergeOptions, resolveSettings, type DnsProviderContext, type DnsProviderOptions, type DnsSettings } from './options.js';
import { Resolver } from './resolver.js';

/**
 * Discovery through DNS: SRV records (RFC 2782) or A/AAAA records, polled at the pace of
 * their TTLs by core's watch engine. Read-only: services are registered in the DNS server
 * (e.g. Consul) itself.
 */
export class DnsProvider implements Provider, AsyncDisposable {
  readonly name = 'dns';
  readonly capabilities = Object.freeze({ register: false, watch: true, serverHealthChecks: false });
  readonly settings: DnsSettings;
  readonly #resolver: Resolver;
  readonly #logger: Logger;
  readonly #closing = new AbortController();
  readonly #hub: WatchHub;
  readonly #events: Listeners<ProviderEvent>;
  /** Concurrent discovers of one name share one lookup. */
  readonly #discovering = new Map<string, Promise<Instance[]>>();
  #closed: Promise<void> | undefined;

  /** Options as for {@link dnsProvider}: `DNS_*` from `context.env ?? process.env`, overridden by defined options. */
  constructor(options: DnsProviderOptions = {}, context: DnsProviderContext = {}) {
    const merged = mergeOptions(options, context.env ?? process.env);
    this.settings = resolveSettings(merged);
    this.#logger = merged.logger ?? context.logger ?? silentLogger;
    this.#events = new Listeners((error) => this.#logger.error({ err: error }, 'dns provider: an event listener threw'));
    this.#resolver = new Resolver(this.settings.servers, this.settings.timeoutMs, this.#closing.signal);
    this.#hub = new WatchHub({
      provider: this.name,
      source: (name) => this.source(name),
      emit: (event) => this.#emit(event),
      logger: this.#logger,
    });
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

  /** DNS answers for a name it is asked about and has no query that enumerates them: always ERR_UNSUPPORTED, saying so. */
  async listServices(_options?: OperationOptions): Promise<string[]> {
    this.#assertOpen();
    throw new UnsupportedError(
      `the dns provider cannot list services: DNS answers only for a name it is asked about (an SRV or A query needs the service's name, such as <name>.${this.settings.domain}) and has no query that enumerates them; ` +
        'name the service you want, or list them where they are registered (for Consul DNS, DISCOVERY_PROVIDER=consul)',
    );
  }

  /** The source core's watch engine runs for `name`: one lookup per list, polled at the records' TTL. */
  source(name: string): ServiceSource {
    validateServiceName(name);
    return dnsSource(name, (service, signal) => lookupService(this.#resolver, this.settings, service, signal), this.settings);
  }

  async discover(name: string, options: OperationOptions = {}): Promise<Instance[]> {
    this.#assertOpen();
    validateServiceName(name);
    throwIfAborted(options.signal, `discover("${name}")`);
    let pending = this.#discovering.get(name);
    if (!pending) {
      // One lookup per name however many callers; a caller's abort only stops its own wait
      // (close() aborts the lookup itself, through the resolver).
      pending = this.#hub.discover(name).finally(() => this.#discovering.delete(name));
      this.#discovering.set(name, pending);
    }
    return [...(await abortable(pending, options.signal, `discover("${name}")`))];
  }

  watch(name: string, listener: WatchListener, options: OperationOptions = {}): Unsubscribe {
    if (this.#closing.signal.aborted || options.signal?.aborted) {
      const error = this.#closing.signal.aborted ? new ClosedError('dns provider') : new AbortedError(`watch("${name}")`, { cause: options.signal?.reason });
      queueMicrotask(() => listener({ error }));
      return () => {};
    }
    validateServiceName(name);
    return this.#hub.watch(name, listener, options.signal);
  }

  onEvent(listener: (event: ProviderEvent) => void): Unsubscribe {
    return this.#events.add(listener);
  }

  /** Stops every watch and cancels queries in flight; resolves once no socket or timer is left. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#closing.abort();
      await Promise.allSettled([this.#hub.close(), ...this.#discovering.values()]);
      this.#events.clear();
    })();
    return this.#closed;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #assertOpen(): void {
    if (this.#closing.signal.aborted) throw new ClosedError('dns provider');
  }

  #emit(event: ProviderEvent): void {
    if (event.type === 'invalid-record') this.#logger.warn({ err: event.error, service: event.service }, event.message);
    this.#events.emit(event);
  }
}

import {
  abortable,
  ClosedError,
  ConfigError,
  createRedactor,
  InvalidServiceError,
  Listeners,
  reconcile,
  silentLogger,
  throwIfAborted,
  validateService,
  validateServiceName,
  WatchPool,
  type DiscoveryError,
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
import { Etcd3, type IKeyValue, type IOptions } from 'etcd3';
import { toEtcdError } from './errors.js';
import { optionsFromEnv, resolveOptions, type EtcdProviderOptions, type ResolvedOptions } from './options.js';
import { codecFor, type RecordCodec } from './record.js';
import { Registrar } from './registrar.js';
import { readAll, readKv, ServiceWatch, type WatchContext } from './service-watch.js';

/** How long close() waits for each step (watch cancels, lease revoke) when etcd is unreachable. */
const closeStepMs = 2_000;

function makeClient(options: ResolvedOptions): Etcd3 {
  const timeout = options.requestTimeoutMs;
  const config: IOptions = {
    hosts: options.hosts,
    dialTimeout: timeout,
    // Unary calls get a deadline (a frozen member would hold them forever); streams do not.
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + timeout }),
    // HTTP/2 pings find a dead connection (a partitioned or frozen member) that TCP would not
    // report for minutes. etcd refuses pings more often than every 5s (--grpc-keepalive-min-time).
    grpcOptions: { 'grpc.keepalive_time_ms': 10_000, 'grpc.keepalive_timeout_ms': 5_000 },
  };
  if (options.auth) config.auth = options.auth;
  if (options.credentials) config.credentials = options.credentials;
  return new Etcd3(config);
}

/**
 * The etcd v3 provider: registrations are keys `<prefix><name>/<id>` on one lease per
 * provider; discovery is a prefix range; watches list then watch, and recover from
 * disconnects, compaction and silent streams by listing again.
 */
export class EtcdProvider implements Provider {
  readonly name = 'etcd';
  readonly capabilities = Object.freeze({ register: true, watch: true, serverHealthChecks: false });
  readonly #options: ResolvedOptions;
  readonly #client: Etcd3;
  readonly #ownsClient: boolean;
  readonly #codec: RecordCodec;
  readonly #logger: Logger;
  readonly #redact: (text: string) => string;
  readonly #registrar: Registrar;
  readonly #watchContext: WatchContext;
  readonly #watches = new WatchPool<ServiceWatch>({
    create: (name) => new ServiceWatch(name, this.#watchContext),
    subscribe: (watch, listener) => watch.add(listener),
    // close() waits for these, the cancels of watches already left by their last listener included.
    stop: (watch) => watch.close(closeStepMs),
  });
  readonly #events: Listeners<ProviderEvent>;
  /** `key@mod_revision` of corrupt records already reported, so a re-list does not repeat them. */
  readonly #reported = new Set<string>();
  #closed = false;

  constructor(options: EtcdProviderOptions = {}) {
    this.#options = resolveOptions(options);
    this.#logger = this.#options.logger ?? silentLogger;
    this.#events = new Listeners((error) => this.#logger.error({ err: error }, 'a provider event listener threw'));
    this.#redact = createRedactor([this.#options.auth?.password]);
    this.#client = this.#options.client ?? makeClient(this.#options);
    this.#ownsClient = this.#options.client === undefined;
    this.#codec = codecFor(this.#options.layout);
    const emit = (event: ProviderEvent) => this.#emit(event);
    const toError = (error: unknown, what: string) => this.#toError(error, what);
    this.#registrar = new Registrar({
      client: this.#client,
      prefix: this.#options.prefix,
      codec: this.#codec,
      ttlSeconds: this.#options.ttlSeconds,
      backoff: this.#options.backoff,
      logger: this.#logger,
      emit,
      toError,
    });
    this.#watchContext = {
      client: this.#client,
      prefix: this.#options.prefix,
      codec: this.#codec,
      resyncMs: this.#options.resyncMs,
      backoff: this.#options.backoff,
      logger: this.#logger,
      read: (name, keyPrefix, kv) => this.#read(name, keyPrefix, kv),
      emit,
      toError,
    };
  }

  /** The key prefix in use (with its trailing separator, e.g. "/services/"). */
  get prefix(): string {
    return this.#options.prefix;
  }

  async register(service: Service, options: RegisterOptions = {}): Promise<void> {
    this.#assertOpen();
    validateService(service);
    throwIfAborted(options.signal, 'register');
    try {
      await this.#registrar.register(service, options.healthy ?? true, options.signal);
    } catch (error) {
      throw this.#toError(error, `registering "${service.id}"`);
    }
  }

  async deregister(serviceId: string, options: OperationOptions = {}): Promise<void> {
    this.#assertOpen();
    if (typeof serviceId !== 'string' || serviceId === '') throw new InvalidServiceError(['service id must be a non-empty string'], 'service id');
    throwIfAborted(options.signal, 'deregister');
    try {
      await this.#registrar.deregister(serviceId, options.signal);
    } catch (error) {
      throw this.#toError(error, `deregistering "${serviceId}"`);
    }
  }

  async discover(name: string, options: OperationOptions = {}): Promise<Instance[]> {
    this.#assertOpen();
    validateServiceName(name);
    throwIfAborted(options.signal, 'discover');
    const keyPrefix = `${this.#options.prefix}${name}/`;
    try {
      const response = await abortable(this.#client.getAll().prefix(keyPrefix).exec(), options.signal, 'discover');
      return [...reconcile(undefined, [...readAll(this.#watchContext, name, keyPrefix, response.kvs).values()])];
    } catch (error) {
      throw this.#toError(error, `listing service "${name}"`);
    }
  }

  watch(name: string, listener: WatchListener, options: OperationOptions = {}): Unsubscribe {
    this.#assertOpen();
    validateServiceName(name);
    if (typeof listener !== 'function') throw new ConfigError('watch needs a listener function', 'listener');
    const signal = options.signal;
    if (signal?.aborted) return () => {};
    return this.#watches.watch(name, listener, signal);
  }

  onEvent(listener: (event: ProviderEvent) => void): Unsubscribe {
    return this.#events.add(listener);
  }

  /** Stops every watch, revokes the lease (deleting this process's keys) and closes the client. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([this.#watches.close(), this.#registrar.close(this.#options.requestTimeoutMs)]);
    this.#events.clear();
    if (this.#ownsClient) this.#client.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #assertOpen(): void {
    if (this.#closed) throw new ClosedError('etcd provider');
  }

  #read(name: string, keyPrefix: string, kv: IKeyValue): Instance | undefined {
    const result = readKv(this.#codec, name, keyPrefix, kv);
    if (result === undefined || !(result instanceof Error)) return result;
    const id = `${result.key}@${kv.mod_revision}`;
    if (!this.#reported.has(id)) {
      if (this.#reported.size >= 10_000) this.#reported.clear();
      this.#reported.add(id);
      this.#emit({ type: 'invalid-record', message: result.message, service: name, error: result });
    }
    return undefined;
  }

  #emit(event: ProviderEvent): void {
    this.#logger[event.type === 'invalid-record' || event.type === 'lease-lost' ? 'warn' : 'info']({ event: event.type, service: event.service, err: event.error }, event.message);
    this.#events.emit(event);
  }

  #toError(error: unknown, what: string): DiscoveryError {
    return toEtcdError(error, what, { username: this.#options.auth?.username, redact: this.#redact });
  }
}

/** Creates the etcd provider from options (environment variables are read by {@link createProvider}). */
export function etcdProvider(options: EtcdProviderOptions = {}): EtcdProvider {
  return new EtcdProvider(options);
}

/**
 * Entry point for `createDiscovery({ provider: 'etcd', etcd: {...} })`: the `ETCD_*`
 * variables of `context.env`, overridden by the options given as an object.
 */
export function createProvider(options: unknown, context: ProviderContext): EtcdProvider {
  if (options !== undefined && (typeof options !== 'object' || options === null || Array.isArray(options))) {
    throw new ConfigError('etcd provider options must be an object', 'etcd');
  }
  // Only options actually given win over the environment.
  const given = Object.fromEntries(Object.entries(options ?? {}).filter(([, v]) => v !== undefined)) as EtcdProviderOptions;
  const fromEnv = optionsFromEnv(context.env);
  const tls = fromEnv.tls || given.tls ? { ...fromEnv.tls, ...given.tls } : undefined;
  return new EtcdProvider({ ...fromEnv, ...given, tls, logger: given.logger ?? context.logger });
}

import {
  ClosedError,
  ConfigError,
  InvalidRecordError,
  InvalidServiceError,
  silentLogger,
  validateService,
  validateServiceName,
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
import { abortable, createRedactor, Listeners, throwIfAborted, WatchHub, type ServiceSource } from '@disco/core/provider';
import { Etcd3, type IKeyValue, type IOptions } from 'etcd3';
import { toEtcdError } from './errors.js';
import { EtcdSource, type EtcdSourceContext } from './etcd-source.js';
import { hostGuard, MemberHealth, noPolicy, requireLeaderInterceptor } from './members.js';
import { PrefixFeed } from './prefix-feed.js';
import { mergeWithEnv, resolveOptions, type EtcdProviderContext, type EtcdProviderOptions, type ResolvedOptions } from './options.js';
import { codecFor, readEntry, type RecordCodec } from './record.js';
import { Registrar } from './registrar.js';

/** How long close() waits for each step (watch cancels, lease revoke) when etcd is unreachable. */
const closeStepMs = 2_000;

/** Keys per page of a range over the whole prefix (prefix mode). */
const pageSize = 10_000;

/** grpc-js call options, as etcd3's `defaultCallOptions` takes them (etcd3 does not re-export grpc-js's types). */
type GrpcCallOptions = Exclude<NonNullable<IOptions['defaultCallOptions']>, (...args: never[]) => unknown>;

function makeClient(options: ResolvedOptions, hosts: readonly string[], members: MemberHealth | undefined, check = false): Etcd3 {
  const timeout = options.requestTimeoutMs;
  const interceptors = [requireLeaderInterceptor] as unknown as NonNullable<GrpcCallOptions['interceptors']>;
  const config: IOptions = {
    hosts: [...hosts],
    dialTimeout: timeout,
    // Unary calls get a deadline (a frozen member would hold them forever); streams do not.
    // Watches and reads carry etcd's `hasleader` metadata (requireLeader): a member without a
    // leader refuses them at once, and cancels such a watch after three election timeouts.
    defaultCallOptions: (context) => {
      const callOptions: GrpcCallOptions = context.isStream ? {} : { deadline: Date.now() + timeout };
      if ((options.requireLeader || check) && (context.service === 'Watch' || context.service === 'KV')) callOptions.interceptors = interceptors;
      return callOptions;
    },
    // HTTP/2 pings find a dead connection (a partitioned or frozen member) that TCP would not
    // report for minutes. etcd refuses pings more often than every 5s (--grpc-keepalive-min-time).
    grpcOptions: { 'grpc.keepalive_time_ms': 10_000, 'grpc.keepalive_timeout_ms': 5_000 },
  };
  // A member check talks to one member, once: no retries, no circuit breaker.
  if (check) config.faultHandling = { host: () => noPolicy, global: noPolicy };
  // Calls skip members the checks found cut off from their quorum (etcd3's default breaker kept).
  else if (members) config.faultHandling = { host: (host) => hostGuard(host, members) };
  if (options.auth) config.auth = options.auth;
  if (options.credentials) config.credentials = options.credentials;
  return new Etcd3(config);
}

/**
 * The etcd v3 provider: registrations are keys `<prefix><name>/<id>` on one lease per
 * provider; a service's instances are a prefix range, followed by a prefix watch from the
 * range's revision (see {@link EtcdSource}). Core's watch engine runs that source: sharing,
 * stale snapshots, backoff, resync and recovery are its rules, not this provider's.
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
  readonly #sourceContext: EtcdSourceContext;
  readonly #hub: WatchHub;
  readonly #events: Listeners<ProviderEvent>;
  /** `key@mod_revision` of corrupt records already reported, so a re-list does not repeat them. */
  readonly #reported = new Set<string>();
  readonly #members: MemberHealth | undefined;
  /** Names being listed or followed (by any engine), with how many lists and follows hold each. */
  readonly #interest = new Map<string, number>();
  #feed: PrefixFeed | undefined;
  #nextTurn: Promise<void> | undefined;
  #closed = false;

  /** Options as given (no environment): use {@link etcdProvider} to read `ETCD_*` too. */
  constructor(options: EtcdProviderOptions = {}, context: EtcdProviderContext = {}) {
    this.#options = resolveOptions(options);
    this.#logger = this.#options.logger ?? context.logger ?? silentLogger;
    this.#events = new Listeners((error) => this.#logger.error({ err: error }, 'a provider event listener threw'));
    this.#redact = createRedactor([this.#options.auth?.password]);
    const hosts = this.#options.hosts;
    // Member checks need somewhere else to go, and a client of our own to steer.
    this.#members =
      this.#options.client === undefined && hosts.length > 1 && this.#options.memberCheckMs > 0
        ? new MemberHealth({ hosts, intervalMs: this.#options.memberCheckMs, makeClient: (host) => makeClient(this.#options, [host], undefined, true), key: this.#options.prefix, logger: this.#logger })
        : undefined;
    this.#client = this.#options.client ?? this.#makeClient();
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
    this.#sourceContext = {
      client: this.#client,
      prefix: this.#options.prefix,
      resyncMs: this.#options.resyncMs,
      backoff: this.#options.backoff,
      cancelTimeoutMs: closeStepMs,
      logger: this.#logger,
      assertOpen: () => this.#assertOpen(),
      read: (name, keyPrefix, kv) => this.#read(name, keyPrefix, kv),
      toError,
      members: this.#members,
      interest: (name) => this.#enter(name),
      feedFor: () => this.#feedFor(),
    };
    this.#hub = new WatchHub({ provider: this.name, source: (name) => this.source(name), emit, logger: this.#logger });
  }

  /** The key prefix in use (with its trailing separator, e.g. "/services/"). */
  get prefix(): string {
    return this.#options.prefix;
  }

  /** The source core's watch engine runs for `name`: a prefix range, then a prefix watch from its revision. */
  source(name: string): ServiceSource {
    validateServiceName(name);
    return new EtcdSource(name, this.#sourceContext) as ServiceSource;
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
    return this.#hub.discover(name, options.signal);
  }

  /** The distinct service names under the prefix, from a keys-only range: no value is read. */
  async listServices(options: OperationOptions = {}): Promise<string[]> {
    this.#assertOpen();
    throwIfAborted(options.signal, 'listServices');
    const prefix = this.#options.prefix;
    let keys: string[];
    try {
      keys = await abortable(this.#client.getAll().prefix(prefix).keys(), options.signal, 'listing services');
    } catch (error) {
      throw this.#toError(error, 'listing services');
    }
    return serviceNames(keys, prefix);
  }

  watch(name: string, listener: WatchListener, options: OperationOptions = {}): Unsubscribe {
    this.#assertOpen();
    validateServiceName(name);
    if (typeof listener !== 'function') throw new ConfigError('watch needs a listener function', 'listener');
    return this.#hub.watch(name, listener, options.signal);
  }

  onEvent(listener: (event: ProviderEvent) => void): Unsubscribe {
    return this.#events.add(listener);
  }

  /** Stops every watch, revokes the lease (deleting this process's keys) and closes the client. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([this.#hub.close(), this.#registrar.close(this.#options.requestTimeoutMs), this.#feed?.close()]);
    this.#members?.close();
    this.#events.clear();
    if (this.#ownsClient) this.#client.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Counts `name` as watched until the returned function is called. */
  #enter(name: string): () => void {
    this.#interest.set(name, (this.#interest.get(name) ?? 0) + 1);
    let left = false;
    return () => {
      if (left) return;
      left = true;
      const count = (this.#interest.get(name) ?? 1) - 1;
      if (count <= 0) this.#interest.delete(name);
      else this.#interest.set(name, count);
    };
  }

  /**
   * The prefix feed, when a list starting now should use it: always (`prefixMode: 'always'`),
   * never (`'never'`), or (`'auto'`) once `prefixModeThreshold` names are listed or followed. A
   * count below the threshold is taken again a turn later, so engines that start together are
   * counted together; once on, it stays on while the feed serves names and at least half the
   * threshold are watched. Answers at once when it needs no wait (most lists of a cold start).
   */
  #feedFor(): PrefixFeed | undefined | Promise<PrefixFeed | undefined> {
    const { prefixMode } = this.#options;
    if (prefixMode === 'never') return undefined;
    if (prefixMode === 'auto' && !this.#prefixOn()) {
      // One wait for every list of this turn.
      this.#nextTurn ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
        this.#nextTurn = undefined;
      });
      return this.#nextTurn.then(() => (this.#prefixOn() ? this.#openFeed() : undefined));
    }
    return this.#openFeed();
  }

  #prefixOn(): boolean {
    const threshold = this.#options.prefixModeThreshold;
    // Names listed or followed on their own, and names the feed serves (engines hooked onto it).
    const watched = this.#interest.size + (this.#feed?.followed ?? 0);
    return watched >= threshold || (this.#feed !== undefined && this.#feed.size > 0 && watched >= threshold / 2);
  }

  #openFeed(): PrefixFeed {
    this.#assertOpen();
    this.#feed ??= new PrefixFeed(
      {
        client: this.#client,
        prefix: this.#options.prefix,
        resyncMs: this.#options.resyncMs,
        cancelTimeoutMs: closeStepMs,
        pageSize,
        members: this.#members,
        logger: this.#logger,
        read: (name, keyPrefix, kv, key) => this.#read(name, keyPrefix, kv, key),
        toError: (error, what) => this.#toError(error, what),
      },
      this.#options.prefixMode === 'always' ? 2 : this.#options.prefixModeThreshold,
    );
    return this.#feed;
  }

  #makeClient(): Etcd3 {
    try {
      return makeClient(this.#options, this.#options.hosts, this.#members);
    } catch (error) {
      // The TLS material was checked when the options were read; anything the client still refuses is configuration.
      throw new ConfigError(`the etcd client refused its configuration (ETCD_ENDPOINTS, ETCD_CACERT, ETCD_CERT, ETCD_KEY): ${this.#redact((error as Error).message)}`, 'ETCD_ENDPOINTS');
    }
  }

  #assertOpen(): void {
    if (this.#closed) throw new ClosedError('etcd provider');
  }

  #read(name: string, keyPrefix: string, kv: IKeyValue, key = kv.key.toString()): Instance | undefined {
    try {
      return readEntry(this.#codec, keyPrefix, name, key, kv.value);
    } catch (error) {
      if (!(error instanceof InvalidRecordError)) throw error;
      const id = `${error.key}@${kv.mod_revision}`;
      if (!this.#reported.has(id)) {
        if (this.#reported.size >= 10_000) this.#reported.clear();
        this.#reported.add(id);
        this.#emit({ type: 'invalid-record', message: error.message, service: name, error });
      }
      return undefined;
    }
  }

  #emit(event: ProviderEvent): void {
    this.#logger[event.type === 'invalid-record' || event.type === 'lease-lost' ? 'warn' : 'info']({ event: event.type, service: event.service, err: event.error }, event.message);
    this.#events.emit(event);
  }

  #toError(error: unknown, what: string): DiscoveryError {
    return toEtcdError(error, what, { username: this.#options.auth?.username, redact: this.#redact, requestTimeoutMs: this.#options.requestTimeoutMs });
  }
}

/**
 * Creates the etcd provider. Reads the `ETCD_*` variables of `context.env` (default
 * `process.env`); an option that is defined overrides its variable, an explicit `undefined`
 * does not hide it. An unknown option key is `ERR_CONFIG` naming the nearest known one.
 */
export function etcdProvider(options: EtcdProviderOptions = {}, context: EtcdProviderContext = {}): EtcdProvider {
  const merged = mergeWithEnv(options, context.env ?? process.env);
  return new EtcdProvider(merged, { logger: context.logger });
}

/** Entry point for `createDiscovery({ provider: 'etcd', etcd: {...} })`: the same as {@link etcdProvider}. */
export function createProvider(options: unknown, context: ProviderContext): EtcdProvider {
  return etcdProvider(options as EtcdProviderOptions, context);
}

/** `<prefix><name>/<id>` keys to their names, each once; a key with no `/` after the name holds no instance. */
function serviceNames(keys: readonly string[], prefix: string): string[] {
  const names = new Set<string>();
  for (const key of keys) {
    const slash = key.indexOf('/', prefix.length);
    if (key.startsWith(prefix) && slash > prefix.length) names.add(key.slice(prefix.length, slash));
  }
  return [...names];
}

import type { DiscoveryError, InvalidRecordError } from './errors.js';
import type { HealthStatus } from './health/probe.js';
import type { Logger } from './logger.js';
import type { ServiceSource } from './provider/source.js';
import type { Instance, Service } from './service.js';

export type Unsubscribe = () => void;

/**
 * What a watch delivers. `instances` is a full snapshot (never a delta). `error` means
 * "what you hold may be stale": the watch goes on, recovers by itself, and sends a fresh
 * snapshot when it has one; keep using the last snapshot meanwhile.
 */
export type WatchEvent = { readonly instances: readonly Instance[] } | { readonly error: DiscoveryError };
export type WatchListener = (event: WatchEvent) => void;

export interface OperationOptions {
  signal?: AbortSignal | undefined;
}

export interface RegisterOptions extends OperationOptions {
  /**
   * Whether the instance should be offered as healthy. The local health agent re-registers
   * with `false` when a check goes critical. Default true.
   */
  healthy?: boolean | undefined;
}

interface EventBase {
  readonly message: string;
  /** The service it concerns, where it concerns one. */
  readonly service?: string | undefined;
}

/**
 * Something a provider (or core's watch engine) wants its users to know that is not a watch
 * update. A discriminated union: switch on `type`.
 * - `invalid-record`: a record was skipped (`error` says which and why); the rest was served.
 * - `resync`: a re-list found changes the watch had missed, or the watch position was gone.
 * - `reconnected`: a watch that had failed is back in sync (subscribers got a fresh snapshot).
 * - `lease-lost` / `lease-restored`: the registrations' lease expired / was granted again and
 *   every registration put back (etcd).
 * - `reregistered`: the backend had lost a registration and it was registered again (Consul).
 * - `heartbeat-failed`: a TTL heartbeat did not land; the next one is tried on schedule.
 * - `acl-filtered`: the backend left out instances the credentials may not read (Consul).
 * - `watch-silent`: a stream sent nothing past its own timeout and was restarted.
 */
export type ProviderEvent =
  | (EventBase & { readonly type: 'invalid-record'; readonly error: InvalidRecordError })
  | (EventBase & { readonly type: 'lease-lost' | 'heartbeat-failed'; readonly error?: DiscoveryError | undefined })
  | (EventBase & { readonly type: 'resync' | 'reconnected' | 'lease-restored' | 'reregistered' | 'acl-filtered' | 'watch-silent'; readonly error?: undefined });

export type ProviderEventType = ProviderEvent['type'];

export interface ProviderCapabilities {
  /** Can register services (false for DNS and Kubernetes). */
  readonly register: boolean;
  /** Pushes changes; when false, watches are emulated by polling discover(). */
  readonly watch: boolean;
  /** The backend runs health checks itself (Consul); no local agent is needed. */
  readonly serverHealthChecks: boolean;
}

/**
 * What a backend implements.
 * - `register` is an idempotent upsert; `deregister` of an unknown id succeeds.
 * - `watch` sends the current snapshot first (or an error), then one per change. It never
 *   throws for backend trouble: it reports `{error}` and keeps trying until unsubscribed.
 * - After `close()` every method rejects with `ERR_CLOSED` and nothing of the provider's
 *   (timer, socket, stream, lease) is left.
 * - A provider that cannot do something rejects with `ERR_UNSUPPORTED` saying what to do instead.
 */
export interface Provider {
  readonly name: string;
  readonly capabilities: ProviderCapabilities;
  register(service: Service, options?: RegisterOptions): Promise<void>;
  deregister(serviceId: string, options?: OperationOptions): Promise<void>;
  discover(name: string, options?: OperationOptions): Promise<Instance[]>;
  watch(name: string, listener: WatchListener, options?: OperationOptions): Unsubscribe;
  /**
   * Optional: the names of the services the backend knows (each once, any order). A backend that
   * cannot enumerate its services (DNS) rejects with `ERR_UNSUPPORTED` saying why.
   */
  listServices?(options?: OperationOptions): Promise<string[]>;
  /**
   * The source of one service's instances, run by core's watch engine (`@disco/core/provider`).
   * A provider built on the kit has it; `Discovery` then runs the source itself (one engine per
   * service name) instead of calling `watch`. Providers without it are wrapped around `watch`/`discover`.
   */
  source?(name: string): ServiceSource;
  /**
   * Optional, for a backend that runs TTL checks itself (`serverHealthChecks`): the status a
   * registration's `ttl` check reports from now on. The provider keeps sending it within each
   * TTL until told otherwise. An id this provider holds no `ttl` registration for is `ERR_CONFIG`.
   */
  heartbeat?(serviceId: string, status: HealthStatus, options?: OperationOptions): Promise<void>;
  /** Optional: events beyond watch updates (skipped records, lease loss, reconnects). */
  onEvent?(listener: (event: ProviderEvent) => void): Unsubscribe;
  close(): Promise<void>;
}

/** Handed to a provider package's `createProvider` when core loads it by name. */
export interface ProviderContext {
  readonly logger: Logger;
  /** The environment the configuration was read from (for provider-specific variables). */
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** What a provider package exports so that `createDiscovery({ provider: '<name>' })` can load it. */
export interface ProviderModule {
  createProvider(options: unknown, context: ProviderContext): Provider | Promise<Provider>;
}

import type { DiscoveryError } from './errors.js';
import type { HealthStatus } from './health/probe.js';
import type { Logger } from './logger.js';
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

/** Something a provider wants its users to know that is not a watch update. */
export interface ProviderEvent {
  /** e.g. "invalid-record", "lease-lost", "lease-restored", "reconnected", "resync". */
  readonly type: string;
  readonly message: string;
  readonly service?: string;
  readonly error?: DiscoveryError;
}

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

import {
  AbortedError,
  ClosedError,
  UnsupportedError,
  type Instance,
  type OperationOptions,
  type Provider,
  type ProviderCapabilities,
  type ProviderEvent,
  type RegisterOptions,
  type Service,
  type Unsubscribe,
  type WatchListener,
} from '@disco/core';
import { createRedactor, Listeners, WatchHub, type ServiceSource } from '@disco/core/provider';
import type { ObjectMapper } from './candidate.js';
import { endpointSliceMapper } from './endpoint-slice-mapper.js';
import { apiError, type ErrorContext } from './errors.js';
import { KubeClients, type KubeItem } from './kube-api.js';
import type { LoadedKubeConfig } from './kube-config.js';
import { KubernetesSource, streamContext } from './kubernetes-source.js';
import { NamespaceFeed } from './namespace-feed.js';
import type { ResolvedOptions } from './options.js';
import { podMapper } from './pod-mapper.js';
import { selectorFor } from './selector.js';
import { labelValues, serviceListing } from './service-names.js';
import { WatchSwitch } from './switching-source.js';

const joinHint =
  'in Kubernetes a pod joins a Service through its labels (matching the Service selector) and leaves it by failing its readiness probe or being deleted';

/**
 * Discovery from the Kubernetes API: EndpointSlices of a Service (default) or pods picked by
 * a label selector, in one namespace. Read-only: Kubernetes itself decides membership.
 * Each service is a {@link KubernetesSource} (list + watch) that core's watch engine runs;
 * when many services of the namespace are watched at once (or `namespaceWatch: 'always'`)
 * they share one namespace-wide list + watch instead ({@link NamespaceFeed}).
 */
export class KubernetesProvider implements Provider, AsyncDisposable {
  readonly name = 'kubernetes';
  /** Readiness probes run in the cluster, so no local health agent is needed. */
  readonly capabilities: ProviderCapabilities = Object.freeze({ register: false, watch: true, serverHealthChecks: true });
  /** The namespace read. */
  readonly namespace: string;
  readonly #options: ResolvedOptions;
  readonly #clients: KubeClients;
  readonly #errors: ErrorContext;
  // A listener's failure is its own: the others still hear the event.
  readonly #events = new Listeners<ProviderEvent>(() => {});
  readonly #hub: WatchHub;
  readonly #closing = new AbortController();
  /** The namespace-wide list + watch watched services may share, and what hooks each onto it or onto a watch of its own. */
  readonly #feed: NamespaceFeed;
  readonly #switch: WatchSwitch;

  constructor(options: ResolvedOptions, loaded: LoadedKubeConfig) {
    this.#options = options;
    this.namespace = loaded.namespace;
    this.#clients = new KubeClients(loaded.kubeConfig);
    this.#errors = { redact: createRedactor(loaded.secrets), credential: loaded.credential };
    this.#hub = new WatchHub({
      provider: this.name,
      source: (name) => this.source(name),
      emit: (event) => this.#events.emit(event),
      logger: options.logger,
    });
    const shared = this.#sharedListing();
    const listing = shared ?? { selector: '', label: '' };
    const what = `${options.mode === 'pods' ? 'pods' : 'EndpointSlices'} "${listing.selector}" in namespace ${this.namespace} (shared by the watched services)`;
    this.#feed = new NamespaceFeed(
      this.#clients.api(options.mode, this.namespace, listing.selector),
      { pageSize: options.pageSize, watchTimeoutMs: options.watchTimeoutMs, watchGraceMs: options.watchGraceMs, backoff: options.backoff, lingerMs: 2_000 },
      {
        context: streamContext({
          emit: (event) => {
            if (event.type !== 'invalid-record') options.logger.info({ event: event.type }, `kubernetes: ${event.message}`);
            this.#events.emit(event);
          },
          errors: this.#errors,
          what,
        }),
        label: listing.label,
        mapper: (service) => this.#mapper(service),
        policy: options,
        emit: (_service, event) => this.#events.emit(event),
      },
    );
    this.#switch = new WatchSwitch(this.#feed, { mode: options.namespaceWatch, threshold: options.namespaceWatchThreshold, eligible: shared !== undefined });
  }

  /**
   * How every service's objects are found at once, when they can be: the label that names the
   * service and a selector for all of them. Not when K8S_LABEL_SELECTOR ties other
   * requirements to {service} (they could not be checked per service on a shared list).
   */
  #sharedListing(): { selector: string; label: string } | undefined {
    const { mode, labelSelector } = this.#options;
    if (mode !== 'pods' && labelSelector?.includes('{service}')) return undefined;
    try {
      return serviceListing(mode, labelSelector);
    } catch {
      return undefined;
    }
  }

  /** The list + watch of one service, for core's watch engine. */
  source(name: string): ServiceSource<string> {
    const selector = selectorFor(this.#options.mode, name, this.#options.labelSelector);
    const what = `${this.#options.mode === 'pods' ? 'pods' : 'EndpointSlices'} "${selector}" in namespace ${this.namespace}`;
    const { pageSize, watchTimeoutMs, watchGraceMs } = this.#options;
    const own = new KubernetesSource(this.#clients.api(this.#options.mode, this.namespace, selector), this.#mapper(name), this.#options, { pageSize, watchTimeoutMs, watchGraceMs }, {
      emit: (event) => {
        if (event.type !== 'invalid-record') this.#options.logger.info({ service: name, event: event.type }, `kubernetes: ${event.message}`);
        this.#events.emit({ ...event, service: name });
      },
      errors: this.#errors,
      what,
    });
    return this.#switch.source(name, own, this.#options.backoff);
  }

  async register(_service?: Service, _options?: RegisterOptions): Promise<void> {
    this.#throwIfClosed();
    throw new UnsupportedError(`the kubernetes provider cannot register instances: ${joinHint}. Deploy the pod with the Service's labels instead.`);
  }

  async deregister(_serviceId?: string, _options?: OperationOptions): Promise<void> {
    this.#throwIfClosed();
    throw new UnsupportedError(`the kubernetes provider cannot deregister instances: ${joinHint}. Delete the pod, change its labels, or let its readiness probe fail.`);
  }

  async discover(name: string, options: OperationOptions = {}): Promise<Instance[]> {
    this.#throwIfClosed();
    selectorFor(this.#options.mode, name, this.#options.labelSelector); // validates the name
    const signal = options.signal ? AbortSignal.any([options.signal, this.#closing.signal]) : this.#closing.signal;
    try {
      return await this.#hub.discover(name, signal);
    } catch (error) {
      this.#throwIfClosed();
      if (options.signal?.aborted) throw new AbortedError(`discover("${name}")`, { cause: options.signal.reason });
      throw error;
    }
  }

  /**
   * The services in the namespace: the distinct `kubernetes.io/service-name` labels of its
   * EndpointSlices, or in pods mode the distinct values of the label the selector names the
   * service by. One paged list; needs the same RBAC `list` permission as discover.
   */
  async listServices(options: OperationOptions = {}): Promise<string[]> {
    this.#throwIfClosed();
    const { selector, label } = serviceListing(this.#options.mode, this.#options.labelSelector);
    const what = `listing ${this.#options.mode === 'pods' ? 'pods' : 'EndpointSlices'} "${selector}" in namespace ${this.namespace}`;
    const api = this.#clients.api(this.#options.mode, this.namespace, selector);
    const signal = options.signal ? AbortSignal.any([options.signal, this.#closing.signal]) : this.#closing.signal;
    const names = new Set<string>();
    let next: string | undefined;
    try {
      do {
        const page = await api.list({ continue: next, limit: this.#options.pageSize, signal });
        labelValues(page.items, label, names);
        next = page.continue;
      } while (next !== undefined);
    } catch (error) {
      this.#throwIfClosed();
      if (options.signal?.aborted) throw new AbortedError('listServices', { cause: options.signal.reason });
      throw apiError(error, what, this.#errors);
    }
    return [...names];
  }

  watch(name: string, listener: WatchListener, options: OperationOptions = {}): Unsubscribe {
    this.#throwIfClosed();
    selectorFor(this.#options.mode, name, this.#options.labelSelector); // validates the name
    return this.#hub.watch(name, listener, options.signal);
  }

  onEvent(listener: (event: ProviderEvent) => void): Unsubscribe {
    return this.#events.add(listener);
  }

  async close(): Promise<void> {
    if (this.#closing.signal.aborted) return;
    this.#closing.abort();
    const stopped = this.#hub.close();
    this.#events.clear();
    await Promise.all([stopped, this.#feed.close(), this.#switch.close()]);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #mapper(service: string): ObjectMapper<KubeItem> {
    const { port, addressType } = this.#options;
    return this.#options.mode === 'pods' ? podMapper({ service, port, addressType }) : endpointSliceMapper({ service, port, addressType });
  }

  #throwIfClosed(): void {
    if (this.#closing.signal.aborted) throw new ClosedError('kubernetes provider');
  }
}

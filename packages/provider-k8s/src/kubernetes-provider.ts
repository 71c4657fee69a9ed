import {
  AbortedError,
  ClosedError,
  createRedactor,
  Listeners,
  throwIfAborted,
  UnsupportedError,
  WatchPool,
  type DiscoveryError,
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

import { apiError, isGone } from './api-error.js';
import type { ObjectMapper } from './candidate.js';
import { endpointSliceMapper } from './endpoint-slice-mapper.js';
import type { LoadedKubeConfig } from './kube-config.js';
import { KubeClients, type KubeItem, type ListWatchSource } from './list-watch-source.js';
import type { ResolvedOptions } from './options.js';
import { podMapper } from './pod-mapper.js';
import { selectorFor } from './selector.js';
import { ServiceView } from './service-view.js';
import { ServiceWatch, type ServiceWatchHooks } from './service-watch.js';

const joinHint =
  'in Kubernetes a pod joins a Service through its labels (matching the Service selector) and leaves it by failing its readiness probe or being deleted';

/**
 * Discovery from the Kubernetes API: EndpointSlices of a Service (default) or pods picked by
 * a label selector, in one namespace. Read-only: Kubernetes itself decides membership.
 */
export class KubernetesProvider implements Provider {
  readonly name = 'kubernetes';
  /** Readiness probes run in the cluster, so no local health agent is needed. */
  readonly capabilities: ProviderCapabilities = Object.freeze({ register: false, watch: true, serverHealthChecks: true });
  /** The namespace read. */
  readonly namespace: string;
  readonly #options: ResolvedOptions;
  readonly #clients: KubeClients;
  readonly #redact: (text: string) => string;
  readonly #watches = new WatchPool<ServiceWatch>({
    create: (name) => this.#startWatch(name),
    subscribe: (watch, listener) => watch.subscribe(listener),
    stop: (watch) => watch.stop(),
  });
  // A listener's failure is its own: the others still hear the event.
  readonly #events = new Listeners<ProviderEvent>(() => {});
  readonly #closing = new AbortController();

  constructor(options: ResolvedOptions, loaded: LoadedKubeConfig) {
    this.#options = options;
    this.namespace = loaded.namespace;
    this.#clients = new KubeClients(loaded.kubeConfig);
    this.#redact = createRedactor(loaded.secrets);
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
    const selector = selectorFor(this.#options.mode, name, this.#options.labelSelector);
    throwIfAborted(options.signal, `discover("${name}")`);
    const shared = this.#watches.get(name);
    if (shared?.fresh) return [...shared.snapshot];
    const signal = options.signal ? AbortSignal.any([options.signal, this.#closing.signal]) : this.#closing.signal;
    const source = this.#clients.source(this.#options.mode, this.namespace, selector);
    const view = new ServiceView<KubeItem>(this.#mapper(name), this.#options, (problem) => this.#events.emit({ type: 'invalid-record', message: problem.message, service: name, error: problem }));
    try {
      view.replace(await this.#listAll(source, signal));
    } catch (error) {
      this.#throwIfClosed();
      if (options.signal?.aborted) throw new AbortedError(`discover("${name}")`, { cause: options.signal.reason });
      throw apiError(error, `listing ${this.#what(selector)}`, this.#redact);
    }
    return [...(view.snapshot ?? [])];
  }

  watch(name: string, listener: WatchListener, options: OperationOptions = {}): Unsubscribe {
    this.#throwIfClosed();
    selectorFor(this.#options.mode, name, this.#options.labelSelector); // validates the name
    if (options.signal?.aborted) return () => {};
    return this.#watches.watch(name, listener, options.signal);
  }

  onEvent(listener: (event: ProviderEvent) => void): Unsubscribe {
    return this.#events.add(listener);
  }

  async close(): Promise<void> {
    if (this.#closing.signal.aborted) return;
    this.#closing.abort();
    const watchesStopped = this.#watches.close();
    this.#events.clear();
    await watchesStopped;
  }

  #startWatch(name: string): ServiceWatch {
    const selector = selectorFor(this.#options.mode, name, this.#options.labelSelector);
    const what = this.#what(selector);
    const hooks: ServiceWatchHooks = {
      problem: (problem) => this.#events.emit({ type: 'invalid-record', message: problem.message, service: name, error: problem }),
      notice: (type, message) => {
        this.#options.logger.info({ service: name, event: type }, `kubernetes: ${what}: ${message}`);
        this.#events.emit({ type, message: `${what}: ${message}`, service: name });
      },
      toError: (error): DiscoveryError => {
        const failure = apiError(error, `watching ${what}`, this.#redact);
        this.#options.logger.warn({ service: name, err: failure }, failure.message);
        return failure;
      },
    };
    const { pageSize, watchTimeoutMs, watchGraceMs, backoff } = this.#options;
    return new ServiceWatch(this.#clients.source(this.#options.mode, this.namespace, selector), this.#mapper(name), this.#options, { pageSize, watchTimeoutMs, watchGraceMs, backoff }, hooks);
  }

  async #listAll(source: ListWatchSource, signal: AbortSignal): Promise<KubeItem[]> {
    for (let attempt = 0; ; attempt++) {
      const items: KubeItem[] = [];
      let next: string | undefined;
      try {
        do {
          const page = await source.list({ continue: next, limit: this.#options.pageSize, signal });
          items.push(...page.items);
          next = page.continue;
        } while (next !== undefined);
        return items;
      } catch (error) {
        // An expired continue token: the list changed under us; start over once.
        if (!isGone(error) || attempt > 0) throw error;
      }
    }
  }

  #mapper(service: string): ObjectMapper<KubeItem> {
    const { port, addressType } = this.#options;
    return this.#options.mode === 'pods'
      ? (podMapper({ service, port, addressType }) as ObjectMapper<KubeItem>)
      : (endpointSliceMapper({ service, port, addressType }) as ObjectMapper<KubeItem>);
  }

  #what(selector: string): string {
    return `${this.#options.mode === 'pods' ? 'pods' : 'EndpointSlices'} "${selector}" in namespace ${this.namespace}`;
  }

  #throwIfClosed(): void {
    if (this.#closing.signal.aborted) throw new ClosedError('kubernetes provider');
  }
}


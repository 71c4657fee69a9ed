import { CoreV1Api, DiscoveryV1Api, Observable, Watch, type KubeConfig, type V1EndpointSlice, type V1Pod } from '@kubernetes/client-node';
import type { Mode } from './options.js';

export type KubeItem = V1EndpointSlice | V1Pod;

export interface ListPage {
  readonly items: readonly KubeItem[];
  readonly resourceVersion: string | undefined;
  readonly continue: string | undefined;
}

export interface WatchRequest {
  readonly resourceVersion: string;
  readonly timeoutSeconds: number;
  /** The reflector takes a watch silent this long for dead; the client's own limit must not be shorter. */
  readonly inactivityMs: number;
}

export interface WatchHandle {
  abort(): void;
}

/** One list page at a time, and a streamed watch, for one label selector in one namespace. */
export interface ListWatchSource {
  list(page: { continue: string | undefined; limit: number; signal: AbortSignal }): Promise<ListPage>;
  /** Resolves once the watch is connected (or has already failed through `done`). */
  watch(request: WatchRequest, onEvent: (type: string, object: unknown) => void, done: (error: unknown) => void): Promise<WatchHandle>;
}

/** Hands the request an AbortSignal (client-node's typed calls take no signal of their own). */
function withSignal(signal: AbortSignal) {
  return {
    middleware: [
      {
        pre: (context: { setSignal(signal: AbortSignal): void }) => {
          context.setSignal(signal);
          return new Observable(Promise.resolve(context));
        },
        post: <R>(response: R) => new Observable(Promise.resolve(response)),
      },
    ],
    middlewareMergeStrategy: 'append' as const,
  };
}

/** Shared per provider: API clients made once from the KubeConfig. */
export class KubeClients {
  readonly #kubeConfig: KubeConfig;
  readonly #discovery: DiscoveryV1Api;
  readonly #core: CoreV1Api;

  constructor(kubeConfig: KubeConfig) {
    this.#kubeConfig = kubeConfig;
    this.#discovery = kubeConfig.makeApiClient(DiscoveryV1Api);
    this.#core = kubeConfig.makeApiClient(CoreV1Api);
  }

  /** EndpointSlices or Pods matching `labelSelector` in `namespace`, through client-node. */
  source(mode: Mode, namespace: string, labelSelector: string): ListWatchSource {
    const path = mode === 'pods' ? `/api/v1/namespaces/${namespace}/pods` : `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices`;
    return {
      list: async ({ continue: next, limit, signal }) => {
        const request = { namespace, labelSelector, limit, ...(next !== undefined && { _continue: next }) };
        const options = withSignal(signal) as never;
        const list = mode === 'pods' ? await this.#core.listNamespacedPod(request, options) : await this.#discovery.listNamespacedEndpointSlice(request, options);
        return { items: list.items, resourceVersion: list.metadata?.resourceVersion, continue: list.metadata?._continue || undefined };
      },
      watch: async ({ resourceVersion, timeoutSeconds, inactivityMs }, onEvent, done) => {
        const watch = new Watch(this.#kubeConfig);
        // client-node 2.x aborts a watch after 30s without a byte (a private field); a quiet
        // watch is legitimate until its timeoutSeconds, so move that limit past it.
        if ('requestTimeoutMs' in watch) (watch as unknown as { requestTimeoutMs: number }).requestTimeoutMs = inactivityMs + 1000;
        const query = { labelSelector, resourceVersion, allowWatchBookmarks: true, timeoutSeconds };
        const controller = await watch.watch(path, query, onEvent, done);
        return { abort: () => controller.abort() };
      },
    };
  }
}

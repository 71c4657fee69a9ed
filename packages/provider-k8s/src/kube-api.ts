import { HttpMethod, IsomorphicFetchHttpLibrary, RequestContext, Watch, type KubeConfig } from '@kubernetes/client-node';
import { KubeRequestError } from './errors.js';
import type { Mode } from './options.js';

/**
 * An object as the API sent it, not deserialized: every field may be of any type (a stored
 * object is not guaranteed to match the schema), so mappers check what they read.
 */
export interface KubeItem {
  readonly metadata?: { readonly name?: unknown; readonly namespace?: unknown; readonly resourceVersion?: unknown } | undefined;
  readonly [field: string]: unknown;
}

export interface ListPage {
  /** Raw items: each one is checked by the mapper, so one bad object costs one invalid record. */
  readonly items: readonly unknown[];
  readonly resourceVersion: string | undefined;
  readonly continue: string | undefined;
}

export interface WatchRequest {
  readonly resourceVersion: string;
  readonly timeoutSeconds: number;
  /** The source takes a watch silent this long for dead; the client's own inactivity limit must not be shorter. */
  readonly inactivityMs: number;
}

export interface WatchHandle {
  abort(): void;
}

/** One list page at a time, and a streamed watch, for one label selector in one namespace. */
export interface KubeApi {
  list(page: { continue: string | undefined; limit: number; signal: AbortSignal }): Promise<ListPage>;
  /** Resolves once the watch is connected (or has already failed through `done`). */
  watch(request: WatchRequest, onEvent: (type: unknown, object: unknown) => void, done: (error: unknown) => void): Promise<WatchHandle>;
}

const text = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);

/** The message of a Status body, or the body itself (short), for an error. */
function statusMessage(body: string, status: number): string {
  try {
    const parsed = JSON.parse(body) as { message?: unknown } | null;
    if (typeof parsed?.message === 'string') return parsed.message;
  } catch {
    // not JSON: fall through
  }
  return body.trim() === '' ? `HTTP ${status}` : body;
}

/**
 * The Kubernetes API for the provider, through client-node's own HTTP library and
 * authentication (so TLS, tokens, exec plugins and proxies behave as client-node's), but
 * without its typed deserializer: client-node's ObjectSerializer throws on the whole list when
 * one stored object has a field of the wrong type (`"ports": 5`), which would cost the service.
 */
export class KubeClients {
  readonly #kubeConfig: KubeConfig;
  readonly #http = new IsomorphicFetchHttpLibrary();

  constructor(kubeConfig: KubeConfig) {
    this.#kubeConfig = kubeConfig;
  }

  /** EndpointSlices or Pods matching `labelSelector` in `namespace`. */
  api(mode: Mode, namespace: string, labelSelector: string): KubeApi {
    const path = mode === 'pods' ? `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods` : `/apis/discovery.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/endpointslices`;
    return {
      list: async ({ continue: next, limit, signal }) => {
        const cluster = this.#kubeConfig.getCurrentCluster();
        if (!cluster) throw new Error('the kubeconfig has no current cluster');
        const url = new URL(cluster.server.replace(/\/+$/, '') + path);
        url.searchParams.set('labelSelector', labelSelector);
        url.searchParams.set('limit', String(limit));
        if (next !== undefined) url.searchParams.set('continue', next);
        const request = new RequestContext(url.toString(), HttpMethod.GET);
        request.setHeaderParam('Accept', 'application/json');
        // client-node keeps its agents (and their idle sockets) for the process: a list's
        // connection would stay open, unused, until the server's idle timeout. Lists are
        // occasional (sync, 410, a new service), so each closes its connection once read.
        request.setHeaderParam('Connection', 'close');
        request.setSignal(signal);
        await this.#kubeConfig.applySecurityAuthentication(request);
        const response = await this.#http.send(request).toPromise();
        const body = await response.body.text();
        if (response.httpStatusCode !== 200) throw new KubeRequestError(response.httpStatusCode, statusMessage(body, response.httpStatusCode));
        let parsed: unknown;
        try {
          parsed = JSON.parse(body);
        } catch {
          throw new KubeRequestError(502, `the list answer is not JSON (${body.length} bytes)`);
        }
        const list = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as { items?: unknown; metadata?: { resourceVersion?: unknown; continue?: unknown } };
        if (!Array.isArray(list.items)) throw new KubeRequestError(502, 'the list answer has no items array');
        const metadata = typeof list.metadata === 'object' && list.metadata !== null ? list.metadata : {};
        return { items: list.items, resourceVersion: text(metadata.resourceVersion), continue: text(metadata.continue) };
      },
      watch: async ({ resourceVersion, timeoutSeconds, inactivityMs }, onEvent, done) => {
        const watch = new Watch(this.#kubeConfig);
        // client-node 2.x aborts a watch after 30s without a byte; a quiet watch is legitimate
        // until its timeoutSeconds, so move that limit past the source's own silence deadline.
        if ('requestTimeoutMs' in watch) (watch as unknown as { requestTimeoutMs: number }).requestTimeoutMs = Math.min(inactivityMs + 1000, 2 ** 31 - 1);
        const query = { labelSelector, resourceVersion, allowWatchBookmarks: true, timeoutSeconds };
        const controller = await watch.watch(path, query, (type: unknown, object: unknown) => onEvent(type, object), done);
        return { abort: () => controller.abort() };
      },
    };
  }
}

import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpDouble, readBody, sendJson } from '../http-double.js';
import { endpointSlice, pod, type EndpointSliceInit, type PodInit } from './fixtures.js';
import { kubeconfigYaml } from './kubeconfig.js';
import { parseLabelSelector } from './label-selector.js';
import { ObjectStore } from './object-store.js';
import { resourceTypes, type KubeObject, type ResourceName, type ResourceType } from './resources.js';
import { gone, StatusError } from './status.js';
import { WatchStream } from './watch-stream.js';

export interface KubernetesApiDoubleOptions {
  /** Bearer token every request must carry; default a random one; `null` turns auth off. */
  token?: string | null;
  /** Port to listen on; default any free one (kept across stop/start). */
  port?: number;
  /** Changes kept for watches to replay; older ones are compacted (410 Gone). Default 10,000. */
  historyLimit?: number;
  /** How often an open watch that asked for bookmarks gets one. Default 1s (the API server: about a minute). */
  bookmarkIntervalMs?: number;
  /** Watch length when the client gives no timeoutSeconds. Default 1800 s, like the API server's minimum. */
  defaultWatchSeconds?: number;
  /**
   * Ends every watch cleanly this long after it started, before its timeoutSeconds and without
   * the closing BOOKMARK: what a proxy or load balancer that cuts long requests short does.
   * Default: never (watches run to their timeoutSeconds).
   */
  endWatchesAfterMs?: number;
}

/**
 * What a scripted watch sends first, as raw events (any JSON, garbage included, written as
 * they are): then it goes on as a normal watch (`then: 'continue'`) or ends cleanly (`'end'`).
 */
export interface WatchScript {
  readonly events: readonly unknown[];
  readonly then: 'continue' | 'end';
}

/** One request as the double saw it (for tests that measure who asked what, when). */
export interface KubeApiRequest {
  /** `performance.now()` at arrival. */
  readonly at: number;
  readonly method: string;
  readonly resource: ResourceName | undefined;
  readonly namespace: string | undefined;
  readonly watch: boolean;
  readonly query: Readonly<Record<string, string>>;
}

interface ListSnapshot {
  readonly revision: number;
  readonly items: readonly KubeObject[];
}

const route = /^(\/api\/v1|\/apis\/discovery\.k8s\.io\/v1)(?:\/namespaces\/([^/]+))?\/([a-z]+)(?:\/([^/]+))?$/;
const continueTooOld =
  'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.';

/**
 * A Kubernetes API server double on loopback for discovery.k8s.io/v1 EndpointSlices and v1
 * Pods: list with labelSelector, limit/continue (consistent snapshots) and resourceVersion;
 * streamed watches with replay from a resourceVersion, BOOKMARKs, timeoutSeconds and 410 Gone
 * after compaction; create/replace/delete over HTTP and from tests; bearer-token auth.
 * `stop()` / `start()` keep the stored objects, like an API server restarting over etcd.
 */
export class KubernetesApiDouble {
  readonly store: ObjectStore;
  readonly token: string | undefined;
  readonly requests: KubeApiRequest[] = [];
  /** Called with each request before it is answered: lets a test act at an exact moment (e.g. compact between list pages). */
  onRequest: ((request: KubeApiRequest) => void) | undefined;
  /**
   * Scripts the start of each new watch (for hostile-input tests): return the raw events it
   * sends first and whether it ends after them; undefined leaves that watch alone.
   */
  watchScript: ((request: KubeApiRequest) => WatchScript | undefined) | undefined;
  readonly #http: HttpDouble;
  readonly #watches = new Set<WatchStream>();
  readonly #snapshots = new Map<string, ListSnapshot>();
  readonly #bookmarkIntervalMs: number;
  readonly #defaultWatchSeconds: number;
  readonly #endWatchesAfterMs: number | undefined;
  #failures: { remaining: number; code: number } | undefined;
  #snapshotSeq = 0;

  constructor(options: KubernetesApiDoubleOptions = {}) {
    this.token = options.token === null ? undefined : (options.token ?? randomBytes(16).toString('hex'));
    this.store = new ObjectStore({ ...(options.historyLimit !== undefined && { historyLimit: options.historyLimit }) });
    this.#bookmarkIntervalMs = options.bookmarkIntervalMs ?? 1000;
    this.#defaultWatchSeconds = options.defaultWatchSeconds ?? 1800;
    this.#endWatchesAfterMs = options.endWatchesAfterMs;
    this.#http = new HttpDouble((req, res, url) => this.#handle(req, res, url), { ...(options.port !== undefined && { port: options.port }) });
  }

  get url(): string {
    return this.#http.url;
  }

  get port(): number {
    return this.#http.port;
  }

  get running(): boolean {
    return this.#http.running;
  }

  /** Watches open right now, optionally of one resource. */
  openWatches(resource?: ResourceName): number {
    return [...this.#watches].filter((w) => resource === undefined || w.resource === resource).length;
  }

  async start(): Promise<this> {
    await this.#http.start();
    return this;
  }

  /** Ends every watch and connection and stops listening; objects are kept. */
  async stop(): Promise<void> {
    for (const watch of this.#watches) watch.close();
    this.#watches.clear();
    await this.#http.stop();
  }

  /** Cuts every open connection without stopping (a network blip). */
  dropConnections(): void {
    this.#http.dropConnections();
  }

  /** Makes every open watch go silent without closing it (a stuck connection). */
  freezeWatches(): void {
    for (const watch of this.#watches) watch.freeze();
  }

  /** Compacts history (default: all of it): watches and list continuations from before answer 410 Gone. */
  compact(revision?: number): void {
    this.store.compact(revision);
    for (const [id, snapshot] of this.#snapshots) if (snapshot.revision < this.store.compactedRevision) this.#snapshots.delete(id);
  }

  /** The next `times` API requests fail with `code` (e.g. 500, 503, 429). */
  failRequests(times: number, code = 500): void {
    this.#failures = { remaining: times, code };
  }

  /** A kubeconfig (YAML) whose current context reaches this double with its token. */
  kubeconfig(options: { namespace?: string; name?: string } = {}): string {
    return kubeconfigYaml({ server: this.url, token: this.token, namespace: options.namespace, name: options.name });
  }

  /** Writes {@link kubeconfig} to `<dir>/kubeconfig` and returns the path (for KUBECONFIG). */
  async writeKubeconfig(dir: string, options: { namespace?: string; name?: string } = {}): Promise<string> {
    const path = join(dir, 'kubeconfig');
    await writeFile(path, this.kubeconfig(options), { mode: 0o600 });
    return path;
  }

  // Helpers for tests. Each is one write with its own resourceVersion.
  applyEndpointSlice(init: EndpointSliceInit): KubeObject {
    return this.store.apply('endpointslices', endpointSlice(init));
  }

  applyPod(init: PodInit): KubeObject {
    return this.store.apply('pods', pod(init));
  }

  apply(resource: ResourceName, object: KubeObject): KubeObject {
    return this.store.apply(resource, object);
  }

  delete(resource: ResourceName, name: string, namespace = 'default'): KubeObject {
    return this.store.delete(resource, namespace, name);
  }

  async #handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const match = route.exec(url.pathname);
    const type = match ? resourceTypes.find((r) => r.prefix === match[1] && r.plural === match[3]) : undefined;
    const query = Object.fromEntries(url.searchParams);
    const watch = query.watch === 'true' || query.watch === '1';
    const request: KubeApiRequest = { at: performance.now(), method: req.method ?? 'GET', resource: type?.plural, namespace: match?.[2], watch, query };
    this.requests.push(request);
    this.onRequest?.(request);
    try {
      if (this.token !== undefined && req.headers.authorization !== `Bearer ${this.token}`) {
        throw new StatusError(401, 'Unauthorized', 'Unauthorized');
      }
      if (this.#failures && this.#failures.remaining > 0) {
        this.#failures.remaining--;
        throw new StatusError(this.#failures.code, 'InternalError', `injected failure (${this.#failures.code})`);
      }
      if (!match || !type) throw new StatusError(404, 'NotFound', `the server could not find the requested resource (${url.pathname})`);
      const namespace = match[2];
      const name = match[4];
      if (req.method === 'GET' && name !== undefined) return sendJson(res, 200, this.#get(type, namespace, name));
      if (req.method === 'GET' && watch) return this.#watch(res, type, namespace, url.searchParams, this.watchScript?.(request));
      if (req.method === 'GET') return sendJson(res, 200, this.#list(type, namespace, url.searchParams));
      if (namespace === undefined) throw new StatusError(405, 'MethodNotAllowed', 'writes need a namespace in the path');
      if (req.method === 'POST' && name === undefined) return sendJson(res, 201, this.store.create(type.plural, this.#body(await readBody(req), namespace)));
      if (req.method === 'PUT' && name !== undefined) return sendJson(res, 200, this.store.update(type.plural, this.#body(await readBody(req), namespace, name)));
      if (req.method === 'DELETE' && name !== undefined) return sendJson(res, 200, this.store.delete(type.plural, namespace, name));
      throw new StatusError(405, 'MethodNotAllowed', `${req.method} is not supported here`);
    } catch (error) {
      if (!(error instanceof StatusError)) throw error;
      sendJson(res, error.code, error.toStatus());
    }
  }

  #get(type: ResourceType, namespace: string | undefined, name: string): KubeObject {
    const object = this.store.get(type.plural, namespace ?? 'default', name);
    if (!object) throw new StatusError(404, 'NotFound', `${type.plural} "${name}" not found`);
    return object;
  }

  #body(text: string, namespace: string, name?: string): KubeObject {
    let object: KubeObject;
    try {
      object = JSON.parse(text) as KubeObject;
    } catch {
      throw new StatusError(400, 'BadRequest', 'request body is not JSON');
    }
    if (typeof object?.metadata?.name !== 'string' || object.metadata.name === '') throw new StatusError(422, 'Invalid', 'metadata.name: Required value');
    if (name !== undefined && object.metadata.name !== name) throw new StatusError(400, 'BadRequest', 'the name of the object does not match the name in the URL');
    return { ...object, metadata: { ...object.metadata, namespace } };
  }

  #matcher(params: URLSearchParams) {
    try {
      return parseLabelSelector(params.get('labelSelector'));
    } catch (error) {
      throw new StatusError(400, 'BadRequest', `unable to parse requirement: ${(error as Error).message}`);
    }
  }

  #list(type: ResourceType, namespace: string | undefined, params: URLSearchParams): unknown {
    const limit = Number(params.get('limit') ?? 0);
    const token = params.get('continue');
    let snapshot: ListSnapshot;
    let snapshotId: string | undefined;
    let offset = 0;
    if (token) {
      let decoded: { id: string; offset: number };
      try {
        decoded = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { id: string; offset: number };
      } catch {
        throw new StatusError(400, 'BadRequest', 'continue key is not valid');
      }
      const found = this.#snapshots.get(decoded.id);
      if (!found) throw gone(continueTooOld);
      snapshot = found;
      snapshotId = decoded.id;
      offset = decoded.offset;
    } else {
      const matches = this.#matcher(params);
      snapshot = { revision: this.store.revision, items: this.store.list(type.plural, namespace).filter((o) => matches(o.metadata.labels)) };
    }
    const end = limit > 0 ? Math.min(offset + limit, snapshot.items.length) : snapshot.items.length;
    const metadata: Record<string, unknown> = { resourceVersion: String(snapshot.revision) };
    if (end < snapshot.items.length) {
      const id = snapshotId ?? String(++this.#snapshotSeq);
      this.#snapshots.set(id, snapshot);
      metadata.continue = Buffer.from(JSON.stringify({ id, offset: end })).toString('base64url');
      metadata.remainingItemCount = snapshot.items.length - end;
    }
    return { kind: `${type.kind}List`, apiVersion: type.apiVersion, metadata, items: snapshot.items.slice(offset, end) };
  }

  #watch(res: ServerResponse, type: ResourceType, namespace: string | undefined, params: URLSearchParams, script: WatchScript | undefined): void {
    const rv = params.get('resourceVersion');
    let since: number | undefined;
    if (rv && rv !== '0') {
      since = Number(rv);
      if (!Number.isInteger(since)) throw new StatusError(400, 'BadRequest', `invalid resourceVersion: ${rv}`);
    }
    const timeoutSeconds = Number(params.get('timeoutSeconds') ?? this.#defaultWatchSeconds) || this.#defaultWatchSeconds;
    const stream = new WatchStream(res, this.store, {
      resource: type.plural,
      namespace,
      matches: this.#matcher(params),
      since,
      bookmarks: params.get('allowWatchBookmarks') === 'true',
      timeoutMs: timeoutSeconds * 1000,
      bookmarkIntervalMs: this.#bookmarkIntervalMs,
      endAfterMs: this.#endWatchesAfterMs,
    });
    this.#watches.add(stream);
    void stream.closed.then(() => this.#watches.delete(stream));
    if (script) {
      stream.startRaw(script.events);
      if (script.then === 'end') return stream.close();
    }
    stream.start();
  }
}

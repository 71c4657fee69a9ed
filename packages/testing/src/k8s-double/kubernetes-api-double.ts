import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody, sendJson } from '../http-double.js';
import { applyDefaults, prepareForCreate } from './defaults.js';
import { apiGroup, apiGroupList, apiResourceList, apiVersions, serverVersion } from './discovery.js';
import { parseFieldSelector, type FieldMatcher } from './field-selector.js';
import { endpointSlice, pod, type EndpointSliceInit, type PodInit } from './fixtures.js';
import { HttpsDouble, type ConnectionStats } from './https-server.js';
import { kubeconfigYaml } from './kubeconfig.js';
import { parseLabelSelector, type LabelMatcher } from './label-selector.js';
import { ObjectStore } from './object-store.js';
import { openApiDocument, openApiProtobuf, openApiProtobufType } from './openapi.js';
import { applyPatch } from './patch.js';
import { resourceType, resourceTypes, type KubeObject, type ResourceName, type ResourceType } from './resources.js';
import { badRequest, conflict, gone, invalid, namespaceTerminating, notFound, StatusError } from './status.js';
import { validate } from './validation.js';
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
  /** How long a list or watch at a resourceVersion newer than the store waits for it before 504. Default 3 s (the watch cache's). */
  tooLargeResourceVersionWaitMs?: number;
  /** How long a deleted namespace stays Terminating before the namespace controller has emptied and removed it. Default 300 ms. */
  namespaceTerminationMs?: number;
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
  readonly path: string;
}

/** An answer of {@link KubernetesApiDouble.request}. */
export interface DoubleResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly text: string;
  json<T = unknown>(): T;
}

interface ListSnapshot {
  readonly revision: number;
  readonly items: readonly KubeObject[];
  readonly filtered: boolean;
}

interface Target {
  readonly type: ResourceType;
  readonly namespace: string | undefined;
  readonly name: string | undefined;
  readonly subresource: string | undefined;
}

const continueTooOld =
  'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.';
const protectedNamespaces = new Set(['default', 'kube-system', 'kube-public']);
const systemNamespaces = ['default', 'kube-node-lease', 'kube-public', 'kube-system'];
const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

/** Splits an API path into resource, namespace, name and subresource; undefined when it names nothing served. */
function parsePath(pathname: string): Target | undefined {
  const m = /^\/(?:api\/v1|apis\/([^/]+)\/v1)\/(.+)$/.exec(pathname);
  if (!m) return undefined;
  const group = m[1] ?? '';
  const parts = m[2]!.split('/').map(decodeURIComponent);
  const find = (plural: string | undefined) => resourceTypes.find((t) => t.group === group && t.plural === plural);
  let namespace: string | undefined;
  let rest = parts;
  if (parts[0] === 'namespaces' && parts.length >= 3 && find(parts[2])?.namespaced) {
    namespace = parts[1];
    rest = parts.slice(2);
  }
  const type = find(rest[0]);
  if (!type || rest.length > 3 || (type.namespaced === false && namespace !== undefined)) return undefined;
  const subresource = rest[2];
  if (subresource !== undefined && !type.subresources.includes(subresource)) return undefined;
  return { type, namespace, name: rest[1], subresource };
}

/**
 * A Kubernetes API server double on loopback, served over HTTPS with a generated CA so that
 * kubectl and client-go use it unaided with the kubeconfig it writes: discovery (/version,
 * /api, /apis, group versions) and /openapi/v2 (JSON and protobuf); EndpointSlices
 * (discovery.k8s.io/v1), Pods (with the status subresource and graceful deletion), Services
 * and Namespaces (NamespaceLifecycle: nothing is created in a missing or terminating
 * namespace); create, replace, PATCH (JSON patch, merge patch, strategic merge patch) and
 * delete, with defaulting and 422 validation; lists with labelSelector, fieldSelector,
 * limit/continue (consistent snapshots), resourceVersion and resourceVersionMatch; streamed
 * watches with replay, BOOKMARKs, timeoutSeconds and 410 Gone after compaction; bearer-token
 * auth. `stop()` / `start()` keep the stored objects, like an API server restarting over etcd.
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
  readonly #server: HttpsDouble;
  readonly #watches = new Set<WatchStream>();
  readonly #snapshots = new Map<string, ListSnapshot>();
  readonly #terminations = new Map<string, NodeJS.Timeout>();
  readonly #bookmarkIntervalMs: number;
  readonly #defaultWatchSeconds: number;
  readonly #endWatchesAfterMs: number | undefined;
  readonly #tooLargeWaitMs: number;
  readonly #namespaceTerminationMs: number;
  #failures: { remaining: number; code: number } | undefined;
  #snapshotSeq = 0;

  constructor(options: KubernetesApiDoubleOptions = {}) {
    this.token = options.token === null ? undefined : (options.token ?? randomBytes(16).toString('hex'));
    this.store = new ObjectStore({ ...(options.historyLimit !== undefined && { historyLimit: options.historyLimit }) });
    for (const name of systemNamespaces) this.#createNamespace(name);
    this.#bookmarkIntervalMs = options.bookmarkIntervalMs ?? 1000;
    this.#defaultWatchSeconds = options.defaultWatchSeconds ?? 1800;
    this.#endWatchesAfterMs = options.endWatchesAfterMs;
    this.#tooLargeWaitMs = options.tooLargeResourceVersionWaitMs ?? 3000;
    this.#namespaceTerminationMs = options.namespaceTerminationMs ?? 300;
    this.#server = new HttpsDouble((req, res, url) => this.#handle(req, res, url), { ...(options.port !== undefined && { port: options.port }) });
  }

  /** `https://127.0.0.1:<port>` */
  get url(): string {
    return this.#server.url;
  }

  get port(): number {
    return this.#server.port;
  }

  get running(): boolean {
    return this.#server.running;
  }

  /** The CA (PEM) the double's certificate is signed by (after `start()`). */
  get ca(): string {
    return this.#server.ca;
  }

  /** TLS connections accepted, open now, and the most open at once. */
  get connections(): ConnectionStats {
    return this.#server.connections;
  }

  resetConnectionStats(): void {
    this.#server.resetConnectionStats();
  }

  /** Watches open right now, optionally of one resource. */
  openWatches(resource?: ResourceName): number {
    return [...this.#watches].filter((w) => resource === undefined || w.resource === resource).length;
  }

  async start(): Promise<this> {
    await this.#server.start();
    return this;
  }

  /** Ends every watch and connection and stops listening; objects are kept. */
  async stop(): Promise<void> {
    for (const watch of this.#watches) watch.close();
    this.#watches.clear();
    for (const timer of this.#terminations.values()) clearTimeout(timer);
    this.#terminations.clear();
    await this.#server.stop();
  }

  /** Cuts every open connection without stopping (a network blip). */
  dropConnections(): void {
    this.#server.dropConnections();
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

  /** A kubeconfig (YAML) whose current context reaches this double over TLS with its CA and token. */
  kubeconfig(options: { namespace?: string; name?: string } = {}): string {
    return kubeconfigYaml({ server: this.url, ca: this.ca, token: this.token, namespace: options.namespace, name: options.name });
  }

  /** Writes {@link kubeconfig} to `<dir>/kubeconfig` and returns the path (for KUBECONFIG). */
  async writeKubeconfig(dir: string, options: { namespace?: string; name?: string } = {}): Promise<string> {
    const path = join(dir, 'kubeconfig');
    await writeFile(path, this.kubeconfig(options), { mode: 0o600 });
    return path;
  }

  /**
   * One HTTPS request to the double, trusting its CA and sending its token (or `token`; `null`
   * sends none): for tests that speak the API directly.
   */
  request(path: string, init: { method?: string; body?: unknown; headers?: Record<string, string>; token?: string | null; signal?: AbortSignal } = {}): Promise<DoubleResponse> {
    const token = init.token === undefined ? this.token : init.token;
    const body = init.body === undefined ? undefined : typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
    return new Promise((resolve, reject) => {
      const req = httpsRequest(
        `${this.url}${path}`,
        {
          method: init.method ?? 'GET',
          ca: this.ca,
          agent: false,
          headers: {
            accept: 'application/json',
            // Node frames no body of a DELETE by itself: say its length.
            ...(body !== undefined && { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }),
            ...(token !== null && token !== undefined && { authorization: `Bearer ${token}` }),
            ...init.headers,
          },
          ...(init.signal && { signal: init.signal }),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: <T>() => JSON.parse(text) as T });
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  // Helpers for tests, acting as the cluster's controllers (the EndpointSlice controller, the
  // kubelet) would: each is one write with its own resourceVersion, stored as given (a pod's
  // status included). They create a missing namespace, as a test setting up a cluster would,
  // and refuse a terminating one.
  applyEndpointSlice(init: EndpointSliceInit): KubeObject {
    return this.apply('endpointslices', endpointSlice(init));
  }

  applyPod(init: PodInit): KubeObject {
    return this.apply('pods', pod(init));
  }

  apply(resource: ResourceName, object: KubeObject): KubeObject {
    if (resourceType(resource).namespaced) {
      const namespace = object.metadata.namespace ?? 'default';
      const ns = this.store.get('namespaces', '', namespace);
      if (!ns) this.#createNamespace(namespace);
      else if (ns.metadata.deletionTimestamp) throw namespaceTerminating(resourceType(resource), object.metadata.name, namespace);
    }
    return this.store.apply(resource, object);
  }

  /** Deletes at once (what the kubelet does for a pod whose containers stopped). */
  delete(resource: ResourceName, name: string, namespace = 'default'): KubeObject {
    this.#cancelTermination(resource, namespace, name);
    return this.store.delete(resource, namespace, name);
  }

  /** Creates a namespace (Active). */
  createNamespace(name: string): KubeObject {
    return this.#createNamespace(name);
  }

  #createNamespace(name: string): KubeObject {
    const ns: KubeObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name } };
    applyDefaults('namespaces', ns);
    prepareForCreate('namespaces', ns);
    return this.store.create('namespaces', ns);
  }

  async #handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const target = parsePath(url.pathname);
    const query = Object.fromEntries(url.searchParams);
    const watch = query.watch === 'true' || query.watch === '1';
    const request: KubeApiRequest = { at: performance.now(), method: req.method ?? 'GET', resource: target?.type.plural, namespace: target?.namespace, watch, query, path: url.pathname };
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
      if (req.method === 'GET' && !target && this.#discovery(req, res, url.pathname)) return;
      if (!target) throw new StatusError(404, 'NotFound', 'the server could not find the requested resource', {});
      if (query.dryRun !== undefined) throw badRequest('dryRun is not implemented by this API double');
      await this.#resource(req, res, url, target, request);
    } catch (error) {
      if (!(error instanceof StatusError)) throw error;
      if (!res.headersSent) sendJson(res, error.code, error.toStatus());
      else res.end();
    }
  }

  /** Discovery and OpenAPI; false when the path is none of them. */
  #discovery(req: IncomingMessage, res: ServerResponse, path: string): boolean {
    const groupPath = /^\/apis\/([^/]+)(?:\/(v1))?$/.exec(path);
    if (path === '/version') sendJson(res, 200, serverVersion);
    else if (path === '/api') sendJson(res, 200, apiVersions(`127.0.0.1:${this.port}`));
    else if (path === '/apis') sendJson(res, 200, apiGroupList());
    else if (path === '/api/v1') sendJson(res, 200, apiResourceList(''));
    else if (groupPath) {
      const body = groupPath[2] ? apiResourceList(groupPath[1]!) : apiGroup(groupPath[1]!);
      if (!body) return false;
      sendJson(res, 200, body);
    } else if (path === '/openapi/v2') {
      if ((req.headers.accept ?? '').includes(openApiProtobufType)) {
        const data = openApiProtobuf();
        // kube-openapi serves the protobuf document as application/octet-stream (Go's mime parser refuses the '@' of its own type name).
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': data.length });
        res.end(data);
      } else sendJson(res, 200, openApiDocument);
    } else if (path === '/healthz' || path === '/livez' || path === '/readyz') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
    } else return false;
    return true;
  }

  async #resource(req: IncomingMessage, res: ServerResponse, url: URL, target: Target, request: KubeApiRequest): Promise<void> {
    const { type, namespace, name, subresource } = target;
    const method = req.method ?? 'GET';
    const params = url.searchParams;
    if (name === undefined) {
      if (method === 'GET' && request.watch) return this.#watch(res, type, namespace, params, this.watchScript?.(request));
      if (method === 'GET') return sendJson(res, 200, await this.#list(type, namespace, params));
      if (method === 'POST') {
        if (type.namespaced && namespace === undefined) throw new StatusError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
        return sendJson(res, 201, this.#create(type, namespace, this.#parse(await readBody(req), req)));
      }
      throw new StatusError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
    }
    if (type.namespaced && namespace === undefined) throw new StatusError(404, 'NotFound', 'the server could not find the requested resource', {});
    const ns = namespace ?? '';
    if (method === 'GET') return sendJson(res, 200, this.#get(type, ns, name));
    if (method === 'PUT') return sendJson(res, 200, this.#update(type, ns, name, this.#parse(await readBody(req), req), subresource));
    if (method === 'PATCH') {
      const current = this.#get(type, ns, name);
      const patched = applyPatch(type.plural, req.headers['content-type'] ?? '', current, await readBody(req)) as KubeObject;
      if (typeof patched !== 'object' || patched === null || Array.isArray(patched)) throw badRequest('the patched object is not an object');
      const given = patched.metadata?.resourceVersion;
      // A patch that names a resourceVersion is a precondition; one that does not applies to the current version.
      if (given !== undefined && given !== current.metadata.resourceVersion) throw conflict(type, name);
      return sendJson(res, 200, this.#update(type, ns, name, { ...patched, metadata: { ...patched.metadata, resourceVersion: current.metadata.resourceVersion } }, subresource));
    }
    if (method === 'DELETE' && subresource === undefined) {
      const text = await readBody(req);
      return this.#delete(res, type, ns, name, text === '' ? {} : (this.#parseJson(text) as Record<string, unknown>), params);
    }
    throw new StatusError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
  }

  #get(type: ResourceType, namespace: string, name: string): KubeObject {
    const object = this.store.get(type.plural, namespace, name);
    if (!object) throw notFound(type, name);
    return object;
  }

  #parseJson(text: string): unknown {
    try {
      return JSON.parse(text);
    } catch (error) {
      throw badRequest(`the object provided is unrecognized: ${(error as Error).message}`);
    }
  }

  #parse(text: string, req: IncomingMessage): KubeObject {
    const media = (req.headers['content-type'] ?? 'application/json').split(';')[0]!.trim();
    if (media !== 'application/json') throw new StatusError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json (this double does not read ${media})`);
    const object = this.#parseJson(text) as KubeObject;
    if (typeof object !== 'object' || object === null || Array.isArray(object)) throw badRequest('the object provided is unrecognized (not an object)');
    object.metadata ??= { name: '' };
    return object;
  }

  #checkKind(type: ResourceType, object: KubeObject): void {
    if (object.kind !== undefined && object.kind !== type.kind) throw badRequest(`the object provided is unrecognized (must be of type ${type.kind}): kind ${JSON.stringify(object.kind)} does not match`);
    if (object.apiVersion !== undefined && object.apiVersion !== type.apiVersion) {
      throw badRequest(`the API version in the data (${object.apiVersion}) does not match the expected API version (${type.apiVersion})`);
    }
  }

  #create(type: ResourceType, namespace: string | undefined, body: KubeObject): KubeObject {
    this.#checkKind(type, body);
    const object = structuredClone(body);
    if (object.metadata.name === undefined || object.metadata.name === '') {
      const prefix = object.metadata.generateName;
      if (typeof prefix === 'string' && prefix !== '') object.metadata.name = `${prefix}${randomBytes(4).toString('hex').slice(0, 5)}`;
    }
    if (type.namespaced) {
      if (object.metadata.namespace !== undefined && object.metadata.namespace !== namespace) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      object.metadata.namespace = namespace;
      const ns = this.store.get('namespaces', '', namespace!);
      if (!ns) throw notFound(resourceType('namespaces'), namespace!);
      if (ns.metadata.deletionTimestamp) throw namespaceTerminating(type, object.metadata.name ?? '', namespace!);
    }
    if (object.metadata.resourceVersion) throw badRequest('resourceVersion should not be set on objects to be created');
    for (const owned of ['uid', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'generation'] as const) delete object.metadata[owned];
    applyDefaults(type.plural, object);
    prepareForCreate(type.plural, object);
    const errors = validate(type.plural, object);
    if (errors.length > 0) throw invalid(type, object.metadata.name ?? '', errors);
    return this.store.create(type.plural, object);
  }

  #update(type: ResourceType, namespace: string, name: string, body: KubeObject, subresource: string | undefined): KubeObject {
    this.#checkKind(type, body);
    if (body.metadata.name !== undefined && body.metadata.name !== '' && body.metadata.name !== name) {
      throw badRequest(`the name of the object (${body.metadata.name}) does not match the name on the URL (${name})`);
    }
    if (type.namespaced && body.metadata.namespace !== undefined && body.metadata.namespace !== namespace) {
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    const current = this.#get(type, namespace, name);
    let object: KubeObject;
    if (subresource === 'status') {
      // The status subresource changes status only.
      object = { ...structuredClone(current), status: structuredClone(body.status), metadata: { ...current.metadata, resourceVersion: body.metadata.resourceVersion } };
    } else {
      object = structuredClone(body);
      object.metadata = { ...object.metadata, name, ...(type.namespaced && { namespace }) };
      // Fields the server owns come from the stored object; status only through /status.
      for (const owned of ['uid', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds'] as const) {
        if (current.metadata[owned] === undefined) delete object.metadata[owned];
        else (object.metadata as Record<string, unknown>)[owned] = current.metadata[owned];
      }
      if (type.subresources.includes('status')) object.status = structuredClone(current.status);
      applyDefaults(type.plural, object);
      if (type.plural === 'services') {
        const spec = object.spec as Record<string, unknown>;
        const before = current.spec as Record<string, unknown>;
        spec.clusterIP ??= before.clusterIP;
        spec.clusterIPs ??= before.clusterIPs;
      }
      if (type.plural === 'namespaces') (object.spec as Record<string, unknown>).finalizers = (current.spec as Record<string, unknown>).finalizers;
    }
    const errors = validate(type.plural, object, current);
    if (errors.length > 0) throw invalid(type, name, errors);
    return this.store.update(type.plural, object);
  }

  #delete(res: ServerResponse, type: ResourceType, namespace: string, name: string, options: Record<string, unknown>, params: URLSearchParams): void {
    const current = this.#get(type, namespace, name);
    const preconditions = (options.preconditions ?? {}) as { uid?: unknown; resourceVersion?: unknown };
    if (preconditions.uid !== undefined && preconditions.uid !== current.metadata.uid) {
      throw conflict(type, name, `Precondition failed: UID in precondition: ${String(preconditions.uid)}, UID in object meta: ${current.metadata.uid}`);
    }
    if (preconditions.resourceVersion !== undefined && preconditions.resourceVersion !== current.metadata.resourceVersion) {
      throw conflict(type, name, `Precondition failed: ResourceVersion in precondition: ${String(preconditions.resourceVersion)}, ResourceVersion in object meta: ${current.metadata.resourceVersion}`);
    }
    if (type.plural === 'namespaces') return sendJson(res, 200, this.#deleteNamespace(name, current));
    if (type.plural === 'pods') {
      const given = options.gracePeriodSeconds ?? (params.get('gracePeriodSeconds') === null ? undefined : Number(params.get('gracePeriodSeconds')));
      return sendJson(res, 200, this.#deletePod(current, typeof given === 'number' && Number.isFinite(given) ? given : undefined));
    }
    const deleted = this.store.delete(type.plural, namespace, name);
    if (type.plural === 'services') return sendJson(res, 200, deleted);
    sendJson(res, 200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name, ...(type.group !== '' && { group: type.group }), kind: type.plural, uid: current.metadata.uid } });
  }

  /**
   * Graceful deletion (the pod strategy's CheckGracefulDelete): the grace period is the delete
   * option's, else spec.terminationGracePeriodSeconds; a pod not scheduled to a node, or one
   * that finished, goes at once. Otherwise the pod is MODIFIED with deletionTimestamp and
   * deletionGracePeriodSeconds, and DELETED when the period ends (as the kubelet does once
   * its containers stopped; `delete()` does it sooner). A second delete may shorten the period.
   */
  #deletePod(current: KubeObject, given: number | undefined): KubeObject {
    const spec = (current.spec ?? {}) as { nodeName?: unknown; terminationGracePeriodSeconds?: unknown };
    const phase = (current.status as { phase?: unknown } | undefined)?.phase;
    let grace = given ?? (typeof spec.terminationGracePeriodSeconds === 'number' ? spec.terminationGracePeriodSeconds : 30);
    if (!spec.nodeName || phase === 'Succeeded' || phase === 'Failed') grace = 0;
    const namespace = current.metadata.namespace ?? 'default';
    const name = current.metadata.name;
    if (grace <= 0) return this.delete('pods', name, namespace);
    const running = current.metadata.deletionGracePeriodSeconds;
    if (typeof running === 'number' && running <= grace) return current;
    const updated = this.store.update('pods', {
      ...current,
      metadata: { ...current.metadata, deletionTimestamp: new Date(Date.now() + grace * 1000).toISOString().replace(/\.\d+Z$/, 'Z'), deletionGracePeriodSeconds: grace, resourceVersion: undefined },
    });
    this.#cancelTermination('pods', namespace, name);
    const timer = setTimeout(() => {
      this.#terminations.delete(`pods/${namespace}/${name}`);
      if (this.store.get('pods', namespace, name)?.metadata.uid === current.metadata.uid) this.store.delete('pods', namespace, name);
    }, grace * 1000);
    timer.unref();
    this.#terminations.set(`pods/${namespace}/${name}`, timer);
    return updated;
  }

  #cancelTermination(resource: ResourceName, namespace: string, name: string): void {
    const key = `${resource}/${namespace}/${name}`;
    clearTimeout(this.#terminations.get(key));
    this.#terminations.delete(key);
  }

  /** Namespace deletion: Terminating at once; the namespace controller then deletes its content and the namespace. */
  #deleteNamespace(name: string, current: KubeObject): KubeObject {
    if (protectedNamespaces.has(name)) throw new StatusError(403, 'Forbidden', `namespaces "${name}" is forbidden: this namespace may not be deleted`, { name, kind: 'namespaces' });
    if (current.metadata.deletionTimestamp) return current;
    const terminating = this.store.update('namespaces', { ...current, metadata: { ...current.metadata, deletionTimestamp: now(), resourceVersion: undefined }, status: { phase: 'Terminating' } });
    const timer = setTimeout(() => {
      this.#terminations.delete(`namespaces//${name}`);
      for (const type of resourceTypes) {
        if (!type.namespaced) continue;
        for (const object of this.store.list(type.plural, name)) this.delete(type.plural, object.metadata.name, name);
      }
      if (this.store.get('namespaces', '', name)?.metadata.uid === current.metadata.uid) this.store.delete('namespaces', '', name);
    }, this.#namespaceTerminationMs);
    timer.unref();
    this.#terminations.set(`namespaces//${name}`, timer);
    return terminating;
  }

  #matchers(type: ResourceType, params: URLSearchParams): { labels: LabelMatcher; fields: FieldMatcher; filtered: boolean } {
    let labels: LabelMatcher;
    try {
      labels = parseLabelSelector(params.get('labelSelector'));
    } catch (error) {
      throw badRequest(`unable to parse requirement: ${(error as Error).message}`);
    }
    const fields = parseFieldSelector(params.get('fieldSelector'), type);
    const filtered = (params.get('labelSelector') ?? '') !== '' || (params.get('fieldSelector') ?? '') !== '';
    return { labels, fields, filtered };
  }

  /** Waits (up to the watch cache's 3 s) for the store to reach `revision`; 504 "Too large resource version" otherwise. */
  async #waitFor(revision: number): Promise<void> {
    const deadline = performance.now() + this.#tooLargeWaitMs;
    while (this.store.revision < revision) {
      if (performance.now() >= deadline) {
        throw new StatusError(504, 'Timeout', `Timeout: Too large resource version: ${revision}, current: ${this.store.revision}`, {
          causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version', field: '' }],
          retryAfterSeconds: 1,
        });
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  #revisionParam(value: string): number {
    const revision = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(revision)) throw badRequest(`invalid resource version: ${value}`);
    return revision;
  }

  async #list(type: ResourceType, namespace: string | undefined, params: URLSearchParams): Promise<unknown> {
    const limit = Number(params.get('limit') ?? 0);
    const token = params.get('continue');
    const rv = params.get('resourceVersion') ?? '';
    const match = params.get('resourceVersionMatch') ?? '';
    if (match !== '' && rv === '') throw badRequest('resourceVersionMatch is forbidden unless resourceVersion is provided');
    if (match !== '' && match !== 'Exact' && match !== 'NotOlderThan') throw badRequest(`resourceVersionMatch: Unsupported value: "${match}": supported values: "Exact", "NotOlderThan"`);
    let snapshot: ListSnapshot;
    let snapshotId: string | undefined;
    let offset = 0;
    if (token) {
      // etcd3 store's GetList: a continuation carries its own resourceVersion.
      if (rv !== '' && rv !== '0') throw badRequest('specifying resource version is not allowed when using continue');
      let decoded: { id: string; offset: number };
      try {
        decoded = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { id: string; offset: number };
      } catch {
        throw badRequest('continue key is not valid: illegal base64 data');
      }
      const found = this.#snapshots.get(decoded.id);
      if (!found) throw gone(continueTooOld);
      snapshot = found;
      snapshotId = decoded.id;
      offset = decoded.offset;
    } else {
      const { labels, fields, filtered } = this.#matchers(type, params);
      let revision = this.store.revision;
      let items: KubeObject[];
      if (rv !== '' && rv !== '0') {
        const wanted = this.#revisionParam(rv);
        if (match === 'Exact') {
          if (wanted > this.store.revision) await this.#waitFor(wanted);
          items = this.store.listAt(type.plural, namespace, wanted);
          revision = wanted;
        } else {
          await this.#waitFor(wanted);
          revision = this.store.revision;
          items = this.store.list(type.plural, namespace);
        }
      } else items = this.store.list(type.plural, namespace);
      snapshot = { revision, items: items.filter((o) => labels(o.metadata.labels) && fields(o)), filtered };
    }
    const end = limit > 0 ? Math.min(offset + limit, snapshot.items.length) : snapshot.items.length;
    const metadata: Record<string, unknown> = { resourceVersion: String(snapshot.revision) };
    if (end < snapshot.items.length) {
      const id = snapshotId ?? String(++this.#snapshotSeq);
      this.#snapshots.set(id, snapshot);
      metadata.continue = Buffer.from(JSON.stringify({ id, offset: end })).toString('base64url');
      // The API server counts what is left only when no selector filtered the list.
      if (!snapshot.filtered) metadata.remainingItemCount = snapshot.items.length - end;
    }
    // List items carry neither kind nor apiVersion: the list's own say what they are.
    const items = snapshot.items.slice(offset, end).map(({ kind: _kind, apiVersion: _apiVersion, ...item }) => item);
    return { kind: `${type.kind}List`, apiVersion: type.apiVersion, metadata, items };
  }

  async #watch(res: ServerResponse, type: ResourceType, namespace: string | undefined, params: URLSearchParams, script: WatchScript | undefined): Promise<void> {
    const rv = params.get('resourceVersion');
    let since: number | undefined;
    if (rv && rv !== '0') {
      since = this.#revisionParam(rv);
      if (since > this.store.revision) await this.#waitFor(since);
    }
    const { labels, fields } = this.#matchers(type, params);
    const timeoutSeconds = Number(params.get('timeoutSeconds') ?? this.#defaultWatchSeconds) || this.#defaultWatchSeconds;
    const stream = new WatchStream(res, this.store, {
      resource: type.plural,
      namespace,
      matches: labels,
      fields,
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

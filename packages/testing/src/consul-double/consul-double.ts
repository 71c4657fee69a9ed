import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { HttpDouble, readBody } from '../http-double.js';
import { Acl, type AclDecision, type AclRule, type Permission } from './acl.js';
import { CheckRunner } from './check-runner.js';
import { Faults } from './faults.js';
import { compileFilter, selectors, type Predicate } from './filter.js';
import { boolParam, HttpError, parseGoBool, parseQueryOptions, refuseUnimplemented } from './params.js';
import { BadRequest, parseRegistration } from './registration.js';
import { Reaper } from './reaper.js';
import { ConsulRegistry } from './registry.js';
import type { CheckStatus } from './types.js';

export interface ConsulDoubleOptions {
  /** Listen port (default: any free one) and host (127.0.0.1). */
  port?: number;
  host?: string;
  /** The agent's datacenter (dc1); `?dc=` naming another answers 500 "No path to datacenter". */
  datacenter?: string;
  /** The agent's node name and address (what rows fall back to when a service has no address). */
  node?: string;
  nodeAddress?: string;
  /** Enables ACLs with these tokens; `defaultPolicy` (Consul's `acl.default_policy`) is `deny` unless given. */
  acl?: { tokens: Record<string, AclRule>; defaultPolicy?: 'allow' | 'deny' };
  /**
   * Consul's `limits.http_max_conns_per_client` (default 200): a client IP's connections beyond
   * it are answered `429 Too Many Requests` and closed at once. 0 = no limit.
   */
  httpMaxConnsPerClient?: number;
  /** Consul raises check intervals below 1s to 1s. Test hook: lower it. */
  minCheckIntervalMs?: number;
  /** Consul takes DeregisterCriticalServiceAfter as at least 1m. Test hook: lower it. */
  deregisterMinimumMs?: number;
  /** Consul's reaper runs every 30s. Test hook: run it more often. */
  reaperPeriodMs?: number;
  /** The first Raft index (default 10). */
  initialIndex?: number;
  /** Random source for check stagger and blocking-query jitter. */
  random?: () => number;
}

/** What the double saw of one request (for asserting what a client sent). */
export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  /** The request body as text ('' for none). */
  body: string;
  /** When it arrived (performance.now()). */
  at: number;
}

const maxWaitMs = 10 * 60_000;
const defaultWaitMs = 5 * 60_000;

/** What the double saw of connections (for asserting a client's connection budget). */
export interface ConnectionStats {
  /** Connections open now. */
  open: number;
  /** The most open at once since start (or the last reset). */
  peak: number;
  /** Connections refused with 429 for exceeding `httpMaxConnsPerClient`. */
  refused: number;
}

/** Parameters Consul documents on the read endpoints that the double does not implement (answered 501). */
const unimplemented = {
  health: ['near', 'node-meta', 'peer', 'partition', 'sameness-group', 'merge-central-config', 'cached'],
  state: ['near', 'node-meta', 'peer', 'partition', 'cached'],
  catalogServices: ['node-meta', 'peer', 'partition', 'cached'],
  catalogService: ['near', 'node-meta', 'peer', 'partition', 'merge-central-config', 'cached'],
  agent: ['partition'],
  agentService: ['partition', 'index', 'wait'],
} as const;

/** Consul HTTP API endpoints the double does not serve: 501 naming them, never a 404 that reads as "no such resource". */
const otherEndpoints = /^\/v1\/(acl|agent\/(members|metrics|monitor|join|leave|force-leave|reload|maintenance|token|host|version|connect|check\/register|check\/deregister|health)|catalog\/(register|deregister|datacenters|nodes|node|node-services|connect|gateway-services)|config|connect|coordinate|discovery-chain|event|exported-services|health\/(node|checks|connect|ingress)|internal|kv|namespace|operator|partition|peering|query|session|snapshot|status\/peers|txn|imported-services)(\/|$)/;

/**
 * A Consul agent (with its server) on loopback, speaking the documented HTTP API: agent
 * service registration with checks it really runs, TTL check updates, maintenance mode,
 * `/v1/health/service` with `passing`, `tag`, `filter`, `dc`, `ns`, and blocking queries
 * (`index` + `wait`, up to wait/16 jitter); `/v1/catalog/services` and
 * `/v1/catalog/service/:name`; ACL tokens; and fault hooks for what real clusters do to
 * clients (5xx, slow answers, dropped connections, an index that goes backwards or is 0).
 */
export class ConsulDouble {
  readonly registry: ConsulRegistry;
  readonly faults = new Faults();
  /** Every request seen, oldest first (bounded to the last 2000). */
  readonly requests: RecordedRequest[] = [];
  /** How many requests of each method were seen since start (not bounded like `requests`). */
  readonly requestCounts: Record<string, number> = {};
  /** Fault hook: answer every blocking endpoint with `X-Consul-Index: 0`, without blocking (an old Consul bug). */
  zeroIndex = false;
  readonly #http: HttpDouble;
  readonly #runner: CheckRunner;
  readonly #reaper: Reaper;
  readonly #acl: Acl;
  readonly #datacenter: string;
  readonly #random: () => number;
  readonly #maxConnsPerClient: number;
  readonly #open = new Map<string, number>();
  #stats: ConnectionStats = { open: 0, peak: 0, refused: 0 };

  private constructor(options: ConsulDoubleOptions) {
    this.#datacenter = options.datacenter ?? 'dc1';
    this.#random = options.random ?? Math.random;
    this.registry = new ConsulRegistry({
      node: options.node ?? 'disco-double',
      address: options.nodeAddress ?? '127.0.0.1',
      datacenter: this.#datacenter,
      initialIndex: options.initialIndex ?? 10,
    });
    this.#acl = new Acl(options.acl?.tokens, options.acl?.defaultPolicy);
    this.#maxConnsPerClient = options.httpMaxConnsPerClient ?? 200;
    this.#runner = new CheckRunner(this.registry, { minIntervalMs: options.minCheckIntervalMs ?? 1000, random: this.#random });
    this.#reaper = new Reaper(this.registry, {
      periodMs: options.reaperPeriodMs ?? 30_000,
      minimumMs: options.deregisterMinimumMs ?? 60_000,
      onReap: (ns, id) => this.#deregister(ns, id),
    });
    this.#http = new HttpDouble((req, res, url) => this.#handle(req, res, url), { host: options.host ?? '127.0.0.1', port: options.port ?? 0, accept: (socket) => this.#accept(socket) });
  }

  static async start(options: ConsulDoubleOptions = {}): Promise<ConsulDouble> {
    const double = new ConsulDouble(options);
    await double.#http.start();
    return double;
  }

  /** `http://127.0.0.1:<port>` */
  get url(): string {
    return this.#http.url;
  }

  /** `127.0.0.1:<port>` (the form of CONSUL_HTTP_ADDR). */
  get address(): string {
    return `${this.#http.host}:${this.#http.port}`;
  }

  get port(): number {
    return this.#http.port;
  }

  /** Fault hook: moves the Raft index (lower than now = the index goes backwards). */
  setIndex(index: number): void {
    this.registry.setIndex(index);
  }

  /** An outage: the agent stops answering and every connection is cut; state is kept. */
  async stop(): Promise<void> {
    await this.#http.stop();
  }

  /** Back after {@link stop}, on the same port. */
  async restart(): Promise<void> {
    await this.#http.start();
  }

  /** Cuts every open connection (blocking queries included) but keeps listening. */
  dropConnections(): void {
    this.#http.dropConnections();
  }

  /** Stops the server, every check and the reaper. */
  async close(): Promise<void> {
    this.#reaper.close();
    this.#runner.close();
    await this.#http.stop();
  }

  /** Connections open, the peak, and how many were refused with 429 (see `httpMaxConnsPerClient`). */
  get connections(): Readonly<ConnectionStats> {
    return { ...this.#stats };
  }

  /** Starts counting the peak and the refusals afresh (open connections stay counted). */
  resetConnectionStats(): void {
    this.#stats = { open: this.#stats.open, peak: this.#stats.open, refused: 0 };
  }

  /** Requests seen on a path prefix (e.g. "/v1/health/service/web"). */
  requestsTo(pathPrefix: string): RecordedRequest[] {
    return this.requests.filter((r) => r.path.startsWith(pathPrefix));
  }

  #accept(socket: Socket): boolean {
    const client = socket.remoteAddress ?? '';
    const open = this.#open.get(client) ?? 0;
    if (this.#maxConnsPerClient > 0 && open >= this.#maxConnsPerClient) {
      // go-connlimit's default handler, as Consul's HTTP server uses it: a bare 429, then close.
      this.#stats.refused++;
      socket.end('HTTP/1.1 429 Too Many Requests\r\n\r\n');
      return false;
    }
    this.#open.set(client, open + 1);
    this.#stats.open++;
    this.#stats.peak = Math.max(this.#stats.peak, this.#stats.open);
    socket.once('close', () => {
      this.#stats.open--;
      const left = (this.#open.get(client) ?? 1) - 1;
      if (left <= 0) this.#open.delete(client);
      else this.#open.set(client, left);
    });
    return true;
  }

  async #handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const method = req.method ?? 'GET';
    const text = method === 'PUT' || method === 'POST' ? await readBody(req) : '';
    this.requests.push({ method, path: url.pathname, query: url.searchParams, headers: req.headers, body: text, at: performance.now() });
    this.requestCounts[method] = (this.requestCounts[method] ?? 0) + 1;
    if (this.requests.length > 2000) this.requests.splice(0, this.requests.length - 2000);
    // Every answer of Consul 1.9+ carries it, ACLs enabled or not.
    res.setHeader('X-Consul-Default-ACL-Policy', this.#acl.defaultPolicy);
    const fault = this.faults.take(url.pathname);
    if (fault?.delayMs) {
      const closed = await sleepUnlessClosed(fault.delayMs, res);
      if (closed) return;
    }
    if (fault?.drop) {
      req.socket.destroy();
      return;
    }
    if (fault?.status) {
      sendText(res, fault.status, fault.body ?? 'rpc error making call: No cluster leader');
      return;
    }
    try {
      await this.#route(req, res, url, method, text);
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      if (!res.headersSent) sendText(res, error.status, error.message);
    }
  }

  async #route(req: IncomingMessage, res: ServerResponse, url: URL, method: string, text: string): Promise<void> {
    const query = url.searchParams;
    const dc = query.get('dc');
    if (dc && dc !== this.#datacenter) throw new HttpError(500, 'No path to datacenter');
    const ns = query.get('ns') || headerString(req, 'x-consul-namespace') || 'default';
    const path = url.pathname;
    const route = (pattern: RegExp) => pattern.exec(path);
    const read = (permission: Permission) => this.#acl.authorize(req, url, permission);
    let m: RegExpExecArray | null;

    if ((m = route(/^\/v1\/health\/service\/([^/]+)$/))) {
      const name = decodeURIComponent(m[1]!);
      refuseUnimplemented(query, path, unimplemented.health);
      const filter = this.#filter(query, selectors.health);
      const tags = query.getAll('tag');
      return this.#blocking(req, res, url, method, () => this.registry.indexFor(ns, name), () => {
        // Consul reads ?passing after the query has run (health_endpoint.go), so a bad value is a 400 even after a block.
        const passing = boolParam(query, 'passing');
        const decision = read({ resource: 'service', access: 'read', name });
        let rows = this.registry.serviceEntries(ns, name);
        if (tags.length > 0) rows = rows.filter((row) => tags.every((tag) => row.Service.Tags.includes(tag)));
        if (passing) rows = rows.filter((row) => row.Checks.every((c) => c.Status === 'passing'));
        if (filter) rows = rows.filter(filter);
        return filtered(rows, decision);
      });
    }
    if ((m = route(/^\/v1\/health\/state\/([^/]+)$/))) {
      const state = decodeURIComponent(m[1]!);
      if (!['any', 'passing', 'warning', 'critical'].includes(state)) throw new HttpError(400, 'Invalid check state');
      refuseUnimplemented(query, path, unimplemented.state);
      const filter = this.#filter(query, selectors.check);
      return this.#blocking(req, res, url, method, () => this.registry.checksIndex, () => {
        let checks = this.registry.checksInState(ns, state as 'any');
        if (filter) checks = checks.filter(filter);
        const node = read({ resource: 'node', access: 'read', name: this.registry.node.Node });
        const service = read({ resource: 'service', access: 'read', name: '' });
        const kept = checks.filter((c) => (c.ServiceID === '' ? node : service).allowed);
        return { body: kept, flagged: kept.length < checks.length && !service.allowed && service.flagged };
      });
    }
    if (path === '/v1/catalog/services') {
      refuseUnimplemented(query, path, unimplemented.catalogServices);
      const filter = this.#filter(query, selectors.catalog);
      return this.#blocking(req, res, url, method, () => this.registry.catalogIndex, () => {
        const decision = read({ resource: 'service', access: 'read', name: '' });
        const out: Record<string, string[]> = {};
        for (const name of this.registry.serviceNames(ns).sort()) {
          let rows = this.registry.serviceEntries(ns, name).map(catalogRow);
          if (filter) rows = rows.filter(filter);
          if (rows.length === 0) continue;
          out[name] = [...new Set(rows.flatMap((row) => row.ServiceTags as string[]))].sort();
        }
        if (decision.allowed) return { body: out, flagged: false };
        return { body: {}, flagged: decision.flagged && Object.keys(out).length > 0 };
      });
    }
    if ((m = route(/^\/v1\/catalog\/service\/([^/]+)$/))) {
      const name = decodeURIComponent(m[1]!);
      refuseUnimplemented(query, path, unimplemented.catalogService);
      const filter = this.#filter(query, selectors.catalog);
      const tags = query.getAll('tag');
      return this.#blocking(req, res, url, method, () => this.registry.indexFor(ns, name), () => {
        let rows = this.registry.serviceEntries(ns, name).map(catalogRow);
        if (tags.length > 0) rows = rows.filter((row) => tags.every((tag) => (row.ServiceTags as string[]).includes(tag)));
        if (filter) rows = rows.filter(filter);
        return filtered(rows, read({ resource: 'service', access: 'read', name }));
      });
    }
    if (path === '/v1/agent/services' || path === '/v1/agent/checks') {
      if (method !== 'GET') throw new HttpError(405, `method ${method} not allowed`);
      refuseUnimplemented(query, path, unimplemented.agent);
      const services = path === '/v1/agent/services';
      const filter = this.#filter(query, services ? selectors.agentService : selectors.check);
      // Anonymous reads are 200 with what the token may not see left out (agent_endpoint.go filters with the token's authorizer).
      const all: Record<string, unknown> = services ? this.registry.agentServices(ns) : this.registry.agentChecks(ns);
      const decision = read({ resource: 'service', access: 'read', name: '' });
      if (!decision.allowed && !decision.filtered) throw new HttpError(decision.status, decision.message);
      const out: Record<string, unknown> = {};
      for (const [id, value] of Object.entries(all)) if (!filter || filter(value)) out[id] = value;
      const headers: Record<string, string> = {};
      const body = decision.allowed ? out : {};
      if (!decision.allowed && decision.flagged && Object.keys(out).length > 0) headers['X-Consul-Results-Filtered-By-ACLs'] = 'true';
      return this.#json(res, url, body, headers);
    }
    if ((m = route(/^\/v1\/agent\/service\/([^/]+)$/)) && !['register'].includes(m[1]!)) {
      if (method !== 'GET') throw new HttpError(405, `method ${method} not allowed`);
      refuseUnimplemented(query, path, unimplemented.agentService);
      const id = decodeURIComponent(m[1]!);
      const service = this.registry.agentServices(ns)[id];
      const decision = read({ resource: 'service', access: 'read', name: service?.Service ?? id });
      if (!decision.allowed) throw new HttpError(decision.status, decision.message);
      if (!service) throw new HttpError(404, `unknown service ID: ${id}`);
      return this.#json(res, url, service);
    }
    if (path === '/v1/status/leader') {
      if (method !== 'GET') throw new HttpError(405, `method ${method} not allowed`);
      return this.#json(res, url, '127.0.0.1:8300');
    }
    if (path === '/v1/agent/self') {
      if (method !== 'GET') throw new HttpError(405, `method ${method} not allowed`);
      const decision = read({ resource: 'agent', access: 'read', name: this.registry.node.Node });
      if (!decision.allowed) throw new HttpError(decision.status, decision.message);
      return this.#json(res, url, { Config: { Datacenter: this.#datacenter, NodeName: this.registry.node.Node, Version: '1.20.0' } });
    }

    if (otherEndpoints.test(path)) throw new HttpError(501, `the Consul double does not implement ${path}; it answers 501 rather than a 404 that reads as "not found"`);
    if (method !== 'PUT') {
      if (/^\/v1\/agent\/(service|check)\//.test(path)) throw new HttpError(405, `method ${method} not allowed`);
      throw new HttpError(404, `Invalid URL path: not a recognized HTTP API endpoint (${path})`);
    }
    const write = (name: string) => {
      const decision = this.#acl.authorize(req, url, { resource: 'service', access: 'write', name });
      if (!decision.allowed) throw new HttpError(decision.status, decision.message);
    };

    if (path === '/v1/agent/service/register') {
      let parsed;
      try {
        parsed = parseRegistration(JSON.parse(text || 'null'));
      } catch (error) {
        throw new HttpError(400, error instanceof BadRequest ? error.message : `Request decode failed: ${(error as Error).message}`);
      }
      write(parsed.service.Service);
      // As Consul: present, and empty or true by Go's ParseBool.
      const replace = query.has('replace-existing-checks') && (query.get('replace-existing-checks') === '' || parseGoBool(query.get('replace-existing-checks')!) === true);
      const { started, stopped } = this.registry.register(ns, parsed.service, parsed.checks, replace);
      for (const id of stopped) this.#runner.stop(ns, id);
      for (const def of started) this.#runner.start(ns, def);
      return sendText(res, 200, '');
    }
    if ((m = route(/^\/v1\/agent\/service\/deregister\/([^/]+)$/))) {
      const id = decodeURIComponent(m[1]!);
      const service = this.registry.agentServices(ns)[id];
      if (!service) throw new HttpError(404, `Unknown service ID ${JSON.stringify(id)}. Ensure that the service ID is passed, not the service name.`);
      write(service.Service);
      this.#deregister(ns, id);
      return sendText(res, 200, '');
    }
    if ((m = route(/^\/v1\/agent\/service\/maintenance\/([^/]+)$/))) {
      const id = decodeURIComponent(m[1]!);
      const enable = query.get('enable');
      if (enable === null) throw new HttpError(400, 'Missing value for enable');
      const on = parseGoBool(enable);
      if (on === undefined) throw new HttpError(400, `Invalid value for enable: ${JSON.stringify(enable)}`);
      const service = this.registry.agentServices(ns)[id];
      if (!service) throw new HttpError(404, `No service registered with ID ${JSON.stringify(id)}`);
      write(service.Service);
      this.registry.setMaintenance(ns, id, on, query.get('reason') ?? '');
      return sendText(res, 200, '');
    }
    if ((m = route(/^\/v1\/agent\/check\/(pass|warn|fail|update)\/([^/]+)$/))) {
      const checkId = decodeURIComponent(m[2]!);
      let status: CheckStatus = m[1] === 'pass' ? 'passing' : m[1] === 'warn' ? 'warning' : 'critical';
      let output = query.get('note') ?? '';
      if (m[1] === 'update') {
        let body: Record<string, unknown>;
        try {
          body = JSON.parse(text || '{}') as Record<string, unknown>;
        } catch (error) {
          throw new HttpError(400, `Request decode failed: ${(error as Error).message}`);
        }
        if (!['passing', 'warning', 'critical'].includes(body.Status as string)) throw new HttpError(400, `Invalid check status: '${String(body.Status ?? '')}'`);
        status = body.Status as CheckStatus;
        output = typeof body.Output === 'string' ? body.Output : '';
      }
      const check = this.registry.check(ns, checkId);
      if (!check) throw new HttpError(404, `Unknown check ID ${JSON.stringify(checkId)}. Ensure that the check ID is passed, not the check name.`);
      write(check.serviceName);
      if (!this.#runner.heartbeat(ns, checkId)) throw new HttpError(500, `CheckID ${JSON.stringify(checkId)} does not have associated TTL`);
      this.registry.updateCheck(ns, checkId, status, output);
      return sendText(res, 200, '');
    }
    throw new HttpError(404, `Invalid URL path: not a recognized HTTP API endpoint (${path})`);
  }

  #deregister(ns: string, id: string): void {
    const removed = this.registry.deregister(ns, id);
    for (const checkId of removed ?? []) this.#runner.stop(ns, checkId);
  }

  /** `?filter` compiled against the endpoint's selectors; a bad one is Consul's 400. */
  #filter(query: URLSearchParams, allowed: readonly string[]): Predicate | undefined {
    const expression = query.get('filter');
    if (!expression) return undefined;
    try {
      return compileFilter(expression, allowed);
    } catch (error) {
      throw new HttpError(400, (error as Error).message);
    }
  }

  /**
   * A blocking read (api-docs/features/blocking): consistency and wait/index parsed first, with
   * Consul's 400s; `?index` at or above the current index holds the answer until a write moves
   * it past, or `wait` (default 5m, at most 10m) plus up to wait/16 jitter has passed.
   */
  async #blocking(req: IncomingMessage, res: ServerResponse, url: URL, method: string, indexOf: () => number, compute: () => { body: unknown; flagged: boolean }): Promise<void> {
    if (method !== 'GET') throw new HttpError(405, `method ${method} not allowed`);
    const options = parseQueryOptions(url.searchParams);
    const unknownToken = this.#acl.authorize(req, url, { resource: 'service', access: 'read', name: '' });
    if (!unknownToken.allowed && !unknownToken.filtered) throw new HttpError(unknownToken.status, unknownToken.message);
    if (!this.zeroIndex && options.index > 0 && indexOf() <= options.index) {
      const wait = Math.min(options.waitMs || defaultWaitMs, maxWaitMs);
      const jittered = wait + Math.floor(this.#random() * (wait / 16));
      const closed = await this.#block(res, jittered, () => indexOf() > options.index);
      if (closed) return;
    }
    const { body, flagged } = compute();
    const headers: Record<string, string> = {
      // Consul never answers an index of 0 (a client would spin on ?index=0); the zeroIndex fault does.
      'X-Consul-Index': String(this.zeroIndex ? 0 : Math.max(1, indexOf())),
      'X-Consul-KnownLeader': 'true',
      'X-Consul-LastContact': '0',
      'X-Consul-Effective-Consistency': options.consistency,
    };
    if (flagged) headers['X-Consul-Results-Filtered-By-ACLs'] = 'true';
    this.#json(res, url, body, headers);
  }

  #json(res: ServerResponse, url: URL, body: unknown, headers: Record<string, string> = {}): void {
    // ?pretty, as Consul's marshalJSON: indented by four spaces, with a trailing newline.
    const text = url.searchParams.has('pretty') ? `${JSON.stringify(body, null, 4)}\n` : JSON.stringify(body);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
    res.end(text);
  }

  /** Waits until `ready()` after a write, or `ms`; true when the client went away meanwhile. */
  #block(res: ServerResponse, ms: number, ready: () => boolean): Promise<boolean> {
    return new Promise((resolve) => {
      const finish = (closed: boolean) => {
        clearTimeout(timer);
        unsubscribe();
        res.off('close', onClose);
        resolve(closed);
      };
      const onClose = () => finish(true);
      const timer = setTimeout(() => finish(false), ms);
      const unsubscribe = this.registry.onWrite(() => {
        if (ready()) finish(false);
      });
      res.on('close', onClose);
    });
  }
}

/** Rows a read token may see: all, or none (filtered away with a 200, flagged for an authenticated token). */
function filtered(rows: unknown[], decision: AclDecision): { body: unknown; flagged: boolean } {
  if (decision.allowed) return { body: rows, flagged: false };
  if (!decision.filtered) throw new HttpError(decision.status, decision.message);
  return { body: [], flagged: decision.flagged && rows.length > 0 };
}

function catalogRow(row: ReturnType<ConsulRegistry['serviceEntries']>[number]): Record<string, unknown> & { ServiceTags: string[] } {
  return {
    ID: row.Node.ID,
    Node: row.Node.Node,
    Address: row.Node.Address,
    Datacenter: row.Node.Datacenter,
    TaggedAddresses: row.Node.TaggedAddresses,
    NodeMeta: row.Node.Meta,
    ServiceID: row.Service.ID,
    ServiceName: row.Service.Service,
    ServiceTags: row.Service.Tags,
    ServiceAddress: row.Service.Address,
    ServiceMeta: row.Service.Meta,
    ServicePort: row.Service.Port,
    ServiceWeights: row.Service.Weights,
    ServiceEnableTagOverride: row.Service.EnableTagOverride,
    CreateIndex: row.Service.CreateIndex,
    ModifyIndex: row.Service.ModifyIndex,
  };
}

function headerString(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return typeof value === 'string' ? value : undefined;
}

function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function sleepUnlessClosed(ms: number, res: ServerResponse): Promise<boolean> {
  return new Promise((resolve) => {
    const onClose = () => {
      clearTimeout(timer);
      resolve(true);
    };
    const timer = setTimeout(() => {
      res.off('close', onClose);
      resolve(false);
    }, ms);
    res.once('close', onClose);
  });
}

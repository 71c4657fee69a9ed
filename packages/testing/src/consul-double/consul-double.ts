import type { IncomingMessage, ServerResponse } from 'node:http';
import { tryParseDuration } from '@disco/core';
import { HttpDouble, readBody, sendJson } from '../http-double.js';
import { Acl, type AclRule } from './acl.js';
import { CheckRunner } from './check-runner.js';
import { Faults } from './faults.js';
import { compileFilter } from './filter.js';
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
  /** Enables ACLs (default deny) with these tokens. */
  acl?: { tokens: Record<string, AclRule> };
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
  /** Fault hook: answer every blocking endpoint with `X-Consul-Index: 0`, without blocking (an old Consul bug). */
  zeroIndex = false;
  readonly #http: HttpDouble;
  readonly #runner: CheckRunner;
  readonly #reaper: Reaper;
  readonly #acl: Acl;
  readonly #datacenter: string;
  readonly #random: () => number;

  private constructor(options: ConsulDoubleOptions) {
    this.#datacenter = options.datacenter ?? 'dc1';
    this.#random = options.random ?? Math.random;
    this.registry = new ConsulRegistry({
      node: options.node ?? 'disco-double',
      address: options.nodeAddress ?? '127.0.0.1',
      datacenter: this.#datacenter,
      initialIndex: options.initialIndex ?? 10,
    });
    this.#acl = new Acl(options.acl?.tokens);
    this.#runner = new CheckRunner(this.registry, { minIntervalMs: options.minCheckIntervalMs ?? 1000, random: this.#random });
    this.#reaper = new Reaper(this.registry, {
      periodMs: options.reaperPeriodMs ?? 30_000,
      minimumMs: options.deregisterMinimumMs ?? 60_000,
      onReap: (ns, id) => this.#deregister(ns, id),
    });
    this.#http = new HttpDouble((req, res, url) => this.#handle(req, res, url), { host: options.host ?? '127.0.0.1', port: options.port ?? 0 });
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

  /** Requests seen on a path prefix (e.g. "/v1/health/service/web"). */
  requestsTo(pathPrefix: string): RecordedRequest[] {
    return this.requests.filter((r) => r.path.startsWith(pathPrefix));
  }

  async #handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const method = req.method ?? 'GET';
    const text = method === 'PUT' || method === 'POST' ? await readBody(req) : '';
    this.requests.push({ method, path: url.pathname, query: url.searchParams, headers: req.headers, body: text, at: performance.now() });
    if (this.requests.length > 2000) this.requests.splice(0, this.requests.length - 2000);
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
    const dc = url.searchParams.get('dc');
    if (dc && dc !== this.#datacenter) {
      sendText(res, 500, 'No path to datacenter');
      return;
    }
    const ns = url.searchParams.get('ns') || headerString(req, 'x-consul-namespace') || 'default';
    const path = url.pathname;
    const route = (pattern: RegExp) => pattern.exec(path);
    let m: RegExpExecArray | null;

    if ((m = route(/^\/v1\/health\/service\/([^/]+)$/))) return this.#read(req, res, url, method, () => this.#health(url, ns, decodeURIComponent(m![1]!)), ns, decodeURIComponent(m[1]!));
    if ((m = route(/^\/v1\/catalog\/service\/([^/]+)$/))) {
      const name = decodeURIComponent(m[1]!);
      return this.#read(req, res, url, method, () => this.registry.serviceEntries(ns, name).map((row) => catalogRow(row)), ns, name);
    }
    if (path === '/v1/catalog/services') return this.#read(req, res, url, method, () => this.registry.catalogServices(ns), ns, undefined);
    if (path === '/v1/agent/services') return this.#agentRead(req, res, url, method, () => this.registry.agentServices(ns));
    if (path === '/v1/agent/checks') return this.#agentRead(req, res, url, method, () => this.registry.agentChecks(ns));
    if ((m = route(/^\/v1\/agent\/service\/([^/]+)$/)) && m[1] !== 'register') {
      const id = decodeURIComponent(m[1]!);
      return this.#agentRead(req, res, url, method, () => this.registry.agentServices(ns)[id] ?? notFound(`unknown service ID: ${id}`));
    }
    if (path === '/v1/status/leader') return this.#agentRead(req, res, url, method, () => '127.0.0.1:8300', false);
    if (path === '/v1/agent/self') {
      return this.#agentRead(req, res, url, method, () => ({ Config: { Datacenter: this.#datacenter, NodeName: this.registry.node.Node, Version: '1.20.0' } }));
    }

    if (method !== 'PUT') {
      if (/^\/v1\/agent\/(service|check)\//.test(path)) return sendText(res, 405, `method ${method} not allowed`);
      return sendText(res, 404, `Invalid URL path: not a recognized HTTP API endpoint (${path})`);
    }
    const decision = this.#acl.authorize(req, url, 'write');
    if (!decision.allowed) return sendText(res, decision.status, decision.message);

    if (path === '/v1/agent/service/register') {
      let parsed;
      try {
        parsed = parseRegistration(JSON.parse(text || 'null'));
      } catch (error) {
        return sendText(res, 400, error instanceof BadRequest ? error.message : `Request decode failed: ${(error as Error).message}`);
      }
      // As Consul: present, and empty or "true".
      const replace = url.searchParams.has('replace-existing-checks') && ['', 'true'].includes(url.searchParams.get('replace-existing-checks')!);
      const { started, stopped } = this.registry.register(ns, parsed.service, parsed.checks, replace);
      for (const id of stopped) this.#runner.stop(ns, id);
      for (const def of started) this.#runner.start(ns, def);
      return sendText(res, 200, '');
    }
    if ((m = route(/^\/v1\/agent\/service\/deregister\/([^/]+)$/))) {
      this.#deregister(ns, decodeURIComponent(m[1]!));
      return sendText(res, 200, '');
    }
    if ((m = route(/^\/v1\/agent\/service\/maintenance\/([^/]+)$/))) {
      const id = decodeURIComponent(m[1]!);
      const enable = url.searchParams.get('enable');
      if (enable === null) return sendText(res, 400, 'Missing value for enable');
      // Go's strconv.ParseBool.
      const on = ['1', 't', 'T', 'TRUE', 'true', 'True'].includes(enable);
      if (!on && !['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(enable)) return sendText(res, 400, `Invalid value for enable: "${enable}"`);
      if (!this.registry.setMaintenance(ns, id, on, url.searchParams.get('reason') ?? '')) {
        return sendText(res, 404, `No service registered with ID "${id}"`);
      }
      return sendText(res, 200, '');
    }
    if ((m = route(/^\/v1\/agent\/check\/(pass|warn|fail|update)\/([^/]+)$/))) {
      const checkId = decodeURIComponent(m[2]!);
      let status: CheckStatus = m[1] === 'pass' ? 'passing' : m[1] === 'warn' ? 'warning' : 'critical';
      let output = url.searchParams.get('note') ?? '';
      if (m[1] === 'update') {
        let body: Record<string, unknown>;
        try {
          body = JSON.parse(text || '{}') as Record<string, unknown>;
        } catch (error) {
          return sendText(res, 400, `Request decode failed: ${(error as Error).message}`);
        }
        if (!['passing', 'warning', 'critical'].includes(body.Status as string)) return sendText(res, 400, `Invalid check status: '${String(body.Status ?? '')}'`);
        status = body.Status as CheckStatus;
        output = typeof body.Output === 'string' ? body.Output : '';
      }
      if (!this.#runner.heartbeat(ns, checkId)) return sendText(res, 404, `CheckID "${checkId}" does not have associated TTL`);
      this.registry.updateCheck(ns, checkId, status, output);
      return sendText(res, 200, '');
    }
    return sendText(res, 404, `Invalid URL path: not a recognized HTTP API endpoint (${path})`);
  }

  #deregister(ns: string, id: string): void {
    const removed = this.registry.deregister(ns, id);
    for (const checkId of removed ?? []) this.#runner.stop(ns, checkId);
  }

  #health(url: URL, ns: string, name: string): unknown {
    let rows = this.registry.serviceEntries(ns, name);
    const tags = url.searchParams.getAll('tag');
    if (tags.length > 0) rows = rows.filter((row) => tags.every((tag) => row.Service.Tags.includes(tag)));
    const passing = url.searchParams.get('passing');
    if (passing !== null && passing !== 'false' && passing !== '0') rows = rows.filter((row) => row.Checks.every((c) => c.Status === 'passing'));
    const filter = url.searchParams.get('filter');
    if (filter) {
      const predicate = compileFilter(filter);
      rows = rows.filter(predicate);
    }
    return rows;
  }

  /** A blocking, ACL-filtered catalog/health read. */
  async #read(req: IncomingMessage, res: ServerResponse, url: URL, method: string, compute: () => unknown, ns: string, name: string | undefined): Promise<void> {
    if (method !== 'GET') return sendText(res, 405, `method ${method} not allowed`);
    const decision = this.#acl.authorize(req, url, 'read');
    if (!decision.allowed && !decision.anonymous && !decision.filtered) return sendText(res, decision.status, decision.message);
    const filter = url.searchParams.get('filter');
    if (filter) {
      try {
        compileFilter(filter);
      } catch (error) {
        return sendText(res, 400, (error as Error).message);
      }
    }
    const indexOf = () => (name === undefined ? this.registry.servicesIndex : this.registry.indexFor(ns, name));
    const wanted = Number(url.searchParams.get('index') ?? '0');
    if (!this.zeroIndex && Number.isFinite(wanted) && wanted > 0 && indexOf() <= wanted) {
      const wait = Math.min(tryParseDuration(url.searchParams.get('wait') ?? '') ?? defaultWaitMs, maxWaitMs);
      const jittered = wait + Math.floor(this.#random() * (wait / 16));
      const closed = await this.#block(res, jittered, () => indexOf() > wanted);
      if (closed) return;
    }
    const consistency = url.searchParams.has('consistent') ? 'consistent' : url.searchParams.has('stale') ? 'stale' : 'leader';
    const headers: Record<string, string> = {
      'X-Consul-Index': String(this.zeroIndex ? 0 : indexOf()),
      'X-Consul-KnownLeader': 'true',
      'X-Consul-LastContact': '0',
      'X-Consul-Effective-Consistency': consistency,
    };
    let body = compute();
    // Anonymous reads are filtered to nothing; Consul then leaves out X-Consul-Results-Filtered-By-ACLs
    // (it is only set for authenticated tokens, so as not to leak that something exists).
    if (!decision.allowed) body = Array.isArray(body) ? [] : {};
    if (!decision.allowed && decision.filtered) headers['X-Consul-Results-Filtered-By-ACLs'] = 'true';
    sendJson(res, 200, body, headers);
  }

  /** A non-blocking agent endpoint. */
  #agentRead(req: IncomingMessage, res: ServerResponse, url: URL, method: string, compute: () => unknown, acl = true): void {
    if (method !== 'GET') return sendText(res, 405, `method ${method} not allowed`);
    if (acl) {
      const decision = this.#acl.authorize(req, url, 'read');
      if (!decision.allowed) return sendText(res, decision.status, decision.message);
    }
    try {
      sendJson(res, 200, compute());
    } catch (error) {
      if (error instanceof NotFound) return sendText(res, 404, error.message);
      throw error;
    }
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

class NotFound extends Error {}
function notFound(message: string): never {
  throw new NotFound(message);
}

function catalogRow(row: ReturnType<ConsulRegistry['serviceEntries']>[number]): Record<string, unknown> {
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

import { AbortedError, ProviderUnavailableError, TimeoutError, type DiscoveryError } from '@disco/core';
import { createRedactor } from '@disco/core/provider';
import pRetry from 'p-retry';
import { Pool } from 'undici';
import { excerpt, isRetryable, statusError } from './errors.js';
import type { ResolvedOptions } from './options.js';

export interface ConsulResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * Which share of the connection budget a request uses: `write` (registrations, heartbeats,
 * maintenance, deregistrations), `read` (lists and re-reads), `watch` (blocking queries). Each
 * lane is its own pool, so a flood of reads or a wall of blocking queries never holds up a heartbeat.
 */
export type Lane = 'write' | 'read' | 'watch';

/** How the connection budget (`maxConnections`) is split between the lanes. */
export function splitBudget(total: number): Record<Lane, number> {
  const write = Math.max(1, Math.floor(total / 8));
  const read = Math.max(1, Math.floor(total / 4));
  return { write, read, watch: total - write - read };
}

export interface RequestOptions {
  /** Query string pairs; a `true` value is sent as a bare flag (`?passing`). */
  query?: Record<string, string | number | true | undefined>;
  body?: unknown;
  signal?: AbortSignal | undefined;
  /** Deadline for the answer (blocking queries pass wait + wait/16 + slack). */
  timeoutMs?: number;
  /** What this call does, for messages ("register web-1"). */
  what: string;
  /** Default: `write` for PUT, `read` for GET. */
  lane?: Lane | undefined;
  /** Called when the request leaves the queue for a connection (a read's position is taken then). */
  onDispatch?: (() => void) | undefined;
  /** A read that goes before queued ones (a service the change feed named, ahead of a sweep's reads). */
  urgent?: boolean | undefined;
}

/**
 * Consul's HTTP API over keep-alive undici Pools, one per {@link Lane}, together bounded by the
 * connection budget. The token travels only in the
 * `X-Consul-Token` header, never in a URL; every text that comes back from Consul or the
 * network is run through a redactor before it reaches an error message.
 */
export class ConsulHttp {
  readonly origin: string;
  readonly redact: (text: string) => string;
  /** Connections each lane may hold; together never more than `maxConnections`. */
  readonly lanes: Readonly<Record<Lane, number>>;
  readonly #pools: Record<Lane, Pool>;
  readonly #options: ResolvedOptions;
  readonly #headers: Record<string, string>;
  /** Reads waiting for one of the read lane's connections, first come first served. */
  readonly #readQueue: (() => void)[] = [];
  #readsInFlight = 0;

  constructor(options: ResolvedOptions) {
    this.#options = options;
    this.origin = options.socketPath ? `unix://${options.socketPath}` : options.origin;
    this.redact = createRedactor([options.token]);
    this.#headers = options.token ? { 'x-consul-token': options.token } : {};
    this.lanes = splitBudget(options.maxConnections);
    const pool = (connections: number) =>
      new Pool(options.origin, {
        // The agent refuses a client's connections beyond limits.http_max_conns_per_client (429 and
        // close): the lanes together hold at most maxConnections, whatever is asked of them.
        connections,
        keepAliveTimeout: 30_000,
        ...(options.socketPath ? { socketPath: options.socketPath } : {}),
        ...(options.tls ? { connect: { ...options.tls } } : {}),
      });
    this.#pools = { write: pool(this.lanes.write), read: pool(this.lanes.read), watch: pool(this.lanes.watch) };
  }

  /** One request, no retry. Resolves for every HTTP status; rejects for network trouble. */
  async request(method: 'GET' | 'PUT', path: string, options: RequestOptions): Promise<ConsulResponse> {
    const timeoutMs = options.timeoutMs ?? this.#options.requestTimeoutMs;
    const headers: Record<string, string> = { ...this.#headers };
    let body: string | undefined;
    if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] = 'application/json';
    }
    const lane = options.lane ?? (method === 'PUT' ? 'write' : 'read');
    if (lane === 'read') {
      // Queued reads wait for a connection of their lane first; the deadline starts when one is free.
      try {
        await this.#readSlot(options.signal, options.urgent === true);
      } catch (error) {
        throw new AbortedError(options.what, { cause: error });
      }
    }
    // Our own deadline: it covers connecting, headers and body alike, and its timer goes with the request.
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    const forward = () => controller.abort(options.signal?.reason);
    options.signal?.addEventListener('abort', forward, { once: true });
    try {
      options.onDispatch?.();
      const response = await this.#pools[lane].request({
        method,
        path: path + queryString({ dc: this.#options.datacenter, ns: this.#options.namespace, ...options.query }),
        headers,
        body,
        signal: controller.signal,
      });
      const text = await response.body.text();
      return { status: response.statusCode, headers: response.headers, body: text };
    } catch (error) {
      if (options.signal?.aborted) throw new AbortedError(options.what, { cause: options.signal.reason });
      if (timedOut) throw new TimeoutError(`consul: ${options.what} (the Consul agent at ${this.origin})`, timeoutMs, { cause: error });
      throw new ProviderUnavailableError('consul', `${options.what}: cannot reach the Consul agent at ${this.origin}: ${this.redact(describe(error))}`, { cause: error, retryable: true });
    } finally {
      if (lane === 'read') this.#releaseRead();
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', forward);
    }
  }

  /** Waits for a free connection of the read lane (so `onDispatch` runs when the read really starts). */
  #readSlot(signal: AbortSignal | undefined, urgent: boolean): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#readsInFlight < this.lanes.read) {
      this.#readsInFlight++;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const take = () => {
        signal?.removeEventListener('abort', abort);
        this.#readsInFlight++;
        resolve();
      };
      const abort = () => {
        const at = this.#readQueue.indexOf(take);
        if (at >= 0) this.#readQueue.splice(at, 1);
        reject(signal?.reason);
      };
      if (urgent) this.#readQueue.unshift(take);
      else this.#readQueue.push(take);
      signal?.addEventListener('abort', abort, { once: true });
    });
  }

  #releaseRead(): void {
    this.#readsInFlight--;
    this.#readQueue.shift()?.();
  }

  /**
   * A request that must answer 2xx (404 too when `notFoundOk`), retried with jittered
   * exponential backoff on network errors, 5xx and 429. Other answers become typed errors.
   */
  async call(method: 'GET' | 'PUT', path: string, options: RequestOptions & { notFoundOk?: boolean; need?: string }): Promise<ConsulResponse> {
    return this.retry(async () => {
      const response = await this.request(method, path, options);
      if ((response.status >= 200 && response.status < 300) || (options.notFoundOk && response.status === 404)) return response;
      throw this.fail(response, options.what, options.need);
    }, options.signal, options.what);
  }

  /** Runs `attempt` again, with jittered exponential backoff, while it fails with a retryable error. */
  async retry<T>(attempt: () => Promise<T>, signal: AbortSignal | undefined, what: string): Promise<T> {
    try {
      return await pRetry(attempt, {
        retries: this.#options.retries,
        minTimeout: 100,
        maxTimeout: 2_000,
        randomize: true,
        signal,
        shouldRetry: ({ error }) => isRetryable(error),
      });
    } catch (error) {
      if (signal?.aborted) throw new AbortedError(what, { cause: signal.reason });
      throw error;
    }
  }

  /** The typed error for a non-2xx answer (see errors.ts), quoting what Consul said, redacted before it is cut. */
  fail(response: ConsulResponse, what: string, need?: string): DiscoveryError {
    return statusError(response.status, excerpt(response.body, this.redact), what, need);
  }

  /** Stops every request at once and closes every connection. */
  async close(): Promise<void> {
    await Promise.all(Object.values(this.#pools).map((pool) => pool.destroy()));
  }
}

function queryString(query: Record<string, string | number | true | undefined>): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === '') continue;
    parts.push(value === true ? encodeURIComponent(key) : `${encodeURIComponent(key)}=${encodeURIComponent(String(value))}`);
  }
  return parts.length > 0 ? `?${parts.join('&')}` : '';
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: string }).code;
  return code && !error.message.includes(code) ? `${error.message} (${code})` : error.message;
}

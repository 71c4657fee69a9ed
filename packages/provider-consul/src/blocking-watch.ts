import {
  Listeners,
  InvalidRecordError,
  ProviderUnavailableError,
  isDiscoveryError,
  reconcile,
  toDiscoveryError,
  type DiscoveryError,
  type Instance,
  type Logger,
  type ProviderEvent,
  type WatchEvent,
  type WatchListener,
} from '@disco/core';
import pRetry from 'p-retry';
import type { ConsulHttp } from './consul-http.js';
import { goDuration, toInstance } from './mapping.js';
import type { ResolvedOptions } from './options.js';
import { RateLimiter } from './rate-limiter.js';

export interface WatchHost {
  readonly http: ConsulHttp;
  readonly options: ResolvedOptions;
  readonly logger: Logger;
  emit(event: ProviderEvent): void;
}

export interface HealthRead {
  rows: unknown[];
  /** X-Consul-Index as sent (NaN when missing or garbled). */
  index: number;
}

/** `GET /v1/health/service/:name` with the provider's read options; `index` > 0 makes it a blocking query. */
export async function readHealth(host: WatchHost, name: string, index: number, signal: AbortSignal | undefined): Promise<HealthRead> {
  const { options, http } = host;
  const blocking = index > 0;
  const what = `read instances of "${name}"`;
  const response = await http.request('GET', `/v1/health/service/${encodeURIComponent(name)}`, {
    query: {
      index: blocking ? index : undefined,
      wait: blocking ? goDuration(options.waitMs) : undefined,
      passing: options.passingOnly ? true : undefined,
      stale: options.consistency === 'stale' ? true : undefined,
      consistent: options.consistency === 'consistent' ? true : undefined,
    },
    signal,
    // The server holds a blocking query up to wait + wait/16 (its jitter).
    timeoutMs: blocking ? options.waitMs + Math.ceil(options.waitMs / 16) + options.requestTimeoutMs : options.requestTimeoutMs,
    what,
  });
  if (response.status !== 200) throw http.fail(response, what, `service:read on "${name}"`);
  let rows: unknown;
  try {
    rows = JSON.parse(response.body);
  } catch {
    throw new ProviderUnavailableError('consul', `${what}: Consul's answer is not JSON`);
  }
  if (!Array.isArray(rows)) throw new ProviderUnavailableError('consul', `${what}: Consul's answer is not a list of service entries`);
  if (response.headers['x-consul-results-filtered-by-acls'] === 'true') {
    host.emit({ type: 'acl-filtered', service: name, message: `Consul left out instances of "${name}" that the ACL token may not read` });
  }
  const header = response.headers['x-consul-index'];
  return { rows, index: typeof header === 'string' && /^\d+$/.test(header) ? Number(header) : Number.NaN };
}

/**
 * Turns rows into instances, reporting each row that cannot be one (once while it stays bad)
 * instead of failing the whole answer.
 */
export function toInstances(host: WatchHost, name: string, rows: unknown[], reported?: Set<string>): Instance[] {
  const instances: Instance[] = [];
  const bad = new Set<string>();
  for (const row of rows) {
    try {
      instances.push(toInstance(row));
    } catch (error) {
      if (!(error instanceof InvalidRecordError)) throw error;
      bad.add(error.message);
      if (reported?.has(error.message)) continue;
      host.logger.warn({ service: name, key: error.key }, error.message);
      host.emit({ type: 'invalid-record', service: name, message: error.message, error });
    }
  }
  if (reported) {
    reported.clear();
    for (const message of bad) reported.add(message);
  }
  return instances;
}

/**
 * One blocking-query loop on `/v1/health/service/:name`, shared by every listener of that name.
 * Follows Consul's rules for blocking queries: the index comes from X-Consul-Index; when it
 * goes backwards the loop starts again from 0 (an unblocked read); it is never sent below 1
 * (a 0 from the server is taken as 1); the loop is rate-limited so a server that stops
 * blocking cannot make it spin; errors are retried with jittered exponential backoff
 * (p-retry), each one reported as an `{error}` event while the last snapshot stays valid; the
 * retry does not block, and its answer is always delivered as a fresh snapshot.
 */
export class BlockingWatch {
  readonly name: string;
  readonly #host: WatchHost;
  readonly #listeners: Listeners<WatchEvent>;
  readonly #controller = new AbortController();
  readonly #limiter: RateLimiter;
  readonly #reported = new Set<string>();
  #index = 0;
  #warnedNoIndex = false;
  #snapshot: readonly Instance[] | undefined;
  #stale: DiscoveryError | undefined;

  constructor(name: string, host: WatchHost) {
    this.name = name;
    this.#host = host;
    this.#limiter = new RateLimiter(host.options.perSecond, host.options.burst);
    this.#listeners = new Listeners((error) => host.logger.error({ service: name, err: error }, 'a watch listener threw'));
    void this.#run();
  }

  /** The index the next query will send (0: an unblocked read). */
  get index(): number {
    return this.#index;
  }

  add(listener: WatchListener): () => void {
    let subscribed = true;
    const remove = this.#listeners.add(listener);
    // A late subscriber starts from what the others hold.
    const current: WatchEvent | undefined = this.#stale && !this.#snapshot ? { error: this.#stale } : this.#snapshot ? { instances: this.#snapshot } : undefined;
    if (current) queueMicrotask(() => subscribed && this.#call(listener, current));
    return () => {
      subscribed = false;
      remove();
    };
  }

  close(): void {
    this.#listeners.clear();
    this.#controller.abort();
  }

  async #run(): Promise<void> {
    const signal = this.#controller.signal;
    const { options } = this.#host;
    while (!signal.aborted) {
      try {
        await this.#limiter.take(signal);
        // After a failure the retry does not block: its answer confirms (or refreshes) the stale snapshot at once.
        const read = await pRetry((attempt) => readHealth(this.#host, this.name, attempt > 1 ? 0 : this.#index, signal), {
          retries: Number.POSITIVE_INFINITY,
          factor: 2,
          minTimeout: options.backoffInitialMs,
          maxTimeout: options.backoffMaxMs,
          randomize: true,
          signal,
          onFailedAttempt: ({ error }) => this.#failed(error),
          shouldRetry: () => !signal.aborted,
        });
        if (signal.aborted) return;
        this.#advance(read.index);
        this.#deliver(toInstances(this.#host, this.name, read.rows, this.#reported));
      } catch (error) {
        if (signal.aborted) return;
        // Only a bug gets here (p-retry retries for ever); report it and go on after a pause.
        this.#failed(error);
        await new Promise((resolve) => setTimeout(resolve, options.backoffMaxMs));
      }
    }
  }

  #advance(received: number): void {
    if (Number.isNaN(received)) {
      // Not Consul, or a proxy that strips headers: nothing to block on, so only the rate limit paces the loop.
      if (!this.#warnedNoIndex) this.#host.logger.warn({ service: this.name }, 'Consul sent no X-Consul-Index; the watch polls at its rate limit');
      this.#warnedNoIndex = true;
      this.#index = 0;
      return;
    }
    const next = Math.max(received, 1);
    if (next < this.#index) {
      this.#host.logger.info({ service: this.name, from: this.#index, to: received }, 'Consul index went backwards; starting again from 0');
      this.#index = 0;
      return;
    }
    this.#index = next;
  }

  #deliver(instances: Instance[]): void {
    const next = reconcile(this.#snapshot, instances);
    if (next === this.#snapshot && this.#stale === undefined) return;
    this.#snapshot = next;
    this.#stale = undefined;
    this.#broadcast({ instances: next });
  }

  #failed(cause: unknown): void {
    if (this.#controller.signal.aborted) return;
    const error = isDiscoveryError(cause) ? cause : toDiscoveryError(cause, 'consul', this.#host.http.redact);
    this.#stale = error;
    this.#host.logger.warn({ service: this.name, code: error.code }, `consul watch of "${this.name}" failed, retrying: ${error.message}`);
    this.#broadcast({ error });
  }

  #broadcast(event: WatchEvent): void {
    this.#listeners.emit(event);
  }

  #call(listener: WatchListener, event: WatchEvent): void {
    try {
      listener(event);
    } catch (error) {
      this.#host.logger.error({ service: this.name, err: error }, 'a watch listener threw');
    }
  }
}

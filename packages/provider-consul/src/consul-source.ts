import { InvalidRecordError, ProviderUnavailableError, type DiscoveryError, type Instance, type Logger, type ProviderEvent } from '@disco/core';
import type { FollowEnd, FollowSink, ListResult, ServiceSource } from '@disco/core/provider';
import { Backoff, delay } from '@disco/core/provider';
import type { ChangeFeed, Mark } from './consul-feed.js';
import type { ConsulHttp } from './consul-http.js';
import { isRefusal } from './errors.js';
import { goDuration, toInstance } from './mapping.js';
import type { ResolvedOptions } from './options.js';

/** What a source needs from its provider. */
export interface SourceHost {
  readonly http: ConsulHttp;
  readonly options: ResolvedOptions;
  readonly logger: Logger;
  /** The provider's change feed, shared by all its sources. */
  readonly feed: ChangeFeed;
  emit(event: ProviderEvent): void;
}

export interface HealthRead {
  readonly instances: Instance[];
  /** Rows that could not be instances, one error each. */
  readonly invalid: InvalidRecordError[];
  /**
   * Where a blocking query goes on from: X-Consul-Index, never below 1 (Consul's rule: a 0 is
   * taken as 1); 0 when the header is missing or garbled (nothing to block on).
   */
  readonly index: number;
}

/**
 * One read of `GET /v1/health/service/:name` with the provider's read options. `index` > 0
 * makes it a blocking query (`?index=&wait=`), held by the server up to wait + wait/16.
 */
export async function readHealth(host: SourceHost, name: string, index: number, signal: AbortSignal | undefined, onDispatch?: () => void, urgent = false): Promise<HealthRead> {
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
    timeoutMs: blocking ? options.waitMs + Math.ceil(options.waitMs / 16) + options.requestTimeoutMs : options.requestTimeoutMs,
    what,
    lane: blocking ? 'watch' : 'read',
    onDispatch,
    urgent,
  });
  if (response.status !== 200) throw http.fail(response, what, `service:read on "${name}"`);
  let rows: unknown;
  try {
    rows = JSON.parse(response.body);
  } catch {
    throw new ProviderUnavailableError('consul', `${what}: Consul's answer is not JSON`, { retryable: true });
  }
  if (!Array.isArray(rows)) throw new ProviderUnavailableError('consul', `${what}: Consul's answer is not a list of service entries`, { retryable: true });
  if (response.headers['x-consul-results-filtered-by-acls'] === 'true') {
    host.emit({ type: 'acl-filtered', service: name, message: `Consul left out instances of "${name}" that the ACL token may not read` });
  }
  const instances: Instance[] = [];
  const invalid: InvalidRecordError[] = [];
  for (const row of rows) {
    try {
      instances.push(toInstance(row));
    } catch (error) {
      if (!(error instanceof InvalidRecordError)) throw error;
      invalid.push(error);
    }
  }
  const header = response.headers['x-consul-index'];
  const received = typeof header === 'string' && /^\d{1,15}$/.test(header) ? Number(header) : Number.NaN;
  return { instances, invalid, index: Number.isNaN(received) ? 0 : Math.max(1, received) };
}

/**
 * One service's instances for core's watch engine: `list` is an unblocked read whose position is
 * X-Consul-Index. `follow` waits for one change and ends cleanly after it (the engine resumes at
 * once from the new index, within its rate limit), in one of two ways:
 * - while at most `feedThreshold` services are watched, ONE blocking query from the position;
 * - above it, the provider's {@link ChangeFeed} says when this service may have changed, and the
 *   follow re-reads it unblocked; a failing feed marks the snapshot stale (`sink.stale`) until
 *   the read after its recovery.
 * When the feed starts or stops, a follow in progress switches over without ending. An index
 * lower than the position means the Raft state was restored or replaced: the follow asks for a
 * re-list (start again from 0). Sharing, backoff, one error per outage, reconciliation are the engine's.
 */
export class ConsulSource implements ServiceSource<number> {
  readonly #host: SourceHost;
  readonly #name: string;
  #warnedNoIndex = false;
  /** Where this service stood with the feed at its last read. */
  #mark: Mark | undefined;
  /** The provider's `backoff` option: core's engine retries this source with it. */
  readonly backoff: ServiceSource['backoff'];

  constructor(host: SourceHost, name: string) {
    this.#host = host;
    this.#name = name;
    this.backoff = host.options.backoff;
  }

  async list(signal: AbortSignal): Promise<ListResult<number>> {
    const read = await readHealth(this.#host, this.#name, 0, signal, this.#marker());
    return { instances: read.instances, invalid: read.invalid, position: read.index };
  }

  async follow(position: number, sink: FollowSink<number>, signal: AbortSignal): Promise<FollowEnd> {
    const { feed } = this.#host;
    feed.attach(this.#name);
    let refusals: Backoff | undefined;
    try {
      for (;;) {
        if (feed.active) {
          await feed.wait(this.#name, this.#mark, signal, (error) => sink.stale(error));
          if (!feed.active) continue;
          const urgent = feed.targeted(this.#name, this.#mark);
          return this.#deliver(await readHealth(this.#host, this.#name, 0, signal, this.#marker(), urgent), position, sink);
        }
        // Position 0: the agent (or a proxy that strips headers) gave no index, so there is nothing
        // to block on; a plain read, after which the engine's rate limit paces the next one.
        if (position <= 0) this.#warnNoIndex();
        const mode = feed.modeSignal;
        let read: HealthRead;
        try {
          read = await readHealth(this.#host, this.#name, position, AbortSignal.any([signal, mode]), this.#marker());
        } catch (error) {
          // The feed took over (or stopped) meanwhile: go on the other way, within this follow.
          if (mode.aborted && !signal.aborted) continue;
          if (!isRefusal(error) || signal.aborted) throw error;
          // 429: stale once, back off, ask again from the same position; the follow goes on.
          sink.stale(error as DiscoveryError);
          refusals ??= new Backoff({ ...this.#host.options.backoff });
          await delay(refusals.next(), signal);
          continue;
        }
        return this.#deliver(read, position, sink);
      }
    } finally {
      feed.detach(this.#name);
    }
  }

  #marker(): () => void {
    return () => {
      this.#mark = this.#host.feed.mark(this.#name);
    };
  }

  #deliver(read: HealthRead, position: number, sink: FollowSink<number>): FollowEnd {
    for (const error of read.invalid) sink.invalid(error);
    if (position > 0 && read.index > 0 && read.index < position) {
      this.#host.logger.info({ service: this.#name, from: position, to: read.index }, 'consul: X-Consul-Index went backwards; starting again from 0');
      return 'relist';
    }
    sink.replace(read.instances, read.index);
    return 'ended';
  }

  #warnNoIndex(): void {
    if (this.#warnedNoIndex) return;
    this.#warnedNoIndex = true;
    this.#host.logger.warn({ service: this.#name }, 'consul: the agent sent no X-Consul-Index; the watch reads at the engine\'s rate limit instead of blocking');
  }
}

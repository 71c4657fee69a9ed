import { ProviderUnavailableError, type DiscoveryError } from '@disco/core';
import { Backoff, delay, jitter, RateLimiter, toDiscoveryError } from '@disco/core/provider';
import type { ConsulHttp } from './consul-http.js';
import { goDuration } from './mapping.js';
import type { ResolvedOptions } from './options.js';

/** Where a source stands with the feed: re-read when the feed's epoch or the service's version moved past it. */
export interface Mark {
  readonly epoch: number;
  readonly version: number;
}

/** What the feed has cost so far (for the benchmark and the tests). */
export interface FeedStats {
  /** Requests the feed made (both blocking queries). */
  requests: number;
  /** Services the feed told to re-read, one by one. */
  bumps: number;
  /** Times every watched service was told to re-read (a new baseline, a node check, a change the feed could not place). */
  sweeps: number;
}

interface CheckRow {
  readonly service: string;
  readonly status: string;
  readonly modify: number;
}

/** A catalog round: what changed between these two indexes. */
interface Range {
  readonly from: number;
  readonly to: number;
}

/** Sweeps asked for within this long of the last one are made together, once, when it has passed. */
const sweepSpacingMs = 1_000;

/**
 * The change feed of a provider watching many services: two blocking queries that together say
 * which services changed, so each watched service is re-read (one unblocked
 * `/v1/health/service/:name`) only when it did, within a bounded number of connections:
 *
 * - `/v1/catalog/services?index=` (the services table: registrations, deregistrations, tags):
 *   a name that appears, disappears or changes tags is re-read;
 * - `/v1/health/state/any?index=` (the checks table): a check added, removed or changed
 *   (`ModifyIndex`, `Status`) re-reads the service it belongs to; a node's check re-reads everything.
 *
 * A catalog change with no name or tag difference (an instance added or removed under a name
 * that keeps its tags, an address, port, meta or weights edit) is placed by the checks feed when
 * a check moved in the same index range (every instance registered with a check does); one the
 * feed cannot place re-reads every watched service (a sweep). A new baseline — the feed's first
 * answers, or its first after a failure — is a sweep too, since what changed before it is unknown.
 *
 * It runs while more than `feedThreshold` services are watched and stops again at half of it.
 * Its queries are bounded like an engine's (5 per second, burst 10) and back off on failure; a
 * failure is reported once to every waiting follow (`sink.stale`), and the sweep of the next
 * baseline ends the outage with a fresh read of every watched service.
 */
export class ChangeFeed {
  readonly stats: FeedStats = { requests: 0, bumps: 0, sweeps: 0 };
  readonly #http: ConsulHttp;
  readonly #options: ResolvedOptions;
  readonly #threshold: number;
  /** Watched names → how many follows of them are attached. */
  readonly #attached = new Map<string, number>();
  readonly #versions = new Map<string, number>();
  readonly #waiters = new Map<string, Set<() => void>>();
  readonly #staleListeners = new Set<(error: DiscoveryError) => void>();
  #epoch = 0;
  #active = false;
  #mode = new AbortController();
  #run: AbortController | undefined;
  #lingerTimer: NodeJS.Timeout | undefined;
  #failure: DiscoveryError | undefined;
  #catalog: Map<string, string> | undefined;
  #catalogIndex = 0;
  #checks: Map<string, CheckRow> | undefined;
  #checksIndex = 0;
  /** Raft indexes at which checks were written (added, changed, removed), for placing catalog changes. */
  #checkWrites = new Set<number>();
  #pending: { range: Range; timer: NodeJS.Timeout }[] = [];
  /** How long the last round of the checks query took (its answer can be megabytes). */
  #checksRoundMs = 0;
  #lastSweep = -Infinity;
  #sweepTimer: NodeJS.Timeout | undefined;
  /** The periodic safety sweep: finds, in bounded time, a change the feed could not place. */
  #safetyTimer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(http: ConsulHttp, options: ResolvedOptions) {
    this.#http = http;
    this.#options = options;
    // Above the blocking-query lane (maxConnections − an eighth − a quarter), per-service queries take turns on it.
    this.#threshold = options.feedThreshold;
  }

  /** Whether the feed (not per-service blocking queries) follows the watched services now. */
  get active(): boolean {
    return this.#active;
  }

  /** Aborted when the feed starts or stops: a per-service blocking query gives way then. */
  get modeSignal(): AbortSignal {
    return this.#mode.signal;
  }

  /** How many services are watched (followed) now. */
  get watched(): number {
    return this.#attached.size;
  }

  attach(name: string): void {
    this.#attached.set(name, (this.#attached.get(name) ?? 0) + 1);
    clearTimeout(this.#lingerTimer);
    this.#lingerTimer = undefined;
    if (!this.#active && !this.#closed && this.#attached.size > this.#threshold) this.#start();
  }

  detach(name: string): void {
    const left = (this.#attached.get(name) ?? 1) - 1;
    if (left > 0) this.#attached.set(name, left);
    else this.#attached.delete(name);
    // A follow's end and the next follow's start leave a gap: stop only after the count stays low.
    if (this.#active && this.#attached.size <= Math.floor(this.#threshold / 2) && !this.#lingerTimer) {
      this.#lingerTimer = setTimeout(() => {
        this.#lingerTimer = undefined;
        if (this.#active && this.#attached.size <= Math.floor(this.#threshold / 2)) this.#stop();
      }, 2_000);
      this.#lingerTimer.unref();
    }
  }

  /** Where `name` stands now; take it just before the read it goes with. */
  mark(name: string): Mark {
    return { epoch: this.#epoch, version: this.#versions.get(name) ?? 0 };
  }

  /** Whether `name` itself was named by the feed since `mark` (not only swept): its read goes first. */
  targeted(name: string, mark: Mark | undefined): boolean {
    return mark !== undefined && (this.#versions.get(name) ?? 0) !== mark.version;
  }

  /** Whether `name` may have changed since `mark`. */
  changed(name: string, mark: Mark | undefined): boolean {
    return mark === undefined || mark.epoch !== this.#epoch || (this.#versions.get(name) ?? 0) !== mark.version;
  }

  /**
   * Resolves when `name` may have changed since `mark`, or when the feed stops; `onStale` hears a
   * failure of the feed (at once when it is failing already), once per failure.
   */
  wait(name: string, mark: Mark | undefined, signal: AbortSignal, onStale: (error: DiscoveryError) => void): Promise<void> {
    if (signal.aborted) return Promise.reject(signal.reason as Error);
    if (!this.#active || this.changed(name, mark)) return Promise.resolve();
    if (this.#failure) onStale(this.#failure);
    return new Promise((resolve, reject) => {
      let set = this.#waiters.get(name);
      if (!set) this.#waiters.set(name, (set = new Set()));
      const done = () => {
        set.delete(wake);
        if (set.size === 0 && this.#waiters.get(name) === set) this.#waiters.delete(name);
        this.#staleListeners.delete(onStale);
        signal.removeEventListener('abort', abort);
      };
      const wake = () => {
        done();
        resolve();
      };
      const abort = () => {
        done();
        reject(signal.reason as Error);
      };
      set.add(wake);
      this.#staleListeners.add(onStale);
      signal.addEventListener('abort', abort, { once: true });
    });
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#lingerTimer);
    clearTimeout(this.#sweepTimer);
    clearTimeout(this.#safetyTimer);
    if (this.#active) this.#stop();
  }

  // ---- running ---------------------------------------------------------------------------

  #start(): void {
    this.#active = true;
    this.#flipMode();
    const run = new AbortController();
    this.#run = run;
    void this.#loop('catalog', run.signal);
    void this.#loop('checks', run.signal);
    this.#armSafetySweep();
  }

  #armSafetySweep(): void {
    const every = this.#options.feedSweepIntervalMs;
    if (every <= 0) return;
    this.#safetyTimer = setTimeout(() => {
      this.#safetyTimer = undefined;
      if (!this.#active) return;
      this.#sweep();
      this.#armSafetySweep();
    }, jitter(every));
    this.#safetyTimer.unref();
  }

  #stop(): void {
    this.#active = false;
    this.#run?.abort();
    this.#run = undefined;
    this.#catalog = undefined;
    this.#checks = undefined;
    this.#failure = undefined;
    for (const { timer } of this.#pending) clearTimeout(timer);
    this.#pending = [];
    clearTimeout(this.#sweepTimer);
    this.#sweepTimer = undefined;
    clearTimeout(this.#safetyTimer);
    this.#safetyTimer = undefined;
    this.#flipMode();
    this.#wakeAll();
  }

  #flipMode(): void {
    this.#mode.abort();
    this.#mode = new AbortController();
  }

  async #loop(kind: 'catalog' | 'checks', signal: AbortSignal): Promise<void> {
    const backoff = new Backoff({ ...this.#options.backoff });
    // Whatever the agent answers, the feed asks at most as often as a watch engine would.
    const limiter = new RateLimiter(5, 10);
    let index = 0;
    while (!signal.aborted) {
      try {
        await limiter.take(signal);
        const { body, index: next } = await this.#read(kind, index, signal);
        const answeredAt = performance.now();
        if (signal.aborted) return;
        if (index > 0 && next > 0 && next < index) {
          // The Raft index went backwards (a restored snapshot): start over from a new baseline.
          this.#forget(kind);
          index = 0;
          continue;
        }
        backoff.reset();
        if (kind === 'catalog') this.#onCatalog(body as Record<string, unknown>, next);
        else {
          this.#onChecks(body as unknown[], next);
          this.#checksRoundMs = performance.now() - answeredAt;
        }
        index = next;
      } catch (error) {
        if (signal.aborted) return;
        this.#fail(kind, error);
        index = 0;
        try {
          await delay(backoff.next(), signal);
        } catch {
          return;
        }
      }
    }
  }

  async #read(kind: 'catalog' | 'checks', index: number, signal: AbortSignal): Promise<{ body: unknown; index: number }> {
    const options = this.#options;
    const blocking = index > 0;
    const what = kind === 'catalog' ? 'read the catalog of services (change feed)' : 'read every check (change feed)';
    this.stats.requests++;
    const response = await this.#http.request('GET', kind === 'catalog' ? '/v1/catalog/services' : '/v1/health/state/any', {
      query: {
        index: blocking ? index : undefined,
        wait: blocking ? goDuration(options.waitMs) : undefined,
        stale: options.consistency === 'stale' ? true : undefined,
        consistent: options.consistency === 'consistent' ? true : undefined,
      },
      signal,
      lane: 'watch',
      timeoutMs: blocking ? options.waitMs + Math.ceil(options.waitMs / 16) + options.requestTimeoutMs : options.requestTimeoutMs,
      what,
    });
    if (response.status !== 200) throw this.#http.fail(response, what, kind === 'catalog' ? 'service:read' : 'service:read and node:read');
    let body: unknown;
    try {
      body = JSON.parse(response.body);
    } catch {
      throw new ProviderUnavailableError('consul', `${what}: Consul's answer is not JSON`, { retryable: true });
    }
    const shapeOk = kind === 'catalog' ? typeof body === 'object' && body !== null && !Array.isArray(body) : Array.isArray(body);
    if (!shapeOk) throw new ProviderUnavailableError('consul', `${what}: Consul's answer is not ${kind === 'catalog' ? 'a map of service names' : 'a list of checks'}`, { retryable: true });
    const header = response.headers['x-consul-index'];
    const received = typeof header === 'string' && /^\d{1,15}$/.test(header) ? Number(header) : 0;
    return { body, index: Math.max(received > 0 ? 1 : 0, received) };
  }

  #onCatalog(body: Record<string, unknown>, index: number): void {
    const next = new Map<string, string>();
    for (const [name, tags] of Object.entries(body)) next.set(name, JSON.stringify(tags));
    const before = this.#catalog;
    const from = this.#catalogIndex;
    this.#catalog = next;
    this.#catalogIndex = index;
    if (!before) return this.#baselined();
    if (index === from) return;
    let differs = false;
    for (const [name, tags] of next) {
      if (before.get(name) !== tags) {
        differs = true;
        this.#bump(name);
      }
    }
    for (const name of before.keys()) {
      if (!next.has(name)) {
        differs = true;
        this.#bump(name);
      }
    }
    if (differs) return;
    // Same names and tags at a new index: something in a service changed that the catalog does not show.
    const range = { from, to: index };
    if (this.#checks && this.#checksIndex >= index) return this.#settle(range);
    // The checks query normally answers within milliseconds of the same write; give it a few of its rounds.
    const timer = setTimeout(() => {
      this.#pending = this.#pending.filter((p) => p.timer !== timer);
      this.#settle(range);
    }, Math.min(5_000, Math.max(300, 3 * this.#checksRoundMs)));
    timer.unref();
    this.#pending.push({ range, timer });
  }

  #onChecks(body: unknown[], index: number): void {
    const next = new Map<string, CheckRow>();
    for (const raw of body) {
      const row = raw as { Node?: unknown; CheckID?: unknown; ServiceName?: unknown; Status?: unknown; ModifyIndex?: unknown };
      if (typeof row?.CheckID !== 'string') continue;
      next.set(`${String(row.Node)}/${row.CheckID}`, {
        service: typeof row.ServiceName === 'string' ? row.ServiceName : '',
        status: String(row.Status),
        modify: typeof row.ModifyIndex === 'number' ? row.ModifyIndex : 0,
      });
    }
    const before = this.#checks;
    const from = this.#checksIndex;
    this.#checks = next;
    this.#checksIndex = index;
    if (!before) return this.#baselined();
    if (index === from) return this.#settlePending();
    let node = false;
    const touched = (row: CheckRow, at: number) => {
      this.#checkWrites.add(at);
      if (row.service === '') node = true;
      else this.#bump(row.service);
    };
    for (const [key, row] of next) {
      const old = before.get(key);
      if (!old || old.status !== row.status || old.modify !== row.modify || old.service !== row.service) {
        touched(row, row.modify);
        if (old && old.service !== row.service) touched(old, row.modify);
      }
    }
    // A removed check has no index of its own; a round that removed one ended at the write that did, unless more came after it.
    for (const [key, row] of before) if (!next.has(key)) touched(row, index);
    if (this.#checkWrites.size > 4096) this.#checkWrites = new Set([...this.#checkWrites].slice(-2048));
    // A node's check (serfHealth, node maintenance) concerns every instance on it.
    if (node) this.#sweep();
    this.#settlePending();
  }

  /** Catalog changes waiting for the checks feed: placed once it has reached their index. */
  #settlePending(): void {
    const ready = this.#pending.filter((p) => this.#checksIndex >= p.range.to);
    if (ready.length === 0) return;
    this.#pending = this.#pending.filter((p) => !ready.includes(p));
    for (const { range, timer } of ready) {
      clearTimeout(timer);
      this.#settle(range);
    }
  }

  /**
   * A catalog change no name or tag explains: placed when checks were written at the very index
   * the catalog moved to (one registration writes its service and its checks at one Raft index),
   * since the services they belong to were re-read already; anything else is a sweep.
   */
  #settle(range: Range): void {
    if (!this.#active) return;
    if (!this.#checkWrites.has(range.to)) this.#sweep();
  }

  /** Both queries have a first answer: what changed before it is unknown, so every watched service reads again. */
  #baselined(): void {
    if (!this.#catalog || !this.#checks) return;
    this.#failure = undefined;
    this.#sweep();
  }

  #fail(kind: 'catalog' | 'checks', cause: unknown): void {
    this.#forget(kind);
    if (this.#failure) return;
    this.#failure = toDiscoveryError(cause, 'consul');
    for (const listener of [...this.#staleListeners]) listener(this.#failure);
  }

  /** Drops a query's state, so its next answer is a new baseline. */
  #forget(kind: 'catalog' | 'checks'): void {
    if (kind === 'catalog') this.#catalog = undefined;
    else {
      this.#checks = undefined;
      this.#checkWrites.clear();
    }
  }

  #bump(name: string): void {
    this.stats.bumps++;
    this.#versions.set(name, (this.#versions.get(name) ?? 0) + 1);
    const set = this.#waiters.get(name);
    if (set) for (const wake of [...set]) wake();
  }

  /** Every watched service reads again; sweeps asked for in quick succession are made once, at most one a second. */
  #sweep(): void {
    if (this.#sweepTimer) return;
    const wait = this.#lastSweep + sweepSpacingMs - performance.now();
    if (wait > 0) {
      this.#sweepTimer = setTimeout(() => {
        this.#sweepTimer = undefined;
        if (this.#active) this.#sweep();
      }, wait);
      this.#sweepTimer.unref();
      return;
    }
    this.#lastSweep = performance.now();
    this.stats.sweeps++;
    this.#epoch++;
    this.#wakeAll();
  }

  #wakeAll(): void {
    for (const set of [...this.#waiters.values()]) for (const wake of [...set]) wake();
  }
}

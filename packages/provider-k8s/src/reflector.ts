import { Backoff, delay, type BackoffOptions } from '@disco/core';
import { isGone } from './api-error.js';
import type { KubeItem, ListWatchSource } from './list-watch-source.js';

export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface ReflectorHandlers {
  /** A full list arrived: the objects now are exactly these. */
  replace(items: readonly KubeItem[]): void;
  apply(type: ChangeType, item: KubeItem): void;
  /** The API answered again (a list, or a watch connected) after `failed`. */
  connected(): void;
  /** A list or watch failed; the reflector retries after a backoff. */
  failed(error: unknown): void;
  /** Something worth a provider event: `resync` (410 Gone) or `watch-silent`. */
  notice(type: 'resync' | 'watch-silent', message: string): void;
}

export interface ReflectorOptions {
  readonly pageSize: number;
  readonly watchTimeoutMs: number;
  readonly watchGraceMs: number;
  readonly backoff: BackoffOptions;
  readonly random?: () => number;
}

type WatchEnd = 'ended' | 'gone' | 'silent';

class WatchStatusError extends Error {
  readonly statusCode: number;
  constructor(status: { code?: number; message?: string }) {
    super(status.message ?? 'watch error');
    this.statusCode = status.code ?? 500;
  }
}

/**
 * List, then watch from the list's resourceVersion, for ever (client-go's reflector):
 * - a watch that ends at its timeoutSeconds (jittered, as client-go does) restarts from the
 *   last resourceVersion seen, bookmarks included, with no re-list;
 * - 410 Gone (watch or list continuation) drops the position and lists again;
 * - any other failure waits a full-jitter backoff first, so that after an API-server restart
 *   the clients' re-lists and re-watches spread out instead of arriving at once;
 * - a watch that stays silent past its own timeout plus a grace period is taken for dead.
 * resourceVersions are opaque: only stored and sent back, never compared.
 */
export class Reflector {
  readonly #source: ListWatchSource;
  readonly #handlers: ReflectorHandlers;
  readonly #options: ReflectorOptions;
  readonly #backoff: Backoff;
  readonly #random: () => number;
  readonly #stop = new AbortController();
  #resourceVersion: string | undefined;
  #watch: { abort(): void } | undefined;
  #goneStreak = 0;
  #disarm: (() => void) | undefined;

  constructor(source: ListWatchSource, handlers: ReflectorHandlers, options: ReflectorOptions) {
    this.#source = source;
    this.#handlers = handlers;
    this.#options = options;
    this.#random = options.random ?? Math.random;
    this.#backoff = new Backoff({ random: this.#random, ...options.backoff });
  }

  start(): void {
    void this.#run();
  }

  stop(): void {
    this.#stop.abort();
    this.#disarm?.();
    this.#watch?.abort();
    this.#watch = undefined;
  }

  get #stopped(): boolean {
    return this.#stop.signal.aborted;
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      try {
        if (this.#resourceVersion === undefined) await this.#list();
        if (this.#stopped) return;
        const end = await this.#watchOnce(this.#resourceVersion!);
        if (end === 'gone') await this.#gone('the watch position was compacted away (410 Gone)');
        else if (end === 'silent') this.#handlers.notice('watch-silent', 'the watch sent nothing past its timeout; restarting it');
      } catch (error) {
        if (this.#stopped) return;
        if (isGone(error)) {
          await this.#gone('the list continuation expired (410 Gone)').catch(() => {});
          continue;
        }
        this.#handlers.failed(error);
        await delay(this.#backoff.next(), this.#stop.signal).catch(() => {});
      }
    }
  }

  /** Drops the position so the next round lists again; repeated 410s back off. */
  async #gone(why: string): Promise<void> {
    this.#resourceVersion = undefined;
    this.#handlers.notice('resync', `${why}; listing again`);
    if (this.#goneStreak++ > 0) await delay(this.#backoff.next(), this.#stop.signal);
  }

  async #list(): Promise<void> {
    const items: KubeItem[] = [];
    let next: string | undefined;
    let resourceVersion: string | undefined;
    do {
      const page = await this.#source.list({ continue: next, limit: this.#options.pageSize, signal: this.#stop.signal });
      for (const item of page.items) items.push(item);
      next = page.continue;
      resourceVersion = page.resourceVersion;
    } while (next !== undefined && !this.#stopped);
    if (this.#stopped) return;
    this.#handlers.replace(items);
    this.#handlers.connected();
    this.#backoff.reset();
    // Without a resourceVersion there is nothing to watch from: "0" means "any", which the
    // API server answers with the whole state again as ADDED events; harmless, just costly.
    this.#resourceVersion = resourceVersion ?? '0';
  }

  #watchOnce(from: string): Promise<WatchEnd> {
    const timeoutSeconds = Math.max(1, Math.round((this.#options.watchTimeoutMs / 1000) * (1 + this.#random())));
    const inactivityMs = timeoutSeconds * 1000 + this.#options.watchGraceMs;
    const startedAt = performance.now();
    return new Promise<WatchEnd>((resolve, reject) => {
      let finished = false;
      let silent = false;
      let events = 0;
      let handle: { abort(): void } | undefined;
      // Silent-watch detection: the server must end the watch by timeoutSeconds; nothing at
      // all (not even the closing) for longer means a dead connection nobody noticed.
      let timer: NodeJS.Timeout | undefined;
      const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          silent = true;
          handle?.abort();
        }, inactivityMs);
      };
      arm();
      this.#disarm = () => clearTimeout(timer);
      let status: { code?: number; message?: string } | undefined;
      const onEvent = (type: string, object: unknown) => {
        if (this.#stopped || finished) return;
        if (type === 'ERROR') {
          status = object as { code?: number; message?: string };
          return;
        }
        events++;
        arm();
        this.#goneStreak = 0;
        this.#backoff.reset();
        const resourceVersion = (object as KubeItem | undefined)?.metadata?.resourceVersion;
        if ((type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED') && typeof object === 'object' && object !== null) this.#handlers.apply(type, object as KubeItem);
        if (resourceVersion) this.#resourceVersion = resourceVersion;
      };
      const done = (error: unknown) => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        this.#watch = undefined;
        if (status?.code === 410) return resolve('gone');
        if (status) return reject(new WatchStatusError(status));
        if (silent || (error as { name?: string } | null)?.name === 'TimeoutError') return resolve('silent');
        if (error) return reject(error);
        // A clean end before the timeout with nothing delivered is a server going away
        // (graceful shutdown), not a watch that ran its course: back off like any failure.
        const ranItsCourse = events > 0 || performance.now() - startedAt >= timeoutSeconds * 900;
        if (!ranItsCourse) return reject(new Error('the API server closed the watch early'));
        resolve('ended');
      };
      this.#source.watch({ resourceVersion: from, timeoutSeconds, inactivityMs }, onEvent, done).then(
        (connected) => {
          if (this.#stopped || finished || silent) {
            connected.abort();
            return;
          }
          handle = connected;
          this.#watch = connected;
          this.#handlers.connected();
        },
        (error: unknown) => done(error ?? new Error('watch failed')),
      );
    });
  }
}


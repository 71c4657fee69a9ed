import type { ServerResponse } from 'node:http';
import type { LabelMatcher } from './label-selector.js';
import type { ObjectStore, StoredEvent } from './object-store.js';
import { resourceType, type KubeObject, type ResourceName } from './resources.js';
import { StatusError } from './status.js';

export interface WatchStreamOptions {
  readonly resource: ResourceName;
  readonly namespace: string | undefined;
  readonly matches: LabelMatcher;
  /** Replay history after this revision; `undefined` starts with a synthetic ADDED per existing object. */
  readonly since: number | undefined;
  readonly bookmarks: boolean;
  readonly timeoutMs: number;
  readonly bookmarkIntervalMs: number;
  /** Ends the stream cleanly this long after it started (before `timeoutMs`, without a BOOKMARK). */
  readonly endAfterMs?: number | undefined;
}

/**
 * One streamed watch response: newline-delimited `{type, object}` JSON, as the API server
 * sends it. A selector change shows as ADDED / DELETED for the objects entering or leaving
 * the selection; the stream ends after `timeoutSeconds` (preceded by a BOOKMARK when asked for).
 */
export class WatchStream {
  readonly #res: ServerResponse;
  readonly #store: ObjectStore;
  readonly #options: WatchStreamOptions;
  #unsubscribe: (() => void) | undefined;
  #timers: NodeJS.Timeout[] = [];
  #frozen = false;
  #closed = false;
  readonly closed: Promise<void>;
  #resolveClosed!: () => void;

  constructor(res: ServerResponse, store: ObjectStore, options: WatchStreamOptions) {
    this.#res = res;
    this.#store = store;
    this.#options = options;
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    res.once('close', () => this.#cleanup());
  }

  get resource(): ResourceName {
    return this.#options.resource;
  }

  /** Sends these events as they are (raw JSON, garbage included) before anything else. */
  startRaw(events: readonly unknown[]): void {
    this.#head();
    for (const event of events) this.#write(event);
  }

  #head(): void {
    if (this.#res.headersSent) return;
    this.#res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked', 'cache-control': 'no-cache' });
    this.#res.flushHeaders();
  }

  start(): void {
    const { since, timeoutMs, bookmarks, bookmarkIntervalMs, endAfterMs } = this.#options;
    if (this.#closed) return;
    this.#head();
    if (since === undefined) {
      for (const object of this.#store.list(this.#options.resource, this.#options.namespace)) {
        if (this.#options.matches(object.metadata.labels)) this.#send('ADDED', object);
      }
    } else {
      let replay: StoredEvent[];
      try {
        replay = this.#store.since(since);
      } catch (error) {
        // The API server answers 200 and then one ERROR event carrying the 410 Status.
        if (!(error instanceof StatusError)) throw error;
        this.#write({ type: 'ERROR', object: error.toStatus() });
        this.close();
        return;
      }
      for (const event of replay) this.#onEvent(event);
    }
    this.#unsubscribe = this.#store.subscribe((event) => this.#onEvent(event));
    this.#timers.push(
      setTimeout(() => {
        if (this.#frozen) return;
        if (bookmarks) this.#bookmark();
        this.close();
      }, timeoutMs),
    );
    if (endAfterMs !== undefined && endAfterMs < timeoutMs) {
      this.#timers.push(
        setTimeout(() => {
          if (!this.#frozen) this.close();
        }, endAfterMs),
      );
    }
    if (bookmarks) this.#timers.push(setInterval(() => this.#bookmark(), bookmarkIntervalMs));
  }

  /** Goes silent: sends nothing more and never ends by itself (a stuck connection). */
  freeze(): void {
    this.#frozen = true;
  }

  close(): void {
    if (this.#closed) return;
    this.#res.end();
    this.#cleanup();
  }

  #cleanup(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#unsubscribe?.();
    for (const timer of this.#timers) clearTimeout(timer);
    this.#resolveClosed();
  }

  #onEvent(event: StoredEvent): void {
    if (event.resource !== this.#options.resource) return;
    if (this.#options.namespace !== undefined && event.object.metadata.namespace !== this.#options.namespace) return;
    const { matches } = this.#options;
    const now = event.type !== 'DELETED' && matches(event.object.metadata.labels);
    const before = event.previous !== undefined && matches(event.previous.metadata.labels);
    if (now) this.#send(before ? 'MODIFIED' : 'ADDED', event.object);
    else if (before) this.#send('DELETED', event.object);
  }

  #bookmark(): void {
    const { kind, apiVersion } = resourceType(this.#options.resource);
    this.#send('BOOKMARK', { kind, apiVersion, metadata: { name: '', resourceVersion: String(this.#store.revision) } });
  }

  #send(type: string, object: KubeObject): void {
    this.#write({ type, object });
  }

  #write(event: unknown): void {
    if (this.#frozen || this.#closed) return;
    this.#res.write(`${JSON.stringify(event)}\n`);
  }
}

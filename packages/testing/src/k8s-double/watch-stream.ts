import type { ServerResponse } from 'node:http';
import type { FieldMatcher } from './field-selector.js';
import type { LabelMatcher } from './label-selector.js';
import type { ObjectStore, StoredEvent } from './object-store.js';
import { resourceType, type KubeObject, type ResourceName } from './resources.js';
import { StatusError } from './status.js';

export interface WatchStreamOptions {
  readonly resource: ResourceName;
  readonly namespace: string | undefined;
  readonly matches: LabelMatcher;
  readonly fields: FieldMatcher;
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
 * the selection; an object leaving it comes as DELETED with its last state that matched, at
 * the change's resourceVersion (the watch cache's cacheWatcher does this). BOOKMARKs carry an
 * empty object of the kind with only `metadata.resourceVersion` set. The stream ends after
 * `timeoutSeconds` (preceded by a BOOKMARK when asked for).
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
        if (this.#selected(object)) this.#send('ADDED', object);
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
    const now = event.type !== 'DELETED' && this.#selected(event.object);
    const before = event.previous !== undefined && this.#selected(event.previous);
    if (now) this.#send(before ? 'MODIFIED' : 'ADDED', event.object);
    else if (before && event.type === 'DELETED') this.#send('DELETED', event.object);
    else if (before) this.#send('DELETED', { ...event.previous!, metadata: { ...event.previous!.metadata, resourceVersion: String(event.revision) } });
  }

  #selected(object: KubeObject): boolean {
    return this.#options.matches(object.metadata.labels) && this.#options.fields(object);
  }

  #bookmark(): void {
    this.#send('BOOKMARK', bookmarkObject(this.#options.resource, String(this.#store.revision)));
  }

  #send(type: string, object: KubeObject): void {
    this.#write({ type, object });
  }

  #write(event: unknown): void {
    if (this.#frozen || this.#closed) return;
    this.#res.write(`${JSON.stringify(event)}\n`);
  }
}

/**
 * What the API server sends as a BOOKMARK: a new, empty object of the kind with only its
 * resourceVersion set, encoded as Go encodes an empty struct (creationTimestamp null, the
 * kind's non-omitempty fields as null or empty).
 */
export function bookmarkObject(resource: ResourceName, resourceVersion: string): KubeObject {
  const { kind, apiVersion } = resourceType(resource);
  const metadata = { resourceVersion, creationTimestamp: null } as unknown as KubeObject['metadata'];
  const empty: Record<ResourceName, Record<string, unknown>> = {
    endpointslices: { addressType: '', endpoints: null },
    pods: { spec: { containers: null }, status: {} },
    services: { spec: {}, status: { loadBalancer: {} } },
    namespaces: { spec: {}, status: {} },
  };
  return { kind, apiVersion, metadata, ...empty[resource] };
}

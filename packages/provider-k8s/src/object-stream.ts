import { InvalidRecordError, ProviderUnavailableError, type DiscoveryError } from '@disco/core';
import type { FollowEnd } from '@disco/core/provider';
import { apiError, isGone, type ErrorContext } from './errors.js';
import { describe, objectKey } from './fields.js';
import type { KubeApi, KubeItem } from './kube-api.js';

/** A list page that takes longer is given up (the API server's own limit for ordinary requests is 60 s). */
export const pageTimeoutMs = 60_000;
/** Node treats longer timer delays as 1 ms. */
const maxTimerMs = 2 ** 31 - 1;
const changeTypes = new Set(['ADDED', 'MODIFIED', 'DELETED']);

export type Change = 'ADDED' | 'MODIFIED' | 'DELETED';
/** An object we can key and version: metadata.name and metadata.resourceVersion are non-empty strings. */
export type KeyedItem = KubeItem & { metadata: { name: string; resourceVersion: string } };

export function isKeyed(object: unknown): object is KeyedItem {
  if (typeof object !== 'object' || object === null) return false;
  const metadata = (object as KubeItem).metadata;
  return typeof metadata === 'object' && metadata !== null && typeof metadata.name === 'string' && metadata.name !== '' && typeof metadata.resourceVersion === 'string' && metadata.resourceVersion !== '';
}

export interface StreamContext {
  readonly errors: ErrorContext;
  /** What is read, for messages: `EndpointSlices "<selector>" in namespace <ns>`. */
  readonly what: string;
  /** `resync` (a list started over) and `watch-silent`, with their message. */
  emit(type: 'resync' | 'watch-silent', message: string): void;
  /** A record that was skipped. */
  invalid(problem: InvalidRecordError): void;
}

export interface ListedObjects {
  readonly objects: KeyedItem[];
  /** The list's resourceVersion; "0" when the server gave none. */
  readonly resourceVersion: string;
}

export const streamError = (context: StreamContext, error: unknown, what: string, timeoutMs?: number): DiscoveryError => apiError(error, what, { ...context.errors, timeoutMs });

/** One page, given up after pageTimeoutMs (a timer cleared with the page, so nothing outlives it). */
async function page(api: KubeApi, next: string | undefined, limit: number, signal: AbortSignal) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DOMException(`no answer within ${pageTimeoutMs} ms`, 'TimeoutError')), pageTimeoutMs);
  const onAbort = () => controller.abort(signal.reason);
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  try {
    return await api.list({ continue: next, limit, signal: controller.signal });
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
  }
}

/**
 * Every page of a list; the position is the list's resourceVersion (opaque: stored and sent
 * back, never compared). An expired continue token (410) starts the list over once. Objects
 * without a name and resourceVersion are reported and left out.
 */
export async function listObjects(api: KubeApi, pageSize: number, context: StreamContext, signal: AbortSignal): Promise<ListedObjects> {
  let items: unknown[];
  let resourceVersion: string | undefined;
  for (let attempt = 0; ; attempt++) {
    try {
      items = [];
      let next: string | undefined;
      do {
        const got = await page(api, next, pageSize, signal);
        for (const item of got.items) items.push(item);
        next = got.continue;
        resourceVersion = got.resourceVersion;
      } while (next !== undefined && !signal.aborted);
      break;
    } catch (error) {
      // An expired continue token: the list changed under us; start over, once.
      if (!isGone(error) || attempt > 0 || signal.aborted) throw streamError(context, error, `listing ${context.what}`, pageTimeoutMs);
      context.emit('resync', 'the list continuation expired (410 Gone); listing again');
    }
  }
  const objects: KeyedItem[] = [];
  for (const item of items) {
    if (isKeyed(item)) objects.push(item);
    else context.invalid(new InvalidRecordError(objectKey(item), `a listed object without metadata.name and metadata.resourceVersion (${describe(item)})`));
  }
  // Without a resourceVersion there is nothing to watch from: "0" means "any", which the API
  // server answers with the whole state again as ADDED events; harmless, just costly.
  return { objects, resourceVersion: resourceVersion ?? '0' };
}

export interface WatchOptions {
  /** Watches ask the server to end after this long, jittered to [1x, 2x). */
  readonly watchTimeoutMs: number;
  /** A watch still open this long past its timeoutSeconds is taken for dead. */
  readonly watchGraceMs: number;
  readonly random: () => number;
}

export interface WatchHandlers {
  /** One well-formed change; returns whether it changed what is held. */
  change(type: Change, object: KeyedItem): boolean;
  /**
   * The events read in one chunk of the stream were applied (or a BOOKMARK came): publish
   * what changed (`changed`), then resume from `position`.
   */
  flush(position: string, changed: boolean): void;
  /** Garbage: reported, never counted as received. */
  invalid(problem: InvalidRecordError): void;
}

/**
 * One watch from `position`, with a jittered `timeoutSeconds` and bookmarks. Events read in
 * one chunk of the stream are applied together, then flushed with the last event's
 * resourceVersion; a BOOKMARK flushes at its resourceVersion; ERROR 410 resolves `'relist'`,
 * another ERROR rejects; the stream's end resolves `'ended'`. A watch still open past its
 * `timeoutSeconds` plus the grace is aborted and rejects (`watch-silent`). Events of an
 * unknown type or without a keyed object are garbage. Resolves `'ended'` soon after `signal` aborts.
 */
export function watchObjects(api: KubeApi, position: string, options: WatchOptions, context: StreamContext, handlers: WatchHandlers, signal: AbortSignal): Promise<FollowEnd> {
  const timeoutSeconds = Math.max(1, Math.round((options.watchTimeoutMs / 1000) * (1 + options.random())));
  const silenceMs = Math.min(maxTimerMs, timeoutSeconds * 1000 + options.watchGraceMs);
  const what = `watching ${context.what}`;
  return new Promise<FollowEnd>((resolve, reject) => {
    let settled = false;
    let handle: { abort(): void } | undefined;
    /** Applied since the last flush. */
    let changed = false;
    /** The position of the last well-formed event not flushed yet. */
    let pending: string | undefined;
    let flushQueued = false;

    const publish = () => {
      flushQueued = false;
      if (pending === undefined) return;
      const at = pending;
      const any = changed;
      pending = undefined;
      changed = false;
      handlers.flush(at, any);
    };
    const finish = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(silence);
      signal.removeEventListener('abort', onAbort);
      handle?.abort();
      try {
        publish();
      } catch (error) {
        return reject(streamError(context, error, what, silenceMs + 1000));
      }
      outcome();
    };
    const fail = (error: unknown) => finish(() => reject(streamError(context, error, what, silenceMs + 1000)));
    // Every callback below runs under a guard: a throw fails this watch (the engine retries), never the process.
    const guarded =
      <A extends unknown[]>(run: (...args: A) => void) =>
      (...args: A) => {
        if (settled) return;
        try {
          run(...args);
        } catch (error) {
          fail(error);
        }
      };

    const onAbort = () => finish(() => resolve('ended'));
    const silence = setTimeout(
      guarded(() => {
        const message = `the watch sent nothing to end it ${silenceMs - timeoutSeconds * 1000} ms past its timeoutSeconds (${timeoutSeconds}); restarting it`;
        context.emit('watch-silent', message);
        finish(() => reject(new ProviderUnavailableError('kubernetes', `${what}: ${message}`)));
      }),
      silenceMs,
    );
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) return onAbort();

    const onEvent = guarded((type: unknown, object: unknown) => {
      if (type === 'ERROR') {
        const status = (typeof object === 'object' && object !== null ? object : {}) as { code?: unknown; message?: unknown };
        if (status.code === 410) return finish(() => resolve('relist'));
        const code = typeof status.code === 'number' ? status.code : 500;
        const message = typeof status.message === 'string' ? status.message : `an ERROR event (${describe(object)})`;
        return fail(Object.assign(new Error(message), { statusCode: code }));
      }
      if (type === 'BOOKMARK') {
        const version = (object as KubeItem | null)?.metadata?.resourceVersion;
        if (typeof version !== 'string' || version === '') return handlers.invalid(new InvalidRecordError('watch event', `a BOOKMARK without a resourceVersion (${describe(object)})`));
        pending = version;
        return publish();
      }
      if (typeof type !== 'string' || !changeTypes.has(type)) {
        return handlers.invalid(new InvalidRecordError('watch event', `an event of unknown type ${describe(type)}`));
      }
      if (!isKeyed(object)) {
        return handlers.invalid(new InvalidRecordError(objectKey(object), `${type} event without metadata.name and metadata.resourceVersion`));
      }
      if (handlers.change(type as Change, object)) changed = true;
      pending = object.metadata.resourceVersion;
      // Events read in one chunk of the stream (a rolling update) are published as one snapshot.
      if (!flushQueued) {
        flushQueued = true;
        setImmediate(guarded(publish));
      }
    });
    const onDone = guarded((error: unknown) => {
      if (error && !signal.aborted) fail(error);
      else finish(() => resolve('ended'));
    });

    api.watch({ resourceVersion: position, timeoutSeconds, inactivityMs: silenceMs }, onEvent, onDone).then(
      (connected) => {
        if (settled) connected.abort();
        else handle = connected;
      },
      (error: unknown) => fail(error),
    );
  });
}

import { InvalidRecordError, ProviderUnavailableError, type Instance, type ProviderEvent } from '@disco/core';
import type { FollowEnd, FollowSink, ListResult, ServiceSource } from '@disco/core/provider';
import type { ObjectMapper } from './candidate.js';
import { apiError, isGone, type ErrorContext } from './errors.js';
import { describe, objectKey } from './fields.js';
import type { KubeApi, KubeItem } from './kube-api.js';
import { ServiceView, type Policy } from './service-view.js';

export interface KubernetesSourceOptions {
  readonly pageSize: number;
  /** Watches ask the server to end after this long, jittered to [1x, 2x). */
  readonly watchTimeoutMs: number;
  /** A watch still open this long past its timeoutSeconds is taken for dead. */
  readonly watchGraceMs: number;
  readonly random?: (() => number) | undefined;
}

export interface KubernetesSourceHooks {
  /** Provider events of the source's own: `resync` (a list started over), `watch-silent`, `invalid-record` (from the mapper). */
  emit(event: ProviderEvent): void;
  readonly errors: ErrorContext;
  /** What is read, for messages: `EndpointSlices "<selector>" in namespace <ns>`. */
  readonly what: string;
}

/** A list page that takes longer is given up (the API server's own limit for ordinary requests is 60 s). */
const pageTimeoutMs = 60_000;
/** Node treats longer timer delays as 1 ms. */
const maxTimerMs = 2 ** 31 - 1;
const changeTypes = new Set(['ADDED', 'MODIFIED', 'DELETED']);

type Change = 'ADDED' | 'MODIFIED' | 'DELETED';
const empty: readonly Instance[] = [];

/**
 * Hands the engine what changed between two snapshots of the view, both sorted by id with
 * unchanged instances kept as the same objects: a walk comparing references, then one upsert
 * or remove per change (the engine publishes them as one snapshot), so a change costs
 * O(changes) in the engine rather than a re-check of every instance.
 */
function sendChanges(before: readonly Instance[], after: readonly Instance[], sink: FollowSink<string>): void {
  let i = 0;
  let j = 0;
  while (i < before.length || j < after.length) {
    const old = before[i];
    const now = after[j];
    if (now !== undefined && (old === undefined || now.id < old.id)) {
      sink.upsert(now);
      j++;
    } else if (old !== undefined && (now === undefined || old.id < now.id)) {
      sink.remove(old.id);
      i++;
    } else {
      if (old !== now) sink.upsert(now!);
      i++;
      j++;
    }
  }
}

/** An object we can key and version: metadata.name and metadata.resourceVersion are non-empty strings. */
function isKeyed(object: unknown): object is KubeItem & { metadata: { name: string; resourceVersion: string } } {
  if (typeof object !== 'object' || object === null) return false;
  const metadata = (object as KubeItem).metadata;
  return typeof metadata === 'object' && metadata !== null && typeof metadata.name === 'string' && metadata.name !== '' && typeof metadata.resourceVersion === 'string' && metadata.resourceVersion !== '';
}

/**
 * One service's EndpointSlices (or pods) as a {@link ServiceSource} for core's watch engine:
 * - `list` reads every page for the selector; the position is the list's resourceVersion
 *   (opaque: stored and sent back, never compared). An expired continue token (410) starts the
 *   list over once.
 * - `follow` is one watch from that resourceVersion, with a jittered `timeoutSeconds` and
 *   bookmarks. Events read in one chunk of the stream are applied to the view together, and
 *   what changed in it goes to the engine as upserts and removes, then `advance` to the last
 *   event's resourceVersion; a BOOKMARK advances the position; ERROR 410 resolves `'relist'`,
 *   another ERROR rejects; the stream's end resolves `'ended'`. A watch still open past its
 *   `timeoutSeconds` plus the grace is aborted and rejects (`watch-silent`). Events of an
 *   unknown type or without a keyed object are garbage: reported through `invalid`, never
 *   counted as received.
 * The engine owns everything else: backoff, the clean-end rule, the request-rate bound, replay.
 */
export class KubernetesSource implements ServiceSource<string> {
  readonly #api: KubeApi;
  readonly #view: ServiceView;
  readonly #options: KubernetesSourceOptions;
  readonly #hooks: KubernetesSourceHooks;
  readonly #random: () => number;

  constructor(api: KubeApi, map: ObjectMapper<KubeItem>, policy: Policy, options: KubernetesSourceOptions, hooks: KubernetesSourceHooks) {
    this.#api = api;
    this.#options = options;
    this.#hooks = hooks;
    this.#random = options.random ?? Math.random;
    this.#view = new ServiceView(map, policy, (problem) => this.#invalid(problem));
  }

  async list(signal: AbortSignal): Promise<ListResult<string>> {
    let page;
    for (let attempt = 0; ; attempt++) {
      try {
        page = await this.#listAll(signal);
        break;
      } catch (error) {
        // An expired continue token: the list changed under us; start over, once.
        if (!isGone(error) || attempt > 0 || signal.aborted) throw this.#error(error, `listing ${this.#hooks.what}`, pageTimeoutMs);
        this.#emit('resync', 'the list continuation expired (410 Gone); listing again');
      }
    }
    const objects: KubeItem[] = [];
    for (const item of page.items) {
      if (isKeyed(item)) objects.push(item);
      else this.#invalid(new InvalidRecordError(objectKey(item), `a listed object without metadata.name and metadata.resourceVersion (${describe(item)})`));
    }
    this.#view.replace(objects);
    // Without a resourceVersion there is nothing to watch from: "0" means "any", which the API
    // server answers with the whole state again as ADDED events; harmless, just costly.
    return { instances: this.#view.snapshot ?? [], position: page.resourceVersion ?? '0' };
  }

  follow(position: string, sink: FollowSink<string>, signal: AbortSignal): Promise<FollowEnd> {
    const timeoutSeconds = Math.max(1, Math.round((this.#options.watchTimeoutMs / 1000) * (1 + this.#random())));
    const silenceMs = Math.min(maxTimerMs, timeoutSeconds * 1000 + this.#options.watchGraceMs);
    const what = `watching ${this.#hooks.what}`;
    return new Promise<FollowEnd>((resolve, reject) => {
      let settled = false;
      let handle: { abort(): void } | undefined;
      /** Applied to the view since the last publish. */
      let changed = false;
      /** The position of the last well-formed event not published yet. */
      let pending: string | undefined;
      let flushQueued = false;

      const publish = () => {
        flushQueued = false;
        if (pending === undefined) return;
        const at = pending;
        pending = undefined;
        const before = this.#view.snapshot ?? empty;
        if (changed && this.#view.rebuild()) sendChanges(before, this.#view.snapshot ?? empty, sink);
        changed = false;
        sink.advance(at);
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
          return reject(this.#error(error, what, silenceMs + 1000));
        }
        outcome();
      };
      const fail = (error: unknown) => finish(() => reject(this.#error(error, what, silenceMs + 1000)));
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
          this.#emit('watch-silent', message);
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
          if (typeof version !== 'string' || version === '') return sink.invalid(new InvalidRecordError('watch event', `a BOOKMARK without a resourceVersion (${describe(object)})`));
          pending = version;
          return publish();
        }
        if (typeof type !== 'string' || !changeTypes.has(type)) {
          return sink.invalid(new InvalidRecordError('watch event', `an event of unknown type ${describe(type)}`));
        }
        if (!isKeyed(object)) {
          return sink.invalid(new InvalidRecordError(objectKey(object), `${type} event without metadata.name and metadata.resourceVersion`));
        }
        if (this.#view.apply(type as Change, object)) changed = true;
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

      this.#api.watch({ resourceVersion: position, timeoutSeconds, inactivityMs: silenceMs }, onEvent, onDone).then(
        (connected) => {
          if (settled) connected.abort();
          else handle = connected;
        },
        (error: unknown) => fail(error),
      );
    });
  }

  async #listAll(signal: AbortSignal): Promise<{ items: unknown[]; resourceVersion: string | undefined }> {
    const items: unknown[] = [];
    let next: string | undefined;
    let resourceVersion: string | undefined;
    do {
      const page = await this.#page(next, signal);
      for (const item of page.items) items.push(item);
      next = page.continue;
      resourceVersion = page.resourceVersion;
    } while (next !== undefined && !signal.aborted);
    return { items, resourceVersion };
  }

  /** One page, given up after pageTimeoutMs (a timer cleared with the page, so nothing outlives it). */
  async #page(next: string | undefined, signal: AbortSignal) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new DOMException(`no answer within ${pageTimeoutMs} ms`, 'TimeoutError')), pageTimeoutMs);
    const onAbort = () => controller.abort(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    try {
      return await this.#api.list({ continue: next, limit: this.#options.pageSize, signal: controller.signal });
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    }
  }

  #error(error: unknown, what: string, timeoutMs?: number) {
    return apiError(error, what, { ...this.#hooks.errors, timeoutMs });
  }

  #invalid(problem: InvalidRecordError): void {
    this.#hooks.emit({ type: 'invalid-record', message: problem.message, error: problem });
  }

  #emit(type: 'resync' | 'watch-silent', message: string): void {
    this.#hooks.emit({ type, message: `${this.#hooks.what}: ${message}` });
  }
}

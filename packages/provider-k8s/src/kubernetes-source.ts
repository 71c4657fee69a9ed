import type { Instance, InvalidRecordError, ProviderEvent } from '@disco/core';
import type { FollowEnd, FollowSink, ListResult, ServiceSource } from '@disco/core/provider';
import type { ObjectMapper } from './candidate.js';
import type { ErrorContext } from './errors.js';
import type { KubeApi, KubeItem } from './kube-api.js';
import { listObjects, watchObjects, type StreamContext } from './object-stream.js';
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

const empty: readonly Instance[] = [];

/**
 * Hands the engine what changed between two snapshots of a view, both sorted by id with
 * unchanged instances kept as the same objects: a walk comparing references, then one upsert
 * or remove per change (the engine publishes them as one snapshot), so a change costs
 * O(changes) in the engine rather than a re-check of every instance.
 */
export function sendChanges(before: readonly Instance[], after: readonly Instance[], sink: FollowSink<string>): void {
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

/** The StreamContext of a source: its events go to `emit`, its messages name `what`. */
export function streamContext(hooks: KubernetesSourceHooks): StreamContext {
  return {
    errors: hooks.errors,
    what: hooks.what,
    emit: (type, message) => hooks.emit({ type, message: `${hooks.what}: ${message}` }),
    invalid: (problem: InvalidRecordError) => hooks.emit({ type: 'invalid-record', message: problem.message, error: problem }),
  };
}

/**
 * One service's EndpointSlices (or pods) as a {@link ServiceSource} for core's watch engine:
 * - `list` reads every page for the selector ({@link listObjects}); the position is the list's
 *   resourceVersion.
 * - `follow` is one watch from that resourceVersion ({@link watchObjects}): what changed in one
 *   chunk of the stream goes to the engine as upserts and removes, then `advance` to the last
 *   event's resourceVersion; a BOOKMARK advances the position; ERROR 410 resolves `'relist'`.
 * The engine owns everything else: backoff, the clean-end rule, the request-rate bound, replay.
 */
export class KubernetesSource implements ServiceSource<string> {
  readonly #api: KubeApi;
  readonly #view: ServiceView;
  readonly #options: KubernetesSourceOptions;
  readonly #context: StreamContext;
  readonly #random: () => number;

  constructor(api: KubeApi, map: ObjectMapper<KubeItem>, policy: Policy, options: KubernetesSourceOptions, hooks: KubernetesSourceHooks) {
    this.#api = api;
    this.#options = options;
    this.#context = streamContext(hooks);
    this.#random = options.random ?? Math.random;
    this.#view = new ServiceView(map, policy, (problem) => this.#context.invalid(problem));
  }

  async list(signal: AbortSignal): Promise<ListResult<string>> {
    const listed = await listObjects(this.#api, this.#options.pageSize, this.#context, signal);
    this.#view.replace(listed.objects);
    return { instances: this.#view.snapshot ?? [], position: listed.resourceVersion };
  }

  follow(position: string, sink: FollowSink<string>, signal: AbortSignal): Promise<FollowEnd> {
    const { watchTimeoutMs, watchGraceMs } = this.#options;
    return watchObjects(
      this.#api,
      position,
      { watchTimeoutMs, watchGraceMs, random: this.#random },
      this.#context,
      {
        change: (type, object) => this.#view.apply(type, object),
        flush: (at, changed) => {
          const before = this.#view.snapshot ?? empty;
          if (changed && this.#view.rebuild()) sendChanges(before, this.#view.snapshot ?? empty, sink);
          sink.advance(at);
        },
        invalid: (problem) => sink.invalid(problem),
      },
      signal,
    );
  }
}

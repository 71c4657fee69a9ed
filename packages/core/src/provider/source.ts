import type { BackoffOptions } from '../backoff.js';
import type { DiscoveryError, InvalidRecordError } from '../errors.js';
import type { Instance } from '../service.js';

/**
 * How a provider tells core about one service. A provider only maps its backend onto this;
 * core's watch engine does the rest, once, for every provider (see {@link WatchEngine}).
 *
 * - `list` reads the whole state, with the position to follow from where the backend has one
 *   (etcd: the range's `header.revision + 1`; Kubernetes: the list's `resourceVersion`;
 *   Consul: `X-Consul-Index`).
 * - `follow`, where the backend can push or long-poll, delivers changes from that position
 *   into the sink until it ends: resolve `'ended'` when it ended cleanly (a watch timeout, a
 *   long-poll's answer), `'relist'` when the position is gone (410 Gone, a compacted
 *   revision), and reject when it failed. It must settle soon after `signal` aborts.
 * - `attach` instead of `follow`, where the changes come from one stream shared by many
 *   services (a prefix watch, a change feed, a namespace watch): it hooks the sink onto that
 *   stream and returns a function that unhooks it; the stream ends the attachment with
 *   `sink.end(…)`. Nothing per service waits on a promise or holds an `AbortController`
 *   (~0.9 KB each in Node), which is what lets one process follow thousands of services.
 * - With neither, the engine polls `list` (every `refreshMs` of its result, or the source's
 *   `pollMs`).
 *
 * Both reject with a `DiscoveryError` (anything else is wrapped as `ERR_PROVIDER_UNAVAILABLE`);
 * a record that cannot be read is left out and reported through `invalid`, never a failure.
 */
export interface ServiceSource<P = unknown> {
  list(signal: AbortSignal): Promise<ListResult<P>>;
  follow?(position: P, sink: FollowSink<P>, signal: AbortSignal): Promise<FollowEnd>;
  /**
   * Hooks `sink` onto a stream shared with other services, from `position`; returns what unhooks
   * it, which the engine calls with the sink when it stops following (never after `sink.end`):
   * a shared stream can hand every sink the same function. An unhook that takes a while (a
   * stream's cancel) returns a promise, which the engine's `close` waits for. Used instead of
   * `follow` when a source has both.
   */
  attach?(position: P, sink: AttachedSink<P>): Unhook<P>;
  /** Poll interval for a source without `follow` whose list gave no `refreshMs`. Default 30s. */
  readonly pollMs?: number;
  /** Re-list this often while following, to catch a stream that went silent; 0 = never. Default 0. */
  readonly resyncMs?: number;
  /** The provider's retry backoff for this source (its `backoff` option), wherever the source runs. */
  readonly backoff?: BackoffOptions | undefined;
  /** The provider's bound on lists and follows per second (default 5/s, burst 10). */
  readonly rate?: { readonly perSecond: number; readonly burst: number } | undefined;
}

export interface ListResult<P = unknown> {
  readonly instances: Iterable<Instance>;
  /** Where `follow` starts. Required for a source with `follow`. */
  readonly position?: P;
  /** For a polled source: when to read again (e.g. the records' TTL), in ms. */
  readonly refreshMs?: number;
  /**
   * Records this list skipped, with the reason (a target without an address, an undecodable
   * record). Reported as `invalid-record` events, once per message while they stay bad.
   */
  readonly invalid?: readonly InvalidRecordError[];
}

/** `'ended'`: a clean end, resume from the last position. `'relist'`: that position is gone, list again. */
export type FollowEnd = 'ended' | 'relist';

/**
 * Where `follow` puts what it receives. `replace` is published at once; `upsert` and `remove`
 * calls made in one turn of the event loop are published as one snapshot. Only real deliveries (`replace`, `upsert`, `remove`, `advance`)
 * count as "received" for the clean-end rule; `invalid` does not, so garbage cannot keep a
 * failing watch looking healthy.
 */
export interface FollowSink<P = unknown> {
  /** The whole state as of `position` (a long-poll answer). */
  replace(instances: Iterable<Instance>, position?: P): void;
  /**
   * The whole state from a periodic re-list under the stream (a safety net for a stream that
   * may have gone silent): like `replace`, and reported as a `resync` event when it differs
   * from what was delivered.
   */
  resync(instances: Iterable<Instance>, position?: P): void;
  /** An instance added or changed (matched by id). */
  upsert(instance: Instance): void;
  /** An instance gone (by id); unknown ids are fine. */
  remove(id: string): void;
  /** Progress without a change (a bookmark, a progress notification): resume from here. */
  advance(position: P): void;
  /** A record that was skipped: reported as an `invalid-record` event, once per message while it stays bad. */
  invalid(error: InvalidRecordError): void;
  /**
   * For a follow that reconnects by itself: what subscribers hold may be stale, but the follow
   * goes on. It is one outage (one `{error}`) until the next `replace`, which ends it. A follow
   * that cannot go on rejects instead.
   */
  stale(error: DiscoveryError): void;
}

/** Unhooks an attached sink (see {@link ServiceSource.attach}). */
export type Unhook<P = unknown> = (sink: AttachedSink<P>) => void | Promise<void>;

/** The sink of an attached source: a {@link FollowSink} the shared stream also ends. */
export interface AttachedSink<P = unknown> extends FollowSink<P> {
  /** The service it is for. */
  readonly service: string;
  /**
   * The attachment is over, as a follow would settle: `'ended'` (resume from the last position),
   * `'relist'` (the position is gone), or the failure. The engine does not call the unhook then.
   */
  end(result: FollowEnd | DiscoveryError): void;
}

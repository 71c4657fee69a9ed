import type { AttachedSink, FollowEnd, FollowSink } from './source.js';

/**
 * A `follow` (a stream of its own, ended by a signal, settling a promise) run as an attachment:
 * its end goes to `sink.end`, and the unhook aborts it and resolves once it has let go. The
 * engine runs every `follow` through this; a source that attaches to a shared stream in one
 * mode and follows its own in another (etcd's prefix and per-service modes) uses it too.
 */
export function attachFollow<P>(
  follow: (position: P, sink: FollowSink<P>, signal: AbortSignal) => Promise<FollowEnd>,
  position: P,
  sink: AttachedSink<P>,
): () => Promise<void> {
  const controller = new AbortController();
  let following: Promise<FollowEnd>;
  try {
    following = follow(position, sink, controller.signal);
  } catch (error) {
    following = Promise.reject(error as Error);
  }
  const settled = following
    .then(
      (end) => sink.end(end),
      // The engine turns whatever it gets into a DiscoveryError naming the provider.
      (error: unknown) => sink.end(error as Parameters<AttachedSink<P>['end']>[0]),
    )
    // Whatever the source left on its signal goes with it.
    .finally(() => controller.abort());
  return () => {
    controller.abort();
    return settled;
  };
}

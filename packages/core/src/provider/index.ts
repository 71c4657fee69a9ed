// @disco/core/provider — the kit provider authors build on. Applications use `@disco/core`.
// A provider maps its backend onto a ServiceSource per service name; core's WatchEngine owns
// sharing, replay, staleness, backoff, the clean-end rule, resync and reconciliation.
export type { AttachedSink, FollowEnd, FollowSink, ListResult, ServiceSource, Unhook } from './source.js';
export { attachFollow } from './attach-follow.js';
export { WatchEngine, minHealthyFollowMs, type EngineHooks, type EngineOptions } from './watch-engine.js';
export { WatchHub, type WatchHubOptions } from './watch-hub.js';
export { sourceFromProvider } from './provider-source.js';
export { InstanceSet } from './instance-set.js';
export { instanceProblem } from './instance-check.js';
export { RateLimiter } from './rate-limiter.js';
export { Backoff, jitter, type BackoffOptions } from '../backoff.js';
export { reconcile, sameSnapshot } from '../snapshot.js';
export { createRedactor } from '../logger.js';
export { Listeners, unsubscribeOnAbort } from '../listeners.js';
export { abortable, delay, settleWithin, throwIfAborted } from '../abort.js';
export { toDiscoveryError } from '../to-discovery-error.js';
export { parseHostPort } from '../validate.js';
export { assertKnownKeys, nearestKey } from './options-check.js';
export { readPem, type PemSource } from './pem.js';

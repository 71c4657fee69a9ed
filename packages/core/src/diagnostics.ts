import { channel, tracingChannel } from 'node:diagnostics_channel';
import type { DiscoveryError } from './errors.js';
import type { HealthStatus } from './health/probe.js';
import type { ProviderEvent } from './provider.js';
import type { Instance } from './service.js';

// What disco does, published on node:diagnostics_channel (as undici publishes `undici:request:*`),
// for metrics, tracing and debugging without a dependency: `diagnostics_channel.subscribe(
// 'disco:snapshot', (message) => …)`. Publishing is skipped when a channel has no subscriber,
// so an unobserved process pays one property read per event. @disco/opentelemetry subscribes.

/** `disco:snapshot` — a service's instances changed (counts always; added/removed instances). */
export interface SnapshotMessage {
  readonly service: string;
  readonly provider: string;
  readonly instances: number;
  readonly healthy: number;
  readonly added: readonly Instance[];
  readonly removed: readonly Instance[];
}
/** `disco:watch:error` — an outage began for a service (once per outage). */
export interface WatchErrorMessage {
  readonly service: string;
  readonly provider: string;
  readonly error: DiscoveryError;
}
/** `disco:watch:recovered` — the outage is over; `staleMs` is how long it lasted. */
export interface WatchRecoveredMessage {
  readonly service: string;
  readonly provider: string;
  readonly staleMs: number;
}
/**
 * The context object of the tracing channels `disco:register`, `disco:deregister` and
 * `disco:discover` (node's TracingChannel: `tracing:disco:register:start`, `:end`,
 * `:asyncStart`, `:asyncEnd`, `:error`), so a tracer can open a span on start and close it on
 * asyncEnd in the caller's async context. `result` (discover: the instances) and `error` are
 * set by Node when the call settles.
 */
export interface OperationContext {
  readonly provider: string;
  /** register: the service; deregister: its id; discover: the service name. */
  readonly service: string;
  readonly serviceId?: string | undefined;
  result?: unknown;
  error?: unknown;
}
/** `disco:health` — a local health check result for one of this process's registrations. */
export interface HealthMessage {
  readonly serviceId: string;
  readonly service: string;
  readonly status: HealthStatus;
  readonly changed: boolean;
}
/** `disco:provider:event` — every provider event (lease lost/restored, skipped records, resyncs). */
export interface ProviderEventMessage {
  readonly provider: string;
  readonly event: ProviderEvent;
}
/** `disco:call:start` / `disco:call:end` — a call through `acquire()` and its `release()`. */
export interface CallMessage {
  readonly service: string;
  readonly instance: Instance;
  readonly ok?: boolean | undefined;
  readonly latencyMs?: number | undefined;
}

export const channels = {
  snapshot: channel('disco:snapshot'),
  watchError: channel('disco:watch:error'),
  watchRecovered: channel('disco:watch:recovered'),
  register: tracingChannel<unknown, OperationContext>('disco:register'),
  deregister: tracingChannel<unknown, OperationContext>('disco:deregister'),
  discover: tracingChannel<unknown, OperationContext>('disco:discover'),
  health: channel('disco:health'),
  providerEvent: channel('disco:provider:event'),
  callStart: channel('disco:call:start'),
  callEnd: channel('disco:call:end'),
} as const;

/** The channel names, for subscribers (`diagnostics_channel.subscribe(channelNames.snapshot, …)`). */
export const channelNames = {
  snapshot: 'disco:snapshot',
  watchError: 'disco:watch:error',
  watchRecovered: 'disco:watch:recovered',
  register: 'disco:register',
  deregister: 'disco:deregister',
  discover: 'disco:discover',
  health: 'disco:health',
  providerEvent: 'disco:provider:event',
  callStart: 'disco:call:start',
  callEnd: 'disco:call:end',
} as const;

/** The instances of `next` that are not in `previous` (by object: unchanged instances keep theirs). */
export function difference(next: readonly Instance[], previous: readonly Instance[]): Instance[] {
  const old = new Set(previous);
  const out: Instance[] = [];
  for (const instance of next) if (!old.has(instance)) out.push(instance);
  return out;
}

/** Runs `work` through a tracing channel when anybody listens; otherwise just runs it. */
export function traced<T>(tracing: (typeof channels)['register'], context: OperationContext, work: () => Promise<T>): Promise<T> {
  return tracing.hasSubscribers ? tracing.tracePromise(work, context) : work();
}

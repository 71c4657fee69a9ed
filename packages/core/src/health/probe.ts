import { describeValue } from '../describe-value.js';
import { ConfigError } from '../errors.js';
import type { HealthCheck } from '../service.js';

/** Consul's vocabulary: warning still takes traffic, critical does not. */
export type HealthStatus = 'passing' | 'warning' | 'critical';

const healthStatuses: readonly unknown[] = ['passing', 'warning', 'critical'];

/** For statuses that come from callers (`heartbeat(id, status)`): anything else is ERR_CONFIG. */
export function assertHealthStatus(status: unknown, what: string): asserts status is HealthStatus {
  if (!healthStatuses.includes(status)) throw new ConfigError(`${what}: status must be one of ${healthStatuses.join(', ')}; got ${describeValue(status)}`, 'status');
}

export interface ProbeOptions {
  /** Give up (critical) after this long. */
  readonly timeoutMs: number;
  /** Fires when the agent stops; the probe must release its socket. */
  readonly signal: AbortSignal;
}

/**
 * Runs one check against `target` (the value of the check's field: a URL for http,
 * "host:port" for tcp, "host:port[/service]" for grpc) and says how it went. Never throws:
 * a failure is `critical`.
 */
export type HealthProbe = (target: string, options: ProbeOptions) => Promise<HealthStatus>;

export type ProbeKind = Exclude<keyof HealthCheck, 'ttl' | 'interval' | 'timeout' | 'deregisterAfter' | 'successBeforePassing' | 'failuresBeforeCritical'>;

const probes = new Map<string, HealthProbe>();

/**
 * Makes checks of this kind runnable by the local health agent (`grpc` comes from
 * @disco/grpc-resolver). http and tcp are built in; registering one replaces the built-in.
 */
export function registerProbe(kind: ProbeKind, probe: HealthProbe): void {
  probes.set(kind, probe);
}

export function getProbe(kind: string): HealthProbe | undefined {
  return probes.get(kind);
}

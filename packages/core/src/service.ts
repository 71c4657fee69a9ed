import type { Duration } from './duration.js';

/** A health check definition: exactly one of `http`, `tcp`, `grpc` or `ttl`. */
export interface HealthCheck {
  /** URL probed with GET: 2xx passing, 429 warning, anything else critical. */
  http?: string;
  /** `host:port` that must accept a TCP connection. */
  tcp?: string;
  /** `host:port[/service]` answered by grpc.health.v1 (probe from @disco/grpc-resolver). */
  grpc?: string;
  /** The service itself must report within this period (`discovery.heartbeat(id)`). */
  ttl?: Duration;
  /** How often the probe runs. Default 10s. */
  interval?: Duration;
  /** How long one probe may take. Default 5s. Probes never overlap: the next starts an interval after one ends. */
  timeout?: Duration;
  /** Remove the registration after it has been critical this long. Default: never. */
  deregisterAfter?: Duration;
  /** Consecutive passes needed to become passing again. Default 1. */
  successBeforePassing?: number;
  /** Consecutive failures needed to become critical. Default 1. */
  failuresBeforeCritical?: number;
}

/** What a process registers. */
export interface Service {
  id: string;
  name: string;
  version?: string;
  address: string;
  port: number;
  tags?: string[];
  metadata?: Record<string, string>;
  /** Relative share of traffic; default 1. */
  weight?: number;
  /** Locality: datacenter or availability zone. */
  zone?: string;
  health?: HealthCheck;
}

/** What discovery returns. Frozen: share it freely, key state by it. */
export interface Instance {
  readonly id: string;
  readonly name: string;
  readonly version?: string;
  readonly address: string;
  readonly port: number;
  readonly tags: readonly string[];
  readonly metadata: Readonly<Record<string, string>>;
  readonly healthy: boolean;
  readonly weight: number;
  readonly zone?: string;
}

/** Fields accepted by {@link createInstance}; everything but id, name, address and port is optional. */
export interface InstanceInit {
  id: string;
  name: string;
  version?: string | undefined;
  address: string;
  port: number;
  tags?: readonly string[] | undefined;
  metadata?: Readonly<Record<string, string>> | undefined;
  healthy?: boolean | undefined;
  weight?: number | undefined;
  zone?: string | undefined;
}

const emptyTags: readonly string[] = Object.freeze([]);
const emptyMetadata: Readonly<Record<string, string>> = Object.freeze({});

/** Builds a frozen Instance with defaults filled in (healthy, weight 1, no tags, no metadata). */
export function createInstance(init: InstanceInit): Instance {
  const instance: { -readonly [K in keyof Instance]: Instance[K] } = {
    id: init.id,
    name: init.name,
    address: init.address,
    port: init.port,
    tags: init.tags && init.tags.length > 0 ? Object.freeze([...init.tags]) : emptyTags,
    metadata: init.metadata && Object.keys(init.metadata).length > 0 ? Object.freeze({ ...init.metadata }) : emptyMetadata,
    healthy: init.healthy ?? true,
    weight: init.weight ?? 1,
  };
  if (init.version !== undefined) instance.version = init.version;
  if (init.zone !== undefined) instance.zone = init.zone;
  return Object.freeze(instance);
}

/** The instance a registered service becomes. */
export function instanceFromService(service: Service, healthy = true): Instance {
  return createInstance({ ...service, healthy });
}

/** `host:port`, with IPv6 addresses in brackets: "10.0.0.1:8080", "[fd00::1]:8080". */
export function endpoint(instance: Pick<Instance, 'address' | 'port'>): string {
  const { address, port } = instance;
  return address.includes(':') && !address.startsWith('[') ? `[${address}]:${port}` : `${address}:${port}`;
}

/** Field-by-field equality of two instances (tags in order, metadata by key). */
export function sameInstance(a: Instance, b: Instance): boolean {
  if (a === b) return true;
  if (
    a.id !== b.id || a.name !== b.name || a.version !== b.version || a.address !== b.address ||
    a.port !== b.port || a.healthy !== b.healthy || a.weight !== b.weight || a.zone !== b.zone ||
    a.tags.length !== b.tags.length
  ) {
    return false;
  }
  for (let i = 0; i < a.tags.length; i++) if (a.tags[i] !== b.tags[i]) return false;
  if (a.metadata === b.metadata) return true;
  // Counted with for-in rather than Object.keys: no arrays allocated per comparison.
  let count = 0;
  for (const key in a.metadata) {
    if (a.metadata[key] !== b.metadata[key]) return false;
    count++;
  }
  for (const _ in b.metadata) count--;
  return count === 0;
}

import { InvalidRecordError, InvalidServiceError, createInstance, isValidAddress, isValidPort, parseDuration, type HealthCheck, type HealthStatus, type Instance, type Service } from '@disco/core';

/** Meta keys that carry Service fields Consul has no place for. */
export const versionKey = 'version';
export const zoneKey = 'zone';

const metaKey = /^[a-zA-Z0-9_-]+$/;

/** The ID of the check disco registers with a service (Consul's own default for a single check). */
export const checkId = (serviceId: string): string => `service:${serviceId}`;

/**
 * The body of `PUT /v1/agent/service/register` for a service: Meta carries the metadata plus
 * `version` and `zone`; Weights are sent explicitly (Consul's default changed across
 * versions), Passing = the weight rounded to a whole number of at least 1, Warning = 1.
 */
export function toRegistration(service: Service, healthy: boolean, ttlStatus: HealthStatus = 'passing'): Record<string, unknown> {
  const problems: string[] = [];
  const meta: Record<string, string> = { ...service.metadata };
  if (service.version !== undefined) meta[versionKey] = service.version;
  if (service.zone !== undefined) meta[zoneKey] = service.zone;
  const entries = Object.entries(meta);
  if (entries.length > 64) problems.push(`metadata has ${entries.length} keys (with version and zone); Consul allows 64`);
  for (const [key, value] of entries) {
    if (!metaKey.test(key)) problems.push(`metadata key ${JSON.stringify(key)} is not allowed by Consul: use letters, digits, "-" and "_"`);
    else if (key.startsWith('consul-')) problems.push(`metadata key ${JSON.stringify(key)} uses the prefix "consul-", which Consul reserves`);
    else if (key.length > 128) problems.push(`metadata key ${JSON.stringify(key.slice(0, 20))}… is longer than Consul's 128 characters`);
    if (value.length > 512) problems.push(`metadata.${key} is longer than Consul's 512 characters`);
  }
  const body: Record<string, unknown> = {
    ID: service.id,
    Name: service.name,
    Tags: service.tags ?? [],
    Address: service.address.replace(/^\[(.*)\]$/, '$1'),
    Port: service.port,
    Meta: meta,
    Weights: { Passing: Math.max(1, Math.round(service.weight ?? 1)), Warning: 1 },
  };
  if (service.health) {
    try {
      body.Check = toCheck(service, healthy, ttlStatus);
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  if (problems.length > 0) throw new InvalidServiceError(problems);
  return body;
}

function toCheck(service: Service, healthy: boolean, ttlStatus: HealthStatus): Record<string, unknown> {
  const health = service.health as HealthCheck;
  const check: Record<string, unknown> = { CheckID: checkId(service.id), Name: `disco check of ${service.id}` };
  if (health.ttl !== undefined) {
    check.TTL = goDuration(parseDuration(health.ttl, 'health.ttl'));
    // Start with the status the service reported (passing until it says otherwise): Consul's
    // default, critical, would blink the instance out until the first heartbeat.
    if (healthy) check.Status = ttlStatus;
  } else {
    if (health.http !== undefined) {
      check.HTTP = health.http;
      check.Method = 'GET';
    } else if (health.tcp !== undefined) check.TCP = health.tcp;
    else if (health.grpc !== undefined) check.GRPC = health.grpc;
    check.Interval = goDuration(parseDuration(health.interval ?? '10s', 'health.interval'));
    if (health.timeout !== undefined) check.Timeout = goDuration(parseDuration(health.timeout, 'health.timeout'));
  }
  if (health.deregisterAfter !== undefined) check.DeregisterCriticalServiceAfter = goDuration(parseDuration(health.deregisterAfter, 'health.deregisterAfter'));
  if (health.successBeforePassing !== undefined) check.SuccessBeforePassing = health.successBeforePassing;
  if (health.failuresBeforeCritical !== undefined) check.FailuresBeforeCritical = health.failuresBeforeCritical;
  return check;
}

/** Milliseconds as a Go duration string ("10s", "1500ms"). */
export function goDuration(ms: number): string {
  const whole = Math.max(1, Math.round(ms));
  return whole % 1000 === 0 ? `${whole / 1000}s` : `${whole}ms`;
}

interface Row {
  Node?: { Address?: unknown; Datacenter?: unknown };
  Service?: { ID?: unknown; Service?: unknown; Tags?: unknown; Address?: unknown; Port?: unknown; Meta?: unknown; Weights?: { Passing?: unknown; Warning?: unknown } };
  Checks?: { Status?: unknown }[];
}

/**
 * One row of `/v1/health/service/:name` as an Instance. The service's address, or the node's
 * when the service has none. Healthy unless a check (the node's included, maintenance mode
 * included) is critical: warning still takes traffic, with the Warning weight (a Warning
 * weight of 0 means "no traffic", so such an instance counts as unhealthy). `version` and
 * `zone` come from Meta; without a zone in Meta the node's datacenter is the zone.
 */
export function toInstance(raw: unknown): Instance {
  const row = raw as Row;
  const service = row?.Service;
  const key = typeof service?.ID === 'string' ? service.ID : '(a row without Service.ID)';
  const invalid = (reason: string) => new InvalidRecordError(`consul service ${key}`, reason);
  if (typeof service !== 'object' || service === null) throw invalid('the row has no Service object');
  if (typeof service.ID !== 'string' || service.ID === '') throw invalid('Service.ID is missing');
  if (typeof service.Service !== 'string' || service.Service === '') throw invalid('Service.Service (the name) is missing');
  const address = typeof service.Address === 'string' && service.Address !== '' ? service.Address : row.Node?.Address;
  if (!isValidAddress(address)) throw invalid(`neither the service nor its node has a usable address (got ${JSON.stringify(address)})`);
  if (!isValidPort(service.Port)) throw invalid(`Service.Port ${JSON.stringify(service.Port)} is not a port from 1 to 65535`);
  const tags = service.Tags ?? [];
  if (!Array.isArray(tags) || !tags.every((t) => typeof t === 'string')) throw invalid('Service.Tags is not a list of strings');
  const meta: Record<string, string> = {};
  if (service.Meta !== undefined && service.Meta !== null) {
    if (typeof service.Meta !== 'object') throw invalid('Service.Meta is not an object');
    for (const [k, v] of Object.entries(service.Meta)) if (typeof v === 'string') meta[k] = v;
  }
  const { [versionKey]: version, [zoneKey]: zoneMeta, ...metadata } = meta;
  const statuses = (Array.isArray(row.Checks) ? row.Checks : []).map((c) => c?.Status);
  const critical = statuses.some((s) => s !== 'passing' && s !== 'warning');
  const warning = statuses.includes('warning');
  const weights = service.Weights ?? {};
  const weight = warning ? num(weights.Warning, 1) : num(weights.Passing, 1);
  const zone = zoneMeta ?? (typeof row.Node?.Datacenter === 'string' && row.Node.Datacenter !== '' ? row.Node.Datacenter : undefined);
  return createInstance({
    id: service.ID,
    name: service.Service,
    version,
    address,
    port: service.Port,
    tags,
    metadata,
    healthy: !critical && weight > 0,
    weight: weight > 0 ? weight : 1,
    zone,
  });
}

function num(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : fallback;
}

import { tryParseDuration } from '@disco/core';
import type { ServiceInput } from './registry.js';
import type { CheckDefinition, CheckStatus } from './types.js';

/** A registration Consul would refuse with 400; the message is Consul's. */
export class BadRequest extends Error {}

const metaKey = /^[a-zA-Z0-9_-]+$/;

/**
 * Turns the body of `PUT /v1/agent/service/register` into a service and its checks, with
 * Consul's defaults (ID = Name, Weights {1, 1}, check IDs `service:<id>` or
 * `service:<id>:<n>`, initial status critical) and Consul's validation errors. Keys are
 * matched case-insensitively and without underscores, as Consul's decoder does.
 */
export function parseRegistration(body: unknown): { service: ServiceInput; checks: CheckDefinition[] } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new BadRequest('Request decode failed: expected a JSON object');
  const field = lookup(body as Record<string, unknown>);
  const name = field('Name');
  if (typeof name !== 'string' || name === '') throw new BadRequest('Missing service name');
  const id = typeof field('ID') === 'string' && field('ID') !== '' ? (field('ID') as string) : name;
  const port = field('Port') ?? 0;
  if (typeof port !== 'number' || !Number.isInteger(port)) throw new BadRequest('Request decode failed: Port must be an integer');
  const tags = field('Tags') ?? [];
  if (!Array.isArray(tags) || !tags.every((t) => typeof t === 'string')) throw new BadRequest('Request decode failed: Tags must be a list of strings');
  const meta = (field('Meta') ?? {}) as Record<string, unknown>;
  validateMeta(meta);
  const weights = (field('Weights') as Record<string, unknown> | undefined) ?? { Passing: 1, Warning: 1 };
  const w = lookup(weights);
  const passing = (w('Passing') as number | undefined) ?? 1;
  const warning = (w('Warning') as number | undefined) ?? 1;
  if (!(Number.isInteger(passing) && passing >= 1)) throw new BadRequest('Invalid Weights: Passing must be greater than 0');
  if (!(Number.isInteger(warning) && warning >= 0)) throw new BadRequest('Invalid Weights: Warning must be greater or equal than 0');
  const address = typeof field('Address') === 'string' ? (field('Address') as string) : '';
  if (['0.0.0.0', '::', '[::]'].includes(address)) throw new BadRequest('Invalid service address');
  const service: ServiceInput = {
    ID: id,
    Service: name,
    Tags: tags as string[],
    Address: address,
    Meta: meta as Record<string, string>,
    Port: port,
    Weights: { Passing: passing, Warning: warning },
    EnableTagOverride: field('EnableTagOverride') === true,
  };
  const single = field('Check');
  const many = field('Checks');
  const raw: unknown[] = [];
  if (single !== undefined && single !== null) raw.push(single);
  if (Array.isArray(many)) raw.push(...many);
  const checks = raw.map((check, i) => parseCheck(check, service, raw.length === 1 ? '' : `:${i + 1}`));
  return { service, checks };
}

function parseCheck(raw: unknown, service: ServiceInput, suffix: string): CheckDefinition {
  if (typeof raw !== 'object' || raw === null) throw new BadRequest('Invalid check: expected an object');
  const field = lookup(raw as Record<string, unknown>);
  if (field('Args') !== undefined || field('Script') !== undefined) {
    throw new BadRequest("Scripts are disabled on this agent from remote calls; to enable, configure 'enable_script_checks' to true");
  }
  const str = (key: string) => (typeof field(key) === 'string' ? (field(key) as string) : undefined);
  const status = (str('Status') ?? 'critical') as CheckStatus;
  if (!['passing', 'warning', 'critical'].includes(status)) throw new BadRequest("Status for checks must 'passing', 'warning', 'critical'");
  const def: CheckDefinition = {
    CheckID: str('CheckID') || str('ID') || `service:${service.ID}${suffix}`,
    Name: str('Name') || `Service '${service.Service}' check`,
    Notes: str('Notes') ?? '',
    ServiceID: service.ID,
    Status: status,
    SuccessBeforePassing: (field('SuccessBeforePassing') as number | undefined) ?? 0,
    FailuresBeforeCritical: (field('FailuresBeforeCritical') as number | undefined) ?? 0,
  };
  for (const key of ['HTTP', 'Method', 'TCP', 'GRPC', 'TTL', 'Interval', 'Timeout', 'DeregisterCriticalServiceAfter'] as const) {
    const value = str(key);
    if (value !== undefined && value !== '') def[key] = value;
  }
  if (field('Header') !== undefined) def.Header = field('Header') as Record<string, string[]>;
  if (field('TLSSkipVerify') === true) def.TLSSkipVerify = true;
  if (field('GRPCUseTLS') === true) def.GRPCUseTLS = true;
  for (const key of ['Interval', 'Timeout', 'TTL', 'DeregisterCriticalServiceAfter'] as const) {
    if (def[key] !== undefined && tryParseDuration(def[key]) === undefined) throw new BadRequest(`Request decode failed: ${key}: time: invalid duration "${def[key]}"`);
  }
  const probes = ['HTTP', 'TCP', 'GRPC'] as const;
  if (def.TTL !== undefined) {
    if (!(tryParseDuration(def.TTL)! > 0)) throw new BadRequest('Invalid check: TTL must be > 0 for TTL checks');
  } else if (probes.some((k) => def[k] !== undefined)) {
    if (!(tryParseDuration(def.Interval ?? '0')! > 0)) throw new BadRequest('Invalid check: Interval must be > 0 for Script, HTTP, H2PING, or TCP checks');
  } else {
    throw new BadRequest('Invalid check: Must provide TTL or Script/DockerContainerID/HTTP/TCP/GRPC/H2PING/AliasNode/AliasService/UDP/OSService interval');
  }
  if (def.TCP !== undefined && !/^(\[[^\]]+\]|[^:]+):\d+$/.test(def.TCP)) throw new BadRequest(`Invalid check: TCP address "${def.TCP}" must be host:port`);
  return def;
}

function validateMeta(meta: Record<string, unknown>): void {
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) throw new BadRequest('Request decode failed: Meta must be a map of strings');
  const entries = Object.entries(meta);
  if (entries.length > 64) throw new BadRequest('Invalid Service Meta: Node metadata cannot contain more than 64 key/value pairs');
  for (const [key, value] of entries) {
    if (!metaKey.test(key)) throw new BadRequest(`Invalid Service Meta: Key names can only contain alphanumeric, -, and _ characters (got "${key}")`);
    if (key.startsWith('consul-')) throw new BadRequest(`Invalid Service Meta: Key prefix 'consul-' is reserved for internal use (got "${key}")`);
    if (key.length > 128) throw new BadRequest('Invalid Service Meta: Key is too long (limit: 128 characters)');
    if (typeof value !== 'string') throw new BadRequest(`Request decode failed: Meta value for "${key}" must be a string`);
    if (value.length > 512) throw new BadRequest('Invalid Service Meta: Value is too long (limit: 512 characters)');
  }
}

/** Case- and underscore-insensitive field access (`DeregisterCriticalServiceAfter` = `deregister_critical_service_after`). */
function lookup(object: Record<string, unknown>): (key: string) => unknown {
  const index = new Map<string, unknown>();
  for (const [key, value] of Object.entries(object)) index.set(key.toLowerCase().replaceAll('_', ''), value);
  return (key) => index.get(key.toLowerCase());
}

import { tryParseDuration } from './duration.js';
import { InvalidServiceError } from './errors.js';
import { isIP } from 'node:net';
import type { HealthCheck, Service } from './service.js';

const hostname = /^(?=.{1,253}$)([a-zA-Z0-9_]([a-zA-Z0-9_-]{0,61}[a-zA-Z0-9])?)(\.[a-zA-Z0-9_]([a-zA-Z0-9_-]{0,61}[a-zA-Z0-9])?)*\.?$/;
const probes = ['http', 'tcp', 'grpc', 'ttl'] as const;

/** True for a hostname, an IPv4 or an IPv6 address (bare or in brackets). */
export function isValidAddress(value: unknown): value is string {
  if (typeof value !== 'string' || value === '') return false;
  const bare = value.startsWith('[') && value.endsWith(']') ? value.slice(1, -1) : value;
  return isIP(bare) !== 0 || (bare === value && hostname.test(value));
}

export function isValidPort(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 65535;
}

function nonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.trim() !== '';
}

function checkHealth(health: unknown, problems: string[]): void {
  if (typeof health !== 'object' || health === null) {
    problems.push('health must be an object with one of http, tcp, grpc or ttl');
    return;
  }
  const check = health as Record<string, unknown>;
  const given = probes.filter((kind) => check[kind] !== undefined);
  if (given.length === 0) problems.push('health check names no probe: give one of http, tcp, grpc or ttl');
  if (given.length > 1) problems.push(`health check names ${given.length} probes (${given.join(', ')}): give exactly one`);
  if (check.http !== undefined) {
    if (!(typeof check.http === 'string' && /^https?:$/.test(URL.parse(check.http)?.protocol ?? ''))) problems.push(`health.http must be an http:// or https:// URL; got ${JSON.stringify(check.http)}`);
  }
  for (const kind of ['tcp', 'grpc'] as const) {
    if (check[kind] !== undefined && !nonEmptyString(check[kind])) problems.push(`health.${kind} must be "host:port"; got ${JSON.stringify(check[kind])}`);
  }
  for (const field of ['ttl', 'interval', 'timeout', 'deregisterAfter'] as const satisfies readonly (keyof HealthCheck)[]) {
    const value = check[field];
    if (value === undefined) continue;
    const ms = tryParseDuration(value);
    if (ms === undefined || ms <= 0) problems.push(`health.${field} must be a positive duration such as 250ms, 10s, 5m or 1h; got ${JSON.stringify(value)}`);
  }
  for (const field of ['successBeforePassing', 'failuresBeforeCritical'] as const) {
    const value = check[field];
    if (value !== undefined && !(typeof value === 'number' && Number.isInteger(value) && value >= 1)) {
      problems.push(`health.${field} must be a whole number of at least 1; got ${JSON.stringify(value)}`);
    }
  }
}

/** Every problem with a service definition, in field order; empty when it is valid. */
export function serviceProblems(service: unknown): string[] {
  if (typeof service !== 'object' || service === null) return ['service must be an object'];
  const s = service as Record<string, unknown>;
  const problems: string[] = [];
  if (!nonEmptyString(s.id)) problems.push('id must be a non-empty string');
  if (!nonEmptyString(s.name)) problems.push('name must be a non-empty string');
  else if (s.name.includes('/')) problems.push(`name must not contain "/"; got ${JSON.stringify(s.name)}`);
  if (s.version !== undefined && typeof s.version !== 'string') problems.push('version must be a string');
  if (!isValidAddress(s.address)) problems.push(`address must be a hostname, an IPv4 or an IPv6 address; got ${JSON.stringify(s.address)}`);
  if (!isValidPort(s.port)) problems.push(`port must be an integer from 1 to 65535; got ${JSON.stringify(s.port)}`);
  if (s.tags !== undefined && !(Array.isArray(s.tags) && s.tags.every((t) => typeof t === 'string'))) problems.push('tags must be an array of strings');
  if (s.metadata !== undefined) {
    if (typeof s.metadata !== 'object' || s.metadata === null || Array.isArray(s.metadata)) problems.push('metadata must be an object of strings');
    else {
      for (const [key, value] of Object.entries(s.metadata)) {
        if (typeof value !== 'string') problems.push(`metadata.${key} must be a string; got ${typeof value}`);
      }
    }
  }
  if (s.weight !== undefined && !(typeof s.weight === 'number' && Number.isFinite(s.weight) && s.weight > 0)) {
    problems.push(`weight must be a positive finite number; got ${JSON.stringify(s.weight)}`);
  }
  if (s.zone !== undefined && typeof s.zone !== 'string') problems.push('zone must be a string');
  if (s.health !== undefined) checkHealth(s.health, problems);
  return problems;
}

/** Throws `ERR_INVALID_SERVICE` listing every problem; returns the service typed otherwise. */
export function validateService(service: unknown): Service {
  const problems = serviceProblems(service);
  if (problems.length > 0) throw new InvalidServiceError(problems);
  return service as Service;
}

/** Throws `ERR_INVALID_SERVICE` unless `name` can name a service. */
export function validateServiceName(name: unknown): string {
  if (!nonEmptyString(name)) throw new InvalidServiceError(['service name must be a non-empty string'], 'service name');
  if (name.includes('/')) throw new InvalidServiceError([`service name must not contain "/"; got ${JSON.stringify(name)}`], 'service name');
  return name;
}

/** Splits "host:port" / "[v6]:port"; undefined when it is not one. */
export function parseHostPort(text: string): { address: string; port: number } | undefined {
  const match = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:[\]]+):(\d+)$/.exec(text);
  if (!match) return undefined;
  const address = match[1]!;
  const port = Number(match[2]);
  return isValidAddress(address) && isValidPort(port) ? { address, port } : undefined;
}

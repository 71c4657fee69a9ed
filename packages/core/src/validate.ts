import { describeValue } from './describe-value.js';
import { durationProblem, maxDurationMs, tryParseDuration } from './duration.js';
import { InvalidServiceError } from './errors.js';
import type { HealthCheck, Service } from './service.js';

const hostname = /^(?=.{1,253}$)([a-zA-Z0-9_]([a-zA-Z0-9_-]{0,61}[a-zA-Z0-9])?)(\.[a-zA-Z0-9_]([a-zA-Z0-9_-]{0,61}[a-zA-Z0-9])?)*\.?$/;
const probes = ['http', 'tcp', 'grpc', 'ttl'] as const;

const ipv4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/**
 * Whether `text` is an IP address, as node:net's isIP() decides, without importing node:net
 * (it loads Node's whole stream stack, a large share of core's import time). IPv6 goes through
 * the WHATWG URL parser, which Node carries in C++ anyway; a zone id ("%eth0") is allowed.
 */
export function isIpAddress(text: string): boolean {
  if (ipv4.test(text)) return true;
  if (!text.includes(':')) return false;
  const zone = text.indexOf('%');
  const address = zone === -1 ? text : text.slice(0, zone);
  if (zone !== -1 && !/^[\w.-]+$/.test(text.slice(zone + 1))) return false;
  try {
    return new URL(`http://[${address}]/`).hostname.startsWith('[');
  } catch {
    return false;
  }
}

/** True for a hostname, an IPv4 or an IPv6 address (bare or in brackets). */
export function isValidAddress(value: unknown): value is string {
  if (typeof value !== 'string' || value === '') return false;
  const bare = value.startsWith('[') && value.endsWith(']') ? value.slice(1, -1) : value;
  return isIpAddress(bare) || (bare === value && hostname.test(value));
}

export function isValidPort(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 65535;
}

function nonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.trim() !== '';
}

/** An object made with `{}`, `Object.create(null)` or JSON.parse: not an array, a Date, a Map… */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** An array of strings with no holes (`[, 'x']` has one: `every()` skips it, this does not). */
function isStringArray(value: unknown): value is string[] {
  if (!Array.isArray(value)) return false;
  // Fewer own keys than the length means holes; this also answers at once for `new Array(1e9)`.
  if (Object.keys(value).length < value.length) return false;
  for (let i = 0; i < value.length; i++) if (!Object.hasOwn(value, i) || typeof value[i] !== 'string') return false;
  return true;
}

const healthFields = ['http', 'tcp', 'grpc', 'ttl', 'interval', 'timeout', 'deregisterAfter', 'successBeforePassing', 'failuresBeforeCritical'] as const satisfies readonly (keyof HealthCheck)[];

function checkHealth(health: unknown, problems: string[]): void {
  if (!isPlainObject(health)) {
    problems.push(`health must be an object with one of http, tcp, grpc or ttl; got ${describeValue(health)}`);
    return;
  }
  const check = health;
  const given = probes.filter((kind) => check[kind] !== undefined);
  if (given.length === 0) problems.push('health check names no probe: give one of http, tcp, grpc or ttl');
  if (given.length > 1) problems.push(`health check names ${given.length} probes (${given.join(', ')}): give exactly one`);
  if (check.http !== undefined) {
    if (!(typeof check.http === 'string' && /^https?:$/.test(URL.parse(check.http)?.protocol ?? ''))) problems.push(`health.http must be an http:// or https:// URL; got ${describeValue(check.http)}`);
  }
  for (const kind of ['tcp', 'grpc'] as const) {
    if (check[kind] !== undefined && !nonEmptyString(check[kind])) problems.push(`health.${kind} must be "host:port"; got ${describeValue(check[kind])}`);
  }
  for (const field of ['ttl', 'interval', 'timeout', 'deregisterAfter'] as const) {
    const value = check[field];
    if (value === undefined) continue;
    const ms = tryParseDuration(value);
    if (ms === undefined || ms <= 0) problems.push(`health.${field} must be a positive duration such as 250ms, 10s, 5m or 1h; got ${describeValue(value)}`);
    else if (ms > maxDurationMs) problems.push(durationProblem(value, `health.${field}`)!);
  }
  for (const field of ['successBeforePassing', 'failuresBeforeCritical'] as const) {
    const value = check[field];
    if (value !== undefined && !(typeof value === 'number' && Number.isSafeInteger(value) && value >= 1)) {
      problems.push(`health.${field} must be a whole number of at least 1; got ${describeValue(value)}`);
    }
  }
}

/** A metadata key as it is, unless it would not read as one (long, or not a plain word). */
function describeKey(key: string): string {
  return /^[\w.-]{1,64}$/.test(key) ? key : `[${describeValue(key)}]`;
}

function checkService(s: Record<string, unknown>, problems: string[]): void {
  if (!nonEmptyString(s.id)) problems.push('id must be a non-empty string');
  if (!nonEmptyString(s.name)) problems.push('name must be a non-empty string');
  else if (s.name.includes('/')) problems.push(`name must not contain "/"; got ${describeValue(s.name)}`);
  if (s.version !== undefined && typeof s.version !== 'string') problems.push('version must be a string');
  if (!isValidAddress(s.address)) problems.push(`address must be a hostname, an IPv4 or an IPv6 address; got ${describeValue(s.address)}`);
  if (!isValidPort(s.port)) problems.push(`port must be an integer from 1 to 65535; got ${describeValue(s.port)}`);
  if (s.tags !== undefined && !isStringArray(s.tags)) problems.push(`tags must be an array of strings${Array.isArray(s.tags) ? `, without holes; got ${describeValue(s.tags)}` : ''}`);
  if (s.metadata !== undefined) {
    if (!isPlainObject(s.metadata)) problems.push(`metadata must be an object of strings; got ${describeValue(s.metadata)}`);
    else {
      const bad = Object.entries(s.metadata).filter(([, value]) => typeof value !== 'string');
      for (const [key, value] of bad.slice(0, 5)) problems.push(`metadata.${describeKey(key)} must be a string; got ${typeof value}`);
      if (bad.length > 5) problems.push(`metadata: ${bad.length - 5} more values are not strings`);
    }
  }
  if (s.weight !== undefined && !(typeof s.weight === 'number' && Number.isFinite(s.weight) && s.weight > 0)) {
    problems.push(`weight must be a positive finite number; got ${describeValue(s.weight)}`);
  }
  if (s.zone !== undefined && typeof s.zone !== 'string') problems.push('zone must be a string');
  if (s.health !== undefined) checkHealth(s.health, problems);
}

/**
 * Every problem with a service definition, in field order; empty when it is valid. Takes
 * anything (null, a number, an object whose getters throw) and never throws itself.
 */
export function serviceProblems(service: unknown): string[] {
  if (typeof service !== 'object' || service === null || Array.isArray(service)) return [`service must be an object; got ${describeValue(service)}`];
  const problems: string[] = [];
  try {
    checkService(service as Record<string, unknown>, problems);
  } catch (error) {
    problems.push(`service could not be read: ${describeValue(error instanceof Error ? error.message : error)}`);
  }
  return problems;
}

export interface ValidateServiceOptions {
  /** The name to use when the service has none (`serviceName` of the Discovery config). */
  name?: string | undefined;
}

/**
 * Throws `ERR_INVALID_SERVICE` listing every problem; otherwise returns a frozen copy of the
 * service with only the known fields (tags and metadata copied too), so later changes to
 * the caller's object cannot reach a registration. Takes the raw input: anything that is not
 * an object is a problem, never a TypeError. `options.name` fills in a missing name.
 */
export function validateService(service: unknown, options: ValidateServiceOptions = {}): Service {
  let input = service;
  if (options.name !== undefined && typeof service === 'object' && service !== null && !Array.isArray(service)) {
    try {
      if ((service as Partial<Service>).name === undefined) input = { ...service, name: options.name };
    } catch {
      // serviceProblems reports an unreadable service
    }
  }
  const problems = serviceProblems(input);
  if (problems.length > 0) throw new InvalidServiceError(problems);
  return copyService(input as Service);
}

function copyService(s: Service): Service {
  const copy: Service = { id: s.id, name: s.name, address: s.address, port: s.port };
  if (s.version !== undefined) copy.version = s.version;
  if (s.tags !== undefined) copy.tags = Object.freeze([...s.tags]) as string[];
  if (s.metadata !== undefined) copy.metadata = Object.freeze(Object.fromEntries(Object.entries(s.metadata)));
  if (s.weight !== undefined) copy.weight = s.weight;
  if (s.zone !== undefined) copy.zone = s.zone;
  if (s.health !== undefined) {
    const health: Record<string, unknown> = {};
    for (const field of healthFields) if (s.health[field] !== undefined) health[field] = s.health[field];
    copy.health = Object.freeze(health) as HealthCheck;
  }
  return Object.freeze(copy);
}

/** Throws `ERR_INVALID_SERVICE` unless `name` can name a service. */
export function validateServiceName(name: unknown): string {
  if (!nonEmptyString(name)) throw new InvalidServiceError([`service name must be a non-empty string; got ${describeValue(name)}`], 'service name');
  if (name.includes('/')) throw new InvalidServiceError([`service name must not contain "/"; got ${describeValue(name)}`], 'service name');
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

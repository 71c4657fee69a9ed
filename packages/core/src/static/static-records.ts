import { describeValue } from '../describe-value.js';
import { ConfigError, InvalidRecordError } from '../errors.js';
import { createInstance, type Instance } from '../service.js';
import { isPlainObject, isValidAddress, isValidPort, parseHostPort, serviceProblems } from '../validate.js';

/** One instance as written in static configuration; `id` defaults to "host:port". */
export interface StaticInstance {
  id?: string;
  address: string;
  port: number;
  version?: string;
  tags?: string[];
  metadata?: Record<string, string>;
  weight?: number;
  zone?: string;
  healthy?: boolean;
}

export type StaticServices = Readonly<Record<string, readonly StaticInstance[]>>;

export interface ParsedStaticServices {
  /** Instances by service name (a Map: a service may be called `__proto__` or `constructor`). */
  byName: Map<string, Instance[]>;
  /** What was skipped, one error per bad entry, `where` in each key. */
  problems: InvalidRecordError[];
  /** Names whose value was not a list of instances at all: a caller may keep what it had. */
  unreadable: Set<string>;
}

const instanceFields = new Set(['id', 'address', 'port', 'version', 'tags', 'metadata', 'weight', 'zone', 'healthy']);

/** Why `name` cannot name a service, or undefined. */
function nameProblem(name: string): string | undefined {
  if (name.trim() === '') return 'a service name must not be empty';
  if (name.includes('/')) return `a service name must not contain "/"; got ${describeValue(name)}`;
  return undefined;
}

function parseInstance(raw: unknown, name: string): { instance: Instance } | { problem: string } {
  if (!isPlainObject(raw)) return { problem: `expected an object with address and port; got ${describeValue(raw)}` };
  const unknown = Object.keys(raw).filter((key) => !instanceFields.has(key));
  const id = raw.id ?? (isValidAddress(raw.address) && isValidPort(raw.port) ? `${raw.address}:${raw.port}` : 'host:port');
  const found = serviceProblems({ ...raw, id, name });
  if (raw.healthy !== undefined && typeof raw.healthy !== 'boolean') found.push(`healthy must be true or false; got ${describeValue(raw.healthy)}`);
  if (unknown.length > 0) found.push(`unknown field${unknown.length > 1 ? 's' : ''} ${unknown.slice(0, 5).map(describeValue).join(', ')} (known: ${[...instanceFields].join(', ')})`);
  if (found.length > 0) return { problem: found.join('; ') };
  return { instance: createInstance({ ...(raw as unknown as StaticInstance), id: id as string, name }) };
}

/**
 * Turns `{ name: [instances] }` into frozen instances. Bad entries become `problems`
 * (`where` names the source) rather than exceptions, so one bad line cannot hide the rest.
 * Never throws, whatever `services` is.
 */
export function parseStaticServices(services: unknown, where: string): ParsedStaticServices {
  const result: ParsedStaticServices = { byName: new Map(), problems: [], unreadable: new Set() };
  if (!isPlainObject(services)) {
    result.problems.push(new InvalidRecordError(where, `expected an object of service name → array of instances; got ${describeValue(services)}`));
    return result;
  }
  for (const name of Object.keys(services)) {
    const list = services[name];
    const bad = nameProblem(name);
    if (bad !== undefined || !Array.isArray(list)) {
      result.problems.push(new InvalidRecordError(`${where}: ${name}`, bad ?? `expected an array of instances; got ${describeValue(list)}`));
      result.unreadable.add(name);
      continue;
    }
    const instances: Instance[] = [];
    for (let index = 0; index < list.length; index++) {
      const parsed = parseInstance(Object.hasOwn(list, index) ? list[index] : undefined, name);
      if ('instance' in parsed) instances.push(parsed.instance);
      else result.problems.push(new InvalidRecordError(`${where}: ${name}[${index}]`, parsed.problem));
    }
    result.byName.set(name, instances);
  }
  return result;
}

/**
 * Parses the compact form of DISCOVERY_STATIC_INSTANCES:
 * `users=10.0.0.1:8080,10.0.0.2:8080;orders=[fd00::1]:9000`. A name given twice gets the
 * endpoints of both. Every mistake is an `ERR_CONFIG` naming `variable`. The result has no
 * prototype, so a service may be called `__proto__`.
 */
export function parseCompactInstances(text: string, variable = 'DISCOVERY_STATIC_INSTANCES'): Record<string, StaticInstance[]> {
  if (typeof text !== 'string') throw new ConfigError(`${variable} must be a string such as users=10.0.0.1:8080,10.0.0.2:8080; got ${describeValue(text)}`, variable);
  const services: Record<string, StaticInstance[]> = Object.create(null) as Record<string, StaticInstance[]>;
  for (const group of text.split(';').map((g) => g.trim()).filter(Boolean)) {
    const eq = group.indexOf('=');
    const name = group.slice(0, eq).trim();
    if (eq <= 0 || name === '') throw new ConfigError(`${variable}: ${describeValue(group)} must look like name=host:port,host:port`, variable);
    const bad = nameProblem(name);
    if (bad !== undefined) throw new ConfigError(`${variable}: ${bad}`, variable);
    const endpoints = group.slice(eq + 1).split(',').map((e) => e.trim()).filter(Boolean);
    if (endpoints.length === 0) throw new ConfigError(`${variable}: service ${describeValue(name)} lists no host:port`, variable);
    const parsed = endpoints.map((endpoint) => {
      const hostPort = parseHostPort(endpoint);
      if (!hostPort) throw new ConfigError(`${variable}: ${describeValue(endpoint)} (service ${describeValue(name)}) is not host:port (IPv6 as [addr]:port; port 1-65535)`, variable);
      return hostPort;
    });
    services[name] = [...(services[name] ?? []), ...parsed];
  }
  return services;
}

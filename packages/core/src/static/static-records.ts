import { ConfigError, InvalidRecordError } from '../errors.js';
import { createInstance, type Instance } from '../service.js';
import { parseHostPort, serviceProblems } from '../validate.js';

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

/**
 * Turns `{ name: [instances] }` into frozen instances. Bad entries become `problems`
 * (`where` names the source) rather than exceptions, so one bad line cannot hide the rest.
 */
export function parseStaticServices(services: unknown, where: string): { byName: Map<string, Instance[]>; problems: InvalidRecordError[] } {
  const byName = new Map<string, Instance[]>();
  const problems: InvalidRecordError[] = [];
  if (typeof services !== 'object' || services === null || Array.isArray(services)) {
    problems.push(new InvalidRecordError(where, 'expected an object of service name → array of instances'));
    return { byName, problems };
  }
  for (const [name, list] of Object.entries(services)) {
    if (!Array.isArray(list)) {
      problems.push(new InvalidRecordError(`${where}: ${name}`, 'expected an array of instances'));
      continue;
    }
    const instances: Instance[] = [];
    list.forEach((raw: unknown, index) => {
      const entry = (typeof raw === 'object' && raw !== null ? raw : {}) as Partial<StaticInstance>;
      const id = entry.id ?? `${String(entry.address)}:${String(entry.port)}`;
      const found = serviceProblems({ ...entry, id, name });
      if (entry.healthy !== undefined && typeof entry.healthy !== 'boolean') found.push('healthy must be true or false');
      if (found.length > 0) {
        problems.push(new InvalidRecordError(`${where}: ${name}[${index}]`, found.join('; ')));
        return;
      }
      instances.push(createInstance({ ...(entry as StaticInstance), id, name }));
    });
    byName.set(name, instances);
  }
  return { byName, problems };
}

/**
 * Parses the compact form of DISCOVERY_STATIC_INSTANCES:
 * `users=10.0.0.1:8080,10.0.0.2:8080;orders=[fd00::1]:9000`.
 */
export function parseCompactInstances(text: string, variable = 'DISCOVERY_STATIC_INSTANCES'): Record<string, StaticInstance[]> {
  const services: Record<string, StaticInstance[]> = {};
  for (const group of text.split(';').map((g) => g.trim()).filter(Boolean)) {
    const eq = group.indexOf('=');
    const name = group.slice(0, eq).trim();
    if (eq <= 0 || name === '') throw new ConfigError(`${variable}: "${group}" must look like name=host:port,host:port`, variable);
    const endpoints = group.slice(eq + 1).split(',').map((e) => e.trim()).filter(Boolean);
    if (endpoints.length === 0) throw new ConfigError(`${variable}: service "${name}" lists no host:port`, variable);
    services[name] = endpoints.map((text) => {
      const parsed = parseHostPort(text);
      if (!parsed) throw new ConfigError(`${variable}: "${text}" (service "${name}") is not host:port (IPv6 as [addr]:port; port 1-65535)`, variable);
      return parsed;
    });
  }
  return services;
}

import { endpoint, UnsupportedError, validateService, type HealthCheck, type Service } from '@disco/core';
import { exitCodes, UsageError } from '../exit-codes.js';
import { defineCommand } from '../command.js';
import { processBoundReason, registrationsOutliveProcess } from '../registration-lifetime.js';

export const registerCommand = defineCommand({
  name: 'register',
  synopsis: 'register --name <service> --address <host> --port <port> [--id <id>] …',
  summary: 'register an instance (Consul: it stays registered; etcd: held until Ctrl-C, then deregistered)',
  options: {
    id: { type: 'string' },
    name: { type: 'string' },
    address: { type: 'string' },
    port: { type: 'string' },
    version: { type: 'string' },
    zone: { type: 'string' },
    weight: { type: 'string' },
    tag: { type: 'string', multiple: true },
    meta: { type: 'string', multiple: true },
    http: { type: 'string' },
    tcp: { type: 'string' },
    ttl: { type: 'string' },
    interval: { type: 'string' },
    'deregister-after': { type: 'string' },
    hold: { type: 'boolean' },
  },
  optionHelp: {
    id: 'the instance id (default <name>-<address>-<port>)',
    name: 'the service name (default DISCOVERY_SERVICE_NAME)',
    address: 'the address clients connect to',
    port: 'the port clients connect to',
    version: 'the version clients may select on',
    zone: 'the locality (datacenter, availability zone)',
    weight: 'the relative weight for weighted balancers (default 1)',
    tag: 'a tag (repeatable)',
    meta: 'metadata KEY=VALUE (repeatable)',
    http: 'health check: this URL answers 2xx',
    tcp: 'health check: host:port accepts connections',
    ttl: 'health check: the service reports within this TTL',
    interval: 'how often the check runs (default 10s)',
    'deregister-after': 'Consul: remove the service after it has been critical this long',
    hold: 'stay in the foreground until Ctrl-C, then deregister (always so where registrations end with their process)',
  },
  maxPositionals: 0,
  async run(context, { values }) {
    const service = serviceFromFlags(values, context.env.DISCOVERY_SERVICE_NAME);
    const provider = context.config().provider;
    const name = typeof provider === 'string' ? provider : 'static';
    const hold = values.hold === true || !registrationsOutliveProcess(name);
    if (name === 'static') throw new UnsupportedError(`disco register: ${processBoundReason(name)}`);
    const s = context.style;
    if (!hold) {
      // Registered through the provider, not the Discovery: closing must leave it in place.
      await using discovery = context.discovery({ CONSUL_DEREGISTER_ON_CLOSE: 'false' });
      const backend = await discovery.provider();
      await context.within(`registering "${service.id}"`, (signal) => backend.register(service, { signal }));
      context.out(`${s.green('registered')} ${service.id} (${service.name}) at ${endpoint(service)} with ${name}\n`);
      return exitCodes.ok;
    }
    // Held: the Discovery runs the local health check where the backend runs none, and deregisters on close.
    const discovery = context.discovery({ DISCOVERY_HEALTH_CHECK: 'true' });
    try {
      await context.within(`registering "${service.id}"`, (signal) => discovery.register(service, { signal }));
      const why = registrationsOutliveProcess(name) ? '' : ` (${processBoundReason(name)})`;
      context.out(`${s.green('registered')} ${service.id} (${service.name}) at ${endpoint(service)} with ${name}; holding it until Ctrl-C${why}\n`);
      await context.until();
    } finally {
      await discovery.close();
    }
    context.out(`deregistered ${service.id}\n`);
    return exitCodes.ok;
  },
});

type RegisterValues = Partial<Record<'id' | 'name' | 'address' | 'port' | 'version' | 'zone' | 'weight' | 'http' | 'tcp' | 'ttl' | 'interval' | 'deregister-after', string>> & { tag?: string[]; meta?: string[] };

/** The service the flags describe, validated by core (every problem listed, exit 2). */
function serviceFromFlags(values: RegisterValues, defaultName: string | undefined): Service {
  const name = values.name ?? defaultName;
  if (name === undefined) throw new UsageError('disco register needs --name (or DISCOVERY_SERVICE_NAME)');
  if (values.address === undefined || values.port === undefined) throw new UsageError('disco register needs --address and --port');
  const metadata: Record<string, string> = {};
  for (const pair of values.meta ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--meta takes KEY=VALUE; got "${pair}"`);
    metadata[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  const health: HealthCheck = {};
  if (values.http !== undefined) health.http = values.http;
  if (values.tcp !== undefined) health.tcp = values.tcp;
  if (values.ttl !== undefined) health.ttl = values.ttl;
  if (values.interval !== undefined) health.interval = values.interval;
  if (values['deregister-after'] !== undefined) health.deregisterAfter = values['deregister-after'];
  const input: Record<string, unknown> = {
    id: values.id ?? `${name}-${values.address}-${values.port}`,
    name,
    address: values.address,
    port: /^\d+$/.test(values.port) ? Number(values.port) : values.port,
    tags: values.tag ?? [],
    metadata,
  };
  if (values.version !== undefined) input.version = values.version;
  if (values.zone !== undefined) input.zone = values.zone;
  if (values.weight !== undefined) input.weight = Number.isNaN(Number(values.weight)) ? values.weight : Number(values.weight);
  if (Object.keys(health).length > 0) input.health = health;
  return validateService(input);
}

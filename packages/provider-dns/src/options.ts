import { getServers } from 'node:dns';
import { ConfigError, isValidAddress, isValidPort, parseDuration, type Duration, type Logger } from '@disco/core';
import { assertKnownKeys } from '@disco/core/provider';
import type { NameServer } from './transport.js';

/** How a service name becomes the name of its SRV records. */
export type SrvNaming = 'consul' | 'rfc2782' | (string & {}) | ((service: string) => string);

export interface DnsProviderOptions {
  /** Name servers as `host[:port]` (IPv6 as `[::1]:53`), tried in turn. Env `DNS_SERVER`, comma-separated. Default: the system's resolvers. */
  servers?: string | readonly string[] | undefined;
  /** Port for servers given without one. Env `DNS_PORT`. Default 53. */
  port?: number | undefined;
  /** Domain appended to service names. Env `DNS_DOMAIN`. Default `service.consul`. */
  domain?: string | undefined;
  /** Longest time between two refreshes of a watched service (record TTLs are honoured below it). Env `DNS_REFRESH_TTL`. Default 30s. */
  refreshTtl?: Duration | undefined;
  /** Shortest time between two refreshes, however small the TTL. Env `DNS_MIN_REFRESH`. Default 1s. */
  minRefresh?: Duration | undefined;
  /** How long one server gets to answer one query. Env `DNS_TIMEOUT`. Default 2s. */
  timeout?: Duration | undefined;
  /**
   * SRV record name: `consul` (`[<tag>.]<service>.<domain>`, the default), `rfc2782`
   * (`_<service>._<proto>.<domain>`, or `_<service>._<tag>.<domain>` with a tag), a template
   * using `{service}`, `{proto}`, `{tag}` and `{domain}`, or a function of the service name.
   * Env `DNS_SRV_NAME` (not a function).
   */
  srvName?: SrvNaming | undefined;
  /** `{proto}` of the rfc2782 form. Env `DNS_PROTOCOL`. Default `tcp`. */
  protocol?: string | undefined;
  /** Only instances carrying this tag (Consul's `<tag>.<service>.service.consul`). Env `DNS_TAG`. */
  tag?: string | undefined;
  /** A/AAAA record name used when there is no SRV record: a template or a function. Env `DNS_HOST_NAME`. Default `{service}.{domain}`. */
  hostName?: string | ((service: string) => string) | undefined;
  /**
   * Port for instances found through A/AAAA records (no SRV): one for all, or per service name.
   * Env `DNS_FALLBACK_PORT`: `9090`, or `web=9090,api=9091`.
   */
  fallbackPort?: number | Readonly<Record<string, number>> | undefined;
  /** `lowest` (default): offer only the lowest-priority SRV group that has instances; `all`: offer every group. Env `DNS_PRIORITIES`. */
  priorities?: 'lowest' | 'all' | undefined;
  /** Where the provider logs (invalid records, watch failures). Default: the context's logger, else silent. */
  logger?: Logger | undefined;
}

/** What a factory gets besides options: where the environment and the logger come from. */
export interface DnsProviderContext {
  /** The environment to read `DNS_*` from. Default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined;
  readonly logger?: Logger | undefined;
}

/** Every option key, each but `logger` with its variable. */
export const optionVariables = {
  servers: 'DNS_SERVER',
  port: 'DNS_PORT',
  domain: 'DNS_DOMAIN',
  refreshTtl: 'DNS_REFRESH_TTL',
  minRefresh: 'DNS_MIN_REFRESH',
  timeout: 'DNS_TIMEOUT',
  srvName: 'DNS_SRV_NAME',
  protocol: 'DNS_PROTOCOL',
  tag: 'DNS_TAG',
  hostName: 'DNS_HOST_NAME',
  fallbackPort: 'DNS_FALLBACK_PORT',
  priorities: 'DNS_PRIORITIES',
} as const satisfies Record<Exclude<keyof DnsProviderOptions, 'logger'>, string>;

const knownKeys: readonly string[] = [...Object.keys(optionVariables), 'logger'];

/** Options after defaults and validation. */
export interface DnsSettings {
  readonly servers: readonly NameServer[];
  readonly domain: string;
  readonly refreshMaxMs: number;
  readonly refreshMinMs: number;
  readonly timeoutMs: number;
  readonly srvName: (service: string) => string;
  readonly hostName: (service: string) => string;
  readonly fallbackPort: (service: string) => number | undefined;
  readonly priorities: 'lowest' | 'all';
}

function portNumber(text: string, variable: string): number {
  const value = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!isValidPort(value)) throw new ConfigError(`${variable} must be a port number from 1 to 65535; got ${JSON.stringify(text)}`, variable);
  return value;
}

/** `9090`, or `web=9090,api=9091`. */
function fallbackPortFromEnv(text: string): number | Record<string, number> {
  const variable = optionVariables.fallbackPort;
  if (!text.includes('=')) return portNumber(text, variable);
  const ports: Record<string, number> = Object.create(null) as Record<string, number>;
  for (const entry of text.split(',').map((e) => e.trim()).filter((e) => e !== '')) {
    const [service, port, ...rest] = entry.split('=').map((p) => p.trim());
    if (!service || port === undefined || rest.length > 0) {
      throw new ConfigError(`${variable} must be a port, or service=port pairs separated by commas (web=9090,api=9091); got ${JSON.stringify(text)}`, variable);
    }
    ports[service] = portNumber(port, variable);
  }
  return ports;
}

/**
 * Reads every `DNS_*` variable (see {@link optionVariables}); an empty variable counts as unset.
 * A bad value is `ERR_CONFIG` naming the variable and the value.
 */
export function optionsFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): DnsProviderOptions {
  const options: DnsProviderOptions = {};
  const read = (key: keyof typeof optionVariables) => {
    const value = env[optionVariables[key]]?.trim();
    return value === '' ? undefined : value;
  };
  const servers = read('servers');
  if (servers !== undefined) options.servers = servers.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const port = read('port');
  if (port !== undefined) options.port = portNumber(port, optionVariables.port);
  options.domain = read('domain');
  for (const key of ['refreshTtl', 'minRefresh', 'timeout'] as const) {
    const value = read(key);
    if (value === undefined) continue;
    parseDuration(value, optionVariables[key]);
    options[key] = value;
  }
  options.srvName = read('srvName');
  options.protocol = read('protocol');
  options.tag = read('tag');
  options.hostName = read('hostName');
  const fallback = read('fallbackPort');
  if (fallback !== undefined) options.fallbackPort = fallbackPortFromEnv(fallback);
  const priorities = read('priorities');
  if (priorities !== undefined) {
    if (priorities !== 'lowest' && priorities !== 'all') {
      throw new ConfigError(`${optionVariables.priorities} must be "lowest" or "all"; got ${JSON.stringify(priorities)}`, optionVariables.priorities);
    }
    options.priorities = priorities;
  }
  for (const key of Object.keys(options) as (keyof DnsProviderOptions)[]) if (options[key] === undefined) delete options[key];
  return options;
}

/**
 * The options a provider runs with: the environment's `DNS_*` variables, each overridden by a
 * defined option (an option set to `undefined` does not hide its variable). An unknown key is
 * `ERR_CONFIG` naming it and the nearest known key.
 */
export function mergeOptions(options: unknown, env: Readonly<Record<string, string | undefined>> = process.env): DnsProviderOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new ConfigError(`dns options must be an object; got ${options === null ? 'null' : Array.isArray(options) ? 'an array' : typeof options}`, 'dns');
  }
  assertKnownKeys(options, knownKeys, 'dns');
  const merged: Record<string, unknown> = { ...optionsFromEnv(env) };
  for (const [key, value] of Object.entries(options)) if (value !== undefined) merged[key] = value;
  return merged as DnsProviderOptions;
}

/** Parses `host`, `host:port`, `[v6]`, `[v6]:port` or a bare IPv6 address. */
export function parseServer(text: string, defaultPort: number, what = 'DNS_SERVER'): NameServer {
  const bad = (why: string) =>
    new ConfigError(`${what} entry ${JSON.stringify(text)} ${why}: give host[:port], e.g. 127.0.0.1:8600 or [::1]:53`, what);
  let host = text.trim();
  let port = defaultPort;
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(host);
  if (bracketed) {
    host = bracketed[1]!;
    if (bracketed[2] !== undefined) port = Number(bracketed[2]);
  } else if (host.split(':').length === 2) {
    const [h, p] = host.split(':') as [string, string];
    host = h;
    port = Number(p);
  }
  if (!isValidAddress(host)) throw bad('is not a host name or an IP address');
  if (!isValidPort(port)) throw bad('has an invalid port');
  return { host, port };
}

function template(text: string, what: string, tag: string | undefined, protocol: string, domain: string): (service: string) => string {
  if (text.includes('{tag}') && tag === undefined) throw new ConfigError(`${what} template ${JSON.stringify(text)} uses {tag} but no tag is set`, what);
  return (service) =>
    text.replaceAll('{service}', service).replaceAll('{proto}', protocol).replaceAll('{tag}', tag ?? '').replaceAll('{domain}', domain);
}

/** A duration option in ms, through core's parseDuration (which rejects anything a timer cannot hold, above 2³¹−1 ms). */
function duration(value: Duration | undefined, fallback: number, what: string, min = 0): number {
  const ms = value === undefined ? fallback : parseDuration(value, what);
  if (ms < min) throw new ConfigError(`${what} must be at least ${min} ms; got ${JSON.stringify(value)}`, what);
  return ms;
}

function text(value: unknown, what: string): string | undefined {
  if (value === undefined || typeof value === 'string') return value;
  throw new ConfigError(`${what} must be a string; got ${typeof value}`, what);
}

export function resolveSettings(options: DnsProviderOptions): DnsSettings {
  const port = options.port ?? 53;
  if (!isValidPort(port)) throw new ConfigError(`port must be a port number from 1 to 65535; got ${JSON.stringify(port)}`, 'DNS_PORT');
  const given = typeof options.servers === 'string' ? options.servers.split(',') : options.servers;
  if (given !== undefined && !Array.isArray(given)) throw new ConfigError('servers must be a string or an array of strings', 'DNS_SERVER');
  const servers = (given ?? getServers()).filter((s) => text(s, 'DNS_SERVER')!.trim() !== '').map((s) => parseServer(s, port));
  if (servers.length === 0) throw new ConfigError('no DNS server is configured and the system names none: set DNS_SERVER (e.g. 127.0.0.1:8600)', 'DNS_SERVER');

  const domain = (text(options.domain, 'DNS_DOMAIN') ?? 'service.consul').replace(/^\.+|\.+$/g, '');
  if (domain !== '' && !isValidAddress(domain)) throw new ConfigError(`DNS_DOMAIN must be a domain name; got ${JSON.stringify(options.domain)}`, 'DNS_DOMAIN');
  const refreshMaxMs = duration(options.refreshTtl, 30_000, 'DNS_REFRESH_TTL', 1);
  const refreshMinMs = Math.min(duration(options.minRefresh, 1_000, 'DNS_MIN_REFRESH', 1), refreshMaxMs);
  const timeoutMs = duration(options.timeout, 2_000, 'DNS_TIMEOUT', 1);

  const tag = text(options.tag, 'DNS_TAG');
  const protocol = text(options.protocol, 'DNS_PROTOCOL') ?? 'tcp';
  const suffix = domain === '' ? '' : `.${domain}`;
  const srv = options.srvName ?? 'consul';
  let srvName: (service: string) => string;
  if (typeof srv === 'function') srvName = srv;
  else if (srv === 'consul') srvName = (service) => `${tag === undefined ? '' : `${tag}.`}${service}${suffix}`;
  else if (srv === 'rfc2782') srvName = (service) => `_${service}._${tag ?? protocol}${suffix}`;
  else srvName = template(text(srv, 'DNS_SRV_NAME')!, 'DNS_SRV_NAME', tag, protocol, domain);
  const host = options.hostName;
  const hostName =
    host === undefined
      ? (service: string) => `${service}${suffix}`
      : typeof host === 'function'
        ? host
        : template(text(host, 'DNS_HOST_NAME')!, 'DNS_HOST_NAME', tag, protocol, domain);

  const fallback = options.fallbackPort;
  for (const [service, value] of typeof fallback === 'object' ? Object.entries(fallback) : fallback === undefined ? [] : [['*', fallback] as const]) {
    if (!isValidPort(value)) throw new ConfigError(`fallbackPort${service === '*' ? '' : `.${service}`} must be a port number from 1 to 65535; got ${JSON.stringify(value)}`, 'DNS_FALLBACK_PORT');
  }
  const fallbackPort = (service: string) => (typeof fallback === 'object' ? (Object.hasOwn(fallback, service) ? fallback[service] : undefined) : fallback);

  const priorities = options.priorities ?? 'lowest';
  if (priorities !== 'lowest' && priorities !== 'all') throw new ConfigError(`priorities must be "lowest" or "all"; got ${JSON.stringify(priorities)}`, 'DNS_PRIORITIES');

  return { servers, domain, refreshMaxMs, refreshMinMs, timeoutMs, srvName, hostName, fallbackPort, priorities };
}

import { getServers } from 'node:dns';
import { ConfigError, isValidAddress, isValidPort, parseDuration, type Duration } from '@disco/core';
import type { NameServer } from './transport.js';

/** How a service name becomes the name of its SRV records. */
export type SrvNaming = 'consul' | 'rfc2782' | (string & {}) | ((service: string) => string);

export interface DnsProviderOptions {
  /** Name servers as `host[:port]` (IPv6 as `[::1]:53`), tried in turn. Env `DNS_SERVER`, comma-separated. Default: the system's resolvers. */
  servers?: string | readonly string[];
  /** Port for servers given without one. Env `DNS_PORT`. Default 53. */
  port?: number;
  /** Domain appended to service names. Env `DNS_DOMAIN`. Default `service.consul`. */
  domain?: string;
  /** Longest time between two refreshes of a watched service (record TTLs are honoured below it). Env `DNS_REFRESH_TTL`. Default 30s. */
  refreshTtl?: Duration;
  /** Shortest time between two refreshes, however small the TTL. Default 1s. */
  minRefresh?: Duration;
  /** How long one server gets to answer one query. Default 2s. */
  timeout?: Duration;
  /**
   * SRV record name: `consul` (`[<tag>.]<service>.<domain>`, the default), `rfc2782`
   * (`_<service>._<proto>.<domain>`, or `_<service>._<tag>.<domain>` with a tag), a template
   * using `{service}`, `{proto}`, `{tag}` and `{domain}`, or a function of the service name.
   */
  srvName?: SrvNaming;
  /** `{proto}` of the rfc2782 form. Default `tcp`. */
  protocol?: string;
  /** Only instances carrying this tag (Consul's `<tag>.<service>.service.consul`). */
  tag?: string;
  /** A/AAAA record name used when there is no SRV record: a template or a function. Default `{service}.{domain}`. */
  hostName?: string | ((service: string) => string);
  /** Port for instances found through A/AAAA records (no SRV): one for all, or per service name. */
  fallbackPort?: number | Readonly<Record<string, number>>;
  /** `lowest` (default): offer only the lowest-priority SRV group that has instances; `all`: offer every group. */
  priorities?: 'lowest' | 'all';
}

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

/** Reads `DNS_SERVER`, `DNS_PORT`, `DNS_DOMAIN` and `DNS_REFRESH_TTL`; a bad value is `ERR_CONFIG` naming the variable. */
export function optionsFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): DnsProviderOptions {
  const options: DnsProviderOptions = {};
  const servers = env.DNS_SERVER?.trim();
  if (servers) options.servers = servers.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const port = env.DNS_PORT?.trim();
  if (port) {
    const value = Number(port);
    if (!isValidPort(value)) throw new ConfigError(`DNS_PORT must be a port number from 1 to 65535; got ${JSON.stringify(port)}`, 'DNS_PORT');
    options.port = value;
  }
  const domain = env.DNS_DOMAIN?.trim();
  if (domain) options.domain = domain;
  const refresh = env.DNS_REFRESH_TTL?.trim();
  if (refresh) {
    parseDuration(refresh, 'DNS_REFRESH_TTL');
    options.refreshTtl = refresh;
  }
  return options;
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

function duration(value: Duration | undefined, fallback: number, what: string, min = 0): number {
  const ms = value === undefined ? fallback : parseDuration(value, what);
  if (ms < min) throw new ConfigError(`${what} must be at least ${min} ms; got ${JSON.stringify(value)}`, what);
  return ms;
}

export function resolveSettings(options: DnsProviderOptions): DnsSettings {
  const port = options.port ?? 53;
  if (!isValidPort(port)) throw new ConfigError(`port must be a port number from 1 to 65535; got ${JSON.stringify(port)}`, 'DNS_PORT');
  const given = typeof options.servers === 'string' ? options.servers.split(',') : options.servers;
  const servers = (given ?? getServers()).filter((s) => s.trim() !== '').map((s) => parseServer(s, port));
  if (servers.length === 0) throw new ConfigError('no DNS server is configured and the system names none: set DNS_SERVER (e.g. 127.0.0.1:8600)', 'DNS_SERVER');

  const domain = (options.domain ?? 'service.consul').replace(/^\.+|\.+$/g, '');
  if (domain !== '' && !isValidAddress(domain)) throw new ConfigError(`DNS_DOMAIN must be a domain name; got ${JSON.stringify(options.domain)}`, 'DNS_DOMAIN');
  const refreshMaxMs = duration(options.refreshTtl, 30_000, 'DNS_REFRESH_TTL', 1);
  const refreshMinMs = Math.min(duration(options.minRefresh, 1_000, 'minRefresh', 1), refreshMaxMs);
  const timeoutMs = duration(options.timeout, 2_000, 'timeout', 1);

  const { tag } = options;
  const protocol = options.protocol ?? 'tcp';
  const suffix = domain === '' ? '' : `.${domain}`;
  const srv = options.srvName ?? 'consul';
  let srvName: (service: string) => string;
  if (typeof srv === 'function') srvName = srv;
  else if (srv === 'consul') srvName = (service) => `${tag === undefined ? '' : `${tag}.`}${service}${suffix}`;
  else if (srv === 'rfc2782') srvName = (service) => `_${service}._${tag ?? protocol}${suffix}`;
  else srvName = template(srv, 'srvName', tag, protocol, domain);
  const host = options.hostName;
  const hostName =
    host === undefined ? (service: string) => `${service}${suffix}` : typeof host === 'function' ? host : template(host, 'hostName', tag, protocol, domain);

  const fallback = options.fallbackPort;
  for (const [service, value] of typeof fallback === 'object' ? Object.entries(fallback) : fallback === undefined ? [] : [['*', fallback] as const]) {
    if (!isValidPort(value)) throw new ConfigError(`fallbackPort${service === '*' ? '' : `.${service}`} must be a port number from 1 to 65535; got ${JSON.stringify(value)}`, 'fallbackPort');
  }
  const fallbackPort = (service: string) => (typeof fallback === 'object' ? fallback[service] : fallback);

  const priorities = options.priorities ?? 'lowest';
  if (priorities !== 'lowest' && priorities !== 'all') throw new ConfigError(`priorities must be "lowest" or "all"; got ${JSON.stringify(priorities)}`, 'priorities');

  return { servers, domain, refreshMaxMs, refreshMinMs, timeoutMs, srvName, hostName, fallbackPort, priorities };
}


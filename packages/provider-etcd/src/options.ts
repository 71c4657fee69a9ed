import { readFileSync } from 'node:fs';
import { ConfigError, parseDuration, type BackoffOptions, type Duration, type Logger } from '@disco/core';
import type { Etcd3 } from 'etcd3';

/** How keys and values are laid out under the prefix. */
export type EtcdLayout = 'disco' | 'go-grpc';

/** PEM material: a string is a file path, a Buffer/Uint8Array the file's contents. */
export type PemSource = string | Uint8Array;

export interface EtcdTlsOptions {
  /** CA bundle that signed the etcd server certificates (`ETCD_CACERT`). */
  ca?: PemSource | undefined;
  /** Client certificate for servers started with `--client-cert-auth` (`ETCD_CERT`). */
  cert?: PemSource | undefined;
  /** Key of the client certificate (`ETCD_KEY`). */
  key?: PemSource | undefined;
}

export interface EtcdProviderOptions {
  /** `host:port` or `http(s)://host:port`, one or many (`ETCD_ENDPOINTS`, comma-separated). Default `localhost:2379`. */
  endpoints?: string | readonly string[] | undefined;
  /** Key prefix; keys are `<prefix><name>/<id>` (`ETCD_DISCOVERY_PREFIX`). Default `/services/`. */
  prefix?: string | undefined;
  /** User for etcd authentication (`ETCD_USERNAME`). */
  username?: string | undefined;
  /** Password for etcd authentication (`ETCD_PASSWORD`). Never logged or put in an error. */
  password?: string | undefined;
  /** TLS to the etcd client port. Endpoints without a scheme become https:// when set. */
  tls?: EtcdTlsOptions | undefined;
  /** Lease TTL of the registrations, whole seconds, at least 1s. Default 15s. */
  ttl?: Duration | undefined;
  /** `disco` (default, versioned JSON) or `go-grpc` (read and write what Go's etcd naming/endpoints uses). */
  layout?: EtcdLayout | undefined;
  /**
   * Period of the re-list that catches a watch that went silent (0 turns it off). Default 5m,
   * with ±10% jitter.
   */
  resyncInterval?: Duration | undefined;
  /** Deadline of each unary etcd call (list, put, delete, grant). Default 5s. */
  requestTimeout?: Duration | undefined;
  /** Retry pacing after a failed list/watch or lease grant. Default 100ms doubling to 10s, full jitter. */
  backoff?: BackoffOptions | undefined;
  /** Use this client instead of creating one; the provider does not close it. */
  client?: Etcd3 | undefined;
  logger?: Logger | undefined;
}

/** Options after validation, with defaults in place. */
export interface ResolvedOptions {
  hosts: string[];
  prefix: string;
  auth: { username: string; password: string } | undefined;
  credentials: { rootCertificate: Buffer; privateKey?: Buffer; certChain?: Buffer } | undefined;
  ttlSeconds: number;
  layout: EtcdLayout;
  resyncMs: number;
  requestTimeoutMs: number;
  backoff: BackoffOptions;
  client: Etcd3 | undefined;
  logger: Logger | undefined;
}

/** Reads the provider's environment variables; unset variables are left out. */
export function optionsFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): EtcdProviderOptions {
  const options: EtcdProviderOptions = {};
  const value = (name: string) => {
    const v = env[name]?.trim();
    return v === undefined || v === '' ? undefined : v;
  };
  const endpoints = value('ETCD_ENDPOINTS');
  if (endpoints !== undefined) options.endpoints = endpoints.split(',').map((e) => e.trim()).filter((e) => e !== '');
  const prefix = env.ETCD_DISCOVERY_PREFIX;
  if (prefix !== undefined && prefix !== '') options.prefix = prefix;
  if (value('ETCD_USERNAME') !== undefined) options.username = value('ETCD_USERNAME');
  if (env.ETCD_PASSWORD !== undefined && env.ETCD_PASSWORD !== '') options.password = env.ETCD_PASSWORD;
  const tls: EtcdTlsOptions = {};
  if (value('ETCD_CACERT') !== undefined) tls.ca = value('ETCD_CACERT');
  if (value('ETCD_CERT') !== undefined) tls.cert = value('ETCD_CERT');
  if (value('ETCD_KEY') !== undefined) tls.key = value('ETCD_KEY');
  if (Object.keys(tls).length > 0) options.tls = tls;
  return options;
}

const envName: Record<string, string> = { ca: 'ETCD_CACERT', cert: 'ETCD_CERT', key: 'ETCD_KEY' };

function readPem(source: PemSource, field: 'ca' | 'cert' | 'key'): Buffer {
  if (typeof source !== 'string') return Buffer.from(source);
  try {
    return readFileSync(source);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ConfigError(`tls.${field} (${envName[field]}) names the file ${JSON.stringify(source)}, which cannot be read (${reason}); give a readable PEM file or its contents as a Buffer`, envName[field]);
  }
}

function normaliseEndpoint(raw: string, secure: boolean): string {
  const text = raw.trim();
  const withScheme = /^[a-z]+:\/\//i.test(text) ? text : `${secure ? 'https' : 'http'}://${text}`;
  let url: URL | undefined;
  try {
    url = new URL(withScheme);
  } catch {
    // reported below
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '' || (url.pathname !== '/' && url.pathname !== '')) {
    throw new ConfigError(`etcd endpoint ${JSON.stringify(raw)} (ETCD_ENDPOINTS) is not host:port or http(s)://host:port`, 'ETCD_ENDPOINTS');
  }
  return `${url.protocol}//${url.hostname}:${url.port || '2379'}`;
}

/** Validates options; every mistake is an ERR_CONFIG naming the option and its variable. */
export function resolveOptions(options: EtcdProviderOptions): ResolvedOptions {
  const tls = options.tls;
  const secure = tls?.ca !== undefined || tls?.cert !== undefined;
  const list = options.endpoints === undefined ? ['localhost:2379'] : typeof options.endpoints === 'string' ? options.endpoints.split(',') : [...options.endpoints];
  const hosts = list.map((e) => e.trim()).filter((e) => e !== '').map((e) => normaliseEndpoint(e, secure));
  if (hosts.length === 0) throw new ConfigError('etcd endpoints (ETCD_ENDPOINTS) is empty: give at least one host:port', 'ETCD_ENDPOINTS');
  const schemes = new Set(hosts.map((h) => h.slice(0, h.indexOf(':'))));
  if (schemes.size > 1) throw new ConfigError('etcd endpoints (ETCD_ENDPOINTS) mix http:// and https://: use one scheme for all', 'ETCD_ENDPOINTS');

  const prefix = options.prefix ?? '/services/';
  if (typeof prefix !== 'string') throw new ConfigError('prefix (ETCD_DISCOVERY_PREFIX) must be a string such as "/services/"', 'ETCD_DISCOVERY_PREFIX');

  let auth: ResolvedOptions['auth'];
  if (options.username !== undefined || options.password !== undefined) {
    if (!options.username) throw new ConfigError('an etcd password is set but no username: set ETCD_USERNAME (options.username) too', 'ETCD_USERNAME');
    if (options.password === undefined) throw new ConfigError(`etcd username "${options.username}" is set but no password: set ETCD_PASSWORD (options.password) too`, 'ETCD_PASSWORD');
    auth = { username: options.username, password: options.password };
  }

  let credentials: ResolvedOptions['credentials'];
  if (tls && (tls.ca !== undefined || tls.cert !== undefined || tls.key !== undefined)) {
    if ((tls.cert === undefined) !== (tls.key === undefined)) {
      throw new ConfigError('a TLS client certificate needs both tls.cert (ETCD_CERT) and tls.key (ETCD_KEY)', tls.cert === undefined ? 'ETCD_CERT' : 'ETCD_KEY');
    }
    if (tls.ca === undefined) throw new ConfigError('TLS to etcd needs the CA that signed its certificate: set tls.ca (ETCD_CACERT)', 'ETCD_CACERT');
    credentials = { rootCertificate: readPem(tls.ca, 'ca') };
    if (tls.cert !== undefined && tls.key !== undefined) {
      credentials.certChain = readPem(tls.cert, 'cert');
      credentials.privateKey = readPem(tls.key, 'key');
    }
  }

  const ttlMs = parseDuration(options.ttl ?? '15s', 'etcd ttl');
  if (ttlMs < 1000) throw new ConfigError(`etcd ttl must be at least 1s (a lease counts whole seconds); got ${JSON.stringify(options.ttl)}`, 'ttl');
  const layout = options.layout ?? 'disco';
  if (layout !== 'disco' && layout !== 'go-grpc') throw new ConfigError(`etcd layout must be "disco" or "go-grpc"; got ${JSON.stringify(layout)}`, 'layout');
  const requestTimeoutMs = parseDuration(options.requestTimeout ?? '5s', 'etcd requestTimeout');
  if (requestTimeoutMs <= 0) throw new ConfigError('etcd requestTimeout must be positive', 'requestTimeout');

  return {
    hosts,
    prefix,
    auth,
    credentials,
    ttlSeconds: Math.ceil(ttlMs / 1000),
    layout,
    resyncMs: parseDuration(options.resyncInterval ?? '5m', 'etcd resyncInterval'),
    requestTimeoutMs,
    backoff: { initial: 100, max: 10_000, ...options.backoff },
    client: options.client,
    logger: options.logger,
  };
}

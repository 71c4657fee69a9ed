import { readFileSync } from 'node:fs';
import { ConfigError, parseDuration, type Duration, type Logger } from '@disco/core';

export type Consistency = 'default' | 'stale' | 'consistent';

export interface ConsulTlsOptions {
  /** Use HTTPS for an address without a scheme (CONSUL_HTTP_SSL). */
  enabled?: boolean | undefined;
  /** CA certificate(s), PEM text; or `caFile`, a path (CONSUL_CACERT). */
  ca?: string | Buffer | undefined;
  caFile?: string | undefined;
  /** Client certificate, PEM text; or `certFile`, a path (CONSUL_CLIENT_CERT). */
  cert?: string | Buffer | undefined;
  certFile?: string | undefined;
  /** Client key, PEM text; or `keyFile`, a path (CONSUL_CLIENT_KEY). */
  key?: string | Buffer | undefined;
  keyFile?: string | undefined;
  /** Name to verify the agent's certificate against (CONSUL_TLS_SERVER_NAME). */
  serverName?: string | undefined;
  /** Verify the agent's certificate (CONSUL_HTTP_SSL_VERIFY). Default true. */
  verify?: boolean | undefined;
}

export interface ConsulProviderOptions {
  /** Agent address: `host:port`, `http(s)://host:port` or `unix:///path` (CONSUL_HTTP_ADDR). Default localhost:8500. */
  address?: string | undefined;
  /** ACL token, sent only in the `X-Consul-Token` header (CONSUL_HTTP_TOKEN). */
  token?: string | undefined;
  /** Datacenter to read from, `?dc=` (CONSUL_DATACENTER). Default: the agent's. */
  datacenter?: string | undefined;
  /** Namespace (Consul Enterprise), `?ns=` (CONSUL_NAMESPACE). */
  namespace?: string | undefined;
  tls?: ConsulTlsOptions | undefined;
  /** How long one blocking query may wait on the server (`?wait=`, at most 10m). Default 5m. */
  wait?: Duration | undefined;
  /** Read consistency: `default` (leader), `stale` (any server) or `consistent`. Default `default`. */
  consistency?: Consistency | undefined;
  /** Ask Consul for passing instances only (`?passing`); warning instances are then left out too. Default false. */
  passingOnly?: boolean | undefined;
  /** Deadline of a non-blocking request. Default 10s. */
  requestTimeout?: Duration | undefined;
  /** Retries of a failed register/deregister/discover (network errors, 5xx, 429). Default 2. */
  retries?: number | undefined;
  /** Blocking-query rate limit per watch: sustained queries per second and burst. Default 25/s, burst 25. */
  rateLimit?: { perSecond?: number | undefined; burst?: number | undefined } | undefined;
  /** Backoff of a watch after errors (exponential, jittered). Default 250ms up to 30s. */
  backoff?: { initial?: Duration | undefined; max?: Duration | undefined } | undefined;
  /** Reason shown in Consul for `register(service, { healthy: false })` (maintenance mode). */
  maintenanceReason?: string | undefined;
  /** Deregister this process's services on close(). Default true. */
  deregisterOnClose?: boolean | undefined;
  /** pino-compatible logger. */
  logger?: Logger | undefined;
}

/** Options with every default applied and every value checked. */
export interface ResolvedOptions {
  origin: string;
  socketPath: string | undefined;
  token: string | undefined;
  datacenter: string | undefined;
  namespace: string | undefined;
  tls: { ca?: string | Buffer; cert?: string | Buffer; key?: string | Buffer; servername?: string; rejectUnauthorized: boolean } | undefined;
  waitMs: number;
  consistency: Consistency;
  passingOnly: boolean;
  requestTimeoutMs: number;
  retries: number;
  perSecond: number;
  burst: number;
  backoffInitialMs: number;
  backoffMaxMs: number;
  maintenanceReason: string;
  deregisterOnClose: boolean;
}

type Env = Readonly<Record<string, string | undefined>>;

/** The provider's options from Consul's own environment variables (unset ones are left out). */
export function optionsFromEnv(env: Env = process.env): ConsulProviderOptions {
  const options: ConsulProviderOptions = {};
  const value = (name: string) => (env[name] === undefined || env[name] === '' ? undefined : env[name]);
  if (value('CONSUL_HTTP_ADDR')) options.address = value('CONSUL_HTTP_ADDR');
  if (value('CONSUL_HTTP_TOKEN')) options.token = value('CONSUL_HTTP_TOKEN');
  if (value('CONSUL_DATACENTER')) options.datacenter = value('CONSUL_DATACENTER');
  if (value('CONSUL_NAMESPACE')) options.namespace = value('CONSUL_NAMESPACE');
  const tls: ConsulTlsOptions = {};
  if (value('CONSUL_HTTP_SSL')) tls.enabled = bool(value('CONSUL_HTTP_SSL')!, 'CONSUL_HTTP_SSL');
  if (value('CONSUL_HTTP_SSL_VERIFY')) tls.verify = bool(value('CONSUL_HTTP_SSL_VERIFY')!, 'CONSUL_HTTP_SSL_VERIFY');
  if (value('CONSUL_CACERT')) tls.caFile = value('CONSUL_CACERT');
  if (value('CONSUL_CLIENT_CERT')) tls.certFile = value('CONSUL_CLIENT_CERT');
  if (value('CONSUL_CLIENT_KEY')) tls.keyFile = value('CONSUL_CLIENT_KEY');
  if (value('CONSUL_TLS_SERVER_NAME')) tls.serverName = value('CONSUL_TLS_SERVER_NAME');
  if (Object.keys(tls).length > 0) options.tls = tls;
  return options;
}

/** Merges object options over environment options (objects win) and checks them. */
export function resolveOptions(options: ConsulProviderOptions, env: Env): ResolvedOptions {
  const fromEnv = optionsFromEnv(env);
  const merged: ConsulProviderOptions = { ...fromEnv, ...defined(options), tls: { ...fromEnv.tls, ...defined(options.tls ?? {}) } };
  const tlsOptions = merged.tls!;
  const { origin, socketPath, https } = parseAddress(merged.address ?? 'localhost:8500', tlsOptions.enabled === true);
  const file = (path: string | undefined, variable: string) => {
    if (path === undefined) return undefined;
    try {
      return readFileSync(path);
    } catch (error) {
      throw new ConfigError(`${variable}: cannot read ${JSON.stringify(path)} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); point it at a PEM file`, variable);
    }
  };
  let tls: ResolvedOptions['tls'];
  if (https) {
    tls = { rejectUnauthorized: tlsOptions.verify !== false };
    const ca = tlsOptions.ca ?? file(tlsOptions.caFile, 'CONSUL_CACERT');
    const cert = tlsOptions.cert ?? file(tlsOptions.certFile, 'CONSUL_CLIENT_CERT');
    const key = tlsOptions.key ?? file(tlsOptions.keyFile, 'CONSUL_CLIENT_KEY');
    if ((cert === undefined) !== (key === undefined)) {
      throw new ConfigError('a client certificate needs its key and the other way round: set both CONSUL_CLIENT_CERT and CONSUL_CLIENT_KEY (tls.cert and tls.key)', cert === undefined ? 'CONSUL_CLIENT_CERT' : 'CONSUL_CLIENT_KEY');
    }
    if (ca !== undefined) tls.ca = ca;
    if (cert !== undefined) tls.cert = cert;
    if (key !== undefined) tls.key = key;
    if (tlsOptions.serverName) tls.servername = tlsOptions.serverName;
  }
  const waitMs = parseDuration(merged.wait ?? '5m', 'consul.wait');
  if (waitMs < 1000 || waitMs > 600_000) throw new ConfigError(`consul.wait must be from 1s to 10m (Consul's limit); got ${JSON.stringify(merged.wait)}`, 'consul.wait');
  const consistency = merged.consistency ?? 'default';
  if (!['default', 'stale', 'consistent'].includes(consistency)) {
    throw new ConfigError(`consul.consistency must be one of default, stale, consistent; got ${JSON.stringify(consistency)}`, 'consul.consistency');
  }
  const positive = (value: number | undefined, fallback: number, what: string) => {
    const n = value ?? fallback;
    if (!(typeof n === 'number' && Number.isFinite(n) && n > 0)) throw new ConfigError(`${what} must be a positive number; got ${JSON.stringify(value)}`, what);
    return n;
  };
  const retries = merged.retries ?? 2;
  if (!(Number.isInteger(retries) && retries >= 0)) throw new ConfigError(`consul.retries must be a whole number of at least 0; got ${JSON.stringify(retries)}`, 'consul.retries');
  const resolved: ResolvedOptions = {
    origin,
    socketPath,
    token: merged.token,
    datacenter: merged.datacenter,
    namespace: merged.namespace,
    tls,
    waitMs,
    consistency,
    passingOnly: merged.passingOnly === true,
    requestTimeoutMs: parseDuration(merged.requestTimeout ?? '10s', 'consul.requestTimeout'),
    retries,
    perSecond: positive(merged.rateLimit?.perSecond, 25, 'consul.rateLimit.perSecond'),
    burst: positive(merged.rateLimit?.burst, 25, 'consul.rateLimit.burst'),
    backoffInitialMs: parseDuration(merged.backoff?.initial ?? '250ms', 'consul.backoff.initial'),
    backoffMaxMs: parseDuration(merged.backoff?.max ?? '30s', 'consul.backoff.max'),
    maintenanceReason: merged.maintenanceReason ?? 'marked unhealthy by disco',
    deregisterOnClose: merged.deregisterOnClose !== false,
  };
  return resolved;
}

/**
 * CONSUL_HTTP_ADDR as Consul's own CLI reads it: `host:port` or `host` (port 8500; HTTPS when
 * CONSUL_HTTP_SSL is set), `http://` / `https://` URLs, or `unix:///path/to/socket`.
 */
export function parseAddress(address: string, ssl: boolean): { origin: string; socketPath: string | undefined; https: boolean } {
  const bad = () =>
    new ConfigError(`CONSUL_HTTP_ADDR (consul.address) must be host:port, http://host:port, https://host:port or unix:///path; got ${JSON.stringify(address)}`, 'CONSUL_HTTP_ADDR');
  const text = address.trim();
  if (text.startsWith('unix://')) {
    const path = text.slice('unix://'.length);
    if (!path.startsWith('/')) throw bad();
    return { origin: 'http://localhost', socketPath: path, https: false };
  }
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `${ssl ? 'https' : 'http'}://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw bad();
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '' || (url.pathname !== '/' && url.pathname !== '') || url.search || url.username) throw bad();
  const port = url.port || (/^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? (url.protocol === 'https:' ? '443' : '80') : '8500');
  return { origin: `${url.protocol}//${url.hostname}:${port}`, socketPath: undefined, https: url.protocol === 'https:' };
}

function bool(value: string, variable: string): boolean {
  if (/^(1|true|yes|on)$/i.test(value)) return true;
  if (/^(0|false|no|off)$/i.test(value)) return false;
  throw new ConfigError(`${variable} must be true or false; got ${JSON.stringify(value)}`, variable);
}

function defined<T extends object>(object: T): Partial<T> {
  return Object.fromEntries(Object.entries(object).filter(([, v]) => v !== undefined)) as Partial<T>;
}

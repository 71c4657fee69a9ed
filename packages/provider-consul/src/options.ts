import { ConfigError, parseDuration, type Duration, type Logger } from '@disco/core';
import { assertKnownKeys, readPem, type BackoffOptions, type PemSource } from '@disco/core/provider';

export type Consistency = 'default' | 'stale' | 'consistent';

export interface ConsulTlsOptions {
  /** Use HTTPS for an address without a scheme (CONSUL_HTTP_SSL). */
  enabled?: boolean | undefined;
  /** CA certificate(s): PEM text, or the path of a PEM file (CONSUL_CACERT). Default: the system CAs. */
  ca?: PemSource | undefined;
  /** Client certificate: PEM text or a file path (CONSUL_CLIENT_CERT). Needs `key`. */
  cert?: PemSource | undefined;
  /** Client key: PEM text or a file path (CONSUL_CLIENT_KEY). Needs `cert`. */
  key?: PemSource | undefined;
  /** Name to verify the agent's certificate against (CONSUL_TLS_SERVER_NAME). */
  serverName?: string | undefined;
  /** Do not verify the agent's certificate (CONSUL_HTTP_SSL_VERIFY=false). Default false. */
  insecureSkipVerify?: boolean | undefined;
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
  /** How long one blocking query may wait on the server (`?wait=`, 1s to 10m; CONSUL_WAIT). Default 5m. */
  wait?: Duration | undefined;
  /** Read consistency: `default` (leader), `stale` (any server) or `consistent` (CONSUL_CONSISTENCY). Default `default`. */
  consistency?: Consistency | undefined;
  /** Ask Consul for passing instances only (`?passing`); warning instances are then left out too (CONSUL_PASSING_ONLY). Default false. */
  passingOnly?: boolean | undefined;
  /** Deadline of a non-blocking request (CONSUL_REQUEST_TIMEOUT). Default 10s. */
  requestTimeout?: Duration | undefined;
  /** Retries of a failed register/deregister/discover: network errors, 5xx, 429 (CONSUL_RETRIES). Default 2. */
  retries?: number | undefined;
  /**
   * Retry delays of a failing watch made through this provider's own `watch()` (full jitter;
   * CONSUL_BACKOFF_INITIAL, CONSUL_BACKOFF_MAX). Default 100ms doubling up to 30s. A Discovery
   * runs the provider's sources in its own engines, with core's backoff.
   */
  backoff?: { initial?: Duration | undefined; max?: Duration | undefined } | undefined;
  /**
   * The most connections this provider opens to the agent, all lanes together (CONSUL_MAX_CONNECTIONS;
   * 4 to 1000). Default 32, well under Consul's `limits.http_max_conns_per_client` of 200, which
   * refuses more with 429. An eighth is kept for registrations, heartbeats and deregistrations, a
   * quarter for reads, the rest for blocking queries.
   */
  maxConnections?: number | undefined;
  /**
   * Up to this many watched services, each has its own blocking query; above it, one change feed
   * (two blocking queries) tells which services to re-read, and the feed stops again at half of it
   * (CONSUL_FEED_THRESHOLD). Default 16. 0 = always the feed. Set above the blocking-query share of
   * `maxConnections` (20 of 32), per-service queries take turns on it, and a change can wait a whole
   * `wait` per turn (measured in the README).
   */
  feedThreshold?: number | undefined;
  /**
   * While the change feed runs, every watched service is also re-read this often (jittered), so
   * a change the feed could not place is found in bounded time (CONSUL_FEED_SWEEP_INTERVAL).
   * Default 5m; 0 = never.
   */
  feedSweepInterval?: Duration | undefined;
  /** Reason shown in Consul for `register(service, { healthy: false })` (maintenance mode; CONSUL_MAINTENANCE_REASON). */
  maintenanceReason?: string | undefined;
  /** Deregister this process's services on close() (CONSUL_DEREGISTER_ON_CLOSE). Default true. */
  deregisterOnClose?: boolean | undefined;
  /** pino-compatible logger. Default: the context's (a Discovery's), else silent. */
  logger?: Logger | undefined;
}

/** Options with every default applied and every value checked. */
export interface ResolvedOptions {
  origin: string;
  socketPath: string | undefined;
  token: string | undefined;
  datacenter: string | undefined;
  namespace: string | undefined;
  tls: { ca?: Buffer; cert?: Buffer; key?: Buffer; servername?: string; rejectUnauthorized: boolean } | undefined;
  waitMs: number;
  consistency: Consistency;
  passingOnly: boolean;
  requestTimeoutMs: number;
  retries: number;
  backoff: BackoffOptions;
  maintenanceReason: string;
  deregisterOnClose: boolean;
  maxConnections: number;
  feedThreshold: number;
  feedSweepIntervalMs: number;
}

type Env = Readonly<Record<string, string | undefined>>;

const knownOptions = [
  'address',
  'token',
  'datacenter',
  'namespace',
  'tls',
  'wait',
  'consistency',
  'passingOnly',
  'requestTimeout',
  'retries',
  'backoff',
  'maintenanceReason',
  'deregisterOnClose',
  'maxConnections',
  'feedThreshold',
  'feedSweepInterval',
  'logger',
] as const satisfies readonly (keyof ConsulProviderOptions)[];
const knownTls = ['enabled', 'ca', 'cert', 'key', 'serverName', 'insecureSkipVerify'] as const satisfies readonly (keyof ConsulTlsOptions)[];
const knownBackoff = ['initial', 'max'] as const;

/** The variable of each option (the option's name in messages when it was given by object). */
export const variables = {
  address: 'CONSUL_HTTP_ADDR',
  token: 'CONSUL_HTTP_TOKEN',
  datacenter: 'CONSUL_DATACENTER',
  namespace: 'CONSUL_NAMESPACE',
  'tls.enabled': 'CONSUL_HTTP_SSL',
  'tls.ca': 'CONSUL_CACERT',
  'tls.cert': 'CONSUL_CLIENT_CERT',
  'tls.key': 'CONSUL_CLIENT_KEY',
  'tls.serverName': 'CONSUL_TLS_SERVER_NAME',
  'tls.insecureSkipVerify': 'CONSUL_HTTP_SSL_VERIFY',
  wait: 'CONSUL_WAIT',
  consistency: 'CONSUL_CONSISTENCY',
  passingOnly: 'CONSUL_PASSING_ONLY',
  requestTimeout: 'CONSUL_REQUEST_TIMEOUT',
  retries: 'CONSUL_RETRIES',
  'backoff.initial': 'CONSUL_BACKOFF_INITIAL',
  'backoff.max': 'CONSUL_BACKOFF_MAX',
  maintenanceReason: 'CONSUL_MAINTENANCE_REASON',
  deregisterOnClose: 'CONSUL_DEREGISTER_ON_CLOSE',
  maxConnections: 'CONSUL_MAX_CONNECTIONS',
  feedThreshold: 'CONSUL_FEED_THRESHOLD',
  feedSweepInterval: 'CONSUL_FEED_SWEEP_INTERVAL',
} as const;

/** The provider's options from its environment variables (unset and empty ones are left out). */
export function optionsFromEnv(env: Env = process.env): ConsulProviderOptions {
  const options: ConsulProviderOptions = {};
  const value = (name: string) => (env[name] === undefined || env[name] === '' ? undefined : env[name]);
  const set = <K extends keyof ConsulProviderOptions>(key: K, variable: string, parse: (text: string) => ConsulProviderOptions[K] = (t) => t as ConsulProviderOptions[K]) => {
    const text = value(variable);
    if (text !== undefined) options[key] = parse(text);
  };
  set('address', variables.address);
  set('token', variables.token);
  set('datacenter', variables.datacenter);
  set('namespace', variables.namespace);
  set('wait', variables.wait);
  set('consistency', variables.consistency, (t) => t as Consistency);
  set('passingOnly', variables.passingOnly, (t) => bool(t, variables.passingOnly));
  set('requestTimeout', variables.requestTimeout);
  set('retries', variables.retries, (t) => whole(t, variables.retries));
  set('maintenanceReason', variables.maintenanceReason);
  set('deregisterOnClose', variables.deregisterOnClose, (t) => bool(t, variables.deregisterOnClose));
  set('maxConnections', variables.maxConnections, (t) => whole(t, variables.maxConnections));
  set('feedThreshold', variables.feedThreshold, (t) => whole(t, variables.feedThreshold));
  set('feedSweepInterval', variables.feedSweepInterval);
  const tls: ConsulTlsOptions = {};
  if (value('CONSUL_HTTP_SSL')) tls.enabled = bool(value('CONSUL_HTTP_SSL')!, 'CONSUL_HTTP_SSL');
  if (value('CONSUL_HTTP_SSL_VERIFY')) tls.insecureSkipVerify = !bool(value('CONSUL_HTTP_SSL_VERIFY')!, 'CONSUL_HTTP_SSL_VERIFY');
  if (value('CONSUL_CACERT')) tls.ca = value('CONSUL_CACERT');
  if (value('CONSUL_CLIENT_CERT')) tls.cert = value('CONSUL_CLIENT_CERT');
  if (value('CONSUL_CLIENT_KEY')) tls.key = value('CONSUL_CLIENT_KEY');
  if (value('CONSUL_TLS_SERVER_NAME')) tls.serverName = value('CONSUL_TLS_SERVER_NAME');
  if (Object.keys(tls).length > 0) options.tls = tls;
  const backoff: NonNullable<ConsulProviderOptions['backoff']> = {};
  if (value(variables['backoff.initial'])) backoff.initial = value(variables['backoff.initial']);
  if (value(variables['backoff.max'])) backoff.max = value(variables['backoff.max']);
  if (Object.keys(backoff).length > 0) options.backoff = backoff;
  return options;
}

/**
 * Merges object options over environment options and checks them. A defined option wins over
 * its variable; an option given as `undefined` leaves the variable in force; an unknown key is
 * ERR_CONFIG naming the nearest known one. A bad value is ERR_CONFIG naming where it came from:
 * the option (`consul.wait`) when it was given by object, else its variable (`CONSUL_WAIT`).
 */
export function resolveOptions(options: ConsulProviderOptions, env: Env): ResolvedOptions {
  if (typeof options !== 'object' || options === null) throw new ConfigError(`consul options must be an object; got ${typeof options}`, 'consul');
  assertKnownKeys(options, knownOptions, 'consul');
  if (options.tls !== undefined) assertKnownKeys(options.tls, knownTls, 'consul.tls');
  if (options.backoff !== undefined) assertKnownKeys(options.backoff, knownBackoff, 'consul.backoff');
  const fromEnv = optionsFromEnv(env);
  const given = defined(options);
  const givenTls = defined(options.tls ?? {});
  const givenBackoff = defined(options.backoff ?? {});
  const merged: ConsulProviderOptions = { ...fromEnv, ...given, tls: { ...fromEnv.tls, ...givenTls }, backoff: { ...fromEnv.backoff, ...givenBackoff } };
  /** Where a value came from, for messages: the option when given by object, else its variable. */
  const source = (key: keyof typeof variables): string => {
    const [head, tail] = key.split('.') as [string, string | undefined];
    const byObject = tail === undefined ? head in given : head === 'tls' ? tail in givenTls : tail in givenBackoff;
    return byObject ? `consul.${key}` : variables[key];
  };
  const tlsOptions = merged.tls!;
  const { origin, socketPath, https } = parseAddress(merged.address ?? 'localhost:8500', tlsOptions.enabled === true);
  let tls: ResolvedOptions['tls'];
  if (https) {
    tls = { rejectUnauthorized: tlsOptions.insecureSkipVerify !== true };
    const pem = (field: 'ca' | 'cert' | 'key') => {
      const value = tlsOptions[field];
      return value === undefined ? undefined : readPem(value, field === 'key' ? 'key' : 'certificate', `consul.tls.${field}`, variables[`tls.${field}`]);
    };
    const ca = pem('ca');
    const cert = pem('cert');
    const key = pem('key');
    if ((cert === undefined) !== (key === undefined)) {
      throw new ConfigError('a client certificate needs its key and the other way round: set both CONSUL_CLIENT_CERT and CONSUL_CLIENT_KEY (tls.cert and tls.key)', cert === undefined ? 'CONSUL_CLIENT_CERT' : 'CONSUL_CLIENT_KEY');
    }
    if (ca !== undefined) tls.ca = ca;
    if (cert !== undefined) tls.cert = cert;
    if (key !== undefined) tls.key = key;
    if (tlsOptions.serverName) tls.servername = tlsOptions.serverName;
  }
  const duration = (key: 'wait' | 'requestTimeout' | 'backoff.initial' | 'backoff.max' | 'feedSweepInterval', value: Duration | undefined, fallback: Duration) => parseDuration(value ?? fallback, source(key));
  const waitMs = duration('wait', merged.wait, '5m');
  if (waitMs < 1000 || waitMs > 600_000) throw new ConfigError(`${source('wait')} must be from 1s to 10m (Consul's limit); got ${JSON.stringify(merged.wait)}`, source('wait'));
  const consistency = merged.consistency ?? 'default';
  if (!['default', 'stale', 'consistent'].includes(consistency)) {
    throw new ConfigError(`${source('consistency')} must be one of default, stale, consistent; got ${JSON.stringify(consistency)}`, source('consistency'));
  }
  const retries = merged.retries ?? 2;
  if (!(Number.isInteger(retries) && retries >= 0)) throw new ConfigError(`${source('retries')} must be a whole number of at least 0; got ${JSON.stringify(retries)}`, source('retries'));
  const maxConnections = merged.maxConnections ?? 32;
  if (!(Number.isInteger(maxConnections) && maxConnections >= 4 && maxConnections <= 1000)) {
    throw new ConfigError(`${source('maxConnections')} must be a whole number from 4 to 1000 (Consul refuses a client's connections beyond limits.http_max_conns_per_client, 200 by default); got ${JSON.stringify(merged.maxConnections)}`, source('maxConnections'));
  }
  const feedThreshold = merged.feedThreshold ?? 16;
  if (!(Number.isInteger(feedThreshold) && feedThreshold >= 0)) throw new ConfigError(`${source('feedThreshold')} must be a whole number of at least 0; got ${JSON.stringify(merged.feedThreshold)}`, source('feedThreshold'));
  for (const key of ['passingOnly', 'deregisterOnClose'] as const) {
    if (merged[key] !== undefined && typeof merged[key] !== 'boolean') throw new ConfigError(`${source(key)} must be true or false; got ${JSON.stringify(merged[key])}`, source(key));
  }
  return {
    origin,
    socketPath,
    token: merged.token,
    datacenter: merged.datacenter,
    namespace: merged.namespace,
    tls,
    waitMs,
    consistency,
    passingOnly: merged.passingOnly === true,
    requestTimeoutMs: duration('requestTimeout', merged.requestTimeout, '10s'),
    retries,
    backoff: { initial: duration('backoff.initial', merged.backoff?.initial, 100), max: duration('backoff.max', merged.backoff?.max, 30_000) },
    maintenanceReason: merged.maintenanceReason ?? 'marked unhealthy by disco',
    deregisterOnClose: merged.deregisterOnClose !== false,
    maxConnections,
    feedThreshold,
    feedSweepIntervalMs: duration('feedSweepInterval', merged.feedSweepInterval, '5m'),
  };
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

function whole(value: string, variable: string): number {
  if (!/^\d{1,9}$/.test(value.trim())) throw new ConfigError(`${variable} must be a whole number of at least 0; got ${JSON.stringify(value)}`, variable);
  return Number(value);
}

function defined<T extends object>(object: T): Partial<T> {
  return Object.fromEntries(Object.entries(object).filter(([, v]) => v !== undefined)) as Partial<T>;
}

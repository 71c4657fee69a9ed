import { ConfigError, parseDuration, type BackoffOptions, type Duration, type Logger } from '@disco/core';
import { assertKnownKeys, readPem, type PemSource } from '@disco/core/provider';
import type { Etcd3 } from 'etcd3';

/** How keys and values are laid out under the prefix. */
export type EtcdLayout = 'disco' | 'go-grpc';

/** Whether watches share one range and one watch over the whole prefix. */
export type EtcdPrefixMode = 'auto' | 'always' | 'never';

/**
 * PEM material. A string holding `-----BEGIN` is the PEM text itself; any other string is the
 * path of a PEM file, read when the provider is created. A Buffer/Uint8Array is PEM contents.
 */
/** PEM text, the path of a PEM file, or PEM contents. */
export type { PemSource };

export interface EtcdTlsOptions {
  /** CA bundle that signed the etcd server certificates (`ETCD_CACERT`). */
  ca?: PemSource | undefined;
  /** Client certificate for servers started with `--client-cert-auth` (`ETCD_CERT`). */
  cert?: PemSource | undefined;
  /** Key of the client certificate (`ETCD_KEY`). */
  key?: PemSource | undefined;
  /**
   * Skip verifying the server's certificate (`ETCD_INSECURE_SKIP_TLS_VERIFY`). The `etcd3`
   * client cannot do that: only `false` is accepted; give `ca` instead.
   */
  insecureSkipVerify?: boolean | undefined;
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
  /** Lease TTL of the registrations, whole seconds, at least 1s (`ETCD_LEASE_TTL`). Default 15s. */
  ttl?: Duration | undefined;
  /** `disco` (default, versioned JSON) or `go-grpc` (read and write what Go's etcd naming/endpoints uses) (`ETCD_LAYOUT`). */
  layout?: EtcdLayout | undefined;
  /**
   * Period of the re-list that catches a watch that went silent; 0 turns it off
   * (`ETCD_RESYNC_INTERVAL`). Default 5m, with ±10% jitter.
   */
  resyncInterval?: Duration | undefined;
  /** Deadline of each unary etcd call (list, put, delete, grant) (`ETCD_REQUEST_TIMEOUT`). Default 5s. */
  requestTimeout?: Duration | undefined;
  /**
   * Retry pacing after a failed list/watch or lease grant (`ETCD_BACKOFF_INITIAL`,
   * `ETCD_BACKOFF_MAX`, `ETCD_BACKOFF_FACTOR`). Default 100ms doubling to 10s, full jitter.
   */
  backoff?: BackoffOptions | undefined;
  /**
   * `auto` (default): once at least `prefixModeThreshold` services are watched, one range and
   * one watch over the whole prefix serve them all; `always`: always so; `never`: a range and a
   * watch per service (`ETCD_PREFIX_MODE`).
   */
  prefixMode?: EtcdPrefixMode | undefined;
  /** How many watched services turn prefix mode on in `auto` (`ETCD_PREFIX_MODE_THRESHOLD`). Default 50. */
  prefixModeThreshold?: number | undefined;
  /**
   * Send etcd's `hasleader=true` metadata with watches and reads, as etcd's Go client does with
   * `WithRequireLeader`: a member without a leader refuses them, and cancels a watch once it has
   * had no leader for three election timeouts (`ETCD_REQUIRE_LEADER`). Default true.
   */
  requireLeader?: boolean | undefined;
  /**
   * With two or more endpoints: how often each member is asked for a linearizable read while
   * something is watched; a member that cannot answer (cut off from its quorum, no leader) is
   * avoided and the watches it serves move to another member. 0 turns it off
   * (`ETCD_MEMBER_CHECK_INTERVAL`). Default 1s.
   */
  memberCheckInterval?: Duration | undefined;
  /** Use this client instead of creating one; the provider does not close it. (An object: no variable.) */
  client?: Etcd3 | undefined;
  /** pino-shaped logger; default: `context.logger`, else silent. (An object: no variable.) */
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
  prefixMode: EtcdPrefixMode;
  prefixModeThreshold: number;
  requireLeader: boolean;
  memberCheckMs: number;
  client: Etcd3 | undefined;
  logger: Logger | undefined;
}

/** What `etcdProvider` and `createProvider` are given besides the options. */
export interface EtcdProviderContext {
  /** Where the `ETCD_*` variables are read; default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined;
  readonly logger?: Logger | undefined;
}

type Env = Readonly<Record<string, string | undefined>>;

/** Every option, with its variable (objects have none). */
export const optionVariables = {
  endpoints: 'ETCD_ENDPOINTS',
  prefix: 'ETCD_DISCOVERY_PREFIX',
  username: 'ETCD_USERNAME',
  password: 'ETCD_PASSWORD',
  'tls.ca': 'ETCD_CACERT',
  'tls.cert': 'ETCD_CERT',
  'tls.key': 'ETCD_KEY',
  'tls.insecureSkipVerify': 'ETCD_INSECURE_SKIP_TLS_VERIFY',
  ttl: 'ETCD_LEASE_TTL',
  layout: 'ETCD_LAYOUT',
  resyncInterval: 'ETCD_RESYNC_INTERVAL',
  requestTimeout: 'ETCD_REQUEST_TIMEOUT',
  'backoff.initial': 'ETCD_BACKOFF_INITIAL',
  'backoff.max': 'ETCD_BACKOFF_MAX',
  'backoff.factor': 'ETCD_BACKOFF_FACTOR',
  prefixMode: 'ETCD_PREFIX_MODE',
  prefixModeThreshold: 'ETCD_PREFIX_MODE_THRESHOLD',
  requireLeader: 'ETCD_REQUIRE_LEADER',
  memberCheckInterval: 'ETCD_MEMBER_CHECK_INTERVAL',
} as const;

const knownKeys = ['endpoints', 'prefix', 'username', 'password', 'tls', 'ttl', 'layout', 'resyncInterval', 'requestTimeout', 'backoff', 'prefixMode', 'prefixModeThreshold', 'requireLeader', 'memberCheckInterval', 'client', 'logger'] as const;
const knownTlsKeys = ['ca', 'cert', 'key', 'insecureSkipVerify'] as const;
const knownBackoffKeys = ['initial', 'max', 'factor', 'random'] as const;
/** Node treats longer timer delays as 1 ms. */
const maxTimerMs = 2 ** 31 - 1;

/** Reads the provider's environment variables; unset or empty variables are left out. */
export function optionsFromEnv(env: Env = process.env): EtcdProviderOptions {
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
  const skip = value('ETCD_INSECURE_SKIP_TLS_VERIFY');
  if (skip !== undefined) tls.insecureSkipVerify = parseBoolean(skip, 'ETCD_INSECURE_SKIP_TLS_VERIFY');
  if (Object.keys(tls).length > 0) options.tls = tls;
  if (value('ETCD_LEASE_TTL') !== undefined) options.ttl = value('ETCD_LEASE_TTL');
  if (value('ETCD_LAYOUT') !== undefined) options.layout = value('ETCD_LAYOUT') as EtcdLayout;
  if (value('ETCD_RESYNC_INTERVAL') !== undefined) options.resyncInterval = value('ETCD_RESYNC_INTERVAL');
  if (value('ETCD_REQUEST_TIMEOUT') !== undefined) options.requestTimeout = value('ETCD_REQUEST_TIMEOUT');
  const backoff: BackoffOptions = {};
  if (value('ETCD_BACKOFF_INITIAL') !== undefined) backoff.initial = value('ETCD_BACKOFF_INITIAL');
  if (value('ETCD_BACKOFF_MAX') !== undefined) backoff.max = value('ETCD_BACKOFF_MAX');
  const factor = value('ETCD_BACKOFF_FACTOR');
  if (factor !== undefined) {
    const n = Number(factor);
    if (!Number.isFinite(n) || n < 1) throw new ConfigError(`ETCD_BACKOFF_FACTOR must be a number ≥ 1; got ${JSON.stringify(factor)}`, 'ETCD_BACKOFF_FACTOR');
    backoff.factor = n;
  }
  if (Object.keys(backoff).length > 0) options.backoff = backoff;
  if (value('ETCD_PREFIX_MODE') !== undefined) options.prefixMode = value('ETCD_PREFIX_MODE') as EtcdPrefixMode;
  const threshold = value('ETCD_PREFIX_MODE_THRESHOLD');
  if (threshold !== undefined) {
    const n = Number(threshold);
    if (!Number.isInteger(n) || n < 1) throw new ConfigError(`ETCD_PREFIX_MODE_THRESHOLD must be a whole number ≥ 1; got ${JSON.stringify(threshold)}`, 'ETCD_PREFIX_MODE_THRESHOLD');
    options.prefixModeThreshold = n;
  }
  const requireLeader = value('ETCD_REQUIRE_LEADER');
  if (requireLeader !== undefined) options.requireLeader = parseBoolean(requireLeader, 'ETCD_REQUIRE_LEADER');
  if (value('ETCD_MEMBER_CHECK_INTERVAL') !== undefined) options.memberCheckInterval = value('ETCD_MEMBER_CHECK_INTERVAL');
  return options;
}

function parseBoolean(text: string, variable: string): boolean {
  if (/^(true|1|yes)$/i.test(text)) return true;
  if (/^(false|0|no)$/i.test(text)) return false;
  throw new ConfigError(`${variable} must be true or false; got ${JSON.stringify(text)}`, variable);
}

/** `options` without the keys whose value is undefined: an explicit undefined does not hide a variable. */
function defined<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The options a provider runs with: the `ETCD_*` variables of `env`, each overridden by its
 * option when that option is defined. An unknown key is `ERR_CONFIG` naming the nearest one.
 */
export function mergeWithEnv(options: unknown, env: Env): EtcdProviderOptions {
  if (options !== undefined && !isPlainObject(options)) throw new ConfigError('etcd provider options must be an object', 'etcd');
  const given = (options ?? {}) as EtcdProviderOptions;
  assertKnownKeys(given, knownKeys, 'etcd');
  if (given.tls !== undefined) {
    if (!isPlainObject(given.tls)) throw new ConfigError('etcd.tls must be an object { ca, cert, key, insecureSkipVerify }', 'etcd.tls');
    assertKnownKeys(given.tls, knownTlsKeys, 'etcd.tls');
  }
  if (given.backoff !== undefined) {
    if (!isPlainObject(given.backoff)) throw new ConfigError('etcd.backoff must be an object { initial, max, factor }', 'etcd.backoff');
    assertKnownKeys(given.backoff, knownBackoffKeys, 'etcd.backoff');
  }
  const fromEnv = optionsFromEnv(env);
  const merged: EtcdProviderOptions = { ...fromEnv, ...defined(given) };
  if (fromEnv.tls || given.tls) merged.tls = { ...fromEnv.tls, ...defined(given.tls ?? {}) };
  if (fromEnv.backoff || given.backoff) merged.backoff = { ...fromEnv.backoff, ...defined(given.backoff ?? {}) };
  return merged;
}

const tlsVariable = { ca: 'ETCD_CACERT', cert: 'ETCD_CERT', key: 'ETCD_KEY' } as const;

/** PEM text or a file holding it (core's kit reads and checks it): a wrong one is ERR_CONFIG naming its variable. */
function readTlsPem(source: PemSource, field: 'ca' | 'cert' | 'key'): Buffer {
  return readPem(source, field === 'key' ? 'key' : 'certificate', `tls.${field}`, tlsVariable[field]);
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

/** A duration option, as ERR_CONFIG naming the option, its variable and the value when wrong. */
function duration(value: Duration | undefined, fallback: Duration, option: keyof typeof optionVariables): number {
  const variable = optionVariables[option];
  const what = `etcd ${option} (${variable})`;
  let ms: number;
  try {
    ms = parseDuration(value ?? fallback, what);
  } catch (error) {
    throw new ConfigError((error as Error).message, variable);
  }
  if (ms > maxTimerMs) throw new ConfigError(`${what} must be at most ${maxTimerMs} ms (about 24.8 days); got ${JSON.stringify(value)}`, variable);
  return ms;
}

/** Validates options; every mistake is an ERR_CONFIG naming the option and its variable. */
export function resolveOptions(options: EtcdProviderOptions): ResolvedOptions {
  const tls = options.tls;
  const secure = tls?.ca !== undefined || tls?.cert !== undefined;
  const list = options.endpoints === undefined ? ['localhost:2379'] : typeof options.endpoints === 'string' ? options.endpoints.split(',') : [...options.endpoints];
  if (list.some((e) => typeof e !== 'string')) throw new ConfigError('etcd endpoints (ETCD_ENDPOINTS) must be strings such as "10.0.0.1:2379"', 'ETCD_ENDPOINTS');
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

  if (tls?.insecureSkipVerify !== undefined && tls.insecureSkipVerify !== false) {
    throw new ConfigError(
      'tls.insecureSkipVerify (ETCD_INSECURE_SKIP_TLS_VERIFY) cannot be honoured: the etcd3 client always verifies the server; give the CA that signed it as tls.ca (ETCD_CACERT)',
      'ETCD_INSECURE_SKIP_TLS_VERIFY',
    );
  }
  let credentials: ResolvedOptions['credentials'];
  if (tls && (tls.ca !== undefined || tls.cert !== undefined || tls.key !== undefined)) {
    if ((tls.cert === undefined) !== (tls.key === undefined)) {
      throw new ConfigError('a TLS client certificate needs both tls.cert (ETCD_CERT) and tls.key (ETCD_KEY)', tls.cert === undefined ? 'ETCD_CERT' : 'ETCD_KEY');
    }
    if (tls.ca === undefined) throw new ConfigError('TLS to etcd needs the CA that signed its certificate: set tls.ca (ETCD_CACERT)', 'ETCD_CACERT');
    credentials = { rootCertificate: readTlsPem(tls.ca, 'ca') };
    if (tls.cert !== undefined && tls.key !== undefined) {
      credentials.certChain = readTlsPem(tls.cert, 'cert');
      credentials.privateKey = readTlsPem(tls.key, 'key');
    }
  }

  const ttlMs = duration(options.ttl, '15s', 'ttl');
  if (ttlMs < 1000) throw new ConfigError(`etcd ttl (ETCD_LEASE_TTL) must be at least 1s (a lease counts whole seconds); got ${JSON.stringify(options.ttl)}`, 'ETCD_LEASE_TTL');
  const layout = options.layout ?? 'disco';
  if (layout !== 'disco' && layout !== 'go-grpc') throw new ConfigError(`etcd layout (ETCD_LAYOUT) must be "disco" or "go-grpc"; got ${JSON.stringify(layout)}`, 'ETCD_LAYOUT');
  const requestTimeoutMs = duration(options.requestTimeout, '5s', 'requestTimeout');
  if (requestTimeoutMs <= 0) throw new ConfigError('etcd requestTimeout (ETCD_REQUEST_TIMEOUT) must be positive', 'ETCD_REQUEST_TIMEOUT');
  const backoff = options.backoff ?? {};
  const resolvedBackoff: BackoffOptions = {
    ...backoff,
    initial: duration(backoff.initial, 100, 'backoff.initial'),
    max: duration(backoff.max, 10_000, 'backoff.max'),
  };
  if (backoff.factor !== undefined && (typeof backoff.factor !== 'number' || !Number.isFinite(backoff.factor) || backoff.factor < 1)) {
    throw new ConfigError(`etcd backoff.factor (ETCD_BACKOFF_FACTOR) must be a number ≥ 1; got ${JSON.stringify(backoff.factor)}`, 'ETCD_BACKOFF_FACTOR');
  }

  const prefixMode = options.prefixMode ?? 'auto';
  if (prefixMode !== 'auto' && prefixMode !== 'always' && prefixMode !== 'never') {
    throw new ConfigError(`etcd prefixMode (ETCD_PREFIX_MODE) must be "auto", "always" or "never"; got ${JSON.stringify(prefixMode)}`, 'ETCD_PREFIX_MODE');
  }
  const prefixModeThreshold = options.prefixModeThreshold ?? 50;
  if (typeof prefixModeThreshold !== 'number' || !Number.isInteger(prefixModeThreshold) || prefixModeThreshold < 1) {
    throw new ConfigError(`etcd prefixModeThreshold (ETCD_PREFIX_MODE_THRESHOLD) must be a whole number ≥ 1; got ${JSON.stringify(prefixModeThreshold)}`, 'ETCD_PREFIX_MODE_THRESHOLD');
  }
  const requireLeader = options.requireLeader ?? true;
  if (typeof requireLeader !== 'boolean') throw new ConfigError(`etcd requireLeader (ETCD_REQUIRE_LEADER) must be true or false; got ${JSON.stringify(requireLeader)}`, 'ETCD_REQUIRE_LEADER');

  return {
    hosts,
    prefix,
    auth,
    credentials,
    ttlSeconds: Math.ceil(ttlMs / 1000),
    layout,
    resyncMs: duration(options.resyncInterval, '5m', 'resyncInterval'),
    requestTimeoutMs,
    backoff: resolvedBackoff,
    prefixMode,
    prefixModeThreshold,
    requireLeader,
    memberCheckMs: duration(options.memberCheckInterval, '1s', 'memberCheckInterval'),
    client: options.client,
    logger: options.logger,
  };
}

import { ConfigError, parseDuration, type BalancerSpec, type Duration } from '@disco/core';
import type { Dispatcher, Pool } from 'undici';
import { compileHostRule, type HostRule, type ServiceTarget } from './host-rule.js';
import { defaultIsFailure, type CallResult, type RetryEvent } from './call-result.js';

/** The retry budget of one service (Finagle's RetryBudget, Envoy's retry_budget). */
export interface RetryBudgetOptions {
  /** Retries may add at most this share of the service's requests, counted over `window`. Default 0.2. */
  ratio?: number;
  /** Retries allowed per second on top of the share, so a quiet service can still retry. Default 10. */
  minPerSecond?: number;
  /** How far back requests and retries are counted. Default 10s. */
  window?: Duration;
}

export interface RetryOptions {
  /** Retries after the first attempt, each to an instance not tried yet for this request. Default 2. */
  retries?: number;
  /** Methods retried without opt-in. Default GET, HEAD, OPTIONS, TRACE, PUT, DELETE. */
  methods?: readonly string[];
  /** Response statuses retried on another instance. Default [503]. */
  statuses?: readonly number[];
  /** Error codes, raised before any response arrived, that are retried. Default: connect failures, resets, timeouts, a pool closed under the request. */
  errorCodes?: readonly string[];
  /** The longest `Retry-After` that is waited for; a longer one hands the response to the caller. Default 1s. */
  maxRetryAfter?: Duration;
  /** Request bodies up to this many bytes are buffered so they can be sent again (larger ones are not retried); the same bound holds for a retryable response held back. Default 65536. */
  maxBufferedBytes?: number;
  budget?: RetryBudgetOptions;
}

/** How one service is called; the top-level options are the defaults for every service. */
export interface ServiceCallOptions {
  /**
   * The service's balancer: a registered name, a factory, or an object (one object serves every
   * service it is given to). Default round_robin — not the Discovery's own balancer, which cannot
   * be wrapped to keep retries off the instances a request already tried.
   */
  balancer?: BalancerSpec;
  balancerOptions?: Record<string, unknown>;
  /** Only instances carrying every one of these tags. */
  tags?: readonly string[];
  /** Leave out unhealthy instances. Default true. */
  healthyOnly?: boolean;
  /** `false` turns retries off. */
  retry?: RetryOptions | false;
}

export interface DiscoveryDispatcherOptions extends ServiceCallOptions {
  /** Which request hosts name a service. Default 'single-label': `http://users/…` does, `http://api.example.com/…` and `localhost` do not. */
  route?: HostRule;
  /** Per-service overrides of the call options, by service name. */
  services?: Readonly<Record<string, ServiceCallOptions>>;
  /** Options for every instance's undici `Pool`: `connections`, `keepAliveTimeout`, `connect` (TLS: `ca`, `cert`, `servername`, ...), timeouts. */
  pool?: Pool.Options;
  /** Builds an instance's pool (to compose per-instance interceptors). Default `new Pool(origin, options)`. */
  poolFactory?: (origin: string, options: Pool.Options) => Dispatcher;
  /** Where requests to hosts that are not services go (dispatcher form only). Default: an undici `Agent` of this dispatcher's own. */
  fallback?: Dispatcher;
  /** Whether a call counts as a failure for the balancer. Default: errors, and statuses >= 500. */
  isFailure?: (result: CallResult) => boolean;
  /** Hears each retry, and each one the retry budget refused (for metrics and logs); must not throw. */
  onRetry?: (event: RetryEvent) => void;
  /** The Host header sent: the request's own host (`users`, default) or the instance's `address:port`. */
  hostHeader?: 'service' | 'instance';
  /** Metadata key whose value `https` makes an instance be called over TLS. Default 'scheme'. */
  tlsMetadataKey?: string;
  /** How long the first request to a service waits for its first snapshot. Default 10s. */
  readyTimeout?: Duration;
  /** How long a departed instance's pool may finish its requests before it is destroyed. Default 10s. */
  drainTimeout?: Duration;
}

export interface RetrySettings {
  readonly retries: number;
  readonly methods: ReadonlySet<string>;
  readonly statuses: ReadonlySet<number>;
  readonly errorCodes: ReadonlySet<string>;
  readonly maxRetryAfterMs: number;
  readonly maxBufferedBytes: number;
  readonly budget: { readonly ratio: number; readonly minPerSecond: number; readonly windowMs: number };
}

export interface ServiceSettings {
  readonly balancer: BalancerSpec;
  readonly balancerOptions: Record<string, unknown> | undefined;
  readonly tags: readonly string[] | undefined;
  readonly healthyOnly: boolean;
  readonly retry: RetrySettings | undefined;
}

export interface RouterSettings {
  readonly targetOf: (origin: string) => ServiceTarget | undefined;
  readonly service: (name: string) => ServiceSettings;
  readonly pool: Pool.Options;
  readonly poolFactory: ((origin: string, options: Pool.Options) => Dispatcher) | undefined;
  readonly fallback: Dispatcher | undefined;
  readonly isFailure: (result: CallResult) => boolean;
  readonly onRetry: ((event: RetryEvent) => void) | undefined;
  readonly hostHeader: 'service' | 'instance';
  readonly tlsMetadataKey: string;
  readonly readyTimeoutMs: number;
  readonly drainTimeoutMs: number;
}

const optionKeys = [
  'balancer', 'balancerOptions', 'tags', 'healthyOnly', 'retry', 'route', 'services', 'pool', 'poolFactory',
  'fallback', 'isFailure', 'onRetry', 'hostHeader', 'tlsMetadataKey', 'readyTimeout', 'drainTimeout',
] as const satisfies readonly (keyof DiscoveryDispatcherOptions)[];
const serviceKeys = ['balancer', 'balancerOptions', 'tags', 'healthyOnly', 'retry'] as const satisfies readonly (keyof ServiceCallOptions)[];
const retryKeys = ['retries', 'methods', 'statuses', 'errorCodes', 'maxRetryAfter', 'maxBufferedBytes', 'budget'] as const satisfies readonly (keyof RetryOptions)[];
const budgetKeys = ['ratio', 'minPerSecond', 'window'] as const satisfies readonly (keyof RetryBudgetOptions)[];

const defaultMethods = ['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE'];
/** Failures where the request cannot have been processed, or may be resent safely because the method is idempotent. */
const defaultErrorCodes = [
  'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENOTFOUND', 'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_SOCKET', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_CLOSED', 'UND_ERR_DESTROYED',
];

const prefix = 'discoveryDispatcher';

function fail(path: string, detail: string): never {
  throw new ConfigError(`${prefix}: option "${path}" ${detail}`, path);
}

function checkKeys(value: unknown, known: readonly string[], path: string): Record<string, unknown> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(path || 'options', `must be an object; got ${JSON.stringify(value)}`);
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      const at = path ? `${path}.${key}` : key;
      throw new ConfigError(`${prefix}: unknown option "${at}"; known options${path ? ` of ${path}` : ''}: ${known.join(', ')}`, at);
    }
  }
  return value as Record<string, unknown>;
}

function number(value: unknown, path: string, fallback: number, min: number, max = Number.POSITIVE_INFINITY, integer = false): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    const range = max === Number.POSITIVE_INFINITY ? `at least ${min}` : `between ${min} and ${max}`;
    fail(path, `must be a ${integer ? 'whole number' : 'number'} ${range}; got ${JSON.stringify(value)}`);
  }
  return value;
}

function list<T>(value: unknown, path: string, fallback: readonly T[], check: (item: unknown) => item is T): readonly T[] {
  if (value === undefined) return fallback;
  if (!Array.isArray(value) || !value.every(check)) fail(path, `must be an array of ${path.endsWith('statuses') ? 'status codes' : 'strings'}; got ${JSON.stringify(value)}`);
  return value;
}

const isString = (item: unknown): item is string => typeof item === 'string' && item !== '';
const isStatus = (item: unknown): item is number => Number.isInteger(item) && (item as number) >= 100 && (item as number) <= 599;

function retrySettings(value: unknown, path: string): RetrySettings | undefined {
  if (value === false) return undefined;
  const retry = checkKeys(value, retryKeys, path);
  const budget = checkKeys(retry.budget, budgetKeys, `${path}.budget`);
  return {
    retries: number(retry.retries, `${path}.retries`, 2, 0, 10, true),
    methods: new Set(list(retry.methods, `${path}.methods`, defaultMethods, isString).map((m) => m.toUpperCase())),
    statuses: new Set(list(retry.statuses, `${path}.statuses`, [503], isStatus)),
    errorCodes: new Set(list(retry.errorCodes, `${path}.errorCodes`, defaultErrorCodes, isString)),
    maxRetryAfterMs: parseDuration((retry.maxRetryAfter ?? '1s') as Duration, `${path}.maxRetryAfter`),
    maxBufferedBytes: number(retry.maxBufferedBytes, `${path}.maxBufferedBytes`, 65_536, 0, Number.POSITIVE_INFINITY, true),
    budget: {
      ratio: number(budget.ratio, `${path}.budget.ratio`, 0.2, 0, 1),
      minPerSecond: number(budget.minPerSecond, `${path}.budget.minPerSecond`, 10, 0),
      windowMs: Math.max(1, parseDuration((budget.window ?? '10s') as Duration, `${path}.budget.window`)),
    },
  };
}

function serviceSettings(value: Record<string, unknown>, base: ServiceSettings | undefined, path: string): ServiceSettings {
  const balancer = value.balancer;
  if (balancer !== undefined && !['string', 'function', 'object'].includes(typeof balancer)) fail(`${path}balancer`, 'must be a balancer name, a factory or a balancer object');
  const tags = value.tags === undefined ? base?.tags : list(value.tags, `${path}tags`, [], isString);
  if (value.healthyOnly !== undefined && typeof value.healthyOnly !== 'boolean') fail(`${path}healthyOnly`, `must be true or false; got ${JSON.stringify(value.healthyOnly)}`);
  if (value.balancerOptions !== undefined && (typeof value.balancerOptions !== 'object' || value.balancerOptions === null)) fail(`${path}balancerOptions`, 'must be an object');
  return {
    balancer: (balancer as BalancerSpec | undefined) ?? base?.balancer ?? 'round_robin',
    balancerOptions: (value.balancerOptions as Record<string, unknown> | undefined) ?? (balancer === undefined ? base?.balancerOptions : undefined),
    tags,
    healthyOnly: (value.healthyOnly as boolean | undefined) ?? base?.healthyOnly ?? true,
    retry: value.retry === undefined && base ? base.retry : retrySettings(value.retry, `${path}retry`),
  };
}

/** Checks every option (a wrong or unknown one is an `ERR_CONFIG` naming it) and fills in the defaults. */
export function resolveOptions(options: DiscoveryDispatcherOptions | undefined): RouterSettings {
  const o = checkKeys(options, optionKeys, '');
  const defaults = serviceSettings(o, undefined, '');
  const perService = new Map<string, ServiceSettings>();
  const services = checkKeys(o.services, Object.keys((o.services as object | undefined) ?? {}), 'services');
  for (const [name, value] of Object.entries(services)) {
    perService.set(name, serviceSettings(checkKeys(value, serviceKeys, `services.${name}`), defaults, `services.${name}.`));
  }
  for (const key of ['poolFactory', 'isFailure', 'onRetry'] as const) {
    if (o[key] !== undefined && typeof o[key] !== 'function') fail(key, `must be a function; got ${typeof o[key]}`);
  }
  if (o.pool !== undefined && (typeof o.pool !== 'object' || o.pool === null)) fail('pool', 'must be an object of undici Pool options');
  if (o.pool !== undefined && 'factory' in (o.pool as object)) fail('pool.factory', 'is not used: give poolFactory instead');
  const fallback = o.fallback as Dispatcher | undefined;
  if (fallback !== undefined && typeof fallback?.dispatch !== 'function') fail('fallback', 'must be an undici Dispatcher');
  const hostHeader = o.hostHeader ?? 'service';
  if (hostHeader !== 'service' && hostHeader !== 'instance') fail('hostHeader', `must be "service" or "instance"; got ${JSON.stringify(hostHeader)}`);
  if (o.tlsMetadataKey !== undefined && !isString(o.tlsMetadataKey)) fail('tlsMetadataKey', 'must be a non-empty string');
  return {
    targetOf: compileHostRule(o.route as HostRule | undefined),
    service: (name) => perService.get(name) ?? defaults,
    pool: (o.pool as Pool.Options | undefined) ?? {},
    poolFactory: o.poolFactory as RouterSettings['poolFactory'],
    fallback,
    isFailure: (o.isFailure as RouterSettings['isFailure'] | undefined) ?? defaultIsFailure,
    onRetry: o.onRetry as RouterSettings['onRetry'],
    hostHeader,
    tlsMetadataKey: (o.tlsMetadataKey as string | undefined) ?? 'scheme',
    readyTimeoutMs: parseDuration((o.readyTimeout ?? '10s') as Duration, 'readyTimeout'),
    drainTimeoutMs: parseDuration((o.drainTimeout ?? '10s') as Duration, 'drainTimeout'),
  };
}

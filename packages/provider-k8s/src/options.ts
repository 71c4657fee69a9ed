import { ConfigError, parseDuration, silentLogger, type BackoffOptions, type Duration, type Logger } from '@disco/core';
import { assertKnownKeys } from '@disco/core/provider';
import type { KubeConfig } from '@kubernetes/client-node';

export type Mode = 'endpointslices' | 'pods';
export type AddressType = 'IPv4' | 'IPv6' | 'any';

export interface KubernetesProviderOptions {
  /** Where instances come from. Default `endpointslices`. Env: K8S_MODE. */
  mode?: Mode | undefined;
  /** Namespace to read. Default: K8S_NAMESPACE, else the kubeconfig context's namespace, else `default`. */
  namespace?: string | undefined;
  /**
   * Label selector. In `pods` mode it picks a service's pods; `{service}` stands for the service
   * name (default `app={service}`). In `endpointslices` mode it is ANDed with
   * `kubernetes.io/service-name=<name>`. Env: K8S_LABEL_SELECTOR.
   */
  labelSelector?: string | undefined;
  /** Use the pod's service account. Env: K8S_IN_CLUSTER. Default: only when no kubeconfig is found and KUBERNETES_SERVICE_HOST is set. */
  inCluster?: boolean | undefined;
  /** A kubeconfig path, or a loaded KubeConfig. Default: KUBECONFIG, else ~/.kube/config. */
  kubeconfig?: string | KubeConfig | undefined;
  /** Kubeconfig context to use instead of its current-context. Env: K8S_CONTEXT. */
  context?: string | undefined;
  /** The port to offer, by name (`http`) or number (`8080`). Default: the only port there is. Env: K8S_PORT. */
  port?: string | number | undefined;
  /** Not-ready (and not terminating) endpoints: left out (default) or kept as unhealthy. Env: K8S_UNREADY. */
  unready?: 'exclude' | 'unhealthy' | undefined;
  /**
   * Terminating endpoints that still serve: left out (default), kept as unhealthy, or
   * `fallback`: offered as healthy only while no ready endpoint exists (kube-proxy's rule).
   * Env: K8S_TERMINATING.
   */
  terminating?: 'exclude' | 'unhealthy' | 'fallback' | undefined;
  /** Address family to offer. Default `any` (IPv4 and IPv6). Env: K8S_ADDRESS_TYPE. */
  addressType?: AddressType | undefined;
  /** Watches ask the server to end after this long, jittered up to 2x; then they resume. Default 5m, at least 1s. Env: K8S_WATCH_TIMEOUT. */
  watchTimeout?: Duration | undefined;
  /** A watch still open this long past its timeoutSeconds is taken for dead and restarted. Default 30s. Env: K8S_WATCH_GRACE. */
  watchGrace?: Duration | undefined;
  /** Items per list page (limit/continue). Default 500. Env: K8S_PAGE_SIZE. */
  pageSize?: number | undefined;
  /**
   * Whether the watched services share one list + watch of the whole namespace's EndpointSlices
   * (or pods), demultiplexed by service, instead of one watch each: `auto` (default) shares once
   * more than `namespaceWatchThreshold` services are watched at once and goes back to one watch
   * each when no more than half of that remain; `always`; `never`. Sharing holds every labelled
   * object of the namespace and reads every change to it, watched or not (see the README).
   * Env: K8S_NAMESPACE_WATCH.
   */
  namespaceWatch?: 'auto' | 'always' | 'never' | undefined;
  /** In `auto`, how many services watched at once still get a watch each. Default 20. Env: K8S_NAMESPACE_WATCH_THRESHOLD. */
  namespaceWatchThreshold?: number | undefined;
  /** Retry delays of a failing watch (core's engine: exponential, full jitter). Default 500ms up to 30s. Env: K8S_BACKOFF_INITIAL, K8S_BACKOFF_MAX. */
  backoff?: BackoffOptions | undefined;
  /** pino-shaped. Default: the context's logger, else silent. */
  logger?: Logger | undefined;
}

/** What `kubernetesProvider` and `createProvider` are handed besides the options. */
export interface KubernetesProviderContext {
  /** Where K8S_* and KUBECONFIG are read from. Default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined;
  readonly logger?: Logger | undefined;
}

export interface ResolvedOptions {
  readonly mode: Mode;
  readonly namespace: string | undefined;
  readonly labelSelector: string | undefined;
  readonly inCluster: boolean | undefined;
  readonly kubeconfig: string | KubeConfig | undefined;
  readonly context: string | undefined;
  readonly port: string | number | undefined;
  readonly unready: 'exclude' | 'unhealthy';
  readonly terminating: 'exclude' | 'unhealthy' | 'fallback';
  readonly addressType: AddressType;
  readonly watchTimeoutMs: number;
  readonly watchGraceMs: number;
  readonly pageSize: number;
  readonly namespaceWatch: 'auto' | 'always' | 'never';
  readonly namespaceWatchThreshold: number;
  readonly backoff: BackoffOptions;
  readonly logger: Logger;
}

type Env = Readonly<Record<string, string | undefined>>;

/** Each option and the variable that sets it (backoff has two). */
export const environmentVariables = {
  mode: 'K8S_MODE',
  namespace: 'K8S_NAMESPACE',
  labelSelector: 'K8S_LABEL_SELECTOR',
  inCluster: 'K8S_IN_CLUSTER',
  kubeconfig: 'KUBECONFIG',
  context: 'K8S_CONTEXT',
  port: 'K8S_PORT',
  unready: 'K8S_UNREADY',
  terminating: 'K8S_TERMINATING',
  addressType: 'K8S_ADDRESS_TYPE',
  watchTimeout: 'K8S_WATCH_TIMEOUT',
  watchGrace: 'K8S_WATCH_GRACE',
  pageSize: 'K8S_PAGE_SIZE',
  namespaceWatch: 'K8S_NAMESPACE_WATCH',
  namespaceWatchThreshold: 'K8S_NAMESPACE_WATCH_THRESHOLD',
  'backoff.initial': 'K8S_BACKOFF_INITIAL',
  'backoff.max': 'K8S_BACKOFF_MAX',
} as const;

const knownKeys = ['mode', 'namespace', 'labelSelector', 'inCluster', 'kubeconfig', 'context', 'port', 'unready', 'terminating', 'addressType', 'watchTimeout', 'watchGrace', 'pageSize', 'namespaceWatch', 'namespaceWatchThreshold', 'backoff', 'logger'] as const;
const knownBackoffKeys = ['initial', 'max', 'factor', 'random'] as const;

function oneOf<T extends string>(value: unknown, allowed: readonly T[], what: string, fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw new ConfigError(`${what} must be one of ${allowed.join(', ')}; got ${JSON.stringify(value)}`, what);
}

/** Reads the provider's environment variables (unset ones are left out, so object options win). */
export function optionsFromEnv(env: Env = process.env): KubernetesProviderOptions {
  const options: KubernetesProviderOptions = {};
  const read = (name: string) => (env[name]?.trim() ? env[name]!.trim() : undefined);
  const v = environmentVariables;
  const mode = read(v.mode);
  if (mode !== undefined) options.mode = mode as Mode;
  const namespace = read(v.namespace);
  if (namespace !== undefined) options.namespace = namespace;
  const selector = read(v.labelSelector);
  if (selector !== undefined) options.labelSelector = selector;
  const inCluster = read(v.inCluster);
  if (inCluster !== undefined) {
    if (!/^(true|false|1|0|yes|no)$/i.test(inCluster)) throw new ConfigError(`K8S_IN_CLUSTER must be true or false; got ${JSON.stringify(inCluster)}`, 'K8S_IN_CLUSTER');
    options.inCluster = /^(true|1|yes)$/i.test(inCluster);
  }
  const kubeconfig = read(v.kubeconfig);
  if (kubeconfig !== undefined) options.kubeconfig = kubeconfig;
  const context = read(v.context);
  if (context !== undefined) options.context = context;
  const port = read(v.port);
  if (port !== undefined) options.port = /^\d+$/.test(port) ? Number(port) : port;
  const unready = read(v.unready);
  if (unready !== undefined) options.unready = unready as 'exclude';
  const terminating = read(v.terminating);
  if (terminating !== undefined) options.terminating = terminating as 'exclude';
  const addressType = read(v.addressType);
  if (addressType !== undefined) options.addressType = addressType as AddressType;
  const watchTimeout = read(v.watchTimeout);
  if (watchTimeout !== undefined) options.watchTimeout = watchTimeout;
  const watchGrace = read(v.watchGrace);
  if (watchGrace !== undefined) options.watchGrace = watchGrace;
  const pageSize = read(v.pageSize);
  if (pageSize !== undefined) {
    if (!/^\d+$/.test(pageSize)) throw new ConfigError(`K8S_PAGE_SIZE must be a whole number of at least 1; got ${JSON.stringify(pageSize)}`, 'K8S_PAGE_SIZE');
    options.pageSize = Number(pageSize);
  }
  const namespaceWatch = read(v.namespaceWatch);
  if (namespaceWatch !== undefined) options.namespaceWatch = namespaceWatch as 'auto';
  const threshold = read(v.namespaceWatchThreshold);
  if (threshold !== undefined) {
    if (!/^\d+$/.test(threshold)) throw new ConfigError(`K8S_NAMESPACE_WATCH_THRESHOLD must be a whole number; got ${JSON.stringify(threshold)}`, 'K8S_NAMESPACE_WATCH_THRESHOLD');
    options.namespaceWatchThreshold = Number(threshold);
  }
  const initial = read(v['backoff.initial']);
  const max = read(v['backoff.max']);
  if (initial !== undefined || max !== undefined) options.backoff = { ...(initial !== undefined && { initial }), ...(max !== undefined && { max }) };
  return options;
}

const nameRule = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const portNameRule = /^[a-z0-9]([-a-z0-9]{0,13}[a-z0-9])?$/;

const defined = <T extends object>(options: T): Partial<T> => Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Partial<T>;

/**
 * Validates options (a defined option over its variable; an explicit `undefined` does not hide
 * the variable) and fills defaults; throws ERR_CONFIG naming the option or variable and the
 * value, and naming the nearest known key for an unknown one.
 */
export function resolveOptions(options: KubernetesProviderOptions, env: Env, contextLogger?: Logger): ResolvedOptions {
  if (typeof options !== 'object' || options === null) throw new ConfigError('kubernetes provider options must be an object', 'kubernetes');
  assertKnownKeys(options, knownKeys, 'kubernetes');
  if (options.backoff !== undefined) {
    if (typeof options.backoff !== 'object' || options.backoff === null) throw new ConfigError('kubernetes.backoff must be an object such as { initial: "500ms", max: "30s" }', 'kubernetes.backoff');
    assertKnownKeys(options.backoff, knownBackoffKeys, 'kubernetes.backoff');
  }
  const fromEnv = optionsFromEnv(env);
  const given = defined(options);
  const merged: KubernetesProviderOptions = { ...fromEnv, ...given };
  /** The name to put in an error about `key`: its variable when the value came from there. */
  const origin = (key: keyof typeof environmentVariables & keyof KubernetesProviderOptions) => (key in given ? key : environmentVariables[key]);
  const { namespace, port, pageSize = 500 } = merged;
  if (namespace !== undefined && (typeof namespace !== 'string' || !nameRule.test(namespace))) {
    throw new ConfigError(`namespace must be a DNS label (lowercase letters, digits and "-", at most 63); got ${JSON.stringify(namespace)}`, 'K8S_NAMESPACE');
  }
  if (port !== undefined) {
    const okNumber = typeof port === 'number' && Number.isInteger(port) && port >= 1 && port <= 65535;
    const okName = typeof port === 'string' && portNameRule.test(port);
    if (!okNumber && !okName) throw new ConfigError(`port must be a port name (such as "http") or a number from 1 to 65535; got ${JSON.stringify(port)}`, 'K8S_PORT');
  }
  if (!Number.isInteger(pageSize) || pageSize < 1) throw new ConfigError(`pageSize must be a whole number of at least 1; got ${JSON.stringify(pageSize)}`, origin('pageSize'));
  const { namespaceWatchThreshold = 20 } = merged;
  if (!Number.isInteger(namespaceWatchThreshold) || namespaceWatchThreshold < 0) {
    throw new ConfigError(`namespaceWatchThreshold must be a whole number; got ${JSON.stringify(namespaceWatchThreshold)}`, origin('namespaceWatchThreshold'));
  }
  if (merged.labelSelector !== undefined && (typeof merged.labelSelector !== 'string' || merged.labelSelector.trim() === '')) {
    throw new ConfigError(`labelSelector must be a non-empty string such as "app={service}"; got ${JSON.stringify(merged.labelSelector)}`, 'K8S_LABEL_SELECTOR');
  }
  // parseDuration rejects what Node's timers cannot hold (above 2^31-1 ms), naming the option or variable.
  const watchTimeoutMs = parseDuration(merged.watchTimeout ?? '5m', origin('watchTimeout'));
  if (watchTimeoutMs < 1000) throw new ConfigError(`${origin('watchTimeout')} must be at least 1s (the API takes whole seconds); got ${JSON.stringify(merged.watchTimeout)}`, origin('watchTimeout'));
  const watchGraceMs = parseDuration(merged.watchGrace ?? '30s', origin('watchGrace'));
  const backoff: BackoffOptions = { initial: 500, max: 30_000, ...fromEnv.backoff, ...(given.backoff && defined(given.backoff)) };
  const backoffOrigin = (key: 'initial' | 'max') => (given.backoff?.[key] !== undefined ? `backoff.${key}` : environmentVariables[`backoff.${key}`]);
  parseDuration(backoff.initial!, backoffOrigin('initial'));
  parseDuration(backoff.max!, backoffOrigin('max'));
  return {
    mode: oneOf(merged.mode, ['endpointslices', 'pods'], origin('mode'), 'endpointslices'),
    namespace,
    labelSelector: merged.labelSelector?.trim(),
    inCluster: merged.inCluster,
    kubeconfig: merged.kubeconfig,
    context: merged.context,
    port,
    unready: oneOf(merged.unready, ['exclude', 'unhealthy'], origin('unready'), 'exclude'),
    terminating: oneOf(merged.terminating, ['exclude', 'unhealthy', 'fallback'], origin('terminating'), 'exclude'),
    addressType: oneOf(merged.addressType, ['IPv4', 'IPv6', 'any'], origin('addressType'), 'any'),
    watchTimeoutMs,
    watchGraceMs,
    pageSize,
    namespaceWatch: oneOf(merged.namespaceWatch, ['auto', 'always', 'never'], origin('namespaceWatch'), 'auto'),
    namespaceWatchThreshold,
    backoff,
    logger: merged.logger ?? contextLogger ?? silentLogger,
  };
}

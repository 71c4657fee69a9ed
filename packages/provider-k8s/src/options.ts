import { ConfigError, parseDuration, silentLogger, type BackoffOptions, type Duration, type Logger } from '@disco/core';
import type { KubeConfig } from '@kubernetes/client-node';

export type Mode = 'endpointslices' | 'pods';
export type AddressType = 'IPv4' | 'IPv6' | 'any';

export interface KubernetesProviderOptions {
  /** Where instances come from. Default `endpointslices`. */
  mode?: Mode;
  /** Namespace to read. Default: K8S_NAMESPACE, else the kubeconfig context's namespace, else `default`. */
  namespace?: string;
  /**
   * Label selector. In `pods` mode it picks a service's pods; `{service}` stands for the service
   * name (default `app={service}`). In `endpointslices` mode it is ANDed with
   * `kubernetes.io/service-name=<name>`. Env: K8S_LABEL_SELECTOR.
   */
  labelSelector?: string;
  /** Use the pod's service account. Env: K8S_IN_CLUSTER. Default: only when no kubeconfig is found and KUBERNETES_SERVICE_HOST is set. */
  inCluster?: boolean;
  /** A kubeconfig path, or a loaded KubeConfig. Default: KUBECONFIG, else ~/.kube/config. */
  kubeconfig?: string | KubeConfig;
  /** Kubeconfig context to use instead of its current-context. Env: K8S_CONTEXT. */
  context?: string;
  /** The port to offer, by name (`http`) or number (`8080`). Default: the only port there is. Env: K8S_PORT. */
  port?: string | number;
  /** Not-ready (and not terminating) endpoints: left out (default) or kept as unhealthy. */
  unready?: 'exclude' | 'unhealthy';
  /**
   * Terminating endpoints that still serve: left out (default), kept as unhealthy, or
   * `fallback`: offered as healthy only while no ready endpoint exists (kube-proxy's rule).
   */
  terminating?: 'exclude' | 'unhealthy' | 'fallback';
  /** Address family to offer. Default `any` (IPv4 and IPv6). */
  addressType?: AddressType;
  /** Watches ask the server to end after this long, jittered up to 2x; then they restart. Default 5m. */
  watchTimeout?: Duration;
  /** A watch silent for watchTimeout (x2) plus this long is taken for dead and restarted. Default 30s. */
  watchGrace?: Duration;
  /** Items per list page (limit/continue). Default 500. */
  pageSize?: number;
  /** Retry delays after errors (exponential, full jitter). Default 500ms up to 30s. */
  backoff?: BackoffOptions;
  logger?: Logger;
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
  readonly backoff: BackoffOptions;
  readonly logger: Logger;
}

type Env = Readonly<Record<string, string | undefined>>;

function oneOf<T extends string>(value: unknown, allowed: readonly T[], what: string, fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw new ConfigError(`${what} must be one of ${allowed.join(', ')}; got ${JSON.stringify(value)}`, what);
}

/** Reads the provider's environment variables (unset ones are left out, so object options win). */
export function optionsFromEnv(env: Env = process.env): KubernetesProviderOptions {
  const options: KubernetesProviderOptions = {};
  const read = (name: string) => (env[name]?.trim() ? env[name]!.trim() : undefined);
  const namespace = read('K8S_NAMESPACE');
  if (namespace !== undefined) options.namespace = namespace;
  const selector = read('K8S_LABEL_SELECTOR');
  if (selector !== undefined) options.labelSelector = selector;
  const inCluster = read('K8S_IN_CLUSTER');
  if (inCluster !== undefined) {
    if (!/^(true|false|1|0|yes|no)$/i.test(inCluster)) throw new ConfigError(`K8S_IN_CLUSTER must be true or false; got ${JSON.stringify(inCluster)}`, 'K8S_IN_CLUSTER');
    options.inCluster = /^(true|1|yes)$/i.test(inCluster);
  }
  const kubeconfig = read('KUBECONFIG');
  if (kubeconfig !== undefined) options.kubeconfig = kubeconfig;
  const context = read('K8S_CONTEXT');
  if (context !== undefined) options.context = context;
  const port = read('K8S_PORT');
  if (port !== undefined) options.port = /^\d+$/.test(port) ? Number(port) : port;
  return options;
}

const nameRule = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const portNameRule = /^[a-z0-9]([-a-z0-9]{0,13}[a-z0-9])?$/;

/** Validates options (by object over environment) and fills defaults; throws ERR_CONFIG naming the bad value. */
export function resolveOptions(options: KubernetesProviderOptions, env: Env): ResolvedOptions {
  if (typeof options !== 'object' || options === null) throw new ConfigError('kubernetes provider options must be an object');
  // An option given as undefined must not hide the environment's value.
  const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as KubernetesProviderOptions;
  const merged: KubernetesProviderOptions = { ...optionsFromEnv(env), ...given };
  const { namespace, port, pageSize = 500 } = merged;
  if (namespace !== undefined && !nameRule.test(namespace)) {
    throw new ConfigError(`namespace must be a DNS label (lowercase letters, digits and "-", at most 63); got ${JSON.stringify(namespace)}`, 'K8S_NAMESPACE');
  }
  if (port !== undefined) {
    const okNumber = typeof port === 'number' && Number.isInteger(port) && port >= 1 && port <= 65535;
    const okName = typeof port === 'string' && portNameRule.test(port);
    if (!okNumber && !okName) throw new ConfigError(`port must be a port name (such as "http") or a number from 1 to 65535; got ${JSON.stringify(port)}`, 'K8S_PORT');
  }
  if (!Number.isInteger(pageSize) || pageSize < 1) throw new ConfigError(`pageSize must be a whole number of at least 1; got ${JSON.stringify(pageSize)}`, 'pageSize');
  if (merged.labelSelector !== undefined && (typeof merged.labelSelector !== 'string' || merged.labelSelector.trim() === '')) {
    throw new ConfigError(`labelSelector must be a non-empty string such as "app={service}"; got ${JSON.stringify(merged.labelSelector)}`, 'K8S_LABEL_SELECTOR');
  }
  const watchTimeoutMs = parseDuration(merged.watchTimeout ?? '5m', 'watchTimeout');
  if (watchTimeoutMs < 1000) throw new ConfigError(`watchTimeout must be at least 1s (the API takes whole seconds); got ${JSON.stringify(merged.watchTimeout)}`, 'watchTimeout');
  return {
    mode: oneOf(merged.mode, ['endpointslices', 'pods'], 'mode', 'endpointslices'),
    namespace,
    labelSelector: merged.labelSelector?.trim(),
    inCluster: merged.inCluster,
    kubeconfig: merged.kubeconfig,
    context: merged.context,
    port,
    unready: oneOf(merged.unready, ['exclude', 'unhealthy'], 'unready', 'exclude'),
    terminating: oneOf(merged.terminating, ['exclude', 'unhealthy', 'fallback'], 'terminating', 'exclude'),
    addressType: oneOf(merged.addressType, ['IPv4', 'IPv6', 'any'], 'addressType', 'any'),
    watchTimeoutMs,
    watchGraceMs: parseDuration(merged.watchGrace ?? '30s', 'watchGrace'),
    pageSize,
    backoff: { initial: 500, max: 30_000, ...merged.backoff },
    logger: merged.logger ?? silentLogger,
  };
}

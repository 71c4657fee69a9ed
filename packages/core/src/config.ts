import type { DiscoveryConfig } from './discovery.js';
import { tryParseDuration } from './duration.js';
import { ConfigError } from './errors.js';
import { providerNames, type ProviderName } from './provider-loader.js';
import { validateServiceName } from './validate.js';

type Env = Readonly<Record<string, string | undefined>>;

/** Every variable configFromEnv reads, with its default (undefined: none). */
export const environmentVariables = {
  DISCOVERY_PROVIDER: 'static',
  DISCOVERY_SERVICE_NAME: undefined,
  DISCOVERY_BALANCER: 'round_robin',
  DISCOVERY_CACHE_TTL: '10s',
  DISCOVERY_MAX_STALE: undefined,
  DISCOVERY_HEALTH_CHECK: 'true',
  DISCOVERY_STATIC_INSTANCES: undefined,
  DISCOVERY_STATIC_FILE: undefined,
  CONSUL_HTTP_ADDR: 'localhost:8500',
  CONSUL_HTTP_TOKEN: undefined,
  CONSUL_DATACENTER: undefined,
  CONSUL_NAMESPACE: undefined,
  ETCD_ENDPOINTS: 'localhost:2379',
  ETCD_DISCOVERY_PREFIX: '/services/',
  ETCD_USERNAME: undefined,
  ETCD_PASSWORD: undefined,
  K8S_NAMESPACE: 'default',
  K8S_LABEL_SELECTOR: undefined,
  K8S_IN_CLUSTER: 'false',
  DNS_SERVER: undefined,
  DNS_PORT: '53',
  DNS_DOMAIN: 'service.consul',
  DNS_REFRESH_TTL: '30s',
} as const satisfies Record<string, string | undefined>;

/** Variables whose values are never repeated in an error. */
const secret = new Set(['CONSUL_HTTP_TOKEN', 'ETCD_PASSWORD']);

function read(env: Env, name: keyof typeof environmentVariables): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? environmentVariables[name] : value;
}

function bad(name: string, value: string, expected: string): ConfigError {
  const shown = secret.has(name) ? '(value hidden)' : JSON.stringify(value);
  return new ConfigError(`${name}=${shown} is not valid: ${expected}`, name);
}

function duration(env: Env, name: 'DISCOVERY_CACHE_TTL' | 'DISCOVERY_MAX_STALE' | 'DNS_REFRESH_TTL'): string | undefined {
  const value = read(env, name);
  if (value !== undefined && tryParseDuration(value) === undefined) throw bad(name, value, 'expected a duration such as 250ms, 10s, 5m or 1h');
  return value;
}

function boolean(env: Env, name: 'DISCOVERY_HEALTH_CHECK' | 'K8S_IN_CLUSTER'): boolean {
  const value = read(env, name)!.toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(value)) return true;
  if (['false', '0', 'no', 'off'].includes(value)) return false;
  throw bad(name, value, 'expected true or false');
}

function list(value: string | undefined): string[] | undefined {
  return value?.split(',').map((s) => s.trim()).filter(Boolean);
}

/**
 * Reads the configuration from the environment (variables and defaults in
 * `environmentVariables`). Only the chosen provider's variables are read and checked. A bad
 * value is an `ERR_CONFIG` naming the variable (secrets are never echoed).
 */
export function configFromEnv(env: Env = process.env): DiscoveryConfig {
  const provider = read(env, 'DISCOVERY_PROVIDER')! as ProviderName;
  if (!providerNames.includes(provider)) throw bad('DISCOVERY_PROVIDER', provider, `expected one of ${providerNames.join(', ')}`);
  const balancer = read(env, 'DISCOVERY_BALANCER')!;
  if (!/^[a-z][a-z0-9_]*$/.test(balancer)) throw bad('DISCOVERY_BALANCER', balancer, 'expected a balancer name such as round_robin or least_connections');
  const serviceName = read(env, 'DISCOVERY_SERVICE_NAME');
  if (serviceName !== undefined) {
    try {
      validateServiceName(serviceName);
    } catch {
      throw bad('DISCOVERY_SERVICE_NAME', serviceName, 'expected a service name without "/"');
    }
  }
  const config: DiscoveryConfig = {
    provider,
    balancer,
    cacheTtl: duration(env, 'DISCOVERY_CACHE_TTL')!,
    healthCheck: boolean(env, 'DISCOVERY_HEALTH_CHECK'),
    env,
  };
  const maxStale = duration(env, 'DISCOVERY_MAX_STALE');
  if (maxStale !== undefined) config.maxStale = maxStale;
  if (serviceName !== undefined) config.serviceName = serviceName;
  switch (provider) {
    case 'static':
      config.static = { instances: read(env, 'DISCOVERY_STATIC_INSTANCES'), file: read(env, 'DISCOVERY_STATIC_FILE') };
      break;
    case 'consul':
      config.consul = { address: read(env, 'CONSUL_HTTP_ADDR'), token: read(env, 'CONSUL_HTTP_TOKEN'), datacenter: read(env, 'CONSUL_DATACENTER'), namespace: read(env, 'CONSUL_NAMESPACE') };
      break;
    case 'etcd': {
      const prefix = read(env, 'ETCD_DISCOVERY_PREFIX')!;
      if (!prefix.startsWith('/')) throw bad('ETCD_DISCOVERY_PREFIX', prefix, 'expected a key prefix starting with "/"');
      config.etcd = { endpoints: list(read(env, 'ETCD_ENDPOINTS')), prefix, username: read(env, 'ETCD_USERNAME'), password: read(env, 'ETCD_PASSWORD') };
      break;
    }
    case 'kubernetes':
    case 'k8s':
      config.kubernetes = { namespace: read(env, 'K8S_NAMESPACE'), labelSelector: read(env, 'K8S_LABEL_SELECTOR'), inCluster: boolean(env, 'K8S_IN_CLUSTER') };
      break;
    case 'dns': {
      const port = read(env, 'DNS_PORT')!;
      if (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65535) throw bad('DNS_PORT', port, 'expected a port from 1 to 65535');
      config.dns = { servers: list(read(env, 'DNS_SERVER')), port: Number(port), domain: read(env, 'DNS_DOMAIN'), refreshTtl: duration(env, 'DNS_REFRESH_TTL') };
      break;
    }
  }
  // Drop unset keys so that object options merged over this config are not overwritten by undefined.
  for (const section of [config.static, config.consul, config.etcd, config.kubernetes, config.dns] as (Record<string, unknown> | undefined)[]) {
    if (section) for (const key of Object.keys(section)) if (section[key] === undefined) delete section[key];
  }
  return config;
}

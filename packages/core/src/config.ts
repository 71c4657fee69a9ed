import type { DiscoveryConfig } from './discovery.js';
import { tryParseDuration } from './duration.js';
import { ConfigError } from './errors.js';
import { providerNames, type ProviderName } from './provider-loader.js';
import { validateServiceName } from './validate.js';

type Env = Readonly<Record<string, string | undefined>>;

/**
 * The variables configFromEnv reads, with their defaults (undefined: none). Each provider
 * package reads its own variables (ETCD_*, CONSUL_*, K8S_*, DNS_*) from the same environment,
 * which the config carries to it: one parser per variable, in the package that uses it.
 */
export const environmentVariables = {
  DISCOVERY_PROVIDER: 'static',
  DISCOVERY_SERVICE_NAME: undefined,
  DISCOVERY_BALANCER: 'round_robin',
  DISCOVERY_CACHE_TTL: '10s',
  DISCOVERY_MAX_STALE: undefined,
  DISCOVERY_HEALTH_CHECK: 'true',
  DISCOVERY_STATIC_INSTANCES: undefined,
  DISCOVERY_STATIC_FILE: undefined,
} as const satisfies Record<string, string | undefined>;

/** Variables whose values are never repeated in an error. */
function read(env: Env, name: keyof typeof environmentVariables): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? environmentVariables[name] : value;
}

function bad(name: string, value: string, expected: string): ConfigError {
  return new ConfigError(`${name}=${JSON.stringify(value)} is not valid: ${expected}`, name);
}

function duration(env: Env, name: 'DISCOVERY_CACHE_TTL' | 'DISCOVERY_MAX_STALE'): string | undefined {
  const value = read(env, name);
  if (value !== undefined && tryParseDuration(value) === undefined) throw bad(name, value, 'expected a duration such as 250ms, 10s, 5m or 1h');
  return value;
}

function boolean(env: Env, name: 'DISCOVERY_HEALTH_CHECK'): boolean {
  const value = read(env, name)!.toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(value)) return true;
  if (['false', '0', 'no', 'off'].includes(value)) return false;
  throw bad(name, value, 'expected true or false');
}

/**
 * Reads the configuration from the environment (variables and defaults in
 * `environmentVariables`) and carries the environment along, so the chosen provider reads
 * its own variables when it is loaded. A bad value is an `ERR_CONFIG` naming the variable.
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
  if (provider === 'static') {
    const instances = read(env, 'DISCOVERY_STATIC_INSTANCES');
    const file = read(env, 'DISCOVERY_STATIC_FILE');
    config.static = { ...(instances && { instances }), ...(file && { file }) };
  }
  return config;
}

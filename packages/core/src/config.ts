import { readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { describeValue } from './describe-value.js';
import type { DiscoveryConfig } from './discovery.js';
import { maxDurationMs, tryParseDuration } from './duration.js';
import { ConfigError, isDiscoveryError } from './errors.js';
import { providerNames, type ProviderName } from './provider-loader.js';
import { parseStaticFile } from './static/static-file.js';
import { parseCompactInstances, parseStaticServices } from './static/static-records.js';
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

function read(env: Env, name: keyof typeof environmentVariables): string | undefined {
  const raw: unknown = env[name];
  if (raw !== undefined && typeof raw !== 'string') throw new ConfigError(`${name} must be a string; got ${describeValue(raw)}`, name);
  const value = raw?.trim();
  return value === undefined || value === '' ? environmentVariables[name] : value;
}

function bad(name: string, value: string, expected: string): ConfigError {
  return new ConfigError(`${name}=${describeValue(value)} is not valid: ${expected}`, name);
}

function duration(env: Env, name: 'DISCOVERY_CACHE_TTL' | 'DISCOVERY_MAX_STALE'): string | undefined {
  const value = read(env, name);
  if (value === undefined) return undefined;
  const ms = tryParseDuration(value);
  if (ms === undefined) throw bad(name, value, 'expected a duration such as 250ms, 10s, 5m or 1h');
  if (ms > maxDurationMs) {
    const unset = name === 'DISCOVERY_MAX_STALE' ? '; leave it unset to serve the last good snapshot for ever' : '';
    throw bad(name, value, `expected at most ${maxDurationMs} ms (about 24.8 days, the longest delay Node's timers can wait)${unset}`);
  }
  return value;
}

/** The compact form must parse, and every service in it must be valid. */
function staticInstances(env: Env): string | undefined {
  const value = read(env, 'DISCOVERY_STATIC_INSTANCES');
  if (value === undefined) return undefined;
  const { problems } = parseStaticServices(parseCompactInstances(value), 'DISCOVERY_STATIC_INSTANCES');
  if (problems.length > 0) throw new ConfigError(problems.map((p) => p.message).join('; '), 'DISCOVERY_STATIC_INSTANCES');
  return value;
}

/**
 * The file is watched, so it may be created later, but its directory must exist; when the
 * file exists it must be a JSON file of services, with no bad entry.
 */
function staticFile(env: Env): string | undefined {
  const name = 'DISCOVERY_STATIC_FILE';
  const value = read(env, name);
  if (value === undefined) return undefined;
  if (value.includes('\0')) throw bad(name, value, 'expected the path of a JSON file');
  const path = resolve(value);
  const directory = statSync(dirname(path), { throwIfNoEntry: false });
  if (!directory?.isDirectory()) throw bad(name, value, `expected a JSON file in an existing directory; ${describeValue(dirname(path))} is not one`);
  const file = statSync(path, { throwIfNoEntry: false });
  if (file === undefined) return value;
  if (!file.isFile()) throw bad(name, value, 'expected a JSON file; this is not a regular file');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw bad(name, value, `the file cannot be read (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`);
  }
  const content = parseStaticFile(text, path);
  const problems = isDiscoveryError(content) ? [content] : content.problems;
  if (problems.length > 0) throw bad(name, value, problems.map((p) => p.message.replace(/; keeping the last good content$/, '')).join('; '));
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
    const instances = staticInstances(env);
    const file = staticFile(env);
    config.static = { ...(instances && { instances }), ...(file && { file }) };
  }
  return config;
}

import type { ProviderContext } from '@disco/core';
import { ConsulProvider } from './consul-provider.js';
import type { ConsulProviderOptions } from './options.js';

export { ConsulProvider } from './consul-provider.js';
export { ConsulSource } from './consul-source.js';
export { optionsFromEnv, type Consistency, type ConsulProviderOptions, type ConsulTlsOptions } from './options.js';

declare module '@disco/core' {
  interface ProviderOptionsMap {
    consul: ConsulProviderOptions;
  }
}

/**
 * A Consul provider. Options win over the CONSUL_* variables, read from `context.env` (default
 * `process.env`); an option given as `undefined` leaves its variable in force. The logger is
 * `options.logger`, else `context.logger`.
 */
export function consulProvider(options: ConsulProviderOptions = {}, context?: Partial<ProviderContext>): ConsulProvider {
  return new ConsulProvider(options, context);
}

/** Used by `createDiscovery({ provider: 'consul' })`: options from `config.consul`, variables from `config.env`. */
export function createProvider(options: unknown, context: ProviderContext): ConsulProvider {
  return consulProvider((options ?? {}) as ConsulProviderOptions, context);
}

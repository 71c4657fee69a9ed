import type { ProviderContext } from '@disco/core';
import { ConsulProvider } from './consul-provider.js';
import type { ConsulProviderOptions } from './options.js';

export { ConsulProvider } from './consul-provider.js';
export { optionsFromEnv, type Consistency, type ConsulProviderOptions, type ConsulTlsOptions } from './options.js';

/** A Consul provider; options by object win over Consul's environment variables (`process.env`). */
export function consulProvider(options: ConsulProviderOptions = {}): ConsulProvider {
  return new ConsulProvider(options);
}

/** Used by `createDiscovery({ provider: 'consul' })`: options from the config, variables from `context.env`. */
export function createProvider(options: unknown, context: ProviderContext): ConsulProvider {
  return new ConsulProvider((options ?? {}) as ConsulProviderOptions, context);
}

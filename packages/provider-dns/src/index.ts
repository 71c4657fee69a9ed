import type { ProviderContext } from '@disco/core';
import { optionsFromEnv, type DnsProviderOptions } from './options.js';
import { DnsProvider } from './provider.js';

export { DnsProvider } from './provider.js';
export { optionsFromEnv, type DnsProviderOptions, type SrvNaming } from './options.js';
export { PRIORITY_KEY, TARGET_KEY } from './lookup.js';
export { srvBalancer, type SrvBalancerOptions } from './srv-balancer.js';

/** A DNS provider configured by object only (see {@link createProvider} for the environment). */
export function dnsProvider(options: DnsProviderOptions = {}): DnsProvider {
  return new DnsProvider(options);
}

/** What `createDiscovery({ provider: 'dns' })` calls: environment variables, overridden by options. */
export function createProvider(options: unknown, context: ProviderContext): DnsProvider {
  const given = (typeof options === 'object' && options !== null ? options : {}) as DnsProviderOptions;
  return new DnsProvider({ ...optionsFromEnv(context.env), ...given }, context.logger);
}

import type { ProviderContext } from '@disco/core';
import { DnsProvider } from './dns-provider.js';
import type { DnsProviderContext, DnsProviderOptions } from './options.js';

export { DnsProvider } from './dns-provider.js';
export { optionsFromEnv, optionVariables, type DnsProviderContext, type DnsProviderOptions, type SrvNaming } from './options.js';
export { DnsLookupError } from './errors.js';
export { PRIORITY_KEY, TARGET_KEY } from './lookup.js';
export { ednsUdpPayloadSize } from './transport.js';
export { srvBalancer, type SrvBalancerOptions } from './srv-balancer.js';

declare module '@disco/core' {
  interface ProviderOptionsMap {
    dns: DnsProviderOptions;
  }
}

/**
 * A DNS provider. Reads `DNS_*` from `context.env ?? process.env`; a defined option overrides
 * its variable (an option set to `undefined` does not hide it); an unknown key is `ERR_CONFIG`
 * naming the nearest known one. The logger is `options.logger ?? context.logger`.
 */
export function dnsProvider(options: DnsProviderOptions = {}, context?: DnsProviderContext): DnsProvider {
  return new DnsProvider(options, context);
}

/** What `createDiscovery({ provider: 'dns' })` calls: the same as {@link dnsProvider}. */
export function createProvider(options: unknown, context: ProviderContext): DnsProvider {
  return dnsProvider(options as DnsProviderOptions, context);
}

// Type tests: `tsc` (the typecheck task) fails if these drift.
import { createDiscovery, type Provider } from '@disco/core';
import { describe, expectTypeOf, it } from 'vitest';
import { dnsProvider, type DnsProvider, type DnsProviderContext, type DnsProviderOptions } from '../src/index.js';

describe('dns provider types', () => {
  it('options for the provider named by string are type-checked once the package is imported', () => {
    const config = { provider: 'dns' as const, dns: { servers: '127.0.0.1:8600', refreshTtl: '10s', fallbackPort: { web: 80 } } };
    expectTypeOf(config.dns).toExtend<DnsProviderOptions>();
    // @ts-expect-error a misspelt option does not compile
    void (() => createDiscovery({ provider: 'dns', dns: { server: '127.0.0.1' } }));
    // @ts-expect-error a wrongly typed option does not compile
    void (() => createDiscovery({ provider: 'dns', dns: { port: '53' } }));
  });

  it('dnsProvider(options?, context?) returns a closable Provider', () => {
    expectTypeOf(dnsProvider).parameter(0).toEqualTypeOf<DnsProviderOptions | undefined>();
    expectTypeOf(dnsProvider).parameter(1).toEqualTypeOf<DnsProviderContext | undefined>();
    expectTypeOf(dnsProvider).returns.toEqualTypeOf<DnsProvider>();
    expectTypeOf<DnsProvider>().toExtend<Provider & AsyncDisposable>();
    expectTypeOf<DnsProvider['source']>().toBeFunction();
  });
});

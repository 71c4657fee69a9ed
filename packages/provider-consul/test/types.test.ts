import { createDiscovery, type DiscoveryConfig } from '@disco/core';
import { expect, expectTypeOf, it } from 'vitest';
import { consulProvider, type ConsulProviderOptions } from '../src/index.ts';

// Checked by `tsc --noEmit` (the package's typecheck): importing the package adds `consul` to
// core's ProviderOptionsMap, so the options of a provider named by string are type-checked.
it('createDiscovery({ consul: {...} }) takes exactly the Consul provider options', () => {
  expectTypeOf<NonNullable<DiscoveryConfig['consul']>>().toEqualTypeOf<ConsulProviderOptions>();
  const good: DiscoveryConfig = { provider: 'consul', consul: { address: 'https://consul:8501', wait: '1m', tls: { ca: '/ca.pem', insecureSkipVerify: false } } };
  // @ts-expect-error a mistyped key ("wiat") does not compile
  const typo: DiscoveryConfig = { provider: 'consul', consul: { wiat: '1m' } };
  // @ts-expect-error nor does a wrong value
  const wrong: DiscoveryConfig = { provider: 'consul', consul: { consistency: 'eventual' } };
  // @ts-expect-error nor an option that is gone (the engine bounds request rates)
  const gone: DiscoveryConfig = { provider: 'consul', consul: { rateLimit: { perSecond: 1 } } };
  const compileOnly = () => createDiscovery({ provider: 'consul', consul: { passingOnly: true } });
  expectTypeOf(consulProvider).parameter(0).toEqualTypeOf<ConsulProviderOptions | undefined>();
  expect([good, typo, wrong, gone, compileOnly].length).toBe(5);
});

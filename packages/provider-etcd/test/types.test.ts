import { createDiscovery, type DiscoveryConfig } from '@disco/core';
import { expect, expectTypeOf, it } from 'vitest';
import { etcdProvider, type EtcdProviderOptions } from '../src/index.ts';

// Checked by `tsc --noEmit` (the package's typecheck): importing the package adds `etcd` to
// core's ProviderOptionsMap, so the options of a provider named by string are type-checked.
it('createDiscovery({ etcd: {...} }) takes exactly the etcd provider options', () => {
  expectTypeOf<NonNullable<DiscoveryConfig['etcd']>>().toEqualTypeOf<EtcdProviderOptions>();
  const good: DiscoveryConfig = { provider: 'etcd', etcd: { endpoints: ['10.0.0.1:2379'], ttl: '10s', tls: { ca: '/ca.pem' } } };
  // @ts-expect-error a mistyped key ("ttll") does not compile
  const typo: DiscoveryConfig = { provider: 'etcd', etcd: { ttll: 1 } };
  // @ts-expect-error nor does a wrong type
  const wrong: DiscoveryConfig = { provider: 'etcd', etcd: { layout: 'zookeeper' } };
  const compileOnly = () => createDiscovery({ provider: 'etcd', etcd: { prefix: '/x/' } });
  expectTypeOf(etcdProvider).parameter(0).toEqualTypeOf<EtcdProviderOptions | undefined>();
  expect([good, typo, wrong, compileOnly].length).toBe(4);
});

// Options of a provider named by string are type-checked (declaration merging into core's
// ProviderOptionsMap): `tsc` over this file is the test; the runtime lines check the same values.
import { createDiscovery, type DiscoveryConfig } from '@disco/core';
import { expect, expectTypeOf, it } from 'vitest';
import { kubernetesProvider, type KubernetesProviderOptions } from '../src/index.js';

it('createDiscovery({ kubernetes: … }) takes exactly the provider options once the package is imported', async () => {
  expectTypeOf<NonNullable<DiscoveryConfig['kubernetes']>>().toEqualTypeOf<KubernetesProviderOptions>();
  const good: DiscoveryConfig = { provider: 'kubernetes', kubernetes: { namespace: 'production', port: 'http', watchTimeout: '10m' } };
  const misspelt: DiscoveryConfig = {
    provider: 'kubernetes',
    // @ts-expect-error: an unknown key does not compile…
    kubernetes: { namespce: 'production' },
  };
  // @ts-expect-error: …nor a value of the wrong type
  const wrongType: DiscoveryConfig = { provider: 'kubernetes', kubernetes: { mode: 'services' } };
  expect(good.kubernetes?.namespace).toBe('production');
  // …and at run time the same mistakes are ERR_CONFIG, the unknown key with the nearest known one.
  const discovery = createDiscovery({ ...misspelt, env: {} });
  await expect(discovery.discover('web')).rejects.toMatchObject({ code: 'ERR_CONFIG', message: expect.stringMatching(/unknown option "kubernetes\.namespce"; did you mean "namespace"\?/) as string });
  await discovery.close();
  expect(() => kubernetesProvider(wrongType.kubernetes, { env: {} })).toThrow(/mode must be one of endpointslices, pods; got "services"/);
});

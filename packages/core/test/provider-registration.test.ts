import { createDiscovery, registerProvider, staticProvider, type ProviderModule } from '@disco/core';
import { afterEach, expect, it } from 'vitest';

// A provider module as a bundle hands it over: its createProvider gets the options under the
// provider's name and the context, and returns a provider (a static one here, with one instance).
function moduleServing(port: number, calls: unknown[] = []): ProviderModule {
  return {
    createProvider: (options, context) => {
      calls.push({ options, env: context.env });
      return staticProvider({ instances: `users=127.0.0.1:${port}` });
    },
  };
}

const opened: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((discovery) => discovery.close()));
});

function discoveryWith(config: Parameters<typeof createDiscovery>[0]) {
  const discovery = createDiscovery(config);
  opened.push(discovery);
  return discovery;
}

it('a module handed over in `providers` serves its name, with the options under that name and the environment', async () => {
  const calls: unknown[] = [];
  const discovery = discoveryWith({ provider: 'etcd', etcd: { ttl: '5s' }, env: { ETCD_ENDPOINTS: 'x:1' }, providers: { etcd: moduleServing(8081, calls) } });
  expect((await discovery.resolve('users')).port).toBe(8081);
  expect(calls).toEqual([{ options: { ttl: '5s' }, env: { ETCD_ENDPOINTS: 'x:1' } }]);
});

it('registerProvider serves a name for every Discovery in the process; `providers` wins over it', async () => {
  registerProvider('consul', moduleServing(8082));
  expect((await discoveryWith({ provider: 'consul' }).resolve('users')).port).toBe(8082);
  expect((await discoveryWith({ provider: 'consul', providers: { consul: moduleServing(8083) } }).resolve('users')).port).toBe(8083);
});

it('something without createProvider is ERR_CONFIG, from `providers` and from registerProvider', async () => {
  const discovery = discoveryWith({ provider: 'dns', providers: { dns: {} as ProviderModule } });
  await expect(discovery.discover('users')).rejects.toMatchObject({ code: 'ERR_CONFIG', message: expect.stringContaining('providers.dns does not export createProvider()') });
  expect(() => registerProvider('dns', { createProvider: 'no' } as unknown as ProviderModule)).toThrow(expect.objectContaining({ code: 'ERR_CONFIG' }));
});

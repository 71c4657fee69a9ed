import { createDiscovery } from '@disco/core';
import { describe, expect, it } from 'vitest';
import { consulFixture } from './helpers.js';

const consul = consulFixture();

describe('listServices', () => {
  it('names the services of the catalog, each once, from GET /v1/catalog/services', async () => {
    const { double, provider } = await consul.start();
    expect(await provider.listServices()).toEqual([]);
    await provider.register({ id: 'web-1', name: 'web', address: '127.0.0.1', port: 8080 });
    await provider.register({ id: 'web-2', name: 'web', address: '127.0.0.1', port: 8081 });
    await provider.register({ id: 'db-1', name: 'db', address: '127.0.0.1', port: 5432 });
    expect((await provider.listServices()).sort()).toEqual(['db', 'web']);
    expect(double.requestsTo('/v1/catalog/services').length).toBe(2);
    expect(await createDiscovery({ provider }).listServices()).toEqual(['db', 'web']);
  });

  it('a token that may not read is ERR_CONFIG naming CONSUL_HTTP_TOKEN; the token never appears', async () => {
    const token = 'bad-token-31337';
    const { provider } = await consul.start({ double: { acl: { tokens: { 'good-token-1': 'read' } } }, provider: { token } });
    const error = await provider.listServices().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_CONFIG', variable: 'CONSUL_HTTP_TOKEN' });
    expect((error as Error).message).not.toContain(token);
  });

  it('an aborted signal is ERR_ABORTED', async () => {
    const { provider } = await consul.start();
    await expect(provider.listServices({ signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'ERR_ABORTED' });
  });
});

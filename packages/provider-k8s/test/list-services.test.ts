import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDouble, type DoubleFixture } from './helpers.js';

let f: DoubleFixture;
beforeAll(async () => {
  f = await startDouble();
  const endpoints = [{ address: '10.20.0.1' }];
  f.double.applyEndpointSlice({ name: 'users-a', service: 'users', namespace: 'shop', endpoints, labels: { tier: 'web' } });
  f.double.applyEndpointSlice({ name: 'users-b', service: 'users', namespace: 'shop', endpoints, labels: { tier: 'web' } });
  f.double.applyEndpointSlice({ name: 'orders-a', service: 'orders', namespace: 'shop', endpoints, labels: { tier: 'backend' } });
  f.double.applyEndpointSlice({ name: 'users-x', service: 'users-elsewhere', namespace: 'other', endpoints });
  f.double.applyPod({ name: 'cart-1', namespace: 'shop', labels: { app: 'cart', track: 'stable' }, ip: '10.21.0.1' });
  f.double.applyPod({ name: 'cart-2', namespace: 'shop', labels: { app: 'cart', track: 'canary' }, ip: '10.21.0.2' });
  f.double.applyPod({ name: 'search-1', namespace: 'shop', labels: { app: 'search', track: 'stable' }, ip: '10.21.0.3' });
  f.double.applyPod({ name: 'sidecar', namespace: 'shop', labels: { role: 'proxy' }, ip: '10.21.0.4' });
});
afterAll(() => f.close());

describe('listServices', () => {
  it('EndpointSlices mode: the distinct kubernetes.io/service-name labels in the namespace, under the fixed part of K8S_LABEL_SELECTOR', async () => {
    expect((await f.provider({ namespace: 'shop', pageSize: 1 }).listServices()).sort()).toEqual(['orders', 'users']);
    expect(await f.provider({ namespace: 'shop', labelSelector: 'tier=web' }).listServices()).toEqual(['users']);
    expect(await f.provider({ namespace: 'empty' }).listServices()).toEqual([]);
  });

  it('pods mode: the distinct values of the label the selector sets to {service}', async () => {
    expect((await f.provider({ mode: 'pods', namespace: 'shop' }).listServices()).sort()).toEqual(['cart', 'search']);
    expect(await f.provider({ mode: 'pods', namespace: 'shop', labelSelector: 'app={service},track=canary' }).listServices()).toEqual(['cart']);
  });

  it('pods mode with a selector that names no label for the service is ERR_UNSUPPORTED saying why', async () => {
    const error = await f.provider({ mode: 'pods', namespace: 'shop', labelSelector: 'app in ({service}, search)' }).listServices().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_UNSUPPORTED', message: expect.stringContaining('cannot be told apart') });
  });

  it('an aborted signal is ERR_ABORTED; a closed provider ERR_CLOSED', async () => {
    const provider = f.provider({ namespace: 'shop' });
    await expect(provider.listServices({ signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'ERR_ABORTED' });
    await provider.close();
    await expect(provider.listServices()).rejects.toMatchObject({ code: 'ERR_CLOSED' });
  });
});

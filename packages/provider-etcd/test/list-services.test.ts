import { createDiscovery } from '@disco/core';
import { EtcdCluster } from '@disco/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { etcdProvider, type EtcdProvider } from '../src/index.ts';
import { unique } from './helpers.ts';

let etcd: EtcdCluster;
const providers: EtcdProvider[] = [];

beforeAll(async () => {
  etcd = await EtcdCluster.start();
});
afterAll(async () => {
  await Promise.all(providers.map((p) => p.close()));
  await etcd?.stop();
});

it('listServices names each service under the prefix once, from keys only, and nothing outside it', async () => {
  const prefix = `/${unique('list')}/`;
  const provider = etcdProvider({ endpoints: etcd.endpoints, prefix, ttl: '5s' });
  providers.push(provider);
  expect(await provider.listServices()).toEqual([]);
  await provider.register({ id: 'users-1', name: 'users', address: '127.0.0.1', port: 8001 });
  await provider.register({ id: 'users-2', name: 'users', address: '127.0.0.1', port: 8002 });
  await provider.register({ id: 'billing-1', name: 'billing', address: '127.0.0.1', port: 8003 });
  // A Go service's key, a key holding no instance (no "/" after the name), another prefix.
  await etcd.etcdctl(['put', `${prefix}payments/10.0.0.9:50051`, '{"Op":0,"Addr":"10.0.0.9:50051"}']);
  await etcd.etcdctl(['put', `${prefix}README`, 'not a service']);
  await etcd.etcdctl(['put', `/elsewhere-${prefix.slice(1)}orders/o1`, '{}']);
  expect((await provider.listServices()).sort()).toEqual(['billing', 'payments', 'users']);

  const discovery = createDiscovery({ provider });
  expect(await discovery.listServices()).toEqual(['billing', 'payments', 'users']);
  await expect(provider.listServices({ signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'ERR_ABORTED' });
});

it('listServices of an etcd that cannot be reached is ERR_PROVIDER_UNAVAILABLE or ERR_TIMEOUT', async () => {
  const provider = etcdProvider({ endpoints: ['127.0.0.1:1'], requestTimeout: '1s' });
  providers.push(provider);
  await expect(provider.listServices()).rejects.toMatchObject({ code: expect.stringMatching(/^ERR_(PROVIDER_UNAVAILABLE|TIMEOUT)$/) });
});

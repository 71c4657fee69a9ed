import { EtcdCluster } from '@disco/testing';
import { describeProvider } from '@disco/testing/conformance';
import { afterAll, beforeAll } from 'vitest';
import { etcdProvider } from '../src/index.ts';

let etcd: EtcdCluster;
beforeAll(async () => {
  etcd = await EtcdCluster.start();
});
afterAll(async () => {
  await etcd?.stop();
});

describeProvider('etcd', () => etcdProvider({ endpoints: etcd.endpoints, ttl: '5s' }));
describeProvider('etcd (go-grpc layout)', () => etcdProvider({ endpoints: etcd.endpoints, ttl: '5s', layout: 'go-grpc', prefix: '/go/' }), {
  fields: [],
  unhealthy: 'remove',
});

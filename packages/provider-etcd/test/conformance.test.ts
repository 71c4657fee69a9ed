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

/** The outage the engine rules are checked under: the only member stopped, then started again on the same ports and data. */
const outage = {
  begin: async () => {
    if (etcd.member(0).process.running) await etcd.stopMember(0);
  },
  end: async () => {
    if (!etcd.member(0).process.running) await etcd.restartMember(0);
  },
};

const env = {}; // the suite's endpoints only, whatever ETCD_* the machine has
describeProvider('etcd', () => etcdProvider({ endpoints: etcd.endpoints, ttl: '5s', backoff: { max: '2s' } }, { env }), { outage });
// The same contract through the shared prefix feed (one range, one watch, engines hooked onto it).
describeProvider('etcd (prefix mode)', () => etcdProvider({ endpoints: etcd.endpoints, ttl: '5s', prefix: '/pm/', prefixMode: 'always', backoff: { max: '2s' } }, { env }), { outage });
describeProvider('etcd (go-grpc layout)', () => etcdProvider({ endpoints: etcd.endpoints, ttl: '5s', layout: 'go-grpc', prefix: '/go/', backoff: { max: '2s' } }, { env }), {
  fields: [],
  unhealthy: 'remove',
  outage,
});

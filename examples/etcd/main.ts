// disco on etcd: two HTTP servers register under leases, a client watches and load-balances
// over them, a Go gRPC service's endpoint (written the way go.etcd.io/etcd naming/endpoints
// writes it) is found too, one server leaves, and everything closes cleanly.
// Run: node examples/etcd/main.ts   (uses ETCD_ENDPOINTS, or starts a throwaway etcd itself)
import { createDiscovery, endpoint, type Instance } from '@disco/core';
import { EtcdCluster } from '@disco/testing';
import { Etcd3 } from 'etcd3';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';

const started = performance.now();
const say = (text: string) => console.log(`${((performance.now() - started) / 1000).toFixed(1).padStart(5)}s  ${text}`);
const list = (instances: readonly Instance[]) => instances.map((i) => `${i.id}@${endpoint(i)}`).join(', ') || 'none';

// 0. An etcd to talk to: yours (ETCD_ENDPOINTS), or one started just for this run.
let etcd: EtcdCluster | undefined;
if (!process.env.ETCD_ENDPOINTS) {
  etcd = await EtcdCluster.start();
  process.env.ETCD_ENDPOINTS = etcd.endpoints.join(',');
  say(`started a throwaway etcd at ${etcd.endpoints[0]}`);
}

// 1. Two small HTTP servers, each answering with its name.
const servers = new Map<string, Server>();
for (const name of ['alpha', 'bravo']) {
  const server = createServer((_req, res) => res.end(name));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  servers.set(name, server);
}

// 2. One Discovery on etcd, configured from ETCD_* variables; registrations ride on one lease.
const discovery = createDiscovery({ provider: 'etcd', etcd: { ttl: '5s' } });
discovery.on('provider', (event) => say(`provider event: ${event.type}: ${event.message}`));
discovery.watch('greeter', (event) => {
  if (!('instances' in event)) return say(`watch: error ${event.error.code}`);
  say(`watch: ${event.instances.length} instance(s): ${list(event.instances)}`);
});
// Waits until the service has `count` instances. updates() yields the current snapshot first,
// so a change that already happened is not missed.
async function watched(count: number): Promise<void> {
  for await (const instances of discovery.updates('greeter')) if (instances.length === count) return;
}
for (const [name, server] of servers) {
  const { port } = server.address() as { port: number };
  await discovery.register({ id: `greeter-${name}`, name: 'greeter', address: '127.0.0.1', port, metadata: { name } });
  say(`registered greeter-${name}: key /services/greeter/greeter-${name}`);
}

// 3. Six requests through the round-robin balancer.
async function callMany(count: number): Promise<void> {
  const tally = new Map<string, number>();
  for (let i = 0; i < count; i++) {
    const instance = await discovery.resolve('greeter');
    const answer = await (await fetch(`http://${endpoint(instance)}/`)).text();
    tally.set(answer, (tally.get(answer) ?? 0) + 1);
  }
  say(`${count} requests went to: ${[...tally].map(([n, c]) => `${n} ×${c}`).join(', ')}`);
}
await watched(2); // the registrations come back through the etcd watch
await callMany(6);

// 4. A Go service registered "payments" with endpoints.Manager; a second Discovery reads that layout.
const raw = new Etcd3({ hosts: process.env.ETCD_ENDPOINTS.split(',') });
await raw.put('grpc/payments/10.2.0.9:50051').value(JSON.stringify({ Op: 0, Addr: '10.2.0.9:50051', Metadata: { version: 'go-1.4' } }));
raw.close();
const goServices = createDiscovery({ provider: 'etcd', etcd: { layout: 'go-grpc', prefix: 'grpc/' } });
const payments = await goServices.resolve('payments');
say(`Go service found: payments at ${endpoint(payments)} (metadata version ${payments.metadata.version})`);

// 5. bravo leaves: its key is deleted, the watch hears it, traffic goes to alpha only.
await discovery.deregister('greeter-bravo');
await watched(1);
await callMany(4);

// 6. Close: deregisters what is left (revoking the lease), stops the watch; nothing keeps the process alive.
await discovery.close();
await goServices.close();
for (const server of servers.values()) server.close();
await etcd?.stop();
say('closed; exit 0');

// disco on Consul: two HTTP servers register with HTTP health checks that Consul runs, a client
// watches (blocking queries) and load-balances over the healthy ones, one server starts failing
// its check and drops out, comes back, and everything closes cleanly.
// Run: node examples/consul/main.ts   (uses CONSUL_HTTP_ADDR, or starts a Consul double itself)
import { createDiscovery, endpoint, type Instance } from '@disco/core';
import { ConsulDouble } from '@disco/testing';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';

const started = performance.now();
const say = (text: string) => console.log(`${((performance.now() - started) / 1000).toFixed(1).padStart(5)}s  ${text}`);
const list = (instances: readonly Instance[]) => instances.map((i) => `${i.id}@${endpoint(i)}${i.healthy ? '' : ' (critical)'}`).join(', ') || 'none';

// 0. A Consul agent to talk to: yours (CONSUL_HTTP_ADDR), or the test kit's double for this run.
let double: ConsulDouble | undefined;
if (!process.env.CONSUL_HTTP_ADDR) {
  double = await ConsulDouble.start({ minCheckIntervalMs: 100 });
  process.env.CONSUL_HTTP_ADDR = double.address;
  say(`started a Consul double at ${double.address}`);
}

// 1. Two small HTTP servers, each answering with its name; /health can be made to fail.
const failing = new Set<string>();
const servers = new Map<string, Server>();
for (const name of ['alpha', 'bravo']) {
  const server = createServer((req, res) => {
    if (req.url === '/health') return res.writeHead(failing.has(name) ? 503 : 200).end();
    res.end(name);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  servers.set(name, server);
}

// 2. One Discovery on Consul (CONSUL_HTTP_ADDR, CONSUL_HTTP_TOKEN, … from the environment).
const discovery = createDiscovery({ provider: 'consul', consul: { wait: '30s' } });
discovery.on('error', ({ error }) => say(`error: ${error.message}`));
discovery.watch(
  'greeter',
  (event) => {
    if (!('instances' in event)) return say(`watch: error ${event.error.code}`);
    say(`watch: ${list(event.instances)}`);
  },
  { healthyOnly: false },
);
// Waits until `count` instances pass their checks; updates() yields the current snapshot first,
// so a check that passed before we started waiting is not missed.
async function healthyCount(count: number): Promise<void> {
  for await (const instances of discovery.updates('greeter')) if (instances.length === count) return;
}
for (const [name, server] of servers) {
  const { port } = server.address() as { port: number };
  await discovery.register({
    id: `greeter-${name}`,
    name: 'greeter',
    address: '127.0.0.1',
    port,
    tags: ['http'],
    metadata: { name },
    health: { http: `http://127.0.0.1:${port}/health`, interval: '1s', timeout: '500ms', deregisterAfter: '10m' },
  });
  say(`registered greeter-${name} with an HTTP check Consul runs every second`);
}

// 3. Consul's checks pass: six requests through the round-robin balancer.
async function callMany(count: number): Promise<void> {
  const tally = new Map<string, number>();
  for (let i = 0; i < count; i++) {
    const instance = await discovery.resolve('greeter');
    const answer = await (await fetch(`http://${endpoint(instance)}/`)).text();
    tally.set(answer, (tally.get(answer) ?? 0) + 1);
  }
  say(`${count} requests went to: ${[...tally].map(([n, c]) => `${n} ×${c}`).join(', ')}`);
}
await healthyCount(2);
await callMany(6);

// 4. bravo's health endpoint starts failing: Consul marks it critical, the watch hears it, traffic goes to alpha.
failing.add('bravo');
say('bravo starts failing its health check');
await healthyCount(1);
await callMany(4);

// 5. bravo recovers.
failing.delete('bravo');
await healthyCount(2);
say('bravo passes again');

// 6. Close: deregisters both services, ends the blocking query; nothing keeps the process alive.
await discovery.close();
for (const server of servers.values()) server.close();
await double?.close();
say('closed; exit 0');

// The disco demo: three HTTP servers register with health checks, a client watches and
// load-balances over them, one server dies and the health agent takes it out, then the
// process shuts down gracefully. Run: ./run demo  (or: node examples/basic/main.ts)
import { createDiscovery, endpoint, onShutdown, type Instance } from '@disco/core';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';

const names = ['alpha', 'bravo', 'charlie'];
const servers = new Map<string, Server>();
const started = performance.now();
const say = (text: string) => console.log(`${((performance.now() - started) / 1000).toFixed(1).padStart(5)}s  ${text}`);
const list = (instances: readonly Instance[]) => instances.map((i) => i.metadata.name).join(', ') || 'none';

// 1. Three small HTTP servers on loopback, each answering with its name.
for (const name of names) {
  const server = createServer((req, res) => res.end(req.url === '/health' ? 'ok' : name));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  servers.set(name, server);
}

// 2. A Discovery on the static provider: in-process, no registry server needed.
const discovery = createDiscovery({ provider: 'static' });
discovery.watch('greeter', (event) => {
  if ('instances' in event) say(`watch: ${event.instances.length} healthy instance(s): ${list(event.instances)}`);
  else if (event.error.code === 'ERR_CLOSED') say('watch: ended (the discovery closed)');
  else say(`watch: ${event.error.code}, still serving the last snapshot`);
});

// 3. Register each server with an HTTP health check run by the local health agent.
for (const [name, server] of servers) {
  const { port } = server.address() as { port: number };
  await discovery.register({
    id: `greeter-${name}`,
    name: 'greeter',
    address: '127.0.0.1',
    port,
    metadata: { name },
    health: { http: `http://127.0.0.1:${port}/health`, interval: '200ms', timeout: '100ms', failuresBeforeCritical: 2 },
  });
  say(`registered greeter-${name} at 127.0.0.1:${port}`);
}

// 4. Nine requests through the round-robin balancer.
async function callMany(count: number): Promise<void> {
  const tally = new Map<string, number>();
  for (let i = 0; i < count; i++) {
    const instance = await discovery.resolve('greeter');
    const answer = await (await fetch(`http://${endpoint(instance)}/`)).text();
    tally.set(answer, (tally.get(answer) ?? 0) + 1);
  }
  say(`${count} requests went to: ${[...tally].map(([n, c]) => `${n} ×${c}`).join(', ')}`);
}
const handle = discovery.service('greeter');
await handle.ready;
await callMany(9);

// 5. Stop one server: its health check fails twice, the agent marks it critical, watchers hear it.
say('stopping bravo …');
const bravo = servers.get('bravo')!;
bravo.closeAllConnections();
bravo.close();
servers.delete('bravo');
for await (const instances of discovery.updates('greeter')) if (instances.length === 2) break;
say(`bravo taken out by the health agent; live: ${list(handle.instances)}`);
await callMany(6);
handle.close();

// 6. Graceful shutdown, as on SIGTERM from an orchestrator: deregister, drain, close, exit 0.
onShutdown(discovery, {
  drain: '300ms',
  beforeClose: async () => {
    say(`drained; registered now: ${(await discovery.discover('greeter')).length}; stopping servers`);
    for (const server of servers.values()) {
      server.closeAllConnections();
      server.close();
    }
  },
});
process.once('exit', (code) => say(`exit ${code}`));
say('sending SIGTERM to myself …');
process.kill(process.pid, 'SIGTERM');

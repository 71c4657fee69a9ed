// disco + HTTP: three greeter services (processes of their own) register on the static provider
// with HTTP health checks; a client calls http://greeter/hello with plain fetch through the
// discovery dispatcher; one service is SIGKILLed mid-run, and the caller sees no failed request.
// Run: node examples/http/main.ts (after `pnpm build`)
import { createDiscovery } from '@disco/core';
import { discoveryDispatcher } from '@disco/undici';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { setGlobalDispatcher } from 'undici';

const names = ['alpha', 'bravo', 'charlie'];
const total = 900;
const killAfter = 300;

// 1. Start the three services and read the port each one listens on.
const services = new Map<string, ChildProcess>();
const discovery = createDiscovery({ provider: 'static' });
for (const name of names) {
  const child = spawn(process.execPath, [fileURLToPath(new URL('./service.ts', import.meta.url)), name], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  const { port } = JSON.parse(line.toString()) as { port: number };
  services.set(name, child);
  // 2. Register each one, with an HTTP health check run by the local health agent.
  await discovery.register({
    id: `greeter-${name}`,
    name: 'greeter',
    address: '127.0.0.1',
    port,
    metadata: { name },
    health: { http: `http://127.0.0.1:${port}/health`, interval: '250ms', timeout: '200ms', failuresBeforeCritical: 2 },
  });
  console.log(`registered greeter-${name} at 127.0.0.1:${port}`);
}

// 3. Every fetch in this process goes through discovery: http://greeter/ names the service.
// outlier_detection (from @disco/balancers) ejects an instance after 5 failed calls in a row;
// retries on another instance cover those calls, within a retry budget of 20 % of the requests.
let retried = 0;
const dispatcher = discoveryDispatcher(discovery, { balancer: 'outlier_detection', onRetry: ({ granted }) => void (granted && retried++) });
setGlobalDispatcher(dispatcher);

// 4. A steady load of GETs, 8 at a time; bravo is killed (SIGKILL: no goodbye, no deregistration) part-way.
const answers = new Map<string, number>();
let sent = 0;
let failed = 0;
async function worker(): Promise<void> {
  while (sent < total) {
    if (++sent === killAfter) {
      services.get('bravo')!.kill('SIGKILL');
      console.log(`killed bravo (SIGKILL) after ${killAfter} requests`);
    }
    try {
      const response = await fetch('http://greeter/hello');
      const text = await response.text();
      if (!response.ok) throw new Error(`status ${response.status}`);
      const from = text.replace('hello from ', '');
      answers.set(from, (answers.get(from) ?? 0) + 1);
    } catch (error) {
      failed++;
      console.log(`request failed: ${String((error as Error).cause ?? error)}`);
    }
  }
}
await Promise.all(Array.from({ length: 8 }, worker));
console.log(`${total} requests: ${total - failed} answered, ${failed} failed, ${retried} retried on another instance`);
console.log(`answers: ${names.map((n) => `${n} ×${answers.get(n) ?? 0}`).join(', ')}`);

// 5. The health agent finds bravo dead and takes it out; its connection pool closes with it.
for await (const instances of discovery.updates('greeter')) if (instances.length === 2) break;
const open = dispatcher.openOrigins().get('greeter') ?? [];
const byPort = new Map((await discovery.discover('greeter', { healthyOnly: false })).map((i) => [`http://127.0.0.1:${i.port}`, i.metadata.name]));
console.log(`health agent took bravo out; pools open to: ${open.map((o) => byPort.get(o)).sort().join(', ')}`);

// 6. Shut down: close the dispatcher (its pools) and the discovery, stop the services.
await dispatcher.close();
await discovery.close();
for (const [name, child] of services) if (name !== 'bravo') child.kill('SIGTERM');
await Promise.all([...services.values()].map((child) => (child.exitCode === null && child.signalCode === null ? once(child, 'exit') : undefined)));
console.log('closed; exiting');

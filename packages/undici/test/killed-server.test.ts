import { createDiscovery, staticProvider } from '@disco/core';
import '@disco/balancers';
import { startScript, waitFor, type RunningScript } from '@disco/testing';
import autocannon from 'autocannon';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { fetch } from 'undici';
import { expect, it, onTestFinished } from 'vitest';
import { discoveryDispatcher } from '../src/index.ts';

const script = fileURLToPath(new URL('./fixtures/counting-server.ts', import.meta.url));

interface Child {
  readonly name: string;
  readonly run: RunningScript;
  readonly pid: number;
  readonly port: number;
}

async function startChild(name: string): Promise<Child> {
  const run = startScript(script, { args: [name], timeoutMs: 60_000 });
  await waitFor(() => run.stdout.includes('\n'), { timeoutMs: 10_000, what: `${name} to listen` });
  const { pid, port } = JSON.parse(run.stdout.slice(0, run.stdout.indexOf('\n'))) as { pid: number; port: number };
  return { name, run, pid, port };
}

/** Requests a child received: one dot each, after its first line. */
const received = (child: Child) => child.run.stdout.slice(child.run.stdout.indexOf('\n') + 1).length;

it('a server SIGKILLed under load: the caller sees no failed request, and the retries stay within the budget', async () => {
  const children = await Promise.all(['a', 'b', 'c'].map(startChild));
  const discovery = createDiscovery({ provider: staticProvider() });
  for (const child of children) await discovery.register({ id: child.name, name: 'svc', address: '127.0.0.1', port: child.port });
  const ratio = 0.2;
  // Outlier detection takes the dead instance out after 5 failures in a row; retries cover those
  // failures and the requests that were on its sockets when it died.
  const retries = { granted: 0, refused: 0, codes: new Map<string, number>() };
  const dispatcher = discoveryDispatcher(discovery, {
    balancer: 'outlier_detection',
    retry: { budget: { ratio, minPerSecond: 0 } },
    onRetry: ({ granted, result }) => {
      if (!granted) return void retries.refused++;
      retries.granted++;
      const code = String((result.error as { code?: string } | undefined)?.code ?? result.statusCode);
      retries.codes.set(code, (retries.codes.get(code) ?? 0) + 1);
    },
  });

  // A gateway in front of the service, so autocannon (not our code) is the caller that counts failures.
  const total = 3000;
  const killAt = 800;
  let handled = 0;
  let gatewayErrors = 0;
  const gateway = createServer((req, res) => {
    if (++handled === killAt) process.kill(children[0]!.pid, 'SIGKILL');
    fetch(`http://svc${req.url}`, { dispatcher }).then(
      async (response) => res.writeHead(response.status).end(await response.text()),
      (error: Error) => {
        gatewayErrors++;
        res.writeHead(502).end(String(error.cause ?? error));
      },
    );
  });
  gateway.listen(0, '127.0.0.1');
  await once(gateway, 'listening');
  onTestFinished(async () => {
    gateway.closeAllConnections();
    gateway.close();
    await dispatcher.destroy();
    await discovery.close();
    for (const child of children.slice(1)) process.kill(child.pid, 'SIGTERM');
    await Promise.all(children.map((c) => c.run.exited));
  });

  const result = await autocannon({ url: `http://127.0.0.1:${(gateway.address() as { port: number }).port}/work`, connections: 16, amount: total, timeout: 10 });
  const killed = await children[0]!.run.exited;
  const counts = children.map(received);
  const atServers = counts.reduce((sum, n) => sum + n, 0);
  console.log(
    `killed-server: ${total} requests through the gateway, ${result.statusCodeStats['200']?.count ?? 0} × 200, ${result.non2xx} non-2xx, ${result.errors} errors; ` +
      `at the servers: ${counts.join(' + ')} = ${atServers} (${atServers - total} extra); ` +
      `retries: ${retries.granted} (${[...retries.codes].map(([code, n]) => `${code} ×${n}`).join(', ')}), ${retries.refused} refused by the budget (${ratio * 100} % = ${ratio * total})`,
  );
  expect(killed.signal).toBe('SIGKILL');
  expect(result.errors).toBe(0);
  expect(result.non2xx).toBe(0);
  expect(gatewayErrors).toBe(0);
  expect(result.statusCodeStats['200']?.count).toBe(total);
  // Requests on the killed server's sockets reached it and again another instance: the only extra load.
  expect(atServers).toBeGreaterThanOrEqual(total);
  expect(atServers - total).toBeLessThanOrEqual(retries.granted);
  expect(retries.granted).toBeGreaterThan(0);
  expect(retries.granted).toBeLessThanOrEqual(ratio * total);
  expect(retries.refused).toBe(0);
  // The killed server got its share before it died, and nothing after.
  expect(counts[0]).toBeGreaterThan(100);
  expect(counts[0]).toBeLessThanOrEqual(killAt);
});

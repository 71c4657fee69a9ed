// Consul runs the check (the double's HTTP check against a real local server); the flip reaches watchers.
import { createServer, type Server } from 'node:http';
import { createDiscovery, type Instance } from '@disco/core';
import { ConsulDouble, waitFor } from '@disco/testing';
import { afterAll, beforeAll, it } from 'vitest';
import { ConsulProvider } from '../src/index.js';
import { Recorder } from './helpers.js';

let double: ConsulDouble;
let app: Server;
let status = 200;
let port = 0;
beforeAll(async () => {
  double = await ConsulDouble.start({ minCheckIntervalMs: 50, deregisterMinimumMs: 200, reaperPeriodMs: 50 });
  app = createServer((_req, res) => res.writeHead(status).end());
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
  port = (app.address() as { port: number }).port;
});
afterAll(async () => {
  await double?.close();
  await new Promise((r) => app?.close(r));
});

it('a server that starts failing its HTTP check goes unhealthy for every watcher, then comes back', async () => {
  const provider = new ConsulProvider({ address: double.address, wait: '5s' }, { env: {} });
  const discovery = createDiscovery({ provider });
  try {
    const raw = new Recorder();
    provider.watch('flip', raw.listener);
    const healthyOnly: (readonly Instance[])[] = [];
    discovery.watch('flip', (event) => void ('instances' in event && healthyOnly.push(event.instances)));
    await discovery.register({ id: 'flip-1', name: 'flip', address: '127.0.0.1', port, health: { http: `http://127.0.0.1:${port}/health`, interval: '100ms' } });
    await raw.until((s) => s[0]?.healthy === true, 'passing after the first check run');
    await waitFor(() => healthyOnly.at(-1)?.length === 1, { what: 'the healthy-only watcher to see it' });
    status = 500;
    await raw.until((s) => s.length === 1 && s[0]!.healthy === false, 'critical after the server fails');
    await waitFor(() => healthyOnly.at(-1)?.length === 0, { what: 'the healthy-only watcher to drop it' });
    status = 429; // warning still takes traffic
    await raw.until((s) => s[0]?.healthy === true, 'warning counts as healthy');
    status = 200;
    await waitFor(() => healthyOnly.at(-1)?.length === 1, { what: 'the healthy-only watcher to get it back' });
  } finally {
    await discovery.close();
  }
});

it('deregisterAfter hands the service to Consul\'s reaper once it stays critical', async () => {
  const provider = new ConsulProvider({ address: double.address, wait: '5s' }, { env: {} });
  try {
    status = 500;
    const recorder = new Recorder();
    provider.watch('reaped', recorder.listener);
    await provider.register({ id: 'r1', name: 'reaped', address: '127.0.0.1', port, health: { http: `http://127.0.0.1:${port}/`, interval: '50ms', deregisterAfter: '200ms' } });
    await recorder.until((s) => s.length === 1, 'registered');
    await recorder.until((s) => s.length === 0, 'reaped');
  } finally {
    status = 200;
    await provider.close();
  }
});

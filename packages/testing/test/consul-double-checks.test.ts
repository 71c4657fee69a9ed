// Checks the Consul double really runs: HTTP, TCP and gRPC probes against real local servers,
// TTL expiry, the status thresholds, and the DeregisterCriticalServiceAfter reaper.
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { createServer as createTcpServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ConsulDouble, freePort, waitFor, type ConsulDoubleOptions, type ServiceEntry } from '../src/index.js';

const doubles: ConsulDouble[] = [];
const servers: { close(cb?: () => void): unknown }[] = [];
afterEach(async () => {
  await Promise.all(doubles.splice(0).map((d) => d.close()));
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(() => r(undefined)))));
});

async function double(options: ConsulDoubleOptions = {}): Promise<ConsulDouble> {
  const d = await ConsulDouble.start({ minCheckIntervalMs: 50, ...options });
  doubles.push(d);
  return d;
}
const put = (d: ConsulDouble, path: string, body?: unknown) => fetch(`${d.url}${path}`, { method: 'PUT', body: body === undefined ? undefined : JSON.stringify(body) });
const check = async (d: ConsulDouble, name: string) => (((await (await fetch(`${d.url}/v1/health/service/${name}`)).json()) as ServiceEntry[])[0]?.Checks[1]);

/** A real HTTP server whose answer the test sets. */
async function target(): Promise<{ url: string; status: number; hits: number }> {
  const state = { url: '', status: 200, hits: 0 };
  const server: Server = createServer((_req, res) => {
    state.hits++;
    res.writeHead(state.status).end(`status ${state.status}`);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  state.url = `http://127.0.0.1:${(server.address() as { port: number }).port}/health`;
  return state;
}

describe('HTTP checks', () => {
  it('2xx passing, 429 warning, anything else critical, with the body in the output', async () => {
    const d = await double();
    const app = await target();
    await put(d, '/v1/agent/service/register', { Name: 'web', Port: 1, Check: { HTTP: app.url, Interval: '50ms' } });
    await waitFor(async () => (await check(d, 'web'))?.Status === 'passing', { what: 'passing' });
    expect((await check(d, 'web'))!.Output).toMatch(/HTTP GET .*: 200 OK Output: status 200/);
    app.status = 429;
    await waitFor(async () => (await check(d, 'web'))?.Status === 'warning', { what: 'warning' });
    app.status = 503;
    await waitFor(async () => (await check(d, 'web'))?.Status === 'critical', { what: 'critical' });
  });

  it('raises an interval below the agent minimum to the minimum', async () => {
    const d = await double({ minCheckIntervalMs: 300 });
    const app = await target();
    await put(d, '/v1/agent/service/register', { Name: 'slow', Port: 1, Check: { HTTP: app.url, Interval: '10ms' } });
    await new Promise((r) => setTimeout(r, 1000));
    expect(app.hits).toBeGreaterThanOrEqual(2);
    expect(app.hits).toBeLessThanOrEqual(4);
  });

  it('SuccessBeforePassing and FailuresBeforeCritical need that many results in a row', async () => {
    const d = await double();
    const app = await target();
    app.status = 500;
    await put(d, '/v1/agent/service/register', { Name: 'th', Port: 1, Check: { HTTP: app.url, Interval: '50ms', SuccessBeforePassing: 3, FailuresBeforeCritical: 3, Status: 'critical' } });
    await waitFor(() => app.hits >= 1, { what: 'a first probe' });
    app.status = 200;
    const flipAt = app.hits;
    await waitFor(async () => (await check(d, 'th'))?.Status === 'passing', { what: 'passing' });
    expect(app.hits - flipAt).toBeGreaterThanOrEqual(3);
    app.status = 500;
    const failAt = app.hits;
    await waitFor(async () => (await check(d, 'th'))?.Status === 'critical', { what: 'critical' });
    expect(app.hits - failAt).toBeGreaterThanOrEqual(3);
  });
});

describe('TCP checks', () => {
  it('passing while the port accepts, critical once it does not', async () => {
    const d = await double();
    const server = createTcpServer((socket) => socket.destroy());
    const port = await freePort();
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    await put(d, '/v1/agent/service/register', { Name: 'tcp', Port: port, Check: { TCP: `127.0.0.1:${port}`, Interval: '50ms' } });
    await waitFor(async () => (await check(d, 'tcp'))?.Status === 'passing', { what: 'passing' });
    expect((await check(d, 'tcp'))!.Output).toMatch(/Success/);
    await new Promise((r) => server.close(r));
    await waitFor(async () => (await check(d, 'tcp'))?.Status === 'critical', { what: 'critical' });
  });
});

describe('gRPC checks', () => {
  it('passing while grpc.health.v1 answers SERVING, critical on NOT_SERVING', async () => {
    // A real grpc-js server with the standard health service (from the workspace's grpc-resolver deps).
    const require = createRequire(new URL('../../grpc-resolver/package.json', import.meta.url));
    const grpc = require('@grpc/grpc-js') as {
      Server: new () => { bindAsync(address: string, credentials: unknown, callback: (error: Error | null, port: number) => void): void; tryShutdown(callback: () => void): void };
      ServerCredentials: { createInsecure(): unknown };
    };
    const { HealthImplementation } = require('grpc-health-check') as { HealthImplementation: new (s: Record<string, string>) => { addToServer(s: unknown): void; setStatus(name: string, status: string): void } };
    const health = new HealthImplementation({ '': 'SERVING', payments: 'SERVING' });
    const server = new grpc.Server();
    health.addToServer(server);
    const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))));
    servers.push({ close: (cb) => server.tryShutdown(() => cb?.()) });
    const d = await double();
    await put(d, '/v1/agent/service/register', { Name: 'grpc', Port: port, Check: { GRPC: `127.0.0.1:${port}/payments`, Interval: '50ms' } });
    await waitFor(async () => (await check(d, 'grpc'))?.Status === 'passing', { what: 'passing' });
    health.setStatus('payments', 'NOT_SERVING');
    await waitFor(async () => (await check(d, 'grpc'))?.Status === 'critical', { what: 'critical' });
    expect((await check(d, 'grpc'))!.Output).toMatch(/NOT_SERVING/);
  });
});

describe('TTL checks', () => {
  it('go critical with "TTL expired" when nobody reports in time, and pass again when fed', async () => {
    const d = await double();
    await put(d, '/v1/agent/service/register', { Name: 'ttl', Port: 1, Check: { TTL: '300ms', Status: 'passing' } });
    expect((await check(d, 'ttl'))!.Status).toBe('passing');
    await waitFor(async () => (await check(d, 'ttl'))?.Status === 'critical', { what: 'expiry' });
    expect((await check(d, 'ttl'))!.Output).toBe('TTL expired');
    await put(d, '/v1/agent/check/pass/service:ttl');
    expect((await check(d, 'ttl'))!.Status).toBe('passing');
  });
});

describe('the DeregisterCriticalServiceAfter reaper', () => {
  it('removes a service critical for longer than the setting, on the reaper period', async () => {
    const d = await double({ deregisterMinimumMs: 100, reaperPeriodMs: 50 });
    await put(d, '/v1/agent/service/register', { Name: 'reap', Port: 1, Check: { TTL: '30s', DeregisterCriticalServiceAfter: '150ms' } });
    await put(d, '/v1/agent/service/register', { Name: 'keep', Port: 1, Check: { TTL: '30s', Status: 'passing', DeregisterCriticalServiceAfter: '150ms' } });
    const started = performance.now();
    await waitFor(async () => (await check(d, 'reap')) === undefined, { what: 'the reaper' });
    expect(performance.now() - started).toBeGreaterThanOrEqual(100);
    expect(await check(d, 'keep')).toBeDefined();
  });

  it('never reaps sooner than the minimum (Consul: 1m), whatever the setting says', async () => {
    const d = await double({ deregisterMinimumMs: 600, reaperPeriodMs: 50 });
    await put(d, '/v1/agent/service/register', { Name: 'min', Port: 1, Check: { TTL: '30s', DeregisterCriticalServiceAfter: '10ms' } });
    const started = performance.now();
    await waitFor(async () => (await check(d, 'min')) === undefined, { what: 'the reaper', timeoutMs: 3000 });
    expect(performance.now() - started).toBeGreaterThanOrEqual(550);
  });
});

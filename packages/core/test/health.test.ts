import { createDiscovery, httpProbe, tcpProbe, type HealthStatus, type Instance } from '@disco/core';
import { HealthAgent } from '../src/health/health-agent.js';
import { freePort, waitFor } from '@disco/testing';
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';

const servers: { close(cb?: () => void): unknown; closeAllConnections?: () => void }[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((r) => { s.closeAllConnections?.(); s.close(() => r()); })));
});

async function httpServer(handler: (status: { code: number; delayMs: number }) => void = () => {}): Promise<{ url: string; state: { code: number; delayMs: number }; server: Server }> {
  const state = { code: 200, delayMs: 0 };
  const server = createServer((_req, res) => {
    handler(state);
    setTimeout(() => res.writeHead(state.code).end('ok'), state.delayMs);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/health`, state, server };
}

const probeOptions = () => ({ timeoutMs: 200, signal: new AbortController().signal });

describe('HTTP probe', () => {
  it('2xx is passing, 429 warning, anything else critical, no answer in time critical', async () => {
    const { url, state } = await httpServer();
    expect(await httpProbe(url, probeOptions())).toBe('passing');
    state.code = 204;
    expect(await httpProbe(url, probeOptions())).toBe('passing');
    state.code = 429;
    expect(await httpProbe(url, probeOptions())).toBe('warning');
    state.code = 503;
    expect(await httpProbe(url, probeOptions())).toBe('critical');
    state.code = 200;
    state.delayMs = 1000;
    expect(await httpProbe(url, probeOptions())).toBe('critical');
  });

  it('a closed port is critical', async () => {
    expect(await httpProbe(`http://127.0.0.1:${await freePort()}/`, probeOptions())).toBe('critical');
  });
});

describe('TCP probe', () => {
  it('passing while the port accepts connections, critical once it does not', async () => {
    const server = createTcpServer((s) => s.destroy());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const target = `127.0.0.1:${(server.address() as { port: number }).port}`;
    expect(await tcpProbe(target, probeOptions())).toBe('passing');
    await new Promise((r) => server.close(r));
    expect(await tcpProbe(target, probeOptions())).toBe('critical');
    expect(await tcpProbe('not a target', probeOptions())).toBe('critical');
  });
});

describe('HealthAgent thresholds', () => {
  function agent(results: HealthStatus[], check: object) {
    const calls: string[] = [];
    let i = 0;
    const a = new HealthAgent({ http: 'http://x', interval: 5, ...check }, { kind: 'http', target: 'http://x', run: async () => results[Math.min(i++, results.length - 1)]! }, {
      setHealthy: async (h) => void calls.push(h ? 'healthy' : 'unhealthy'),
      remove: async () => void calls.push('removed'),
      observe: () => {},
      fail: () => {},
    });
    return { a, calls, rounds: () => i };
  }

  it('goes critical after failuresBeforeCritical failures and back after successBeforePassing passes', async () => {
    const { a, calls, rounds } = agent(['critical', 'passing', 'critical', 'critical', 'passing', 'warning', 'passing'], { failuresBeforeCritical: 2, successBeforePassing: 2 });
    a.start();
    await waitFor(() => rounds() >= 7);
    await a.stop();
    expect(calls).toEqual(['unhealthy', 'healthy']);
  });

  it('removes the registration after deregisterAfter and puts it back on recovery', async () => {
    const results: HealthStatus[] = Array(12).fill('critical');
    results.push('passing');
    const { a, calls, rounds } = agent(results, { deregisterAfter: 30 });
    a.start();
    await waitFor(() => rounds() >= 13);
    await a.stop();
    expect(calls).toEqual(['unhealthy', 'removed', 'healthy']);
  });

  it('a TTL check starts passing, holds each reported status until the next one, and does not expire on its own', async () => {
    const calls: string[] = [];
    const a = new HealthAgent({ ttl: 30 }, undefined, {
      setHealthy: async (h) => void calls.push(h ? 'healthy' : 'unhealthy'),
      remove: async () => {},
      observe: () => {},
      fail: () => {},
    });
    a.start();
    await new Promise((r) => setTimeout(r, 120)); // four TTLs without a heartbeat
    expect([a.status, calls]).toEqual(['passing', []]);
    await Promise.all([a.heartbeat('critical'), a.heartbeat('critical')]); // applied in order, once
    expect([a.status, calls]).toEqual(['critical', ['unhealthy']]);
    await new Promise((r) => setTimeout(r, 60));
    expect(a.status).toBe('critical'); // sticks
    await a.heartbeat('warning'); // warning takes traffic
    expect([a.status, calls]).toEqual(['warning', ['unhealthy', 'healthy']]);
    await a.stop();
    await a.heartbeat('critical'); // a stopped agent (deregistered, withdrawn) ignores it
    expect(calls).toEqual(['unhealthy', 'healthy']);
  });
});

describe('local health agent through Discovery', () => {
  it('marks a failing registration unhealthy, removes it after deregisterAfter, and restores it when it passes', async () => {
    const { url, state } = await httpServer();
    const d = createDiscovery();
    const statuses: string[] = [];
    d.on('health', (e) => e.changed && statuses.push(e.status));
    await d.register({ id: 'api-1', name: 'api', address: '127.0.0.1', port: 8080, health: { http: url, interval: '20ms', timeout: '2s', deregisterAfter: '150ms' } });
    const seen: (readonly Instance[])[] = [];
    d.watch('api', (e) => 'instances' in e && seen.push(e.instances), { healthyOnly: false });
    await waitFor(() => seen.at(-1)?.[0]?.healthy === true);
    state.code = 500;
    await waitFor(() => seen.at(-1)?.[0]?.healthy === false, { what: 'marked unhealthy' });
    expect(await d.discover('api')).toEqual([]);
    await waitFor(() => seen.at(-1)?.length === 0, { what: 'removed after deregisterAfter' });
    state.code = 200;
    await waitFor(() => seen.at(-1)?.[0]?.healthy === true, { what: 'back' });
    expect(statuses).toEqual(['critical', 'passing']);
    await d.close();
  });

  it('runs no local agent when healthCheck is false', async () => {
    let hits = 0;
    const { url } = await httpServer(() => hits++);
    const d = createDiscovery({ healthCheck: false });
    await d.register({ id: 'api-1', name: 'api', address: '127.0.0.1', port: 8080, health: { http: url, interval: '10ms' } });
    await new Promise((r) => setTimeout(r, 80));
    expect(hits).toBe(0);
    await d.close();
  });

  it('heartbeat() sets the status of a ttl registration: critical takes it out of rotation, passing puts it back', async () => {
    await using d = createDiscovery();
    await d.register({ id: 'w-1', name: 'worker', address: '127.0.0.1', port: 9001, health: { ttl: '50ms' } });
    await d.register({ id: 'h-1', name: 'worker', address: '127.0.0.1', port: 9002 });
    const seen: (readonly Instance[])[] = [];
    d.watch('worker', (e) => 'instances' in e && seen.push(e.instances), { healthyOnly: false });
    const healthOf = () => seen.at(-1)?.find((i) => i.id === 'w-1')?.healthy;
    await waitFor(() => healthOf() === true, { what: 'w-1 listed healthy' });
    await new Promise((r) => setTimeout(r, 150)); // three TTLs, no heartbeat: disco keeps it passing
    expect(healthOf()).toBe(true);
    await d.heartbeat('w-1', 'critical');
    await waitFor(() => healthOf() === false, { what: 'w-1 unhealthy' });
    expect((await d.discover('worker')).map((i) => i.id)).toEqual(['h-1']);
    await d.heartbeat('w-1');
    await waitFor(() => healthOf() === true, { what: 'w-1 back' });
  });

  it('heartbeat() refuses what it cannot apply, with ERR_CONFIG saying why', async () => {
    await using d = createDiscovery();
    await d.register({ id: 'h-1', name: 'worker', address: '127.0.0.1', port: 9002, health: { tcp: '127.0.0.1:9' } });
    await d.register({ id: 'w-1', name: 'worker', address: '127.0.0.1', port: 9001, health: { ttl: '5s' } });
    await expect(d.heartbeat('nope')).rejects.toMatchObject({ code: 'ERR_CONFIG', message: expect.stringMatching(/"nope" is not a registration of this process with a ttl check/) });
    await expect(d.heartbeat('h-1')).rejects.toMatchObject({ code: 'ERR_CONFIG', variable: 'serviceId' });
    await expect(d.heartbeat('w-1', 'ok' as HealthStatus)).rejects.toThrow(/status must be one of passing, warning, critical; got "ok"/);
    await using off = createDiscovery({ healthCheck: false });
    await off.register({ id: 'w-1', name: 'worker', address: '127.0.0.1', port: 9001, health: { ttl: '5s' } });
    await expect(off.heartbeat('w-1')).rejects.toMatchObject({ variable: 'healthCheck', message: expect.stringMatching(/local health checks are off \(healthCheck: false\) and static runs none/) });
  });

  it('reports a grpc check with no grpc probe installed as ERR_CONFIG, and still registers', async () => {
    const d = createDiscovery();
    const errors: string[] = [];
    d.on('error', (e) => errors.push(`${e.error.code}: ${e.error.message}`));
    await d.register({ id: 'g-1', name: 'g', address: '127.0.0.1', port: 9000, health: { grpc: '127.0.0.1:9000' } });
    expect(errors[0]).toMatch(/ERR_CONFIG: no probe for "grpc".*@disco\/grpc-resolver/);
    expect(await d.discover('g')).toHaveLength(1);
    await d.close();
  });
});

// End to end with real parts only: grpc-js servers with grpc.health.v1, a Discovery on the
// static provider with grpc health checks run by core's agent, and grpc-js clients on
// discovery:///<service> with the disco policy.
import { createDiscovery, staticProvider, type Discovery, type Service } from '@disco/core';
import { waitFor } from '@disco/testing';
import type * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discoServiceConfig, registerDiscoveryResolver, registerGrpcProbe } from '../src/index.ts';
import { callWho, clientFor, spread, startServers, type TestServer } from './grpc-fixtures.ts';

const health = { interval: '100ms', timeout: '100ms' };

function service(server: TestServer, name: string, extra: Partial<Service> = {}): Service {
  return { id: `${name}-${server.id}`, name, address: '127.0.0.1', port: server.port, health: { grpc: server.address, ...health }, ...extra };
}

/** Resolves once `count` calls in a row avoided (or, with `present`, reached) the server `id`. */
async function until(client: grpc.Client, id: string, present: boolean, what: string, timeoutMs = 3_000): Promise<number> {
  const started = performance.now();
  let streak = 0;
  await waitFor(
    async () => {
      const hit = (await callWho(client)) === id;
      streak = hit === present ? streak + 1 : 0;
      return present ? hit : streak >= 10;
    },
    { timeoutMs, intervalMs: 1, what },
  );
  return performance.now() - started;
}

describe('discovery:/// with the disco policy against real gRPC servers', () => {
  let servers: TestServer[];
  let discovery: Discovery;
  let unregister: () => void;

  beforeAll(async () => {
    registerGrpcProbe();
    servers = await startServers('a', 'b', 'c');
    discovery = createDiscovery({ provider: staticProvider() });
    for (const server of servers) await discovery.register(service(server, 'svc'));
    unregister = registerDiscoveryResolver(discovery);
  });

  afterAll(async () => {
    unregister?.();
    await discovery?.close();
    await Promise.all(servers.map((s) => s.stop()));
  });

  it('spreads calls over all three, drops a deregistered one within the watch latency, and takes a new one in', async () => {
    const [a, b, c] = servers as [TestServer, TestServer, TestServer];
    const client = clientFor('discovery:///svc', discoServiceConfig());
    try {
      await waitFor(async () => (await spread(client, 3)).size === 3, { what: 'all three READY' });
      const counts = await spread(client, 60);
      expect([counts.get('a'), counts.get('b'), counts.get('c')]).toEqual([20, 20, 20]);

      await discovery.deregister('svc-c');
      const before = c.calls;
      const latencyMs = await until(client, 'c', false, 'c to get no calls');
      console.log(`deregistered server out of rotation after ${latencyMs.toFixed(1)} ms`);
      expect(latencyMs).toBeLessThan(500);
      const after = await spread(client, 30);
      expect(after.get('c')).toBeUndefined();
      expect(c.calls - before).toBeLessThanOrEqual(1); // at most a call already picked before the update

      const [d] = await startServers('d');
      servers.push(d!);
      await discovery.register(service(d!, 'svc'));
      await until(client, 'd', true, 'd to receive traffic');
      const withD = await spread(client, 60);
      expect([withD.get('a'), withD.get('b'), withD.get('d')]).toEqual([20, 20, 20]);
      expect(a.calls + b.calls).toBeGreaterThan(0);
    } finally {
      client.close();
    }
  });

  it('a server set NOT_SERVING is taken out by the health agent (grpc check) and comes back when SERVING', async () => {
    const b = servers[1]!;
    const client = clientFor('discovery:///svc', discoServiceConfig());
    try {
      await until(client, 'b', true, 'b to take calls');
      b.setStatus('NOT_SERVING');
      await until(client, 'b', false, 'health agent to take b out');
      expect((await spread(client, 30)).get('b')).toBeUndefined();
      b.setStatus('SERVING');
      await until(client, 'b', true, 'b to come back');
    } finally {
      client.close();
    }
  });

  it('honours instance weights (weighted_round_robin sees the registry weights)', async () => {
    const weights = [1, 2, 5];
    for (const [i, server] of servers.slice(0, 3).entries()) {
      await discovery.register(service(server, 'weighted', { weight: weights[i]!, id: `w-${server.id}` }));
    }
    const client = clientFor('discovery:///weighted', discoServiceConfig({ balancer: 'weighted_round_robin' }));
    try {
      await waitFor(async () => (await spread(client, 8)).size === 3, { what: 'all three READY' });
      const counts = await spread(client, 160);
      expect([counts.get('a'), counts.get('b'), counts.get('c')]).toEqual([20, 40, 100]);
    } finally {
      client.close();
    }
  });

  it('with peak_ewma a slow server gets a small share (round_robin gives it a third)', async () => {
    const [a, b, c] = servers as [TestServer, TestServer, TestServer];
    for (const server of [a, b, c]) await discovery.register(service(server, 'ewma', { id: `e-${server.id}` }));
    const ewma = clientFor('discovery:///ewma', discoServiceConfig({ balancer: 'peak_ewma' }));
    const rr = clientFor('discovery:///ewma', discoServiceConfig({ balancer: 'round_robin' }));
    try {
      await waitFor(async () => (await spread(ewma, 6)).size === 3, { what: 'all three READY' });
      await waitFor(async () => (await spread(rr, 3)).size === 3, { what: 'all three READY' });
      c.delayMs = 60;
      const slow = await spread(ewma, 300, 6);
      const fair = await spread(rr, 90, 6);
      const slowShare = (slow.get('c') ?? 0) / 300;
      const fairShare = (fair.get('c') ?? 0) / 90;
      console.log(`slow server's share: peak_ewma ${(slowShare * 100).toFixed(1)}%, round_robin ${(fairShare * 100).toFixed(1)}%`);
      expect(slowShare).toBeLessThan(0.12);
      expect(fairShare).toBeGreaterThan(0.3);
    } finally {
      c.delayMs = 0;
      ewma.close();
      rr.close();
    }
  });
});

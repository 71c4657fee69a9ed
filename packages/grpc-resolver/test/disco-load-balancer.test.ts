import { createDiscovery, registerBalancer, roundRobin, staticProvider, type Balancer, type CallOutcome, type Discovery, type Instance } from '@disco/core';
import { waitFor } from '@disco/testing';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callSucceeded, discoServiceConfig, registerDiscoLoadBalancer, registerDiscoveryResolver } from '../src/index.ts';
import { callWho, clientFor, spread, startServers, TestServer, whoMethod } from './grpc-fixtures.ts';

/** Round robin that writes down what the policy hands it. */
class RecordingBalancer implements Balancer {
  readonly name = 'recording';
  readonly offered = new Set<Instance>();
  readonly started: Instance[] = [];
  readonly ended: { instance: Instance; outcome: CallOutcome }[] = [];
  readonly #inner = roundRobin();

  pick(instances: readonly Instance[]): Instance | undefined {
    for (const instance of instances) this.offered.add(instance);
    return this.#inner.pick(instances);
  }
  onStart(instance: Instance): void {
    this.started.push(instance);
  }
  onEnd(instance: Instance, outcome: CallOutcome): void {
    this.ended.push({ instance, outcome });
  }
}

describe('the disco load-balancing policy', () => {
  let servers: TestServer[];
  let deadPort: number;
  let discovery: Discovery;
  let unregister: () => void;
  const recorder = new RecordingBalancer();

  beforeAll(async () => {
    registerBalancer('recording', () => recorder);
    const [a, b, dead] = await startServers('a', 'b', 'dead');
    servers = [a!, b!];
    deadPort = dead!.port;
    await dead!.stop(); // a registered instance nobody answers on
    discovery = createDiscovery({ provider: staticProvider() });
    await discovery.register({ id: 'a', name: 'svc', address: '127.0.0.1', port: a!.port, weight: 3, metadata: { rack: 'r1' } });
    await discovery.register({ id: 'b', name: 'svc', address: '127.0.0.1', port: b!.port, zone: 'z2' });
    await discovery.register({ id: 'dead', name: 'svc', address: '127.0.0.1', port: deadPort });
    unregister = registerDiscoveryResolver(discovery);
  });

  afterAll(async () => {
    unregister?.();
    await discovery?.close();
    await Promise.all(servers.map((s) => s.stop()));
  });

  it('gives the balancer the registry Instances of READY subchannels only, and reports each call start and end', async () => {
    const client = clientFor('discovery:///svc', discoServiceConfig({ balancer: 'recording' }));
    try {
      await waitFor(async () => (await spread(client, 2)).size === 2, { what: 'a and b READY' });
      servers[0]!.delayMs = 25;
      recorder.started.length = 0;
      recorder.ended.length = 0;
      const counts = await spread(client, 20);
      expect([counts.get('a'), counts.get('b')]).toEqual([10, 10]);

      const offered = [...recorder.offered];
      expect(offered.map((i) => i.id).sort()).toEqual(['a', 'b']); // never the dead one
      const registered = await discovery.discover('svc');
      for (const instance of offered) expect(registered).toContain(instance); // the very objects, weight and all
      expect(offered.find((i) => i.id === 'a')).toMatchObject({ weight: 3, metadata: { rack: 'r1' } });

      expect(recorder.started).toHaveLength(20);
      expect(recorder.ended).toHaveLength(20);
      for (const { instance, outcome } of recorder.ended) {
        expect(outcome.ok).toBe(true);
        if (instance.id === 'a') expect(outcome.latencyMs).toBeGreaterThanOrEqual(20);
      }

      recorder.ended.length = 0;
      const failed = await new Promise<grpc.ServiceError>((resolve) =>
        client.makeUnaryRequest(`${whoMethod}Missing`, (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(0), (error) => resolve(error!)),
      );
      expect(failed.code).toBe(grpc.status.UNIMPLEMENTED);
      expect(recorder.ended).toEqual([{ instance: expect.objectContaining({ name: 'svc' }), outcome: { ok: false, latencyMs: expect.any(Number) } }]);
    } finally {
      servers[0]!.delayMs = 0;
      client.close();
    }
  });

  it('composes wrappers from the service config alone: zone_aware over least_connections keeps calls in the caller zone', async () => {
    const config = discoServiceConfig({ balancer: 'zone_aware', options: { child: { least_connections: {} } }, zone: 'z2' });
    const client = clientFor('discovery:///svc', config);
    try {
      // Until b is READY the wrapper spills over to a; after that every call stays in zone z2.
      await waitFor(async () => (await spread(client, 10)).get('b') === 10, { what: 'calls kept in zone z2' });
      expect([...(await spread(client, 20))]).toEqual([['b', 20]]);
    } finally {
      client.close();
    }
  });

  it('routes around a server that goes away and takes it back when it returns on its address', async () => {
    const client = clientFor('discovery:///svc', discoServiceConfig());
    const [a, b] = servers as [TestServer, TestServer];
    try {
      await waitFor(async () => (await spread(client, 2)).size === 2, { what: 'a and b READY' });
      await b.stop();
      await waitFor(async () => (await spread(client, 10)).get('a') === 10, { what: 'all calls on a' });
      const back = await new TestServer('b').start(b.port);
      servers[1] = back;
      await waitFor(async () => (await spread(client, 4)).get('b') === 2, { what: 'b to take calls again', timeoutMs: 15_000 });
      expect(a.calls).toBeGreaterThan(0);
    } finally {
      client.close();
    }
  });

  it('counts answers as ok and instance trouble as failures', () => {
    expect([grpc.status.OK, grpc.status.NOT_FOUND, grpc.status.INVALID_ARGUMENT, grpc.status.CANCELLED].map(callSucceeded)).toEqual([true, true, true, true]);
    expect([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED, grpc.status.INTERNAL, grpc.status.RESOURCE_EXHAUSTED].map(callSucceeded)).toEqual([
      false, false, false, false,
    ]);
  });

  it('routes by a metadata key with keyHeader (ring_hash): one key, one server', async () => {
    const client = clientFor('discovery:///svc', discoServiceConfig({ balancer: 'ring_hash', keyHeader: 'x-user' }));
    const call = (user: string) =>
      new Promise<string>((resolve, reject) => {
        const metadata = new grpc.Metadata();
        metadata.set('x-user', user);
        client.makeUnaryRequest(whoMethod, (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(0), metadata, (e, r) => (e ? reject(e) : resolve(r!.toString())));
      });
    try {
      await waitFor(async () => (await spread(client, 2)).size === 2, { what: 'a and b READY' });
      const users = Array.from({ length: 20 }, (_, i) => `user-${i}`);
      const first = await Promise.all(users.map(call));
      const again = await Promise.all(users.map(call));
      expect(again).toEqual(first);
      expect(new Set(first).size).toBe(2);
    } finally {
      client.close();
    }
  });

  it('fails calls with UNAVAILABLE naming the problem: unknown balancer, no instances', async () => {
    const unknown = clientFor('discovery:///svc', discoServiceConfig({ balancer: 'no_such_balancer' }));
    const empty = clientFor('discovery:///nobody', discoServiceConfig());
    try {
      await expect(callWho(unknown)).rejects.toMatchObject({
        code: grpc.status.UNAVAILABLE,
        details: expect.stringMatching(/cannot create balancer "no_such_balancer": unknown balancer "no_such_balancer"; known: .*round_robin/),
      });
      await expect(callWho(empty)).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE, details: expect.stringContaining('the service has no instances') });
    } finally {
      unknown.close();
      empty.close();
    }
  });

  it('fails calls naming the problem in a malformed disco config (instead of grpc-js falling back to pick_first)', async () => {
    const typo = clientFor('discovery:///svc', { loadBalancingConfig: [{ disco: { balancr: 'p2c' } }] });
    const wrongType = clientFor('discovery:///svc', { loadBalancingConfig: [{ disco: { balancer: 5 } }] });
    try {
      await expect(callWho(typo)).rejects.toMatchObject({
        code: grpc.status.UNAVAILABLE,
        details: expect.stringContaining('invalid load-balancing config: disco load-balancing config has unknown field "balancr"'),
      });
      await expect(callWho(wrongType)).rejects.toMatchObject({ details: expect.stringContaining('"balancer" must be a balancer name like "p2c"; got 5') });
    } finally {
      typo.close();
      wrongType.close();
    }
  });

  it('also balances addresses from other resolvers (ipv4:), as weight-1 instances', async () => {
    registerDiscoLoadBalancer();
    const client = clientFor(`ipv4:${servers.map((s) => s.address).join(',')}`, discoServiceConfig({ balancer: 'recording' }));
    try {
      await waitFor(async () => (await spread(client, 2)).size === 2, { what: 'a and b READY' });
      const counts = await spread(client, 10);
      expect([counts.get('a'), counts.get('b')]).toEqual([5, 5]);
      expect([...recorder.offered].filter((i) => i.weight === 1 && i.id === servers[0]!.address)).toHaveLength(1);
    } finally {
      client.close();
    }
  });
});

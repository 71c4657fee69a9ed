// Imports only core: the strategies must arrive through core's dynamic import of @disco/balancers.
import { describe, expect, it } from 'vitest';
import { configFromEnv, createBalancer, createDiscovery, registeredBalancers, staticProvider } from '@disco/core';

const names = [
  'least_connections', 'maglev', 'outlier_detection', 'p2c', 'peak_ewma', 'random', 'ring_hash', 'round_robin', 'slow_start',
  'weighted_round_robin', 'zone_aware',
];

describe('registration by name', () => {
  it('loads @disco/balancers on the first unknown name and then knows every strategy', async () => {
    expect(registeredBalancers()).toEqual(['round_robin']);
    const balancer = await createBalancer('p2c');
    expect(balancer.name).toBe('p2c');
    expect(registeredBalancers()).toEqual(names);
    const wrappers = ['outlier_detection', 'slow_start', 'zone_aware'];
    for (const name of names) expect((await createBalancer(name)).name).toBe(wrappers.includes(name) ? `${name}(round_robin)` : name);
  });

  it('gives each service its own state: one balancer object per createBalancer call', async () => {
    expect(await createBalancer('least_connections')).not.toBe(await createBalancer('least_connections'));
  });

  it('passes options through and reports bad ones as ERR_CONFIG', async () => {
    await expect(createBalancer('peak_ewma', { decay: 'never' })).rejects.toMatchObject({ code: 'ERR_CONFIG', variable: 'peak_ewma.decay' });
    await expect(createBalancer('ring_hash', { replicas: 0 })).rejects.toThrow(/ring_hash: option "replicas" must be a number at least 1/);
    await expect(createBalancer('random', { seed: 1 })).rejects.toThrow(/random: unknown option "seed"; known options: random/);
    await expect(createBalancer('nope')).rejects.toMatchObject({ code: 'ERR_CONFIG' });
  });

  it('is selected by DISCOVERY_BALANCER and drives a real service handle through acquire/release', async () => {
    const config = configFromEnv({ DISCOVERY_BALANCER: 'least_connections' });
    expect(config.balancer).toBe('least_connections');
    const services = { api: [1, 2, 3].map((i) => ({ id: `api-${i}`, address: '127.0.0.1', port: 9000 + i })) };
    await using discovery = createDiscovery({ ...config, provider: staticProvider({ services }) });
    const handle = discovery.service('api');
    await handle.ready;
    const first = handle.acquire();
    const second = handle.acquire();
    const third = handle.acquire();
    // Three calls in flight on three different instances: least connections spreads them.
    expect(new Set([first, second, third].map((lease) => lease.instance.id)).size).toBe(3);
    second.release();
    expect(handle.pick()!.id).toBe(second.instance.id);
    first.release();
    third.release({ ok: false });
    handle.close();
  });

  it('serves peak_ewma with measured latencies from the handle', async () => {
    const services = { api: [1, 2].map((i) => ({ id: `api-${i}`, address: '127.0.0.1', port: 9000 + i })) };
    await using discovery = createDiscovery({ provider: staticProvider({ services }) });
    const handle = discovery.service('api', { balancer: 'peak_ewma' });
    await handle.ready;
    const slow = handle.instances.find((i) => i.id === 'api-1')!;
    // Teach it: api-1 answers in 500 ms, api-2 in 5 ms (latencies reported by the caller).
    for (let k = 0; k < 4; k++) {
      const lease = handle.acquire();
      lease.release({ ok: true, latencyMs: lease.instance === slow ? 500 : 5 });
    }
    const picks = Array.from({ length: 50 }, () => handle.pick()!.id);
    expect(picks.filter((id) => id === 'api-1')).toHaveLength(0);
    handle.close();
  });

  it('composes wrappers by name: child is a name or { name: options }, as deep as needed', async () => {
    const composed = await createBalancer('outlier_detection', {
      consecutiveFailures: 2,
      child: { zone_aware: { zone: 'a', child: { peak_ewma: { decay: '5s' } } } },
    });
    expect(composed.name).toBe('outlier_detection(zone_aware(peak_ewma))');
    expect((await createBalancer('slow_start', { window: '10s', child: 'p2c' })).name).toBe('slow_start(p2c)');
    expect(configFromEnv({ DISCOVERY_BALANCER: 'outlier_detection' }).balancer).toBe('outlier_detection');
  });

  it('runs a composed strategy from plain configuration on a real handle: zone first, failing instances ejected', async () => {
    const services = {
      api: [
        { id: 'a-1', address: '127.0.0.1', port: 9001, zone: 'a' },
        { id: 'a-2', address: '127.0.0.1', port: 9002, zone: 'a' },
        { id: 'b-1', address: '127.0.0.1', port: 9003, zone: 'b' },
      ],
    };
    await using discovery = createDiscovery({ provider: staticProvider({ services }) });
    const handle = discovery.service('api', {
      balancer: 'outlier_detection',
      balancerOptions: { consecutiveFailures: 2, maxEjectionPercent: 50, child: { zone_aware: { zone: 'a' } } },
    });
    await handle.ready;
    const spread = () => new Set(Array.from({ length: 20 }, () => handle.pick()!.id));
    expect(spread()).toEqual(new Set(['a-1', 'a-2'])); // round_robin inside zone a only
    // a-1 fails twice in a row (a-2's successes in between do not reset a-1's run).
    for (let failures = 0; failures < 2; ) {
      const lease = handle.acquire();
      const failed = lease.instance.id === 'a-1';
      lease.release({ ok: !failed });
      if (failed) failures++;
    }
    expect(spread()).toEqual(new Set(['a-2']));
    handle.close();
  });

  it('reports a bad child or a bad wrapper option as ERR_CONFIG naming it', async () => {
    await expect(createBalancer('zone_aware', { child: 5 })).rejects.toMatchObject({ code: 'ERR_CONFIG', variable: 'zone_aware.child' });
    await expect(createBalancer('zone_aware', { child: { p2c: {}, random: {} } })).rejects.toThrow(/zone_aware: option "child" must be a balancer name/);
    await expect(createBalancer('zone_aware', { child: { p2c: 'fast' } })).rejects.toMatchObject({ variable: 'zone_aware.child' });
    await expect(createBalancer('slow_start', { child: 'nope' })).rejects.toThrow(/slow_start: option "child" names an unknown balancer "nope"; known: .*least_connections/);
    await expect(createBalancer('outlier_detection', { child: { peak_ewma: { decay: 'never' } } })).rejects.toMatchObject({ variable: 'peak_ewma.decay' });
    await expect(createBalancer('zone_aware', { zon: 'a' })).rejects.toThrow(/zone_aware: unknown option "zon"/);
  });
});

// Imports only core: the strategies must arrive through core's dynamic import of @disco/balancers.
import { describe, expect, it } from 'vitest';
import { configFromEnv, createBalancer, createDiscovery, registeredBalancers, staticProvider } from '@disco/core';

const names = ['least_connections', 'maglev', 'p2c', 'peak_ewma', 'random', 'ring_hash', 'round_robin', 'weighted_round_robin'];

describe('registration by name', () => {
  it('loads @disco/balancers on the first unknown name and then knows every strategy', async () => {
    expect(registeredBalancers()).toEqual(['round_robin']);
    const balancer = await createBalancer('p2c');
    expect(balancer.name).toBe('p2c');
    expect(registeredBalancers()).toEqual(names);
    for (const name of names) expect((await createBalancer(name)).name).toBe(name);
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
});

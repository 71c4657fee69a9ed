import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDiscovery, type Discovery, type DiscoveryEvents, type ProviderEvent } from '@disco/core';
import { EtcdCluster, waitFor } from '@disco/testing';
import { etcdProvider } from '../src/index.ts';
import { Recorder, unique } from './helpers.ts';

let etcd: EtcdCluster;
const discoveries: Discovery[] = [];
beforeAll(async () => {
  etcd = await EtcdCluster.start();
});
afterAll(async () => {
  await Promise.all(discoveries.map((d) => d.close()));
  await etcd?.stop();
});

describe('etcd stopped for 10 s', () => {
  it('resolve() serves the last snapshot meanwhile, and fresh state after the restart', async () => {
    const backoff = { initial: 100, max: 1_000 };
    const registrant = createDiscovery({ provider: etcdProvider({ endpoints: etcd.endpoints, ttl: '4s', backoff }) });
    const client = createDiscovery({ provider: etcdProvider({ endpoints: etcd.endpoints, backoff, requestTimeout: '1s' }), cacheTtl: '1s' });
    discoveries.push(registrant, client);
    const errors: DiscoveryEvents['error'][] = [];
    client.on('error', (e) => errors.push(e));
    const leaseEvents: ProviderEvent[] = [];
    registrant.on('provider', (e) => leaseEvents.push(e));

    const svc = unique('svc');
    await registrant.register({ id: 'a', name: svc, address: '127.0.0.1', port: 7001 });
    const recorder = new Recorder();
    client.watch(svc, recorder.listener);
    await recorder.until((s) => s.length === 1, 'the registration');
    expect((await client.resolve(svc)).id).toBe('a');

    await etcd.stopMember(0);
    const stoppedAt = performance.now();
    while (performance.now() - stoppedAt < 10_000) {
      expect((await client.resolve(svc)).port).toBe(7001); // the last snapshot, not an error
      await new Promise((r) => setTimeout(r, 1_000));
    }
    expect(errors.length).toBeGreaterThan(0); // but the staleness was reported
    expect(errors[0]!.error.code).toBe('ERR_PROVIDER_UNAVAILABLE');

    await etcd.restartMember(0);
    const restartedAt = performance.now();
    await waitFor(
      async () => {
        await registrant.register({ id: 'b', name: svc, address: '127.0.0.1', port: 7002 });
        return true;
      },
      { timeoutMs: 15_000, intervalMs: 200, what: 'etcd to take registrations again' },
    );
    await recorder.until((s) => s.map((i) => i.id).join() === 'a,b', 'fresh state after the restart', 15_000);
    await waitFor(async () => (await client.discover(svc)).length === 2, { timeoutMs: 5_000, what: 'discover to be fresh' });
    const freshMs = performance.now() - restartedAt;
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) seen.add((await client.resolve(svc)).id);
    expect([...seen].sort()).toEqual(['a', 'b']);
    // The registrant's lease ran out client-side (no keepalive for 2×TTL): it granted a new one and put "a" again.
    await waitFor(() => leaseEvents.some((e) => e.type === 'lease-restored'), { timeoutMs: 10_000, what: 'the registrant to restore its lease' });
    await new Promise((r) => setTimeout(r, 5_000)); // past the old lease's TTL: nothing may vanish
    expect((await client.discover(svc)).map((i) => i.id)).toEqual(['a', 'b']);
    console.log(
      `etcd down 10 s: resolve() kept answering from the last snapshot; fresh again ${freshMs.toFixed(0)} ms after the restart; ` +
        `registrant events: ${leaseEvents.map((e) => e.type).join(', ') || 'none'}`,
    );
  }, 60_000);
});

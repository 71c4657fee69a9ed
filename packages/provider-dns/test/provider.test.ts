import { createDiscovery, isDiscoveryError, type WatchEvent } from '@disco/core';
import { dnsRecord, ScriptableDnsServer, waitFor } from '@disco/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProvider, DnsProvider, dnsProvider } from '../src/index.js';

describe('dns provider contract', () => {
  let server: ScriptableDnsServer;
  beforeAll(async () => {
    server = await ScriptableDnsServer.start([dnsRecord.srv('web.service.consul', 'a.node.consul', 8080, { ttl: 1 }), dnsRecord.a('a.node.consul', '10.0.0.1')]);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('cannot register or deregister, and says where to do it instead', async () => {
    const provider = dnsProvider({ servers: server.address });
    expect(provider.capabilities).toEqual({ register: false, watch: true, serverHealthChecks: false });
    const error = await provider.register({ id: 'w1', name: 'web', address: '10.0.0.1', port: 80 }).catch((e: unknown) => e);
    expect(isDiscoveryError(error, 'ERR_UNSUPPORTED')).toBe(true);
    expect((error as Error).message).toMatch(/register in the DNS server instead.*Consul/);
    await expect(provider.deregister('w1')).rejects.toMatchObject({ code: 'ERR_UNSUPPORTED' });
    await provider.close();
  });

  it('is loaded by name with its environment, options winning over the environment', async () => {
    const discovery = createDiscovery({ provider: 'dns', env: { DNS_SERVER: '192.0.2.1', DNS_DOMAIN: 'service.consul' }, dns: { servers: server.address } });
    expect((await discovery.discover('web')).map((i) => i.address)).toEqual(['10.0.0.1']);
    await discovery.close();
    const provider = createProvider({ domain: 'other' }, { env: { DNS_SERVER: server.address, DNS_DOMAIN: 'service.consul' }, logger: console });
    expect(provider.settings.domain).toBe('other');
    expect(provider.settings.servers).toEqual([{ host: '127.0.0.1', port: server.port }]);
    await provider.close();
  });

  it('makes one query for concurrent discovers of one name, and serves a running watch from its snapshot', async () => {
    const provider = new DnsProvider({ servers: server.address });
    server.queries.length = 0;
    const results = await Promise.all(Array.from({ length: 10 }, () => provider.discover('web')));
    expect(results.every((r) => r.length === 1)).toBe(true);
    expect(server.queriesFor('web.service.consul')).toHaveLength(1);
    const events: WatchEvent[] = [];
    const stop = provider.watch('web', (e) => events.push(e));
    await waitFor(() => events.length === 1);
    const before = server.queries.length;
    await provider.discover('web');
    expect(server.queries.length).toBe(before);
    stop();
    await provider.close();
  });

  it('aborting a discover rejects it with ERR_ABORTED at once', async () => {
    server.script = () => 'drop';
    const provider = new DnsProvider({ servers: server.address, timeout: 5_000 });
    try {
      const controller = new AbortController();
      const pending = provider.discover('web', { signal: controller.signal });
      setTimeout(() => controller.abort(), 20);
      await expect(pending).rejects.toMatchObject({ code: 'ERR_ABORTED' });
    } finally {
      server.script = undefined;
      await provider.close();
    }
  });

  it('close cancels queries in flight, stops watches, leaves no socket or timer, and rejects later calls', async () => {
    const baseline = process.getActiveResourcesInfo().filter((r) => r === 'UDPWRAP' || r === 'Timeout').length;
    server.script = (q) => (q.name.startsWith('slow') ? 'drop' : undefined);
    const provider = new DnsProvider({ servers: server.address, timeout: 10_000 });
    try {
      const events: WatchEvent[] = [];
      provider.watch('web', (e) => events.push(e));
      await waitFor(() => events.length === 1);
      const slow = provider.discover('slow');
      await waitFor(() => server.queriesFor('slow.service.consul').length === 1);
      await provider.close();
      await expect(slow).rejects.toMatchObject({ code: 'ERR_CLOSED' });
      expect(process.getActiveResourcesInfo().filter((r) => r === 'UDPWRAP' || r === 'Timeout').length).toBeLessThanOrEqual(baseline);
      await expect(provider.discover('web')).rejects.toMatchObject({ code: 'ERR_CLOSED' });
      await expect(provider.register({ id: 'x', name: 'web', address: '10.0.0.1', port: 1 })).rejects.toMatchObject({ code: 'ERR_CLOSED' });
      const late: WatchEvent[] = [];
      provider.watch('web', (e) => late.push(e));
      await waitFor(() => late.length === 1);
      expect(late[0]).toMatchObject({ error: { code: 'ERR_CLOSED' } });
    } finally {
      server.script = undefined;
    }
  });

  it('a listener unsubscribed by another during a broadcast does not get that broadcast', async () => {
    const provider = new DnsProvider({ servers: server.address });
    const first: WatchEvent[] = [];
    const second: WatchEvent[] = [];
    // Both join before the first read answers, so both are in the same broadcast.
    provider.watch('web', (e) => {
      first.push(e);
      stopSecond();
    });
    const stopSecond = provider.watch('web', (e) => second.push(e));
    await waitFor(() => first.length === 1, { what: 'the first snapshot' });
    expect(first[0]).toMatchObject({ instances: [{ address: '10.0.0.1' }] });
    expect(second).toEqual([]);
    await provider.close();
  });
});

// Against a real dnsmasq (Debian's dnsmasq-base) on a loopback high port.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { Socket } from 'node:net';
import { createDiscovery, type Instance, type ProviderEvent, type WatchEvent } from '@disco/core';
import { Dnsmasq, waitFor, type DnsmasqRecords } from '@disco/testing';
import { TCPClient, UDPClient } from 'dns2';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DnsProvider, PRIORITY_KEY, srvBalancer, type DnsProviderOptions } from '../src/index.js';
import { seeded } from './seeded.js';

const web: DnsmasqRecords = {
  srv: [
    { name: '_web._tcp.disco.test', target: 'a.disco.test', port: 8080, priority: 10, weight: 60 },
    { name: '_web._tcp.disco.test', target: 'b.disco.test', port: 8081, priority: 10, weight: 30 },
    { name: '_web._tcp.disco.test', target: 'c.disco.test', port: 8082, priority: 10, weight: 10 },
    { name: '_web._tcp.disco.test', target: 'd.disco.test', port: 8083, priority: 20, weight: 50 },
  ],
  hosts: [
    { name: 'a.disco.test', addresses: ['10.0.0.1'] },
    { name: 'b.disco.test', addresses: ['10.0.0.2', 'fd00::2'] },
    { name: 'c.disco.test', addresses: ['10.0.0.3'] },
    { name: 'd.disco.test', addresses: ['10.0.0.4'] },
    { name: 'api.disco.test', addresses: ['10.0.1.2', '10.0.1.1'] },
  ],
};

const endpoints = (instances: readonly Instance[]) => instances.map((i) => `${i.address}:${i.port}`);

describe('dns provider against dnsmasq', () => {
  let dnsmasq: Dnsmasq;
  const providers: DnsProvider[] = [];
  const make = (options: DnsProviderOptions = {}) => {
    const provider = new DnsProvider({ servers: dnsmasq.address, domain: 'disco.test', srvName: 'rfc2782', timeout: 1_000, ...options });
    providers.push(provider);
    return provider;
  };

  beforeAll(async () => {
    dnsmasq = await Dnsmasq.start(web, { ttl: 1 });
  });
  afterEach(async () => {
    await Promise.all(providers.splice(0).map((p) => p.close()));
    if (!dnsmasq.running) await dnsmasq.restart();
    await dnsmasq.setRecords(web);
  });
  afterAll(async () => {
    await dnsmasq?.close();
  });

  it('offers the lowest-priority SRV group with its weights; srvBalancer spreads picks by weight', async () => {
    const provider = make();
    const instances = await provider.discover('web');
    expect(instances.map((i) => [i.id, i.address, i.port, i.weight, i.metadata[PRIORITY_KEY]])).toEqual([
      ['a.disco.test:8080', '10.0.0.1', 8080, 60, '10'],
      ['b.disco.test:8081', '10.0.0.2', 8081, 30, '10'],
      ['c.disco.test:8082', '10.0.0.3', 8082, 10, '10'],
    ]);

    const discovery = createDiscovery({ provider });
    const handle = discovery.service('web', { balancer: srvBalancer({ random: seeded(42) }) });
    await handle.ready;
    const picks = 20_000;
    const counts = new Map<string, number>();
    for (let i = 0; i < picks; i++) {
      const id = handle.pick()!.id;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    // Tolerance: 1.5 percentage points, over four standard deviations at 20 000 picks.
    expect(Math.abs(counts.get('a.disco.test:8080')! / picks - 0.6)).toBeLessThan(0.015);
    expect(Math.abs(counts.get('b.disco.test:8081')! / picks - 0.3)).toBeLessThan(0.015);
    expect(Math.abs(counts.get('c.disco.test:8082')! / picks - 0.1)).toBeLessThan(0.015);
    handle.close();
    await discovery.close();
  });

  it('with priorities "all" offers every group, and srvBalancer still picks only from the lowest', async () => {
    const instances = await make({ priorities: 'all' }).discover('web');
    expect(instances.map((i) => i.id)).toContain('d.disco.test:8083');
    const balancer = srvBalancer({ random: seeded(7) });
    for (let i = 0; i < 1_000; i++) expect(balancer.pick(instances)!.metadata[PRIORITY_KEY]).toBe('10');
  });

  it('the next priority group takes over when the preferred one empties, and hands back when it returns', async () => {
    const provider = make({ refreshTtl: '2s' });
    const events: WatchEvent[] = [];
    const stop = provider.watch('web', (e) => events.push(e));
    try {
      const last = () => [...events].reverse().find((e) => 'instances' in e) as { instances: Instance[] } | undefined;
      await waitFor(() => last()?.instances.length === 3, { what: 'the priority-10 group' });
      await dnsmasq.setRecords({ ...web, srv: web.srv!.filter((s) => s.priority === 20) });
      await waitFor(() => last()?.instances.length === 1, { timeoutMs: 5_000, what: 'the priority-20 group' });
      expect(last()!.instances[0]).toMatchObject({ id: 'd.disco.test:8083', weight: 50 });
      await dnsmasq.setRecords(web);
      await waitFor(() => last()?.instances.length === 3, { timeoutMs: 5_000, what: 'the priority-10 group again' });
    } finally {
      stop();
    }
  });

  it('falls back to A/AAAA records with the configured port when there is no SRV record', async () => {
    expect(endpoints(await make({ fallbackPort: { api: 9090 } }).discover('api'))).toEqual(['10.0.1.1:9090', '10.0.1.2:9090']);
    // Without a port the records cannot be used: none offered, and the reason reported.
    const provider = make();
    const events: ProviderEvent[] = [];
    provider.onEvent((e) => events.push(e));
    expect(await provider.discover('api')).toEqual([]);
    expect(events).toEqual([expect.objectContaining({ type: 'invalid-record', service: 'api', message: expect.stringMatching(/set fallbackPort for "api"/) })]);
  });

  it('watchers hear address and SRV changes within the refresh time, and nothing when nothing changed', async () => {
    const refreshMs = 1_500;
    const provider = make({ refreshTtl: refreshMs, minRefresh: 200 });
    const events: WatchEvent[] = [];
    const stop = provider.watch('web', (e) => events.push(e));
    const snapshots = () => events.flatMap((e) => ('instances' in e ? [e.instances] : []));
    try {
      await waitFor(() => snapshots().length === 1, { what: 'the first snapshot' });
      // TTL 1s: about three polls, no news.
      await new Promise((r) => setTimeout(r, 3_000));
      expect(events).toHaveLength(1);

      const hosts = web.hosts!.map((h) => (h.name === 'a.disco.test' ? { ...h, addresses: ['10.0.0.11'] } : h));
      let changed = Date.now();
      await dnsmasq.setRecords({ ...web, hosts });
      await waitFor(() => snapshots().length === 2, { timeoutMs: refreshMs + 1_000, what: 'the address change' });
      expect(Date.now() - changed).toBeLessThan(refreshMs * 1.1 + 300);
      const [before, after] = snapshots() as [readonly Instance[], readonly Instance[]];
      expect(after.find((i) => i.port === 8080)!.address).toBe('10.0.0.11');
      // Unchanged instances are the same objects, so balancer state keyed by them survives.
      expect(after.find((i) => i.port === 8081)).toBe(before.find((i) => i.port === 8081));

      changed = Date.now();
      await dnsmasq.setRecords({ ...web, hosts, srv: web.srv!.filter((s) => s.port !== 8082) });
      await waitFor(() => snapshots().at(-1)!.length === 2, { timeoutMs: refreshMs + 2_000, what: 'the SRV change' });
      expect(Date.now() - changed).toBeLessThan(refreshMs * 1.1 + 1_000);
    } finally {
      stop();
    }
  });

  it('an answer between 512 and 1232 bytes comes over UDP with EDNS0, complete, without a TCP connection (issue 11, defect 6)', async () => {
    const count = 24;
    const big: DnsmasqRecords = {
      srv: Array.from({ length: count }, (_, i) => ({ name: '_big._tcp.disco.test', target: `host-${i}.disco.test`, port: 9000 + i, priority: 1, weight: 1 })),
      hosts: Array.from({ length: count }, (_, i) => ({ name: `host-${i}.disco.test`, addresses: [`10.2.0.${i + 1}`] })),
    };
    await dnsmasq.setRecords(big);
    // The answer is over 512 bytes: without EDNS0, dnsmasq truncates it (TC) ...
    const plain = await UDPClient({ dns: dnsmasq.host, port: dnsmasq.port, retryOverTCP: false })('_big._tcp.disco.test', 'SRV');
    expect(plain.header.tc).toBe(1);
    // ... and within 1232 bytes with it (measured over TCP, where nothing is cut).
    const full = await TCPClient({ dns: dnsmasq.host, port: dnsmasq.port })('_big._tcp.disco.test', 'SRV');
    const size = full.toBuffer().length;
    expect(size).toBeGreaterThan(512);
    expect(size).toBeLessThanOrEqual(1232);

    const connections: number[] = [];
    const onSocket = ({ socket }: { socket: Socket }) => socket.once('connect', () => connections.push(socket.remotePort!));
    subscribe('net.client.socket', onSocket as (message: unknown) => void);
    try {
      const provider = make();
      const instances = await provider.discover('big');
      expect(instances).toHaveLength(count);
      expect(instances.find((i) => i.port === 9023)).toMatchObject({ address: '10.2.0.24', id: 'host-23.disco.test:9023' });
      // A watch refreshes the same way: every poll one UDP exchange.
      const events: WatchEvent[] = [];
      const stop = provider.watch('big', (e) => events.push(e));
      await waitFor(() => events.length === 1, { what: 'the watch snapshot' });
      stop();
      expect((events[0] as { instances: Instance[] }).instances).toHaveLength(count);
    } finally {
      unsubscribe('net.client.socket', onSocket as (message: unknown) => void);
    }
    expect(connections.filter((port) => port === dnsmasq.port)).toEqual([]);
  });

  it('keeps the last snapshot while the server is down (error event), and recovers when it is back', async () => {
    const provider = make({ refreshTtl: 1_000, minRefresh: 200, timeout: 300 });
    const discovery = createDiscovery({ provider });
    const errors: string[] = [];
    discovery.on('error', (e) => errors.push(e.error.code));
    const handle = discovery.service('web');
    await handle.ready;
    const events: WatchEvent[] = [];
    const stop = provider.watch('web', (e) => events.push(e));
    try {
      await waitFor(() => events.length === 1, { what: 'the first snapshot' });
      await dnsmasq.stop();
      await waitFor(() => events.length === 2, { timeoutMs: 5_000, what: 'the error event' });
      expect(events[1]).toEqual({ error: expect.objectContaining({ code: 'ERR_TIMEOUT', retryable: true, message: expect.stringMatching(/timed out/) }) });
      await waitFor(() => errors.length > 0, { timeoutMs: 5_000, what: 'the Discovery error event' });
      // Still served: the last good snapshot.
      expect(handle.instances.map((i) => i.id)).toEqual(['a.disco.test:8080', 'b.disco.test:8081', 'c.disco.test:8082']);
      expect(handle.pick()).toBeDefined();

      await dnsmasq.setRecords({ ...web, srv: web.srv!.filter((s) => s.port !== 8080) });
      await dnsmasq.restart();
      await waitFor(() => events.length === 3, { timeoutMs: 5_000, what: 'the snapshot after recovery' });
      expect(endpoints((events[2] as { instances: Instance[] }).instances)).toEqual(['10.0.0.2:8081', '10.0.0.3:8082']);
      await waitFor(() => handle.instances.length === 2, { timeoutMs: 5_000, what: 'the handle to recover' });
    } finally {
      stop();
      handle.close();
      await discovery.close();
    }
  });
});

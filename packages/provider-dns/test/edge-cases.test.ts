// Edge cases a real server will not produce on demand, against the scriptable dns2 server.
import type { ProviderEvent, WatchEvent } from '@disco/core';
import { dnsRecord, ScriptableDnsServer, waitFor } from '@disco/testing';
import { Packet } from 'dns2';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DnsProvider, PRIORITY_KEY, type DnsProviderOptions } from '../src/index.js';

const { srv, a, aaaa } = dnsRecord;

describe('dns provider against a scriptable DNS server', () => {
  let primary: ScriptableDnsServer;
  let secondary: ScriptableDnsServer;
  const providers: DnsProvider[] = [];
  const make = (options: DnsProviderOptions = {}) => {
    const provider = new DnsProvider({ servers: [primary.address], domain: 'disco.test', timeout: 300, srvName: 'rfc2782', ...options });
    providers.push(provider);
    return provider;
  };

  beforeAll(async () => {
    primary = await ScriptableDnsServer.start();
    secondary = await ScriptableDnsServer.start();
  });
  afterEach(async () => {
    await Promise.all(providers.splice(0).map((p) => p.close()));
    for (const server of [primary, secondary]) {
      server.script = undefined;
      server.zone = [];
      server.queries.length = 0;
      if (!server.running) await server.restart();
    }
  });
  afterAll(async () => {
    await Promise.all([primary?.stop(), secondary?.stop()]);
  });

  it('retries an answer truncated even at the EDNS0 payload size over TCP and gets every record', async () => {
    // 80 SRV records and their addresses: far beyond 1232 bytes.
    primary.zone = [
      ...Array.from({ length: 80 }, (_, i) => srv('_big._tcp.disco.test', `h${i}.disco.test`, 9000 + i, { weight: 1 })),
      ...Array.from({ length: 80 }, (_, i) => a(`h${i}.disco.test`, `10.1.0.${i + 1}`)),
    ];
    const instances = await make().discover('big');
    expect(instances).toHaveLength(80);
    expect(instances.find((i) => i.port === 9007)?.address).toBe('10.1.0.8');
    expect(primary.queriesFor('_big._tcp.disco.test').map((q) => q.transport)).toEqual(['udp', 'tcp']);
  });

  it('every query advertises a 1232-byte UDP payload in an EDNS0 OPT record', async () => {
    primary.zone = [srv('_web._tcp.disco.test', 'v6.elsewhere.test', 8080), aaaa('v6.elsewhere.test', 'fd00::1')];
    const advertised: (number | undefined)[] = [];
    primary.script = (query, request) => {
      advertised.push(request.additionals.find((r) => r.type === Packet.TYPE.EDNS)?.class);
      // No additional section: the target's A and AAAA queries are asked too.
      return query.type === 'SRV' ? { answers: primary.zone.filter((r) => r.type === Packet.TYPE.SRV) } : undefined;
    };
    expect(await make().discover('web')).toHaveLength(1);
    expect(advertised).toEqual([1232, 1232, 1232]);
  });

  it('asks again without EDNS0 a server that answers FORMERR without an OPT record (RFC 6891 §7)', async () => {
    primary.zone = [srv('_web._tcp.disco.test', 'a.disco.test', 8080), a('a.disco.test', '10.0.0.1')];
    let withOpt = 0;
    primary.script = (_query, request) => {
      if (!request.additionals.some((r) => r.type === Packet.TYPE.EDNS)) return undefined;
      withOpt++;
      return { rcode: Packet.RCODE.FORMERR };
    };
    expect((await make().discover('web')).map((i) => i.address)).toEqual(['10.0.0.1']);
    expect(withOpt).toBe(1);
    expect(primary.queriesFor('_web._tcp.disco.test').map((q) => q.transport)).toEqual(['udp', 'udp']);
  });

  it('NXDOMAIN means no instances, not an error', async () => {
    const provider = make();
    expect(await provider.discover('nobody')).toEqual([]);
    // The fallback name differs from the SRV name, so its A/AAAA records were looked for too.
    expect(primary.queriesFor('nobody.disco.test').map((q) => q.type).sort()).toEqual(['A', 'AAAA']);
  });

  it('SERVFAIL is an error that names the server and the answer', async () => {
    primary.script = () => ({ rcode: Packet.RCODE.SERVFAIL });
    const error = await make().discover('web').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_PROVIDER_UNAVAILABLE' });
    expect((error as Error).message).toContain(`${primary.address} answered SERVFAIL`);
  });

  it('a server that never answers is a timeout error (ERR_TIMEOUT, retryable)', async () => {
    primary.script = () => 'drop';
    const started = Date.now();
    const error = await make({ timeout: 200 }).discover('web').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_TIMEOUT', retryable: true });
    expect((error as Error).message).toMatch(/timed out after 200 ms/);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('garbage with our query id fails at once; stray bytes are ignored and end in a timeout that says so', async () => {
    // A header claiming three answers, followed by nothing: undecodable.
    primary.script = (_query, request) => {
      const header = Buffer.alloc(12);
      header.writeUInt16BE(request.header.id, 0);
      header.writeUInt16BE(0x8180, 2);
      header.writeUInt16BE(1, 4);
      header.writeUInt16BE(3, 6);
      return Buffer.concat([header, Buffer.from([0xff, 0xff, 0xff])]);
    };
    const provider = make({ timeout: 1_500 });
    const started = Date.now();
    const malformed = await provider.discover('web').catch((e: unknown) => e);
    expect((malformed as Error).message).toMatch(/malformed answer|undecodable|different question/);
    expect(Date.now() - started).toBeLessThan(1_000);

    primary.script = () => Buffer.from('certainly not a DNS message');
    const stray = await make({ timeout: 200 }).discover('web').catch((e: unknown) => e);
    expect(stray).toMatchObject({ code: 'ERR_TIMEOUT' });
    expect((stray as Error).message).toMatch(/timed out after 200 ms \(ignored a packet that answers no query of ours\)/);
  });

  it('an answer to a different question is garbage', async () => {
    primary.script = (query, request) => {
      const response = Packet.createResponseFromRequest(request);
      response.questions = [{ name: `evil.${query.name}`, type: Packet.TYPE.SRV, class: Packet.CLASS.IN } as Packet['questions'][number]];
      return response.toBuffer();
    };
    await expect(make().discover('web')).rejects.toThrow(/different question/);
  });

  it('tries the servers in turn and sticks to the one that answered', async () => {
    secondary.zone = [srv('_web._tcp.disco.test', 'a.disco.test', 8080), a('a.disco.test', '10.0.0.1')];
    primary.script = () => ({ rcode: Packet.RCODE.REFUSED });
    const provider = make({ servers: [primary.address, secondary.address] });
    expect((await provider.discover('web')).map((i) => i.address)).toEqual(['10.0.0.1']);
    expect(primary.queries).toHaveLength(1);
    await provider.discover('web');
    // The second lookup went straight to the server that answered.
    expect(primary.queries).toHaveLength(1);
    expect(secondary.queriesFor('_web._tcp.disco.test')).toHaveLength(2);

    await secondary.stop();
    primary.script = undefined;
    primary.zone = [srv('_web._tcp.disco.test', 'b.disco.test', 8081), a('b.disco.test', '10.0.0.2')];
    expect((await provider.discover('web')).map((i) => i.address)).toEqual(['10.0.0.2']);
  });

  it('fails over when the first server is down, and reports every server when all fail', async () => {
    secondary.zone = [srv('_web._tcp.disco.test', 'a.disco.test', 8080), a('a.disco.test', '10.0.0.1')];
    await primary.stop();
    const provider = make({ servers: [primary.address, secondary.address], timeout: 200 });
    expect(await provider.discover('web')).toHaveLength(1);
    await secondary.stop();
    const error = await provider.discover('web').catch((e: unknown) => e);
    expect((error as Error).message).toContain(primary.address);
    expect((error as Error).message).toContain(secondary.address);
  });

  it('reads the Consul form [tag.]<service>.service.<domain>', async () => {
    primary.zone = [
      srv('web.service.consul', 'node1.node.dc1.consul', 21000),
      srv('web.service.consul', 'node2.node.dc1.consul', 21001),
      srv('primary.web.service.consul', 'node1.node.dc1.consul', 21000),
      a('node1.node.dc1.consul', '10.0.0.1'),
      a('node2.node.dc1.consul', '10.0.0.2'),
    ];
    const all = new DnsProvider({ servers: primary.address });
    const tagged = new DnsProvider({ servers: primary.address, tag: 'primary' });
    providers.push(all, tagged);
    expect((await all.discover('web')).map((i) => i.id)).toEqual(['node1.node.dc1.consul:21000', 'node2.node.dc1.consul:21001']);
    expect((await tagged.discover('web')).map((i) => i.address)).toEqual(['10.0.0.1']);
  });

  it('resolves SRV targets missing from the additional section with A and AAAA queries', async () => {
    primary.zone = [srv('_web._tcp.disco.test', 'v6.elsewhere.test', 8080), aaaa('v6.elsewhere.test', 'fd00::1')];
    // The zone adds additional records only for targets it knows; drop them to force the queries.
    primary.script = (query) => (query.type === 'SRV' ? { answers: primary.zone.filter((r) => r.type === Packet.TYPE.SRV) } : undefined);
    const [instance] = await make().discover('web');
    expect(instance).toMatchObject({ address: 'fd00::1', port: 8080, id: 'v6.elsewhere.test:8080' });
    expect(primary.queriesFor('v6.elsewhere.test').map((q) => q.type).sort()).toEqual(['A', 'AAAA']);
  });

  it('skips a target without addresses and reports it once as an invalid record', async () => {
    primary.zone = [
      srv('_web._tcp.disco.test', 'a.disco.test', 8080, { ttl: 1 }),
      srv('_web._tcp.disco.test', 'ghost.disco.test', 8081, { ttl: 1 }),
      a('a.disco.test', '10.0.0.1', 1),
    ];
    const provider = make({ minRefresh: 50, refreshTtl: 50 });
    const events: ProviderEvent[] = [];
    provider.onEvent((e) => events.push(e));
    const watchEvents: WatchEvent[] = [];
    const stop = provider.watch('web', (e) => watchEvents.push(e));
    await waitFor(() => primary.queriesFor('_web._tcp.disco.test').length >= 4, { what: 'several polls' });
    stop();
    expect(watchEvents).toEqual([{ instances: [expect.objectContaining({ id: 'a.disco.test:8080' })] }]);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'invalid-record', service: 'web', error: { code: 'ERR_INVALID_RECORD' } });
    expect(events[0]!.message).toMatch(/ghost\.disco\.test has no A or AAAA record/);
  });

  it('a target whose address lookup is REFUSED is skipped and reported once; the other targets are served (issue 11, defect 5)', async () => {
    // An authoritative-only server (BIND with recursion no) refuses names outside its zones.
    primary.zone = [
      srv('_web._tcp.disco.test', 'a.disco.test', 8080, { ttl: 1 }),
      srv('_web._tcp.disco.test', 'b.elsewhere.test', 8081, { ttl: 1 }),
      a('a.disco.test', '10.0.0.1', 1),
    ];
    primary.script = (query) => {
      if (query.type === 'SRV') return { answers: primary.zone.filter((r) => r.type === Packet.TYPE.SRV) };
      if (query.name === 'b.elsewhere.test' && query.type === 'A') return { rcode: Packet.RCODE.REFUSED };
      return undefined;
    };
    const provider = make({ minRefresh: 50, refreshTtl: 50 });
    const events: ProviderEvent[] = [];
    provider.onEvent((e) => events.push(e));
    expect((await provider.discover('web')).map((i) => i.id)).toEqual(['a.disco.test:8080']);
    const watchEvents: WatchEvent[] = [];
    const stop = provider.watch('web', (e) => watchEvents.push(e));
    await waitFor(() => primary.queriesFor('_web._tcp.disco.test').length >= 4, { what: 'several polls' });
    stop();
    expect(watchEvents).toEqual([{ instances: [expect.objectContaining({ id: 'a.disco.test:8080', address: '10.0.0.1' })] }]);
    // Once from the discover, once from the watch's engine: never once per poll.
    expect(events).toHaveLength(2);
    expect(events[1]!.message).toBe(events[0]!.message);
    expect(events[0]).toMatchObject({ type: 'invalid-record', service: 'web', error: { code: 'ERR_INVALID_RECORD' } });
    expect(events[0]!.message).toMatch(/address lookup of target b\.elsewhere\.test failed: .*answered REFUSED/);
  });

  it('a target lookup that times out while no target is usable is an outage: the watch keeps its last snapshot', async () => {
    primary.zone = [srv('_web._tcp.disco.test', 'a.disco.test', 8080, { ttl: 0 }), a('a.disco.test', '10.0.0.1', 0)];
    primary.script = (query) => (query.type === 'SRV' ? { answers: primary.zone.filter((r) => r.type === Packet.TYPE.SRV) } : undefined);
    const provider = make({ minRefresh: 30, refreshTtl: 100, timeout: 100 });
    const events: WatchEvent[] = [];
    const stop = provider.watch('web', (e) => events.push(e));
    try {
      await waitFor(() => events.length === 1, { what: 'the first snapshot' });
      primary.script = (query) => (query.type === 'SRV' ? { answers: primary.zone.filter((r) => r.type === Packet.TYPE.SRV) } : 'drop');
      await waitFor(() => events.length === 2, { what: 'the error' });
      expect(events[1]).toMatchObject({ error: { code: 'ERR_TIMEOUT' } });
      expect(events.some((e) => 'instances' in e && e.instances.length === 0)).toBe(false);
      primary.script = (query) => (query.type === 'SRV' ? { answers: primary.zone.filter((r) => r.type === Packet.TYPE.SRV) } : undefined);
      await waitFor(() => events.length === 3, { what: 'the recovery' });
      expect(events[2]).toEqual(events[0]);
    } finally {
      stop();
    }
  });

  it('whatever the server sends, a watched service costs at most 5 lists a second (burst 10)', async () => {
    const garbage = (request: Packet) => {
      const header = Buffer.alloc(12);
      header.writeUInt16BE(request.header.id, 0);
      header.writeUInt16BE(0x8180, 2);
      header.writeUInt16BE(1, 4);
      header.writeUInt16BE(3, 6);
      return Buffer.concat([header, Buffer.from([0xff])]);
    };
    // Three kinds of answer, each at once: garbage with our id, SERVFAIL, and TTL 0 records.
    const replies: ((request: Packet) => ReturnType<NonNullable<typeof primary.script>>)[] = [
      garbage,
      () => ({ rcode: Packet.RCODE.SERVFAIL }),
      () => ({ answers: [srv('_web._tcp.disco.test', 'a.disco.test', 8080, { ttl: 0 })], additionals: [a('a.disco.test', '10.0.0.1', 0)] }),
    ];
    for (const reply of replies) {
      primary.queries.length = 0;
      primary.script = (_query, request) => reply(request);
      const provider = make({ minRefresh: 1, refreshTtl: 1, timeout: 200 });
      const started = performance.now();
      const stop = provider.watch('web', () => {});
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      stop();
      const seconds = (performance.now() - started) / 1000;
      const lists = primary.queriesFor('_web._tcp.disco.test').length;
      // One SRV query per list (additionals carry the addresses): burst 10, then 5/s.
      expect(lists).toBeGreaterThan(5);
      expect(lists).toBeLessThanOrEqual(10 + Math.ceil(5 * seconds));
      await provider.close();
    }
  });

  it('an SRV record with broken RDATA is skipped and reported; the rest of the answer is used', async () => {
    primary.zone = [a('a.disco.test', '10.0.0.1')];
    primary.script = (query, request) => {
      if (query.type !== 'SRV') return undefined;
      const response = Packet.createResponseFromRequest(request);
      response.answers.push({ ...srv('_web._tcp.disco.test', 'a.disco.test', 8080) } as Packet['answers'][number]);
      const good = response.toBuffer();
      good.writeUInt16BE(2, 6); // ANCOUNT: one more record follows
      // Name pointer to the question, SRV, IN, TTL 30, RDLENGTH 9 around 7 octets of SRV data.
      const broken = Buffer.from([0xc0, 0x0c, 0, 33, 0, 1, 0, 0, 0, 30, 0, 9, 0, 0, 0, 0, 0, 80, 0, 0xaa, 0xbb]);
      return Buffer.concat([good, broken]);
    };
    const provider = make();
    const events: ProviderEvent[] = [];
    provider.onEvent((e) => events.push(e));
    expect((await provider.discover('web')).map((i) => i.id)).toEqual(['a.disco.test:8080']);
    expect(events).toEqual([expect.objectContaining({ type: 'invalid-record', message: expect.stringMatching(/_web\._tcp\.disco\.test answers\[1\].*undecodable/) })]);
  });

  it('target "." means not available; a lower-priority group takes over when the preferred one has no usable target', async () => {
    primary.zone = [srv('_gone._tcp.disco.test', '', 1)];
    expect(await make().discover('gone')).toEqual([]);
    primary.zone = [
      srv('_web._tcp.disco.test', 'ghost.disco.test', 8080, { priority: 1 }),
      srv('_web._tcp.disco.test', 'b.disco.test', 8081, { priority: 2, weight: 7 }),
      a('b.disco.test', '10.0.0.2'),
    ];
    const [instance] = await make().discover('web');
    expect(instance).toMatchObject({ address: '10.0.0.2', weight: 7, metadata: { [PRIORITY_KEY]: '2' } });
  });

  it('a watch keeps its snapshot through a SERVFAIL streak (one error event) and re-sends it on recovery', async () => {
    primary.zone = [srv('_web._tcp.disco.test', 'a.disco.test', 8080, { ttl: 0 }), a('a.disco.test', '10.0.0.1', 0)];
    const provider = make({ minRefresh: 30, refreshTtl: 100 });
    const events: WatchEvent[] = [];
    const stop = provider.watch('web', (e) => events.push(e));
    try {
      await waitFor(() => events.length === 1, { what: 'the first snapshot' });
      primary.script = () => ({ rcode: Packet.RCODE.SERVFAIL });
      const before = primary.queries.length;
      await waitFor(() => primary.queries.length >= before + 3, { what: 'several failing polls' });
      expect(events.map((e) => ('error' in e ? e.error.code : 'snapshot'))).toEqual(['snapshot', 'ERR_PROVIDER_UNAVAILABLE']);
      expect(await provider.discover('web').catch((e: { code: string }) => e.code)).toBe('ERR_PROVIDER_UNAVAILABLE');
      primary.script = undefined;
      await waitFor(() => events.length === 3, { what: 'the snapshot after recovery' });
      expect(events[2]).toEqual(events[0]);
      expect((events[2] as { instances: unknown }).instances).toBe((events[0] as { instances: unknown }).instances);
    } finally {
      stop();
    }
  });
});

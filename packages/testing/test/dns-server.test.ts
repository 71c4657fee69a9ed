import { Packet, TCPClient, UDPClient } from 'dns2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dnsRecord, ScriptableDnsServer } from '../src/dns-server.js';

describe('ScriptableDnsServer', () => {
  let server: ScriptableDnsServer;
  const udp = () => UDPClient({ dns: '127.0.0.1', port: server.port, timeout: 500, retryOverTCP: false });

  beforeAll(async () => {
    server = await ScriptableDnsServer.start([
      dnsRecord.srv('_web._tcp.disco.test', 'a.disco.test', 8080, { priority: 1, weight: 2, ttl: 9 }),
      dnsRecord.a('a.disco.test', '10.0.0.1'),
      ...Array.from({ length: 40 }, (_, i) => dnsRecord.srv('_big._tcp.disco.test', `host-${i}.disco.test`, 8000 + i)),
    ]);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('answers from its zone with additional records for SRV targets, and NXDOMAIN for unknown names', async () => {
    const answer = await udp()('_web._tcp.disco.test', 'SRV');
    expect(answer.answers).toEqual([expect.objectContaining({ target: 'a.disco.test', port: 8080, priority: 1, weight: 2, ttl: 9 })]);
    expect(answer.additionals).toEqual([expect.objectContaining({ name: 'a.disco.test', address: '10.0.0.1' })]);
    expect((await udp()('missing.disco.test', 'A')).header.rcode).toBe(Packet.RCODE.NXDOMAIN);
  });

  it('truncates large UDP answers and serves them whole over TCP, logging the transport', async () => {
    const truncated = await udp()('_big._tcp.disco.test', 'SRV');
    expect(truncated.header.tc).toBe(1);
    expect(truncated.answers).toHaveLength(0);
    const whole = await TCPClient({ dns: '127.0.0.1', port: server.port })('_big._tcp.disco.test', 'SRV');
    expect(whole.answers).toHaveLength(40);
    expect(server.queriesFor('_big._tcp.disco.test').map((q) => q.transport)).toEqual(['udp', 'tcp']);
  });

  it('follows a script: rcode, silence, raw bytes', async () => {
    server.script = (query) => {
      if (query.name.startsWith('fail.')) return { rcode: Packet.RCODE.SERVFAIL };
      if (query.name.startsWith('quiet.')) return 'drop';
      if (query.name.startsWith('junk.')) return Buffer.from('this is not a DNS message');
      return undefined;
    };
    try {
      expect((await udp()('fail.disco.test', 'A')).header.rcode).toBe(Packet.RCODE.SERVFAIL);
      await expect(udp()('quiet.disco.test', 'A')).rejects.toThrow(/timed out/);
      await expect(udp()('junk.disco.test', 'A')).rejects.toThrow(/timed out/);
      expect((await udp()('a.disco.test', 'A')).answers[0]?.address).toBe('10.0.0.1');
    } finally {
      server.script = undefined;
    }
  });

  it('stops (queries go unanswered) and listens again on the same port', async () => {
    await server.stop();
    await expect(udp()('a.disco.test', 'A')).rejects.toThrow(/timed out/);
    await server.restart();
    expect((await udp()('a.disco.test', 'A')).answers[0]?.address).toBe('10.0.0.1');
  });
});

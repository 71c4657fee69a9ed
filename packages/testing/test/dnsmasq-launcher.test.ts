import { UDPClient } from 'dns2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Dnsmasq } from '../src/dnsmasq-launcher.js';
import { consulDnsRecords } from '../src/consul-dns-records.js';

describe('Dnsmasq launcher (real dnsmasq)', () => {
  let dnsmasq: Dnsmasq;
  const ask = () => UDPClient({ dns: '127.0.0.1', port: dnsmasq.port, timeout: 1000, retryOverTCP: false });

  beforeAll(async () => {
    dnsmasq = await Dnsmasq.start(
      {
        srv: [{ name: '_web._tcp.disco.test', target: 'a.disco.test', port: 8080, priority: 1, weight: 5 }],
        hosts: [{ name: 'a.disco.test', addresses: ['10.0.0.1'] }],
      },
      { ttl: 7 },
    );
  });
  afterAll(async () => {
    await dnsmasq?.close();
  });

  it('serves SRV records with the target address and the chosen TTL on a high loopback port', async () => {
    expect(dnsmasq.port).toBeGreaterThan(1024);
    const answer = await ask()('_web._tcp.disco.test', 'SRV');
    expect(answer.answers).toEqual([expect.objectContaining({ target: 'a.disco.test', port: 8080, priority: 1, weight: 5, ttl: 7 })]);
    expect(answer.additionals).toEqual([expect.objectContaining({ name: 'a.disco.test', address: '10.0.0.1' })]);
  });

  it('answers NXDOMAIN for unknown names of its domain', async () => {
    expect((await ask()('nothing.disco.test', 'SRV')).header.rcode).toBe(3);
  });

  it('changes host records in place (SIGHUP, same process) and SRV records by a restart on the same port', async () => {
    const pid = dnsmasq.pid;
    await dnsmasq.setRecords({ ...dnsmasq.records, hosts: [{ name: 'a.disco.test', addresses: ['10.0.0.2'] }] });
    expect(dnsmasq.pid).toBe(pid);
    expect((await ask()('a.disco.test', 'A')).answers.map((r) => r.address)).toEqual(['10.0.0.2']);

    await dnsmasq.setRecords({ ...dnsmasq.records, srv: [{ name: '_web._tcp.disco.test', target: 'a.disco.test', port: 9090 }] });
    expect(dnsmasq.pid).not.toBe(pid);
    expect((await ask()('_web._tcp.disco.test', 'SRV')).answers.map((r) => r.port)).toEqual([9090]);
  });

  it('stops by PID and starts again on the same port', async () => {
    const pid = dnsmasq.pid!;
    await dnsmasq.stop();
    expect(() => process.kill(pid, 0)).toThrow();
    await expect(ask()('a.disco.test', 'A')).rejects.toThrow(/timed out/);
    await dnsmasq.restart();
    expect((await ask()('a.disco.test', 'A')).answers.map((r) => r.address)).toEqual(['10.0.0.2']);
  });
});

describe('consulDnsRecords', () => {
  it("names SRV targets the way Consul does (<hex ip>.addr.<dc>.consul) and gives each address one A record", () => {
    expect(consulDnsRecords('web', [{ address: '10.0.0.1', port: 21000, weight: 3 }, { address: '10.0.0.1', port: 21001 }], 'east')).toEqual({
      srv: [
        { name: 'web.service.consul', target: '0a000001.addr.east.consul', port: 21000, priority: 1, weight: 3 },
        { name: 'web.service.consul', target: '0a000001.addr.east.consul', port: 21001, priority: 1, weight: 1 },
      ],
      hosts: [{ name: '0a000001.addr.east.consul', addresses: ['10.0.0.1'] }],
    });
    expect(() => consulDnsRecords('web', [{ address: '::1', port: 1 }])).toThrow(/::1 is not an IPv4 address/);
  });
});

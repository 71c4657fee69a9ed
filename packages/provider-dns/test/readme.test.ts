import { consulDnsRecords, Dnsmasq, runReadmeExample } from '@disco/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';

// The README example is code users copy: it must run as written, here against a real dnsmasq
// answering like a Consul agent's DNS interface (SRV per passing instance, addresses alongside).
let dnsmasq: Dnsmasq;
beforeAll(async () => {
  const records = consulDnsRecords('web', [
    { address: '10.0.0.1', port: 21000 },
    { address: '10.0.0.2', port: 21001 },
  ]);
  dnsmasq = await Dnsmasq.start(records, { ttl: 1, domains: ['consul'] });
});
afterAll(() => dnsmasq?.close());

it('the README example lists both instances, picks one, and exits by itself', async () => {
  const run = await runReadmeExample(
    new URL('../README.md', import.meta.url),
    "Example: Consul services through Consul's DNS interface",
    new URL('./', import.meta.url),
    { env: { DNS_SERVER: dnsmasq.address, DNS_DOMAIN: undefined, DISCOVERY_BALANCER: undefined } },
  );
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  const lines = run.stdout.trim().split('\n');
  expect(lines).toContain("[ '10.0.0.1:21000', '10.0.0.2:21001' ]");
  expect(lines).toContain("now [ '10.0.0.1:21000', '10.0.0.2:21001' ]");
  expect(lines.filter((line) => /^calling 10\.0\.0\.(1:21000|2:21001)$/.test(line))).toHaveLength(1);
  expect(lines).toHaveLength(3);
});

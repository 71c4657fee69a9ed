import { fileURLToPath } from 'node:url';
import { consulDnsRecords, Dnsmasq, runScript, startScript, waitFor } from '@disco/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const main = fileURLToPath(new URL('../main.ts', import.meta.url));

// What a Consul agent's DNS interface serves for two passing instances of "web".
const consulLike = consulDnsRecords('web', [
  { address: '10.0.0.1', port: 21000, weight: 3 },
  { address: '10.0.0.2', port: 21001 },
]);

describe('example: Consul services through DNS', () => {
  let dnsmasq: Dnsmasq;
  beforeAll(async () => {
    dnsmasq = await Dnsmasq.start(consulLike, { ttl: 1, domains: ['consul'] });
  });
  afterAll(async () => {
    await dnsmasq?.close();
  });

  it('lists the instances, picks by weight, hears a change, and exits 0 by itself', async () => {
    const script = startScript(main, { args: ['web'], env: { DNS_SERVER: dnsmasq.address, DNS_REFRESH_TTL: '1s', EXAMPLE_DURATION: '4s' }, timeoutMs: 20_000 });
    await waitFor(() => script.stdout.includes('1000 picks'), { timeoutMs: 10_000, what: 'the first listing' });
    expect(script.stdout).toMatch(/web: 10\.0\.0\.1:21000 \(weight 3, priority 1\), 10\.0\.0\.2:21001 \(weight 1, priority 1\)/);
    const picks = /1000 picks: 10\.0\.0\.1:21000 ×(\d+), 10\.0\.0\.2:21001 ×(\d+)/.exec(script.stdout);
    expect(Number(picks?.[1])).toBeGreaterThan(650);
    expect(Number(picks?.[1])).toBeLessThan(850);

    // The second instance fails its check in Consul: it leaves the DNS answer.
    await dnsmasq.setRecords({ ...consulLike, srv: consulLike.srv!.slice(0, 1) });
    const { code, stdout, stderr } = await script.exited;
    expect(code).toBe(0);
    expect(stderr).toBe('');
    expect(stdout).toMatch(/web now: 10\.0\.0\.1:21000 \(weight 3, priority 1\)\n/);
    expect(stdout.trim().split('\n').at(-1)).toMatch(/closed$/);
  });

  it('against a real Consul agent when CONSUL_DNS_ADDR is set', async (context) => {
    const address = process.env.CONSUL_DNS_ADDR;
    if (!address) {
      console.log('skipped the real Consul DNS run: set CONSUL_DNS_ADDR (e.g. 127.0.0.1:8600) to run it');
      context.skip();
      return;
    }
    // Every Consul cluster has the "consul" service: its servers on port 8300.
    const { code, stdout } = await runScript(main, { args: ['consul'], env: { DNS_SERVER: address, EXAMPLE_DURATION: '1s' } });
    expect(code).toBe(0);
    expect(stdout).toMatch(/consul: .*:8300/);
  });
});

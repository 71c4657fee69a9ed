import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Dnsmasq, waitFor, type DnsmasqRecords } from '@disco/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const main = fileURLToPath(new URL('../main.ts', import.meta.url));

/** Starts the example; collects its output and resolves with the exit code. */
function run(env: Record<string, string>, args: string[] = []) {
  const child = spawn(process.execPath, [main, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (chunk: Buffer) => (out.stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (out.stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { out, exited };
}

// What a Consul agent's DNS interface serves for two passing instances of "web".
const consulLike: DnsmasqRecords = {
  srv: [
    { name: 'web.service.consul', target: '0a000001.addr.dc1.consul', port: 21000, priority: 1, weight: 3 },
    { name: 'web.service.consul', target: '0a000002.addr.dc1.consul', port: 21001, priority: 1, weight: 1 },
  ],
  hosts: [
    { name: '0a000001.addr.dc1.consul', addresses: ['10.0.0.1'] },
    { name: '0a000002.addr.dc1.consul', addresses: ['10.0.0.2'] },
  ],
};

describe('example: Consul services through DNS', () => {
  let dnsmasq: Dnsmasq;
  beforeAll(async () => {
    dnsmasq = await Dnsmasq.start(consulLike, { ttl: 1, domains: ['consul'] });
  });
  afterAll(async () => {
    await dnsmasq?.close();
  });

  it('lists the instances, picks by weight, hears a change, and exits 0 by itself', async () => {
    const { out, exited } = run({ DNS_SERVER: dnsmasq.address, DNS_REFRESH_TTL: '1s', EXAMPLE_DURATION: '4s' }, ['web']);
    await waitFor(() => out.stdout.includes('1000 picks'), { timeoutMs: 10_000, what: 'the first listing' });
    expect(out.stdout).toMatch(/web: 10\.0\.0\.1:21000 \(weight 3, priority 1\), 10\.0\.0\.2:21001 \(weight 1, priority 1\)/);
    const picks = /1000 picks: 10\.0\.0\.1:21000 ×(\d+), 10\.0\.0\.2:21001 ×(\d+)/.exec(out.stdout);
    expect(Number(picks?.[1])).toBeGreaterThan(650);
    expect(Number(picks?.[1])).toBeLessThan(850);

    // The second instance fails its check in Consul: it leaves the DNS answer.
    await dnsmasq.setRecords({ ...consulLike, srv: consulLike.srv!.slice(0, 1) });
    expect(await exited).toBe(0);
    expect(out.stderr).toBe('');
    expect(out.stdout).toMatch(/web now: 10\.0\.0\.1:21000 \(weight 3, priority 1\)\n/);
    expect(out.stdout.trim().split('\n').at(-1)).toMatch(/closed$/);
  });

  it('against a real Consul agent when CONSUL_DNS_ADDR is set', async (context) => {
    const address = process.env.CONSUL_DNS_ADDR;
    if (!address) {
      console.log('skipped the real Consul DNS run: set CONSUL_DNS_ADDR (e.g. 127.0.0.1:8600) to run it');
      context.skip();
      return;
    }
    // Every Consul cluster has the "consul" service: its servers on port 8300.
    const { out, exited } = run({ DNS_SERVER: address, EXAMPLE_DURATION: '1s' }, ['consul']);
    expect(await exited).toBe(0);
    expect(out.stdout).toMatch(/consul: .*:8300/);
  });
});

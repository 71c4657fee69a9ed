import { ConsulDouble, freePort, waitFor } from '@disco/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { disco, startDisco } from './disco.js';

describe('against the Consul double', () => {
  let consul: ConsulDouble;
  let env: Record<string, string>;

  beforeAll(async () => {
    consul = await ConsulDouble.start();
    env = { DISCOVERY_PROVIDER: 'consul', CONSUL_HTTP_ADDR: consul.address };
  });
  afterAll(() => consul?.stop());

  it('register leaves the service registered with the agent; ls and services see it; deregister removes it', async () => {
    const register = await disco(['register', '--name', 'web', '--id', 'web-1', '--address', '127.0.0.1', '--port', '8080', '--tag', 'v2', '--version', '2.0.1', '--meta', 'team=edge'], env);
    expect(register).toMatchObject({ code: 0, stderr: '', stdout: 'registered web-1 (web) at 127.0.0.1:8080 with consul\n' });
    // The command has exited: the agent keeps the registration. Consul's datacenter is the zone.
    const ls = await disco(['ls', 'web'], env);
    expect(ls).toMatchObject({ code: 0, stderr: '' });
    expect(ls.stdout).toMatch(/^ID +ADDRESS:PORT +HEALTHY +ZONE +WEIGHT +VERSION +TAGS\nweb-1 +127\.0\.0\.1:8080 +yes +dc1 +1 +2\.0\.1 +v2\n$/);
    expect(await disco(['services'], env)).toMatchObject({ code: 0, stdout: 'web\n' });
    expect(await disco(['resolve', 'web'], env)).toMatchObject({ code: 0, stdout: '127.0.0.1:8080\n' });

    expect(await disco(['deregister', 'web-1'], env)).toMatchObject({ code: 0, stdout: 'deregistered web-1\n' });
    expect(await disco(['ls', 'web'], env)).toMatchObject({ code: 4 });
  });

  it('register --hold keeps the service only until Ctrl-C', async () => {
    const held = startDisco(['register', '--hold', '--name', 'api', '--id', 'api-1', '--address', '127.0.0.1', '--port', '9000'], env);
    await waitFor(() => held.stdout.includes('holding it until Ctrl-C'), { timeoutMs: 10_000 });
    expect(held.stdout).toBe('registered api-1 (api) at 127.0.0.1:9000 with consul; holding it until Ctrl-C\n');
    expect((await disco(['ls', 'api'], env)).code).toBe(0);
    held.kill('SIGINT');
    expect(await held.exited).toMatchObject({ code: 0, stderr: '', stdout: expect.stringMatching(/\nderegistered api-1\n$/) });
    expect((await disco(['ls', 'api'], env)).code).toBe(4);
  });

  it('doctor reaches the agent and reports the latency', async () => {
    const run = await disco(['doctor'], env);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(/✓ backend +consul at 127\.0\.0\.1:\d+ answered in [\d.]+ ms; \d+ service\(s\) visible\n/);
  });
});

describe('Consul with ACLs', () => {
  let consul: ConsulDouble;
  let env: Record<string, string>;

  beforeAll(async () => {
    consul = await ConsulDouble.start({ acl: { tokens: { 'reader-token-7f3a': 'read' } } });
    env = { DISCOVERY_PROVIDER: 'consul', CONSUL_HTTP_ADDR: consul.address };
  });
  afterAll(() => consul?.stop());

  it('doctor accepts a good token without printing it', async () => {
    const run = await disco(['doctor'], { ...env, CONSUL_HTTP_TOKEN: 'reader-token-7f3a' });
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(/✓ credentials +accepted \(CONSUL_HTTP_TOKEN\)\n/);
    expect(run.stdout).toContain('CONSUL_HTTP_TOKEN=(set, hidden)');
    expect(run.stdout).not.toContain('reader-token-7f3a');
  });

  it('doctor with a rejected token is exit 5 saying to fix CONSUL_HTTP_TOKEN', async () => {
    const run = await disco(['doctor', '--consul-token', 'stolen-token-0000'], env);
    expect(run.code).toBe(5);
    expect(run.stdout).toMatch(/✗ credentials +consul at 127\.0\.0\.1:\d+: .+\n {2}fix: CONSUL_HTTP_TOKEN\n$/);
    expect(run.stdout).not.toContain('stolen-token-0000');
  });

  it('register with a read-only token is exit 5', async () => {
    const run = await disco(['register', '--name', 'web', '--address', '127.0.0.1', '--port', '8080'], { ...env, CONSUL_HTTP_TOKEN: 'reader-token-7f3a' });
    expect(run.code).toBe(5);
    expect(run.stderr).toMatch(/^disco: ERR_CONFIG: .*CONSUL_HTTP_TOKEN/);
  });
});

it('a Consul agent that cannot be reached is exit 3, and doctor says to fix CONSUL_HTTP_ADDR', async () => {
  const nobody = `127.0.0.1:${await freePort()}`;
  const env = { DISCOVERY_PROVIDER: 'consul', CONSUL_HTTP_ADDR: nobody, CONSUL_RETRIES: '0' };
  const ls = await disco(['ls', 'web', '--timeout', '3s'], env);
  expect(ls.code).toBe(3);
  expect(ls.stderr).toMatch(/^disco: ERR_(PROVIDER_UNAVAILABLE|TIMEOUT): /);
  const doctor = await disco(['doctor', '--timeout', '3s'], env);
  expect(doctor.code).toBe(3);
  expect(doctor.stdout).toMatch(/✗ backend +consul at 127\.0\.0\.1:\d+: .+\n {2}fix: CONSUL_HTTP_ADDR\n$/);
});

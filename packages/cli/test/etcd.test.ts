import { EtcdCluster, freePort, makeTestCertificates, waitFor, type TestCertificates } from '@disco/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { disco, startDisco } from './disco.js';

let etcd: EtcdCluster;
let env: Record<string, string>;

beforeAll(async () => {
  etcd = await EtcdCluster.start();
  env = { DISCOVERY_PROVIDER: 'etcd', ETCD_ENDPOINTS: etcd.endpoints.join(',') };
}, 60_000);
afterAll(() => etcd?.stop());

describe('against a real etcd', () => {
  it('register holds the registration until Ctrl-C; ls, services and a piped watch see it come and go', async () => {
    const watch = startDisco(['watch', 'payments'], env);
    await waitFor(() => watch.stdout.includes('payments 0 instance(s)'), { timeoutMs: 10_000 });
    const register = startDisco(['register', '--name', 'payments', '--id', 'payments-1', '--address', '127.0.0.1', '--port', '7001', '--tag', 'grpc', '--zone', 'az-1', '--meta', 'owner=billing'], env);
    await waitFor(() => register.stdout.includes('holding it until Ctrl-C'), { timeoutMs: 10_000 });
    expect(register.stdout).toMatch(/^registered payments-1 \(payments\) at 127\.0\.0\.1:7001 with etcd; holding it until Ctrl-C \(etcd registrations belong to the process that made them/);

    const ls = await disco(['ls', 'payments', '--json'], env);
    expect(ls.code).toBe(0);
    expect(JSON.parse(ls.stdout)).toEqual([expect.objectContaining({ id: 'payments-1', endpoint: '127.0.0.1:7001', tags: ['grpc'], zone: 'az-1', metadata: { owner: 'billing' }, healthy: true })]);
    const services = await disco(['services'], env);
    expect(services).toMatchObject({ code: 0, stdout: 'payments\n' });
    await waitFor(() => watch.stdout.includes('+payments-1@127.0.0.1:7001'), { timeoutMs: 10_000 });

    // Another process cannot take an etcd registration away: it belongs to the holder's lease.
    const deregister = await disco(['deregister', 'payments-1'], env);
    expect(deregister.code).toBe(6);
    expect(deregister.stderr).toMatch(/belong to the process that made them.*press Ctrl-C in the `disco register` holding it/);

    register.kill('SIGINT');
    expect(await register.exited).toMatchObject({ code: 0, stderr: '' });
    expect(register.stdout).toMatch(/\nderegistered payments-1\n$/);
    await waitFor(() => watch.stdout.includes('-payments-1'), { timeoutMs: 10_000 });
    expect(await disco(['ls', 'payments'], env)).toMatchObject({ code: 4 });
    watch.kill('SIGINT');
    expect(await watch.exited).toMatchObject({ code: 0, stderr: '' });
  });

  it('doctor reaches etcd and reports the latency', async () => {
    const run = await disco(['doctor'], env);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(/✓ provider +etcd loaded\n/);
    expect(run.stdout).toMatch(/✓ backend +etcd at http:\/\/127\.0\.0\.1:\d+ answered in [\d.]+ ms; \d+ service\(s\) visible\n/);
    expect(run.stdout).toMatch(/- credentials +none set \(ETCD_USERNAME, ETCD_PASSWORD\)/);
  });
});

describe('etcd that cannot be reached', () => {
  it('ls is exit 3 within --timeout; doctor says to fix ETCD_ENDPOINTS', async () => {
    const nobody = `127.0.0.1:${await freePort()}`;
    const started = performance.now();
    const ls = await disco(['ls', 'payments', '--timeout', '2s'], { DISCOVERY_PROVIDER: 'etcd', ETCD_ENDPOINTS: nobody });
    expect(ls.code).toBe(3);
    expect(ls.stderr).toMatch(/^disco: ERR_(PROVIDER_UNAVAILABLE|TIMEOUT): /);
    expect(performance.now() - started).toBeLessThan(8_000);
    const doctor = await disco(['doctor', '--timeout', '2s', '--etcd-endpoints', nobody], { DISCOVERY_PROVIDER: 'etcd' });
    expect(doctor.code).toBe(3);
    expect(doctor.stdout).toMatch(new RegExp(`✗ backend +etcd at ${nobody.replace(/\./g, '\\.')}: .+\n  fix: ETCD_ENDPOINTS\n$`));
  });
});

describe('etcd over TLS with a client certificate', () => {
  let certs: TestCertificates;
  let secure: EtcdCluster;
  let tlsEnv: Record<string, string>;

  beforeAll(async () => {
    certs = await makeTestCertificates();
    secure = await EtcdCluster.start({ tls: { ca: certs.ca, cert: certs.serverCert, key: certs.serverKey, clientCertAuth: true, clientCert: certs.clientCert, clientKey: certs.clientKey } });
    tlsEnv = { DISCOVERY_PROVIDER: 'etcd', ETCD_ENDPOINTS: secure.endpoints.join(','), ETCD_CACERT: certs.ca, ETCD_CERT: certs.clientCert, ETCD_KEY: certs.clientKey };
  }, 60_000);
  afterAll(async () => {
    await secure?.stop();
    certs?.remove();
  });

  it('doctor verifies the server certificate and reaches etcd over TLS, never printing the key', async () => {
    const run = await disco(['doctor'], tlsEnv);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(/✓ tls +127\.0\.0\.1:\d+: certificate verified \(.*\), valid until \d{4}-\d\d-\d\d(?: — only \d+ day\(s\) left)?, handshake [\d.]+ ms\n/);
    expect(run.stdout).toMatch(/✓ backend +etcd at https:\/\/127\.0\.0\.1:\d+ answered in/);
    expect(run.stdout).toContain('ETCD_KEY=(set, hidden)');
    expect(run.stdout).not.toContain(certs.clientKey);
  });

  it('doctor with the wrong CA says the certificate is not trusted and to fix ETCD_CACERT (exit 5); without one, the provider says so', async () => {
    const other = await makeTestCertificates();
    try {
      const run = await disco(['doctor', '--timeout', '3s'], { ...tlsEnv, ETCD_CACERT: other.ca });
      expect(run.code).toBe(5);
      expect(run.stdout).toMatch(/✗ tls +127\.0\.0\.1:\d+: certificate not trusted: .+; set ETCD_CACERT to the CA that signed it\n {2}fix: ETCD_CACERT\n$/);
    } finally {
      other.remove();
    }
    const none = await disco(['doctor', '--timeout', '3s'], { ...tlsEnv, ETCD_CACERT: undefined });
    expect(none.code).toBe(5);
    expect(none.stdout).toMatch(/✗ provider +TLS to etcd needs the CA that signed its certificate.*\n {2}fix: ETCD_CACERT\n$/);
  });
});

describe('etcd with a user and password', () => {
  let secured: EtcdCluster;
  let userEnv: Record<string, string>;

  beforeAll(async () => {
    secured = await EtcdCluster.start();
    await secured.etcdctl(['user', 'add', 'root:root-password-1']);
    await secured.etcdctl(['user', 'add', 'svc:svc-password-77']);
    await secured.etcdctl(['role', 'add', 'discovery']);
    await secured.etcdctl(['role', 'grant-permission', 'discovery', '--prefix=true', 'readwrite', '/services/']);
    await secured.etcdctl(['user', 'grant-role', 'svc', 'discovery']);
    await secured.etcdctl(['auth', 'enable']);
    userEnv = { DISCOVERY_PROVIDER: 'etcd', ETCD_ENDPOINTS: secured.endpoints.join(','), ETCD_USERNAME: 'svc', ETCD_PASSWORD: 'svc-password-77' };
  }, 60_000);
  afterAll(() => secured?.stop());

  it('doctor accepts the credentials and never prints the password', async () => {
    const run = await disco(['doctor'], userEnv);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(/✓ credentials +accepted \(ETCD_USERNAME, ETCD_PASSWORD\)\n/);
    expect(run.stdout).toContain('ETCD_PASSWORD=(set, hidden)');
    expect(run.stdout).not.toContain('svc-password-77');
  });

  it('watch with a wrong password ends by itself with exit 5: waiting cannot fix credentials', async () => {
    const run = await disco(['watch', 'payments'], { ...userEnv, ETCD_PASSWORD: 'wrong-password-9' });
    expect(run.code).toBe(5);
    expect(run.stdout).toMatch(/Z payments error ERR_CONFIG: .*rejected the credentials of user "svc"/);
    expect(run.stdout).not.toContain('wrong-password-9');
  });

  it('doctor with a wrong password says the credentials were rejected and to fix ETCD_PASSWORD (exit 5)', async () => {
    const run = await disco(['doctor', '--timeout', '5s'], { ...userEnv, ETCD_PASSWORD: 'wrong-password-9' });
    expect(run.code).toBe(5);
    expect(run.stdout).toMatch(/✗ credentials +etcd at .+: .*rejected the credentials of user "svc".*\n {2}fix: ETCD_PASSWORD\n$/);
    expect(run.stdout).not.toContain('wrong-password-9');
  });
});

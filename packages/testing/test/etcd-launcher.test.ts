import { afterAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { EtcdCluster, makeTestCertificates, type TestCertificates } from '../src/index.ts';

describe('EtcdCluster', () => {
  const started: EtcdCluster[] = [];
  let certs: TestCertificates | undefined;
  afterAll(async () => {
    await Promise.all(started.map((c) => c.stop()));
    certs?.remove();
  });

  it('runs one member, stops and restarts it with its data, and cleans up by PID', async () => {
    const etcd = await EtcdCluster.start();
    started.push(etcd);
    expect(etcd.members).toHaveLength(1);
    await etcd.etcdctl(['put', '/launcher/a', '1']);
    const pid = etcd.member(0).process.pid!;
    await etcd.stopMember(0);
    expect(etcd.member(0).process.running).toBe(false);
    expect(() => process.kill(pid, 0)).toThrow();
    await etcd.restartMember(0);
    expect(await etcd.etcdctl(['get', '/launcher/a', '--print-value-only'])).toBe('1\n');
    await etcd.stop();
    expect(etcd.member(0).process.running).toBe(false);
    expect(existsSync(etcd.member(0).dataDir)).toBe(false);
  });

  it('runs a three-member cluster, finds the leader and survives losing it', async () => {
    const etcd = await EtcdCluster.start({ members: 3 });
    started.push(etcd);
    expect(new Set(etcd.endpoints).size).toBe(3);
    const leader = await etcd.leader();
    expect(leader).toBeGreaterThanOrEqual(0);
    await etcd.crashMember(leader);
    const next = await etcd.awaitLeader();
    await etcd.etcdctl(['put', '/launcher/b', '2']);
    expect(next).not.toBe(leader);
    await etcd.restartMember(leader);
    expect(await etcd.etcdctl(['get', '/launcher/b', '--print-value-only'], { endpoints: [etcd.member(leader).clientUrl] })).toBe('2\n');
  });

  it('serves TLS with certificates made by openssl and demands a client certificate', async () => {
    certs = await makeTestCertificates();
    const etcd = await EtcdCluster.start({
      tls: { ca: certs.ca, cert: certs.serverCert, key: certs.serverKey, clientCertAuth: true, clientCert: certs.clientCert, clientKey: certs.clientKey },
    });
    started.push(etcd);
    expect(etcd.endpoints[0]).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    await etcd.etcdctl(['put', '/launcher/c', '3']);
    expect(await etcd.etcdctl(['get', '/launcher/c', '--print-value-only'])).toBe('3\n');
  });
});

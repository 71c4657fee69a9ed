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

  it('partitions a member from its peers (clients still reach it) and heals it', async () => {
    const etcd = await EtcdCluster.start({ members: 3, partitionable: true });
    started.push(etcd);
    const cut = await etcd.leader();
    const others = etcd.members.filter((_, i) => i !== cut).map((m) => m.clientUrl);
    etcd.partition(cut);
    // The other two elect a leader among themselves and take writes.
    const startedAt = performance.now();
    for (let attempt = 0; attempt < 100; attempt++) {
      try {
        await etcd.etcdctl(['put', '/launcher/p', 'after', '--command-timeout=1s'], { endpoints: others });
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    expect(await etcd.etcdctl(['get', '/launcher/p', '--print-value-only'], { endpoints: others })).toBe('after\n');
    // The cut member still answers clients (serializable reads of its own, stale state) but cannot serve a linearizable read.
    expect(await etcd.etcdctl(['get', '/launcher/p', '--print-value-only', '--consistency=s'], { endpoints: [etcd.member(cut).clientUrl] })).toBe('');
    await expect(etcd.etcdctl(['get', '/launcher/p', '--command-timeout=1s'], { endpoints: [etcd.member(cut).clientUrl] })).rejects.toThrow();
    console.log(`partitioned the leader m${cut}: the others took a write after ${(performance.now() - startedAt).toFixed(0)} ms`);
    etcd.heal();
    let value = '';
    for (let attempt = 0; attempt < 100 && value !== 'after\n'; attempt++) {
      value = await etcd.etcdctl(['get', '/launcher/p', '--print-value-only', '--command-timeout=1s'], { endpoints: [etcd.member(cut).clientUrl] }).catch(() => '');
      if (value !== 'after\n') await new Promise((r) => setTimeout(r, 100));
    }
    expect(value).toBe('after\n');
  }, 60_000);

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

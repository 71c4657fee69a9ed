import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDiscovery, InvalidRecordError, type Service } from '@disco/core';
import { EtcdCluster, waitFor } from '@disco/testing';
import { Etcd3, type WatchBuilder } from 'etcd3';
import { etcdProvider, type EtcdProvider } from '../src/index.ts';
import { eventLog, ids, Recorder, silentWatchClient, unique } from './helpers.ts';

let etcd: EtcdCluster;
const providers: EtcdProvider[] = [];
const clients: Etcd3[] = [];
const open = (options: Parameters<typeof etcdProvider>[0] = {}) => {
  const provider = etcdProvider({ endpoints: etcd.endpoints, ttl: '2s', ...options });
  providers.push(provider);
  return provider;
};
const instance = (name: string, extra: Partial<Service> = {}): Service => ({ id: unique('i'), name, address: '127.0.0.1', port: 9000, ...extra });
const value = (s: Service, healthy = true) => JSON.stringify({ v: 1, ...s, healthy });

beforeAll(async () => {
  etcd = await EtcdCluster.start();
});
afterAll(async () => {
  await Promise.all(providers.map((p) => p.close()));
  for (const c of clients) c.close();
  await etcd?.stop();
});

describe('etcd provider', () => {
  it('writes the documented record at <prefix><name>/<id> and flags unhealthy instances', async () => {
    const provider = open();
    const svc = unique('svc');
    const one = instance(svc, { tags: ['a'], weight: 2 });
    await provider.register(one);
    const stored = JSON.parse(await etcd.etcdctl(['get', `/services/${svc}/${one.id}`, '--print-value-only']));
    expect(stored).toEqual({ v: 1, id: one.id, name: svc, address: '127.0.0.1', port: 9000, tags: ['a'], weight: 2, healthy: true });
    await provider.register(one, { healthy: false });
    expect(await provider.discover(svc)).toMatchObject([{ id: one.id, healthy: false }]);
    // The same id under another name moves the key.
    const other = unique('svc');
    await provider.register({ ...one, name: other });
    expect(await provider.discover(svc)).toEqual([]);
    expect(ids(await provider.discover(other))).toEqual([one.id]);
  });

  it('a ttl registration holds the status the service reports with heartbeat(), stored in its record (same code as on Consul)', async () => {
    await using discovery = createDiscovery({ provider: open() });
    const svc = unique('svc');
    const worker = instance(svc, { health: { ttl: '100ms' } });
    await discovery.register(worker);
    const stored = async () => JSON.parse(await etcd.etcdctl(['get', `/services/${svc}/${worker.id}`, '--print-value-only'])).healthy;
    await new Promise((r) => setTimeout(r, 300)); // three TTLs without a heartbeat: still passing
    expect(await stored()).toBe(true);
    await discovery.heartbeat(worker.id, 'critical');
    expect(await stored()).toBe(false);
    expect(await discovery.discover(svc)).toEqual([]);
    await discovery.heartbeat(worker.id, 'warning'); // warning takes traffic
    expect(await stored()).toBe(true);
  });

  it('close revokes the lease: this process\'s keys are gone at once, not after the TTL', async () => {
    const provider = open({ ttl: '30s' });
    const svc = unique('svc');
    await provider.register(instance(svc));
    await provider.register(instance(svc));
    const count = async () => (JSON.parse(await etcd.etcdctl(['get', '--prefix', `/services/${svc}/`, '--write-out=json'])) as { count?: number }).count ?? 0;
    expect(await count()).toBe(2);
    await provider.close();
    expect(await count()).toBe(0);
  });

  it('skips a corrupt record, reports it once, and keeps watching', async () => {
    const provider = open();
    const log = eventLog();
    provider.onEvent(log.listener);
    const svc = unique('svc');
    const good = instance(svc);
    await etcd.etcdctl(['put', `/services/${svc}/broken`, '{not json']);
    const recorder = new Recorder();
    provider.watch(svc, recorder.listener);
    await recorder.until((s) => s.length === 0, 'the first snapshot');
    await provider.register(good);
    await recorder.until((s) => s.length === 1, 'the good instance');
    expect(await provider.discover(svc)).toHaveLength(1);
    const invalid = log.of('invalid-record');
    expect(invalid).toHaveLength(1);
    expect(invalid[0]!.service).toBe(svc);
    expect(invalid[0]!.error).toBeInstanceOf(InvalidRecordError);
    expect((invalid[0]!.error as InvalidRecordError).key).toBe(`/services/${svc}/broken`);
    // A valid value overwriting the corrupt one is picked up by the watch.
    const fixed = { ...instance(svc), id: 'broken' };
    await etcd.etcdctl(['put', `/services/${svc}/broken`, value(fixed)]);
    await recorder.until((s) => s.length === 2, 'the repaired record');
    // A corrupt overwrite of a good record takes it out.
    await etcd.etcdctl(['put', `/services/${svc}/broken`, JSON.stringify({ v: 1, id: 'broken', name: svc, address: '127.0.0.1', port: 'x', healthy: true })]);
    await recorder.until((s) => s.length === 1, 'the corrupted record to leave');
    expect(log.of('invalid-record')).toHaveLength(2);
    expect(recorder.errors()).toEqual([]);
  });

  it('reads and writes the layout of Go gRPC services (naming/endpoints)', async () => {
    const provider = open({ layout: 'go-grpc', prefix: 'grpc/' });
    const svc = unique('greeter');
    // What a Go service writes with endpoints.Manager.AddEndpoint (new and old shapes).
    await etcd.etcdctl(['put', `grpc/${svc}/10.1.0.7:50051`, '{"Addr":"10.1.0.7:50051","Metadata":{"zone":"b"}}']);
    await etcd.etcdctl(['put', `grpc/${svc}/10.1.0.8:50051`, '{"Op":0,"Addr":"10.1.0.8:50051","Metadata":null}']);
    const recorder = new Recorder();
    provider.watch(svc, recorder.listener);
    const found = await recorder.until((s) => s.length === 2, 'the Go endpoints');
    expect(found.map((i) => `${i.address}:${i.port}`)).toEqual(['10.1.0.7:50051', '10.1.0.8:50051']);
    expect(found[0]!.metadata).toEqual({ zone: 'b' });
    // What disco writes, a Go resolver reads: {"Op":0,"Addr":...,"Metadata":...}.
    const mine = instance(svc, { id: 'node-1', port: 7000, metadata: { v: '1' } });
    await provider.register(mine);
    expect(JSON.parse(await etcd.etcdctl(['get', `grpc/${svc}/node-1`, '--print-value-only']))).toEqual({ Op: 0, Addr: '127.0.0.1:7000', Metadata: { v: '1' } });
    await recorder.until((s) => s.length === 3, 'our own endpoint');
    await etcd.etcdctl(['del', `grpc/${svc}/10.1.0.7:50051`]);
    await recorder.until((s) => s.length === 2, 'the deleted Go endpoint to leave');
  });

  it('when the lease is lost, grants a new one and puts every registration again', async () => {
    const provider = open({ ttl: '3s' });
    const log = eventLog();
    provider.onEvent(log.listener);
    const svc = unique('svc');
    const a = instance(svc);
    const b = instance(svc);
    await provider.register(a);
    await provider.register(b);
    const leaseOf = async () => {
      // Lease ids are int64: read them as text, JSON numbers would lose digits.
      const out = await etcd.etcdctl(['get', `/services/${svc}/${a.id}`, '--write-out=json']);
      return BigInt(/"lease":(\d+)/.exec(out)![1]!);
    };
    const lease = await leaseOf();
    expect(lease).toBeGreaterThan(0n);
    await etcd.etcdctl(['lease', 'revoke', lease.toString(16)]);
    await waitFor(() => log.of('lease-restored').length === 1, { timeoutMs: 5_000, what: 'the lease to be restored' });
    expect(log.of('lease-lost')).toHaveLength(1);
    expect(log.events.findIndex((e) => e.type === 'lease-lost')).toBeLessThan(log.events.findIndex((e) => e.type === 'lease-restored'));
    expect(ids(await provider.discover(svc))).toEqual([a.id, b.id].sort());
    const renewed = await leaseOf();
    expect(renewed).not.toBe(lease);
  });

  it('a watch that goes silent is caught by the periodic re-list', async () => {
    const client = silentWatchClient(etcd.endpoints);
    clients.push(client);
    const provider = open({ client, resyncInterval: '300ms' });
    const log = eventLog();
    provider.onEvent(log.listener);
    const svc = unique('svc');
    const recorder = new Recorder();
    provider.watch(svc, recorder.listener);
    await recorder.until((s) => s.length === 0, 'the first snapshot');
    const late = instance(svc);
    await etcd.etcdctl(['put', `/services/${svc}/${late.id}`, value(late)]);
    await recorder.until((s) => s.length === 1, 'the change through the re-list', 3_000);
    expect(log.of('resync')[0]?.message).toMatch(/re-list .* found changes the watch had not delivered/);
    await provider.close();
    client.close();
  });

  it('a watch cancelled for compaction lists again instead of resuming', async () => {
    const client = new Etcd3({ hosts: etcd.endpoints });
    clients.push(client);
    const svc = unique('svc');
    const first = instance(svc);
    await etcd.etcdctl(['put', `/services/${svc}/${first.id}`, value(first)]);
    const status = JSON.parse(await etcd.etcdctl(['endpoint', 'status', '--write-out=json'])) as Array<{ Status: { header: { revision: number } } }>;
    const oldRevision = status[0]!.Status.header.revision;
    await etcd.etcdctl(['put', `/services/${svc}/${first.id}`, value({ ...first, port: 9001 })]);
    await etcd.etcdctl(['compact', String(oldRevision + 1)]);
    // The provider's first watch starts at a compacted revision, as after a long disconnect.
    let forced = false;
    const realWatch = client.watch.bind(client);
    client.watch = (): WatchBuilder => {
      const builder = realWatch();
      const start = builder.startRevision.bind(builder);
      builder.startRevision = (revision: string) => {
        if (forced) return start(revision);
        forced = true;
        return start(String(oldRevision));
      };
      return builder;
    };
    const provider = open({ client });
    const log = eventLog();
    provider.onEvent(log.listener);
    const recorder = new Recorder();
    provider.watch(svc, recorder.listener);
    await recorder.until((s) => s.length === 1 && s[0]!.port === 9001, 'the listed state');
    await waitFor(() => log.of('resync').length === 1, { what: 'the compaction cancel to be handled' });
    expect(log.of('resync')[0]!.message).toMatch(/watch position .* is gone/);
    const second = instance(svc);
    await etcd.etcdctl(['put', `/services/${svc}/${second.id}`, value(second)]);
    await recorder.until((s) => s.length === 2, 'a change after the new watch started');
    await provider.close();
    client.close();
  });

  it('a listener that throws does not stop the others', async () => {
    const provider = open();
    const svc = unique('svc');
    const recorder = new Recorder();
    provider.watch(svc, () => {
      throw new Error('listener bug');
    });
    provider.watch(svc, recorder.listener);
    await provider.register(instance(svc));
    await recorder.until((s) => s.length === 1, 'the add despite the throwing listener');
  });

  it('a listener unsubscribed by another during a broadcast does not get that broadcast', async () => {
    const provider = open();
    const svc = unique('svc');
    const first = new Recorder();
    const second = new Recorder();
    // Both join before the first list answers, so both hear the same broadcast.
    provider.watch(svc, (event) => {
      first.listener(event);
      stopSecond();
    });
    const stopSecond = provider.watch(svc, second.listener);
    await first.until((s) => s.length === 0, 'the first snapshot');
    await provider.register(instance(svc));
    await first.until((s) => s.length === 1, 'the add');
    expect(second.events).toEqual([]);
  });
});

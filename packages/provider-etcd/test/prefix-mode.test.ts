import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdCluster, waitFor } from '@disco/testing';
import { createDiscovery } from '@disco/core';
import { Etcd3, type WatchBuilder } from 'etcd3';
import { etcdProvider, type EtcdProvider } from '../src/index.ts';
import { eventLog, Recorder, serverCounters, silentWatchClient, unique } from './helpers.ts';

let etcd: EtcdCluster;
let writer: Etcd3;
const providers: EtcdProvider[] = [];
beforeAll(async () => {
  etcd = await EtcdCluster.start();
  writer = new Etcd3({ hosts: etcd.endpoints });
});
afterAll(async () => {
  await Promise.all(providers.map((p) => p.close()));
  writer?.close();
  await etcd?.stop();
});

const atServer = () => serverCounters(etcd.member(0).clientUrl);

const record = (name: string, id: string, port: number) => JSON.stringify({ v: 1, id, name, address: '127.0.0.1', port, healthy: true });

/** `services` names with `each` instances under `prefix`, written in parallel batches. */
async function populate(prefix: string, services: readonly string[], each: number): Promise<void> {
  const puts = services.flatMap((name) => Array.from({ length: each }, (_, i) => () => writer.put(`${prefix}${name}/i${i}`).value(record(name, `i${i}`, 1000 + i)).exec()));
  for (let i = 0; i < puts.length; i += 200) await Promise.all(puts.slice(i, i + 200).map((put) => put()));
}

/** One recorder per name, each watching it through `p`. */
function watchAll(p: EtcdProvider, names: readonly string[]): Recorder[] {
  return names.map((name) => {
    const recorder = new Recorder();
    p.watch(name, recorder.listener);
    return recorder;
  });
}

function provider(prefix: string, options: Parameters<typeof etcdProvider>[0] = {}): EtcdProvider {
  const p = etcdProvider({ endpoints: etcd.endpoints, prefix, backoff: { initial: 50, max: 500 }, ...options }, { env: {} });
  providers.push(p);
  return p;
}

describe('prefix mode', () => {
  it('200 watched services (threshold 50): one range and one watcher at the server, each service sees only its own changes', async () => {
    const prefix = `/${unique('pm')}/`;
    const names = Array.from({ length: 200 }, (_, i) => `svc${String(i).padStart(3, '0')}`);
    await populate(prefix, names, 5);
    const p = provider(prefix);
    const before = await atServer();
    const recorders = watchAll(p, names);
    await waitFor(() => recorders.every((r) => r.last()?.length === 5), { timeoutMs: 10_000, what: 'every service to have its 5 instances' });
    await waitFor(async () => (await atServer()).watchers > before.watchers, { what: 'the shared watch to be created' });
    await new Promise((r) => setTimeout(r, 200)); // time for any further range or watch to show
    const after = await atServer();
    console.log(`200 services × 5 instances, prefix mode: ${after.ranges - before.ranges} Range request(s) and ${after.watchers - before.watchers} watcher(s) at the server`);
    expect(after.ranges - before.ranges).toBe(1);
    expect(after.watchers - before.watchers).toBe(1);

    const seen = recorders.map((r) => r.events.length);
    await writer.put(`${prefix}svc007/i9`).value(record('svc007', 'i9', 9)).exec();
    await writer.delete().key(`${prefix}svc123/i0`).exec();
    await recorders[7]!.until((s) => s.length === 6, 'svc007 to gain i9');
    await recorders[123]!.until((s) => s.length === 4 && !s.some((i) => i.id === 'i0'), 'svc123 to lose i0');
    // Nobody else heard a thing.
    expect(recorders.filter((r, i) => r.events.length !== seen[i]).length).toBe(2);
    expect(recorders.every((r) => r.errors().length === 0)).toBe(true);
  });

  it('below the threshold: a range and a watcher per service, as before', async () => {
    const prefix = `/${unique('pm')}/`;
    const names = ['a', 'b', 'c'];
    await populate(prefix, names, 2);
    const p = provider(prefix);
    const before = await atServer();
    const recorders = watchAll(p, names);
    await waitFor(() => recorders.every((r) => r.last()?.length === 2), { what: 'every service to have its instances' });
    // Watches are created after the lists answered: wait for them, then count.
    await waitFor(async () => (await atServer()).watchers - before.watchers >= 3, { what: 'the watchers to be created' });
    await new Promise((r) => setTimeout(r, 200));
    const after = await atServer();
    expect(after.ranges - before.ranges).toBe(3);
    expect(after.watchers - before.watchers).toBe(3);
  });

  it('services nobody watches are never parsed; a service watched later is loaded by its own range and follows the shared watch', async () => {
    const prefix = `/${unique('pm')}/`;
    await populate(prefix, ['watched-1', 'watched-2', 'later'], 3);
    // Garbage under a service nobody watches: were it parsed, it would be reported.
    await writer.put(`${prefix}nobody/x`).value('{not json').exec();
    const p = provider(prefix, { prefixMode: 'always' });
    const log = eventLog();
    p.onEvent(log.listener);
    const first = new Recorder();
    const second = new Recorder();
    p.watch('watched-1', first.listener);
    p.watch('watched-2', second.listener);
    await first.until((s) => s.length === 3, 'watched-1');
    await second.until((s) => s.length === 3, 'watched-2');
    const before = await atServer();
    const later = new Recorder();
    p.watch('later', later.listener);
    await later.until((s) => s.length === 3, 'the service watched later');
    await new Promise((r) => setTimeout(r, 200)); // time for any further range or watch to show
    const after = await atServer();
    expect(after.ranges - before.ranges).toBe(1); // its own range
    expect(after.watchers - before.watchers).toBe(0); // the shared watch
    await writer.put(`${prefix}later/new`).value(record('later', 'new', 7)).exec();
    await writer.put(`${prefix}nobody/y`).value('{still not json').exec();
    await later.until((s) => s.length === 4, 'a change to the service watched later');
    expect(log.of('invalid-record')).toEqual([]);
  });

  it('services that start watching while writes stream in (cold range, then ranges of their own) end on exactly what etcd holds', async () => {
    const prefix = `/${unique('pm')}/`;
    const names = Array.from({ length: 60 }, (_, i) => `s${i}`);
    await populate(prefix, names, 2);
    const p = provider(prefix, { prefixMode: 'always' });
    let writing = true;
    let writes = 0;
    // Writes to every service, puts and deletes, while watches start and their ranges are in flight.
    const writer_ = (async () => {
      for (let i = 0; writing && i < 5_000; i++) {
        const name = names[i % names.length]!;
        const id = `w${i % 3}`;
        if (i % 4 === 3) await writer.delete().key(`${prefix}${name}/${id}`).exec();
        else await writer.put(`${prefix}${name}/${id}`).value(record(name, id, 3000 + i)).exec();
        writes++;
      }
    })();
    const first = watchAll(p, names.slice(0, 40)); // one range over the prefix
    await new Promise((r) => setTimeout(r, 50));
    const later = watchAll(p, names.slice(40)); // loaded after the feed synced, by ranges of their own
    await waitFor(() => [...first, ...later].every((r) => r.last() !== undefined), { what: 'every service to have a snapshot' });
    await new Promise((r) => setTimeout(r, 300));
    writing = false;
    await writer_;
    const truth = async (name: string) =>
      (await writer.getAll().prefix(`${prefix}${name}/`).strings().then((kv) => Object.keys(kv).map((k) => `${k.slice(prefix.length + name.length + 1)}:${(JSON.parse(kv[k]!) as { port: number }).port}`))).sort();
    const recorders = [...first, ...later];
    await waitFor(
      async () => {
        for (let i = 0; i < names.length; i++) {
          const seen = (recorders[i]!.last() ?? []).map((x) => `${x.id}:${x.port}`).sort();
          if (seen.join() !== (await truth(names[i]!)).join()) return false;
        }
        return true;
      },
      { timeoutMs: 10_000, intervalMs: 200, what: 'every service to hold what etcd holds' },
    );
    expect(writes).toBeGreaterThan(50);
    expect(recorders.every((r) => r.errors().length === 0)).toBe(true);
  });

  it('a change that arrives through the shared watch while a service’s own range is in flight is not lost', async () => {
    const prefix = `/${unique('pm')}/`;
    await populate(prefix, ['a', 'b'], 1);
    const client = new Etcd3({ hosts: etcd.endpoints });
    const kv = client.kv as unknown as { range: (...args: unknown[]) => Promise<unknown> };
    const realRange = kv.range.bind(kv);
    // b's own range: once etcd answered it, b changes, and the answer is held until the shared watch has delivered that change.
    kv.range = async (...args: unknown[]) => {
      const answer = await realRange(...args);
      if ((args[0] as { key?: Buffer }).key?.toString() === `${prefix}b/`) {
        await writer.put(`${prefix}b/late`).value(record('b', 'late', 77)).exec();
        await new Promise((r) => setTimeout(r, 300));
      }
      return answer;
    };
    const p = etcdProvider({ client, prefix, prefixMode: 'always' }, { env: {} });
    try {
      const a = new Recorder();
      p.watch('a', a.listener);
      await a.until((x) => x.length === 1, 'a (the feed synced, its watch running)');
      const b = new Recorder();
      p.watch('b', b.listener);
      await b.until((x) => x.map((i) => i.id).join() === 'i0,late', 'b with the change made while its range was in flight');
    } finally {
      await p.close();
      client.close();
    }
  });

  it('the engine rules hold per service: an outage is one error per subscriber, recovery is delivered, and nothing is lost', async () => {
    const prefix = `/${unique('pm')}/`;
    const names = ['x', 'y', 'z'];
    await populate(prefix, names, 2);
    const p = provider(prefix, { prefixMode: 'always', requestTimeout: '1s' });
    const recorders = watchAll(p, names);
    await waitFor(() => recorders.every((r) => r.last()?.length === 2), { what: 'the first snapshots' });
    await etcd.stopMember(0);
    await waitFor(() => recorders.every((r) => r.errors().length > 0), { timeoutMs: 10_000, what: 'every subscriber to hear of the outage' });
    await new Promise((r) => setTimeout(r, 2_000)); // retries meanwhile
    await etcd.restartMember(0);
    await writer.put(`${prefix}y/new`).value(record('y', 'new', 5)).exec();
    await recorders[1]!.until((s) => s.length === 3, 'the change made after the restart', 15_000);
    // Recovery delivers a snapshot after the error to every subscriber, even where nothing changed.
    const recovered = (r: Recorder) => r.events.slice(r.events.findIndex((e) => 'error' in e) + 1).some((e) => 'instances' in e);
    await waitFor(() => recorders.every(recovered), { timeoutMs: 5_000, what: 'every service to deliver its recovery' });
    for (const r of recorders) expect(r.errors()).toHaveLength(1); // one error per outage, not one per retry
    expect(recorders[0]!.last()!.length).toBe(2);
  }, 40_000);

  it('a shared watch etcd cancels (compacted start revision) makes every service list again, with nothing lost', async () => {
    const prefix = `/${unique('pm')}/`;
    await populate(prefix, ['p', 'q'], 1);
    const status = JSON.parse(await etcd.etcdctl(['endpoint', 'status', '--write-out=json'])) as Array<{ Status: { header: { revision: number } } }>;
    const compacted = status[0]!.Status.header.revision;
    await writer.put(`${prefix}p/i1`).value(record('p', 'i1', 2)).exec();
    await etcd.etcdctl(['compact', String(compacted + 1)]);
    // The first shared watch starts at a compacted revision: etcd cancels it as soon as it is created.
    const client = new Etcd3({ hosts: etcd.endpoints });
    const realWatch = client.watch.bind(client);
    let watches = 0;
    client.watch = (): WatchBuilder => {
      const builder = realWatch();
      const start = builder.startRevision.bind(builder);
      builder.startRevision = (revision: string) => start(watches++ === 0 ? String(compacted) : revision);
      return builder;
    };
    const p = etcdProvider({ client, prefix, prefixMode: 'always', backoff: { initial: 50, max: 500 } }, { env: {} });
    const log = eventLog();
    p.onEvent(log.listener);
    try {
      const rp = new Recorder();
      const rq = new Recorder();
      p.watch('p', rp.listener);
      p.watch('q', rq.listener);
      await waitFor(() => watches >= 2, { what: 'the feed to watch again after the cancel' });
      await writer.put(`${prefix}q/i1`).value(record('q', 'i1', 3)).exec();
      await rq.until((s) => s.length === 2, 'the change after the re-list');
      expect(rp.last()?.map((i) => i.id)).toEqual(['i0', 'i1']);
      expect(log.of('resync').length).toBeGreaterThan(0);
      expect([...rp.errors(), ...rq.errors()]).toEqual([]);
    } finally {
      await p.close();
      client.close();
    }
  });

  it("the feed's periodic re-list corrects a service whose shared watch went silent, reported once as a resync", async () => {
    const prefix = `/${unique('pm')}/`;
    await populate(prefix, ['s'], 1);
    // A watch that connects but never delivers: only the feed's re-list can see the change.
    const client = silentWatchClient(etcd.endpoints);
    const p = etcdProvider({ client, prefix, prefixMode: 'always', resyncInterval: '300ms' }, { env: {} });
    const log = eventLog();
    p.onEvent(log.listener);
    try {
      const r = new Recorder();
      p.watch('s', r.listener);
      await r.until((s) => s.length === 1, 'the first snapshot');
      await writer.put(`${prefix}s/late`).value(record('s', 'late', 7)).exec();
      await r.until((s) => s.length === 2, 'the change through the re-list', 3_000);
      await new Promise((resolve) => setTimeout(resolve, 700)); // two more re-lists, which find nothing new
      expect(log.of('resync').map((e) => [e.service, e.message])).toEqual([['s', expect.stringMatching(/re-list .* found changes the watch had not delivered/)]]);
      expect(r.errors()).toEqual([]);
    } finally {
      await p.close();
      client.close();
    }
  });

  it('one service followed by two engines (a Discovery and the provider itself): both see every change, and either may leave', async () => {
    const prefix = `/${unique('pm')}/`;
    await populate(prefix, ['d'], 2);
    const p = provider(prefix, { prefixMode: 'always' });
    const direct = new Recorder();
    const stopDirect = p.watch('d', direct.listener);
    await direct.until((s) => s.length === 2, 'the provider watch');
    const discovery = createDiscovery({ provider: p });
    try {
      const viaDiscovery = new Recorder();
      const stopDiscovery = discovery.watch('d', viaDiscovery.listener, { healthyOnly: false });
      // Listed while the other engine follows: the feed keeps no copy then, so it ranges the name.
      await viaDiscovery.until((s) => s.length === 2, 'the Discovery watch');
      await writer.put(`${prefix}d/i2`).value(record('d', 'i2', 1002)).exec();
      await Promise.all([direct.until((s) => s.length === 3, 'the add, directly'), viaDiscovery.until((s) => s.length === 3, 'the add, through the Discovery')]);
      stopDirect();
      await writer.delete().key(`${prefix}d/i0`).exec();
      await viaDiscovery.until((s) => s.length === 2 && !s.some((i) => i.id === 'i0'), 'the removal after the other engine left');
      stopDiscovery();
      // Nobody follows it now; watched again, it is listed afresh.
      const again = new Recorder();
      p.watch('d', again.listener);
      await again.until((s) => s.map((i) => i.id).join() === 'i1,i2', 'the state when watched again');
      expect([...direct.errors(), ...viaDiscovery.errors(), ...again.errors()]).toEqual([]);
    } finally {
      await discovery.close();
    }
  });
});

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Instance } from '@disco/core';
import { EtcdCluster, waitFor } from '@disco/testing';
import { etcdProvider, type EtcdProvider } from '../src/index.ts';
import { eventLog, memberWithWatcher, Recorder, unique } from './helpers.ts';

const writer = fileURLToPath(new URL('./fixtures/writer.ts', import.meta.url));
let etcd: EtcdCluster;
const providers: EtcdProvider[] = [];

beforeAll(async () => {
  etcd = await EtcdCluster.start({ members: 3 });
}, 60_000);
afterAll(async () => {
  await Promise.all(providers.map((p) => p.close()));
  await etcd?.stop();
});

/** `etcdctl get --prefix`, as `id:port` strings. */
async function truth(prefix: string): Promise<string[]> {
  const out = JSON.parse(await etcd.etcdctl(['get', '--prefix', prefix, '--write-out=json'])) as { kvs?: Array<{ value: string }> };
  return (out.kvs ?? []).map((kv) => JSON.parse(Buffer.from(kv.value, 'base64').toString()) as { id: string; port: number }).map((r) => `${r.id}:${r.port}`).sort();
}
const view = (instances: readonly Instance[] | undefined) => (instances ?? []).map((i) => `${i.id}:${i.port}`).sort();

describe('etcd provider on a three-member cluster', () => {
  it('keeps up with 500 changes while the watched member, then the leader, are killed', async () => {
    const provider = etcdProvider({ endpoints: etcd.endpoints, backoff: { initial: 50, max: 1_000 } });
    providers.push(provider);
    const log = eventLog();
    provider.onEvent(log.listener);
    const svc = unique('churn');
    const recorder = new Recorder();
    provider.watch(svc, recorder.listener);
    await recorder.until(() => true, 'the first snapshot');
    await waitFor(async () => (await memberWithWatcher(etcd)) >= 0, { what: 'the watch to reach a member' });

    const child = spawn(process.execPath, [writer, svc, '500'], { env: { ...process.env, ETCD_ENDPOINTS: etcd.endpoints.join(',') }, stdio: ['ignore', 'pipe', 'inherit'] });
    let progress = 0;
    let done = false;
    child.stdout.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) {
        if (line.startsWith('progress ')) progress = Number(line.slice(9));
        if (line === 'done') done = true;
      }
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));

    // 1. Kill the member the watch is connected to.
    await waitFor(() => progress >= 100, { timeoutMs: 20_000, what: 'the writer to make 100 changes' });
    const watched = await memberWithWatcher(etcd);
    expect(watched).toBeGreaterThanOrEqual(0);
    const reconnectsBefore = log.of('reconnected').length;
    const killedWatched = performance.now();
    await etcd.crashMember(watched);
    await waitFor(() => log.of('reconnected').length > reconnectsBefore, { timeoutMs: 10_000, what: 'the watch to reconnect to another member' });
    const recoveredWatched = performance.now() - killedWatched;
    expect(recorder.errors().length).toBeGreaterThan(0); // listeners were told they might be stale
    await etcd.restartMember(watched);

    // 2. Kill the leader (whichever member that is now).
    await waitFor(() => progress >= 300, { timeoutMs: 30_000, what: 'the writer to make 300 changes' });
    const leader = await etcd.awaitLeader();
    const seenBefore = recorder.events.length;
    const killedLeader = performance.now();
    await etcd.crashMember(leader);
    await waitFor(() => recorder.events.slice(seenBefore).some((e) => 'instances' in e), { timeoutMs: 15_000, what: 'a change to arrive after the leader died' });
    const recoveredLeader = performance.now() - killedLeader;

    expect(await exited).toBe(0);
    expect(done).toBe(true);
    const expected = await truth(`/services/${svc}/`);
    expect(expected.length).toBeGreaterThan(0);
    await waitFor(() => view(recorder.last()).join() === expected.join(), { timeoutMs: 10_000, what: 'the watcher to hold what etcd holds' }).catch(() => {
      expect(view(recorder.last())).toEqual(expected);
    });
    console.log(
      `500 changes; recovery after killing the watched member m${watched}: ${recoveredWatched.toFixed(0)} ms (to "reconnected"); ` +
        `after killing the leader m${leader}: ${recoveredLeader.toFixed(0)} ms (to the next change delivered); final state = etcdctl get --prefix (${expected.length} keys)`,
    );
    await etcd.restartMember(leader);
    await provider.close();
  }, 90_000);

  it('recovers the true state after a compaction while it was disconnected', async () => {
    const member = etcd.member(0);
    const provider = etcdProvider({ endpoints: [member.clientUrl], backoff: { initial: 50, max: 500 } });
    providers.push(provider);
    const svc = unique('compact');
    const put = (id: string, port: number, via: string[]) =>
      etcd.etcdctl(['put', `/services/${svc}/${id}`, JSON.stringify({ v: 1, id, name: svc, address: '127.0.0.1', port, healthy: true })], { endpoints: via });
    const others = etcd.members.filter((m) => m !== member).map((m) => m.clientUrl);
    await put('a', 1, others);
    await put('b', 2, others);
    const recorder = new Recorder();
    provider.watch(svc, recorder.listener);
    await recorder.until((s) => s.length === 2, 'the first snapshot');

    await etcd.stopMember(0);
    await waitFor(() => recorder.errors().length > 0, { what: 'the watch to report the disconnect' });
    expect(view(recorder.last())).toEqual(['a:1', 'b:2']); // the last snapshot is kept
    await put('a', 11, others);
    await etcd.etcdctl(['del', `/services/${svc}/b`], { endpoints: others });
    await put('c', 3, others);
    const status = JSON.parse(await etcd.etcdctl(['endpoint', 'status', '--write-out=json'], { endpoints: others })) as Array<{ Status: { header: { revision: number } } }>;
    await etcd.etcdctl(['compact', String(status[0]!.Status.header.revision)], { endpoints: others });

    await etcd.restartMember(0);
    await recorder.until((s) => view(s).join() === ['a:11', 'c:3'].join(), 'the true state after the restart', 15_000);
    expect(await truth(`/services/${svc}/`)).toEqual(['a:11', 'c:3']);
    await provider.close();
  }, 60_000);

  it('a frozen member (SIGSTOP) does not freeze the view: the re-list catches what its watch stream hides', async () => {
    const provider = etcdProvider({ endpoints: etcd.endpoints, resyncInterval: '1s', requestTimeout: '1s', backoff: { initial: 50, max: 500 } });
    providers.push(provider);
    const log = eventLog();
    provider.onEvent(log.listener);
    const svc = unique('frozen');
    const recorder = new Recorder();
    provider.watch(svc, recorder.listener);
    await recorder.until((s) => s.length === 0, 'the first snapshot');
    await waitFor(async () => (await memberWithWatcher(etcd)) >= 0, { what: 'the watch to reach a member' });
    const frozen = await memberWithWatcher(etcd);
    const others = etcd.members.filter((_, i) => i !== frozen).map((m) => m.clientUrl);
    etcd.member(frozen).process.signal('SIGSTOP');
    try {
      const frozenAt = performance.now();
      // If the frozen member led, the others elect a new leader first: retry the put until it is taken.
      const value = JSON.stringify({ v: 1, id: 'x', name: svc, address: '127.0.0.1', port: 5, healthy: true });
      await waitFor(async () => Boolean(await etcd.etcdctl(['put', `/services/${svc}/x`, value], { endpoints: others })), { timeoutMs: 20_000, intervalMs: 200, what: 'the put to be accepted' });
      await recorder.until((s) => s.length === 1, 'the change made while the watched member is frozen', 10_000);
      console.log(`watched member m${frozen} frozen: change seen after ${(performance.now() - frozenAt).toFixed(0)} ms (events: ${[...new Set(log.events.map((e) => e.type))].join(', ')})`);
      expect(log.of('resync').length + log.of('reconnected').length).toBeGreaterThan(0);
    } finally {
      etcd.member(frozen).process.signal('SIGCONT');
    }
    await provider.close();
  }, 60_000);
});

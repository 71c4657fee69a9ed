import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Instance } from '@disco/core';
import { EtcdCluster, waitFor } from '@disco/testing';
import { etcdProvider, type EtcdProvider, type EtcdProviderOptions } from '../src/index.ts';
import { eventLog, memberWithWatcher, Recorder, unique } from './helpers.ts';

// A member cut off from its peers (TCP proxies between the members; clients still reach it)
// while it serves the watch and a writer keeps changing the service. The watch must move to a
// member with quorum within two election timeouts plus the backoff, and end on etcd's state.
// DISCO_ETCD_TEST_FIX=off runs it without the fix (no member checks, no hasleader): it fails.
// DISCO_ETCD_TEST_FIX=hasleader runs it with hasleader alone.

const electionMs = 1_000; // etcd's default --election-timeout (heartbeat 100 ms)
const backoff = { initial: 50, max: 500 };
const fix = process.env.DISCO_ETCD_TEST_FIX ?? 'on';
const fixOptions: EtcdProviderOptions =
  fix === 'off' ? { memberCheckInterval: 0, requireLeader: false } : fix === 'hasleader' ? { memberCheckInterval: 0, requireLeader: true } : { memberCheckInterval: '500ms' };

const writer = fileURLToPath(new URL('./fixtures/writer.ts', import.meta.url));
let etcd: EtcdCluster;
const providers: EtcdProvider[] = [];

beforeAll(async () => {
  etcd = await EtcdCluster.start({ members: 3, partitionable: true, extraArgs: [`--election-timeout=${electionMs}`, '--heartbeat-interval=100'] });
}, 60_000);
afterAll(async () => {
  etcd?.heal();
  await Promise.all(providers.map((p) => p.close()));
  await etcd?.stop();
});

/** A linearizable `etcdctl get --prefix` on the given members, as sorted `id:port` strings. */
async function truth(prefix: string, endpoints: readonly string[]): Promise<string[]> {
  const out = JSON.parse(await etcd.etcdctl(['get', '--prefix', prefix, '--write-out=json', '--consistency=l'], { endpoints })) as { kvs?: Array<{ value: string }> };
  return (out.kvs ?? []).map((kv) => JSON.parse(Buffer.from(kv.value, 'base64').toString()) as { id: string; port: number }).map((r) => `${r.id}:${r.port}`).sort();
}
const view = (instances: readonly Instance[] | undefined) => (instances ?? []).map((i) => `${i.id}:${i.port}`).sort();

describe(`a partitioned member (fix: ${fix})`, () => {
  it('the watch moves off the member cut from its quorum within two election timeouts plus the backoff, and ends on etcd’s state with nothing lost', async () => {
    const provider = etcdProvider({ endpoints: etcd.endpoints, backoff, requestTimeout: '2s', ...fixOptions }, { env: {} });
    providers.push(provider);
    const log = eventLog();
    provider.onEvent(log.listener);
    const svc = unique('part');
    const recorder = new Recorder();
    provider.watch(svc, recorder.listener);
    await recorder.until(() => true, 'the first snapshot');
    await waitFor(async () => (await memberWithWatcher(etcd)) >= 0, { what: 'the watch to reach a member' });
    const cut = await memberWithWatcher(etcd);
    const others = etcd.members.filter((_, i) => i !== cut).map((m) => m.clientUrl);

    // The writer talks only to the members that keep their quorum.
    const child = spawn(process.execPath, [writer, svc, '400'], { env: { ...process.env, ETCD_ENDPOINTS: others.join(',') }, stdio: ['ignore', 'pipe', 'inherit'] });
    let progress = 0;
    child.stdout.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) if (line.startsWith('progress ')) progress = Number(line.slice(9));
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      await waitFor(() => progress >= 50, { timeoutMs: 20_000, what: 'the writer to make 50 changes' });
      const role = (await etcd.leader()) === cut ? 'leader' : 'follower';
      const errorsBefore = recorder.errors().length;
      const partitionedAt = performance.now();
      etcd.partition(cut);
      // Moved: subscribers were told (one error), and the engine listed again on a member with quorum.
      await waitFor(() => recorder.errors().length > errorsBefore && log.of('reconnected').length > 0, { timeoutMs: 15_000, intervalMs: 20, what: 'the watch to move to a member with quorum' });
      const movedMs = performance.now() - partitionedAt;
      // The true state, once the writer is done: the view must reach it.
      expect(await exited).toBe(0);
      const expected = await truth(`/services/${svc}/`, others);
      await waitFor(() => view(recorder.last()).join() === expected.join(), { timeoutMs: 5_000, what: 'the watcher to hold what etcd holds' }).catch(() => {
        expect(view(recorder.last())).toEqual(expected);
      });
      const now = await memberWithWatcher(etcd);
      console.log(
        `partitioned the watched member m${cut} (${role}) during 400 writes: the watch moved to m${now} after ${movedMs.toFixed(0)} ms ` +
          `(bound: 2 × ${electionMs} ms election timeout + ${backoff.max} ms backoff = ${2 * electionMs + backoff.max} ms); ` +
          `final view = linearizable etcdctl get (${expected.length} keys); errors told: ${recorder.errors().length - errorsBefore}`,
      );
      expect(now).not.toBe(cut);
      expect(movedMs).toBeLessThanOrEqual(2 * electionMs + backoff.max);
      expect(expected.length).toBeGreaterThan(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      etcd.heal();
    }
  }, 60_000);
});

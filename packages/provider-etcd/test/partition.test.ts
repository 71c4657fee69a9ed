import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Instance } from '@disco/core';
import { EtcdCluster, waitFor } from '@disco/testing';
import { isDiscoveryError } from '@disco/core';
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
/** The leader id a member reports ('0': none), from the maintenance status API. */
async function leaderSeenBy(url: string): Promise<string> {
  // Member ids are 64-bit: read them as text (JSON.parse would round them).
  const out = await etcd.etcdctl(['endpoint', 'status', '--write-out=json', '--command-timeout=500ms'], { endpoints: [url] });
  return /"leader":(\d+)/.exec(out)![1]!;
}
async function memberId(index: number): Promise<string> {
  const out = await etcd.etcdctl(['endpoint', 'status', '--write-out=json'], { endpoints: [etcd.member(index).clientUrl] });
  return /"member_id":(\d+)/.exec(out)![1]!;
}
const view = (instances: readonly Instance[] | undefined) => (instances ?? []).map((i) => `${i.id}:${i.port}`).sort();

const cases = [
  ['never', 'follower'],
  ['never', 'leader'],
  ['always', 'follower'],
  ['always', 'leader'],
] as const;

describe.each(cases)(`a partitioned member (fix: ${fix}, prefixMode: %s, the cut member is the %s)`, (prefixMode, wantedRole) => {
  it('the watch moves off the member cut from its quorum within two election timeouts plus the backoff, and ends on etcd’s state with nothing lost', async () => {
    // The member serving our watch is found by its watcher gauge: no other watch may be left.
    await waitFor(async () => (await memberWithWatcher(etcd)) < 0, { what: 'the watches of earlier tests to be gone' });
    const provider = etcdProvider({ endpoints: etcd.endpoints, backoff, requestTimeout: '2s', prefixMode, ...fixOptions }, { env: {} });
    providers.push(provider);
    const log = eventLog();
    provider.onEvent(log.listener);
    const svc = unique('part');
    const recorder = new Recorder();
    provider.watch(svc, recorder.listener);
    // In prefix mode, services nobody writes to share the watch and must move too.
    const quiet = [new Recorder(), new Recorder()];
    quiet.forEach((r, i) => provider.watch(`${svc}-quiet${i}`, r.listener));
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
      // Make the member serving the watch the leader, or not, as this case wants.
      const leader = await etcd.leader();
      if ((leader === cut) !== (wantedRole === 'leader')) {
        const to = wantedRole === 'leader' ? cut : etcd.members.findIndex((_, i) => i !== cut && i !== leader);
        const transferee = BigInt(await memberId(to)).toString(16);
        // A member that just rejoined may not be caught up yet ("bad leader transferee"): try again.
        await waitFor(async () => Boolean(await etcd.etcdctl(['move-leader', transferee], { endpoints: [etcd.member(leader).clientUrl] })), { timeoutMs: 10_000, intervalMs: 200, what: `leadership to move to m${to}` });
      }
      const role = (await etcd.leader()) === cut ? 'leader' : 'follower';
      expect(role).toBe(wantedRole);
      const errorsBefore = recorder.errors().length;
      const cutId = await memberId(cut);
      const partitionedAt = performance.now();
      etcd.partition(cut);
      // When the cut member led, no member has a quorum until the others elect a leader: note when they do.
      let electedAt = role === 'leader' ? undefined : partitionedAt;
      const elected = (async () => {
        for (let i = 0; i < 400 && electedAt === undefined; i++) {
          const leaders = await Promise.all(others.map((url) => leaderSeenBy(url).catch(() => '0')));
          if (leaders.every((id) => id !== '0' && id !== cutId)) electedAt = performance.now();
          else await new Promise((r) => setTimeout(r, 25));
        }
      })();
      // Moved: subscribers were told (one error), and the engine listed again on a member with quorum.
      await waitFor(() => recorder.errors().length > errorsBefore && log.of('reconnected').some((e) => e.service === svc), { timeoutMs: 15_000, intervalMs: 20, what: 'the watch to move to a member with quorum' });
      const movedMs = performance.now() - partitionedAt;
      await elected;
      const quorumMs = (electedAt ?? Infinity) - partitionedAt;
      // The true state, once the writer is done: the view must reach it.
      expect(await exited).toBe(0);
      const expected = await truth(`/services/${svc}/`, others);
      await waitFor(() => view(recorder.last()).join() === expected.join(), { timeoutMs: 5_000, what: 'the watcher to hold what etcd holds' }).catch(() => {
        expect(view(recorder.last())).toEqual(expected);
      });
      const now = await memberWithWatcher(etcd);
      // Every watch moved, and none of them was told of more than one outage.
      await waitFor(() => quiet.every((r) => r.errors().length === 1 && r.last() !== undefined && 'instances' in r.events.at(-1)!), { timeoutMs: 5_000, what: 'the quiet services to recover too' }).catch(() => {
        expect(quiet.map((r) => r.events.map((e) => ('error' in e ? `error ${e.error.message}` : `${e.instances.length}`)))).toEqual('every quiet service recovered once');
      });
      console.log(
        `[prefixMode ${prefixMode}] partitioned the watched member m${cut} (${role}) during 400 writes: the watch moved to m${now} after ${movedMs.toFixed(0)} ms ` +
          `(the others had a leader after ${quorumMs.toFixed(0)} ms; bound: that + 2 × ${electionMs} ms election timeout + ${backoff.max} ms backoff); ` +
          `final view = linearizable etcdctl get (${expected.length} keys); errors told: ${recorder.errors().length - errorsBefore}`,
      );
      expect(now).not.toBe(cut);
      // From the partition when the cut member was a follower; from the new leader's election when it led.
      expect(movedMs - quorumMs).toBeLessThanOrEqual(2 * electionMs + backoff.max);
      expect(expected.length).toBeGreaterThan(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await provider.close();
      etcd.heal();
      // The cut member comes back with a higher term and forces an election: wait for the cluster to settle.
      await waitFor(
        async () => {
          for (const member of etcd.members) await etcd.etcdctl(['get', 'settled', '--consistency=l', '--command-timeout=1s'], { endpoints: [member.clientUrl] });
          return true;
        },
        { timeoutMs: 20_000, intervalMs: 200, what: 'every member to serve linearizable reads after the heal' },
      );
    }
  }, 60_000);
});

describe('hasleader metadata (requireLeader)', () => {
  it('a member that knows it has no leader refuses a read with it ("no leader"), and holds it until the deadline without it', async () => {
    await waitFor(async () => (await memberWithWatcher(etcd)) < 0, { what: 'the watches of earlier tests to be gone' });
    const cut = 0;
    etcd.partition(cut);
    try {
      const timed = async (requireLeader: boolean) => {
        const provider = etcdProvider({ endpoints: [etcd.member(cut).clientUrl], requestTimeout: '2s', requireLeader, memberCheckInterval: 0 }, { env: {} });
        providers.push(provider);
        const started = performance.now();
        const error = await provider.discover('anything').then(() => undefined, (e: unknown) => e);
        const ms = performance.now() - started;
        await provider.close();
        return { ms, error: error as Error & { code?: string } };
      };
      // Once the cut member notices it has no leader (an election timeout or two), hasleader reads are refused.
      let withIt = await timed(true);
      for (let attempt = 0; attempt < 30 && !withIt.error?.message.includes('no leader'); attempt++) withIt = await timed(true);
      withIt = await timed(true); // now surely without a leader: no read can have been taken before it noticed
      const without = await timed(false);
      console.log(`a read on a member without a leader: with hasleader refused after ${withIt.ms.toFixed(0)} ms (${withIt.error.message}); without it failed after ${without.ms.toFixed(0)} ms (${without.error.code})`);
      expect(isDiscoveryError(withIt.error, 'ERR_PROVIDER_UNAVAILABLE')).toBe(true);
      expect(withIt.error.message).toContain('no leader');
      // Without the metadata the member takes the read and holds it until the 2 s deadline (etcd3 tries it 3 times).
      expect(without.error.code).toBe('ERR_TIMEOUT');
      expect(without.ms).toBeGreaterThanOrEqual(1_900);
      expect(withIt.ms).toBeLessThan(500);
    } finally {
      etcd.heal();
    }
  }, 40_000);
});

// pnpm bench: core's hot paths against the honest floor, measured in the same run.
// - handle.pick() against `arr[i++ % n]` over a plain (unfrozen) array;
// - resolve() against awaiting an array read;
// - one change at 10,000 instances through discovery.watch against copying the array;
// - importing @disco/core against starting node with nothing to import.
import { createDiscovery, createInstance, staticProvider, type Instance } from '@disco/core';
import type { FollowSink, ServiceSource } from '@disco/core/provider';
import { measure, measureAsync, printComparison } from '@disco/testing';
import { spawnSync } from 'node:child_process';

for (const n of [3, 100, 10_000]) {
  const provider = staticProvider({ services: { svc: Array.from({ length: n }, (_, i) => ({ address: '10.0.0.1', port: 1024 + i })) } });
  const discovery = createDiscovery({ provider });
  const handle = discovery.service('svc');
  await handle.ready;
  // The floor: a plain array built by the caller, as Moleculer's or any hand-written balancer would loop over.
  const plain: Instance[] = Array.from(handle.instances);
  let sink: Instance | undefined;
  let i = 0;
  const bare = measure('bare loop plain[i++ % n]', (k) => {
    for (let j = 0; j < k; j++) sink = plain[i++ % n];
  });
  const pick = measure('handle.pick()', (k) => {
    for (let j = 0; j < k; j++) sink = handle.pick();
  });
  printComparison(`pick, ${n} instances`, bare, [pick]);
  await discovery.resolve('svc');
  const awaited = await measureAsync('await Promise.resolve(plain[i++ % n])', () => Promise.resolve(plain[i++ % n]));
  const resolve = await measureAsync('await discovery.resolve()', () => discovery.resolve('svc'));
  printComparison(`resolve, ${n} instances`, awaited, [resolve]);
  if (sink === undefined) throw new Error('no pick');
  handle.close();
  await discovery.close();
}

// One change in a 10,000-instance service, from the source's sink to the subscriber of
// discovery.watch (what a provider's watch event costs in core), against the floor of any
// immutable snapshot update: copying the array once.
{
  const make = (i: number, weight = 1) => createInstance({ id: `i${String(i).padStart(5, '0')}`, name: 'svc', address: '10.0.0.1', port: 1024 + (i % 60_000), weight, metadata: { zone: 'a' } });
  const initial = Array.from({ length: 10_000 }, (_, i) => make(i));
  let sink: FollowSink | undefined;
  const source: ServiceSource = {
    list: async () => ({ instances: initial, position: 1 }),
    follow: (_p, s, signal) =>
      new Promise((resolve) => {
        sink = s;
        signal.addEventListener('abort', () => resolve('ended'));
      }),
  };
  const discovery = createDiscovery({
    provider: { name: 'bench', capabilities: { register: false, watch: true, serverHealthChecks: true }, register: async () => {}, deregister: async () => {}, discover: async () => [], watch: () => () => {}, source: () => source, close: async () => {} },
  });
  let delivered: readonly Instance[] = [];
  discovery.watch('svc', (event) => {
    if ('instances' in event) delivered = event.instances;
  });
  while (!sink || delivered.length !== 10_000) await new Promise((r) => setTimeout(r, 5));
  const changed = [make(5_000, 2), make(5_000, 3)];
  let copySink: Instance[] = [];
  // Both sides end with one await: an upsert is published at the end of its turn (one snapshot per watch response).
  const copy = await measureAsync('copy a 10,000 array (floor)', async () => {
    copySink = initial.slice();
    await null;
  });
  let flip = 0;
  const change = await measureAsync('sink.upsert → discovery.watch listener', async () => {
    sink!.upsert(changed[flip++ & 1]!);
    await null;
  });
  // The last change must have reached the listener: weights alternate 2, 3, 2, … with each upsert.
  if (delivered.find((i) => i.id === 'i05000')?.weight !== (flip & 1 ? 2 : 3)) throw new Error('the last change did not reach the listener');
  printComparison('one change at 10,000 instances, through discovery.watch', copy, [change]);
  console.log(`  ${(1000 / change.opsPerSec).toFixed(3)} ms of CPU per change`);
  if (copySink.length !== 10_000 || delivered.length !== 10_000) throw new Error('bad snapshot');
  await discovery.close();
}

// Diagnostics channels cost nothing unobserved: acquire/release with nobody subscribed against
// the floor of any lease — a pick, a clock read and one small object — then with a subscriber
// on disco:call:start and disco:call:end (measured last: once a channel has had subscribers,
// V8 keeps the publishing path compiled in).
{
  const { subscribe, unsubscribe } = await import('node:diagnostics_channel');
  const provider = staticProvider({ services: { svc: Array.from({ length: 100 }, (_, i) => ({ address: '10.0.0.1', port: 1024 + i })) } });
  const discovery = createDiscovery({ provider });
  const handle = discovery.service('svc');
  await handle.ready;
  let leases = 0;
  const byHand = measure('floor: pick + clock read + an object', (k) => {
    for (let j = 0; j < k; j++) {
      const lease = { instance: handle.pick(), started: performance.now() };
      if (lease.instance) leases++;
    }
  });
  const cycle = (k: number) => {
    for (let j = 0; j < k; j++) handle.acquire().release();
  };
  const quiet = measure('acquire/release, no subscriber', cycle);
  let seen = 0;
  const onCall = () => void seen++;
  subscribe('disco:call:start', onCall);
  subscribe('disco:call:end', onCall);
  const observed = measure('acquire/release, subscribed', cycle);
  unsubscribe('disco:call:start', onCall);
  unsubscribe('disco:call:end', onCall);
  printComparison('diagnostics channels on the acquire path, 100 instances', byHand, [quiet, observed]);
  if (seen === 0 || leases === 0) throw new Error('the subscriber heard nothing');
  await discovery.close();
}

// Import time: node starting and importing @disco/core against node starting with an empty module.
{
  const median = (script: string) => {
    const times: number[] = [];
    for (let r = 0; r < 15; r++) {
      const started = performance.now();
      const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: import.meta.dirname, stdio: 'ignore' });
      if (run.status !== 0) throw new Error(`node -e ${script} failed`);
      times.push(performance.now() - started);
    }
    return times.sort((a, b) => a - b)[7]!;
  };
  const empty = median('');
  const core = median("await import('@disco/core')");
  console.log(`\nimport @disco/core\n  node with nothing     ${empty.toFixed(1)} ms  baseline\n  node + @disco/core    ${core.toFixed(1)} ms  ${(core / empty).toFixed(2)}× the baseline (+${(core - empty).toFixed(1)} ms)`);
}

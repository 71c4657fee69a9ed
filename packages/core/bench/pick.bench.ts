// pnpm bench: warm handle.pick() against the bare loop `arr[i++ % n]`, and resolve(), in one run.
import { createDiscovery, staticProvider, type Instance } from '@disco/core';
import { measure, measureAsync, printComparison } from '@disco/testing';

for (const n of [3, 100, 10_000]) {
  const provider = staticProvider({ services: { svc: Array.from({ length: n }, (_, i) => ({ address: '10.0.0.1', port: 1024 + i })) } });
  const discovery = createDiscovery({ provider });
  const handle = discovery.service('svc');
  await handle.ready;
  const arr: readonly Instance[] = handle.instances;
  let sink: Instance | undefined;
  let i = 0;
  const bare = measure('bare loop arr[i++ % n]', (k) => {
    for (let j = 0; j < k; j++) sink = arr[i++ % n];
  });
  const pick = measure('handle.pick()', (k) => {
    for (let j = 0; j < k; j++) sink = handle.pick();
  });
  const resolve = await measureAsync('await discovery.resolve()', () => discovery.resolve('svc'));
  printComparison(`${n} instances`, bare, [pick, resolve]);
  if (sink === undefined) throw new Error('no pick');
  handle.close();
  await discovery.close();
}

// Applying one change to a 10,000-instance service: reconcile() against copying the array,
// the least any immutable snapshot update must do.
{
  const { createInstance, reconcile } = await import('@disco/core');
  const make = (i: number, weight = 1) => createInstance({ id: `i${String(i).padStart(5, '0')}`, name: 'svc', address: '10.0.0.1', port: 1024 + (i % 60_000), weight, metadata: { zone: 'a' } });
  const current = reconcile(undefined, Array.from({ length: 10_000 }, (_, i) => make(i)));
  // A provider re-reads every record: fresh objects, one of them changed.
  const fresh = current.map((inst, i) => (i === 5_000 ? make(i, 2) : createInstance({ ...inst })));
  let sink: readonly Instance[] = current;
  const copy = measure('copy the array (floor)', (k) => {
    for (let j = 0; j < k; j++) sink = fresh.slice();
  }, { rounds: 5, ms: 100 });
  const apply = measure('reconcile(previous, fresh)', (k) => {
    for (let j = 0; j < k; j++) sink = reconcile(current, fresh);
  }, { rounds: 5, ms: 100 });
  printComparison('one change in a 10,000-instance service', copy, [apply]);
  console.log(`  reconcile: ${(1000 / apply.opsPerSec).toFixed(3)} ms per change`);
  if (sink.length !== 10_000) throw new Error('bad snapshot');
}

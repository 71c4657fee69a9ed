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

// Many services, few connections: the watched services of a namespace share one list + watch
// of its EndpointSlices (or pods), demultiplexed by service, once more than a threshold of
// them are watched; below it, each has its own watch. Connections are counted at the double.
import { isDiscoveryError, type ProviderEvent } from '@disco/core';
import { waitFor } from '@disco/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { kubernetesProvider } from '../src/index.js';
import { ids, Recorder, startDouble, type DoubleFixture } from './helpers.js';

let f: DoubleFixture | undefined;
afterEach(async () => {
  await f?.close();
  f = undefined;
});

const sliceWatches = (fixture: DoubleFixture) => fixture.double.requests.filter((r) => r.resource === 'endpointslices' && r.watch);
const sliceLists = (fixture: DoubleFixture) => fixture.double.requests.filter((r) => r.resource === 'endpointslices' && !r.watch && r.method === 'GET');

function services(fixture: DoubleFixture, count: number, prefix = 'svc') {
  for (let i = 0; i < count; i++) fixture.double.applyEndpointSlice({ name: `${prefix}-${i}`, service: `${prefix}-${i}`, endpoints: [{ address: `10.60.${i >> 8}.${i & 255}`, pod: `${prefix}-${i}-pod` }] });
}

describe('namespace watch', () => {
  it('60 watched services (threshold 5) share one list + watch: one connection held after sync, each service sees only its own objects, all closed after close()', async () => {
    f = await startDouble();
    services(f, 60);
    services(f, 40, 'unwatched');
    f.double.resetConnectionStats();
    const provider = f.provider({ namespaceWatchThreshold: 5, pageSize: 50 });
    const recorders = Array.from({ length: 60 }, () => new Recorder());
    const stops = recorders.map((r, i) => provider.watch(`svc-${i}`, r.listener));
    await waitFor(() => recorders.every((r, i) => ids(r.last()).join() === `svc-${i}-pod`), { what: 'every service in sync' });
    // The services are in sync as soon as the list is read; the watch starts after it, on a
    // connection of its own (the lists' are closed), so it may not be open yet: wait for it.
    await waitFor(() => f!.double.openWatches('endpointslices') === 1 && f!.double.connections.open === 1, { what: 'the shared watch open and the list connections closed' });
    expect(sliceWatches(f)).toHaveLength(1);
    expect(sliceWatches(f)[0]!.query.labelSelector).toBe('kubernetes.io/service-name');
    // One paged list of the namespace (100 slices, 50 a page), not one list per service.
    expect(sliceLists(f)).toHaveLength(2);
    // The pages are read one after another and each connection is closed once read; the server
    // may see the last one close a moment after the watch opened.
    expect(f.double.connections.peak).toBeLessThanOrEqual(3);

    f.double.applyEndpointSlice({ name: 'svc-7', service: 'svc-7', endpoints: [{ address: '10.61.0.1', pod: 'svc-7-new' }] });
    await recorders[7]!.until((instances) => ids(instances).join() === 'svc-7-new', 'the change of svc-7');
    expect(recorders[8]!.snapshots()).toHaveLength(1);
    // A slice whose service label changes leaves one service and joins the other.
    f.double.applyEndpointSlice({ name: 'svc-9', service: 'svc-10', endpoints: [{ address: '10.61.0.2', pod: 'moved' }] });
    await recorders[9]!.until((instances) => instances.length === 0, 'svc-9 to lose its slice');
    await recorders[10]!.until((instances) => ids(instances).join() === 'moved,svc-10-pod', 'svc-10 to gain it');
    f.double.delete('endpointslices', 'svc-11');
    await recorders[11]!.until((instances) => instances.length === 0, 'svc-11 to lose its slice');

    for (const stop of stops) stop();
    await provider.close();
    await waitFor(() => f!.double.connections.open === 0, { what: 'every connection closed after close()' });
  });

  it('moves running watches onto the shared one when the threshold is crossed, and back to one each below half of it', async () => {
    f = await startDouble();
    services(f, 6);
    const provider = f.provider({ namespaceWatchThreshold: 4 });
    const recorders = Array.from({ length: 6 }, () => new Recorder());
    const stops = recorders.slice(0, 3).map((r, i) => provider.watch(`svc-${i}`, r.listener));
    await waitFor(() => f!.double.openWatches() === 3 && recorders.slice(0, 3).every((r) => r.last()?.length === 1), { what: 'three watches of their own' });
    stops.push(...recorders.slice(3).map((r, i) => provider.watch(`svc-${i + 3}`, r.listener)));
    await waitFor(() => recorders.every((r) => r.last()?.length === 1), { what: 'all six in sync' });
    await waitFor(() => f!.double.openWatches() === 1, { what: 'one shared watch' });
    f.double.applyEndpointSlice({ name: 'svc-1', service: 'svc-1', endpoints: [{ address: '10.62.0.1', pod: 'after-switch' }] });
    await recorders[1]!.until((instances) => ids(instances).join() === 'after-switch', 'a change after the switch');
    // Down to two (no more than half of 4): each goes back to a watch of its own, with no gap.
    for (const stop of stops.slice(2)) stop();
    // The shared watch lingers (2 s) after its last member left while the two own watches open,
    // one after the other: two open watches may for a moment be the shared one and one own one.
    // Wait for the end state: the two own watches are the latest, and nothing else is open.
    const ownWatches = () => sliceWatches(f!).slice(-2).map((r) => r.query.labelSelector).sort();
    await waitFor(() => f!.double.openWatches() === 2 && ownWatches().join() === 'kubernetes.io/service-name=svc-0,kubernetes.io/service-name=svc-1', { what: 'two watches of their own again, and the shared one closed' });
    f.double.applyEndpointSlice({ name: 'svc-0', service: 'svc-0', endpoints: [{ address: '10.62.0.2', pod: 'back-home' }] });
    await recorders[0]!.until((instances) => ids(instances).join() === 'back-home', 'a change after switching back');
    expect(recorders[0]!.errors()).toEqual([]);
    for (const stop of stops.slice(0, 2)) stop();
  });

  it('keeps the engine rules per service: 410 lists the namespace again, an outage is one error per subscriber and recovery a snapshot', async () => {
    f = await startDouble();
    services(f, 3);
    const events: ProviderEvent[] = [];
    const provider = f.provider({ namespaceWatch: 'always', watchTimeout: '1s' });
    provider.onEvent((event) => events.push(event));
    const recorders = Array.from({ length: 3 }, () => new Recorder());
    const stops = recorders.map((r, i) => provider.watch(`svc-${i}`, r.listener));
    await waitFor(() => recorders.every((r) => r.last()?.length === 1) && f!.double.openWatches() === 1, { what: 'in sync on one watch' });
    const listsBefore = sliceLists(f).length;
    // Compaction between two watches (the first ended at its timeoutSeconds): the next one is
    // answered with ERROR 410, and the feed lists the namespace again.
    let armed = true;
    f.double.onRequest = (request) => {
      if (!armed || !request.watch) return;
      armed = false;
      f!.double.applyEndpointSlice({ name: 'svc-2', service: 'svc-2', endpoints: [{ address: '10.63.0.1', pod: 'while-away' }] });
      f!.double.compact();
    };
    await recorders[2]!.until((instances) => ids(instances).join() === 'while-away', 'the change compacted away before the watch resumed', 5_000);
    f.double.onRequest = undefined;
    expect(recorders[2]!.errors()).toEqual([]);
    expect(sliceLists(f).length).toBe(listsBefore + 1);
    expect(events.some((e) => e.type === 'resync')).toBe(true);

    await f.double.stop();
    await waitFor(() => recorders.every((r) => r.errors().length === 1), { what: 'one error per subscriber' });
    await new Promise((resolve) => setTimeout(resolve, 600)); // retries meanwhile: still one error each
    expect(recorders.map((r) => r.errors().length)).toEqual([1, 1, 1]);
    f.double.applyEndpointSlice({ name: 'svc-0', service: 'svc-0', endpoints: [{ address: '10.63.0.2', pod: 'after-outage' }] });
    const before = recorders[1]!.snapshots().length;
    await f.double.start();
    await recorders[0]!.until((instances) => ids(instances).join() === 'after-outage', 'recovery with the change');
    // Recovery delivers a snapshot even where nothing changed.
    await waitFor(() => recorders[1]!.snapshots().length === before + 1, { what: 'a recovery snapshot for the unchanged service' });
    for (const stop of stops) stop();
  });

  it('shares the pods of a namespace by the label the selector sets to {service}', async () => {
    f = await startDouble();
    for (let i = 0; i < 4; i++) f.double.applyPod({ name: `web-${i}`, labels: { app: `app-${i % 2}` }, ip: `10.64.0.${i + 1}` });
    f.double.applyPod({ name: 'no-app', labels: { other: 'x' }, ip: '10.64.0.9' });
    const provider = f.provider({ mode: 'pods', namespaceWatch: 'always' });
    const a = new Recorder();
    const b = new Recorder();
    const stops = [provider.watch('app-0', a.listener), provider.watch('app-1', b.listener)];
    await a.until((instances) => ids(instances).join() === 'web-0,web-2', 'app-0');
    await b.until((instances) => ids(instances).join() === 'web-1,web-3', 'app-1');
    // Both are in sync once the shared list is read; its watch starts after that: wait for it.
    await waitFor(() => f!.double.openWatches('pods') > 0, { what: 'the shared watch of pods' });
    expect(f.double.requests.filter((r) => r.resource === 'pods' && r.watch).map((r) => r.query.labelSelector)).toEqual(['app']);
    f.double.applyPod({ name: 'web-0', labels: { app: 'app-1' }, ip: '10.64.0.1' });
    await a.until((instances) => ids(instances).join() === 'web-2', 'web-0 to leave app-0');
    await b.until((instances) => ids(instances).join() === 'web-0,web-1,web-3', 'web-0 to join app-1');
    for (const stop of stops) stop();
  });

  it('never shares with namespaceWatch "never", nor when the label selector ties other requirements to {service}; per-service lists close their connections after sync', async () => {
    f = await startDouble();
    services(f, 8);
    f.double.resetConnectionStats();
    for (const options of [{ namespaceWatch: 'never' as const, namespaceWatchThreshold: 2 }, { labelSelector: 'app={service}', namespaceWatchThreshold: 2 }]) {
      if (options.labelSelector) for (let i = 0; i < 8; i++) f.double.applyEndpointSlice({ name: `svc-${i}`, service: `svc-${i}`, labels: { app: `svc-${i}` }, endpoints: [{ address: `10.65.0.${i + 1}`, pod: `p${i}` }] });
      const provider = f.provider(options);
      const recorders = Array.from({ length: 8 }, () => new Recorder());
      const stops = recorders.map((r, i) => provider.watch(`svc-${i}`, r.listener));
      await waitFor(() => recorders.every((r) => r.last()?.length === 1), { what: 'every service in sync' });
      await waitFor(() => f!.double.openWatches() === 8, { what: 'a watch each' });
      // The lists' connections are closed once read: what stays open is the watches.
      await waitFor(() => f!.double.connections.open === 8, { what: 'only the watch connections left open' });
      for (const stop of stops) stop();
      await provider.close();
      await waitFor(() => f!.double.connections.open === 0, { what: 'nothing open after close()' });
    }
  });
});

describe('namespace watch options', () => {
  it('reads K8S_NAMESPACE_WATCH and K8S_NAMESPACE_WATCH_THRESHOLD, and names the variable of a bad value', async () => {
    f = await startDouble();
    const fails = (env: Record<string, string>, options = {}) => {
      try {
        kubernetesProvider({ kubeconfig: f!.kubeconfig, ...options }, { env });
      } catch (error) {
        expect(isDiscoveryError(error, 'ERR_CONFIG')).toBe(true);
        return (error as Error).message;
      }
      throw new Error('expected ERR_CONFIG');
    };
    expect(fails({ K8S_NAMESPACE_WATCH: 'sometimes' })).toBe('K8S_NAMESPACE_WATCH must be one of auto, always, never; got "sometimes"');
    expect(fails({ K8S_NAMESPACE_WATCH_THRESHOLD: 'many' })).toMatch(/^K8S_NAMESPACE_WATCH_THRESHOLD must be a whole number; got "many"/);
    expect(fails({}, { namespaceWatchThreshold: -1 })).toMatch(/^namespaceWatchThreshold must be a whole number; got -1/);
    // The variable shares from the start: one watch for two services.
    services(f, 2);
    const provider = kubernetesProvider({ kubeconfig: f.kubeconfig, backoff: { initial: 20, max: 200 } }, { env: { K8S_NAMESPACE_WATCH: 'always' } });
    const a = new Recorder();
    const b = new Recorder();
    try {
      const stops = [provider.watch('svc-0', a.listener), provider.watch('svc-1', b.listener)];
      await waitFor(() => a.last()?.length === 1 && b.last()?.length === 1, { what: 'both services' });
      // Both are in sync once the shared list is read; its watch starts after that: wait for it.
      await waitFor(() => f!.double.openWatches() > 0, { what: 'the watch' });
      expect(sliceWatches(f).map((r) => r.query.labelSelector)).toEqual(['kubernetes.io/service-name']);
      expect(f.double.openWatches()).toBe(1);
      for (const stop of stops) stop();
    } finally {
      // Not made by the fixture, so not closed by it: a failure above must not leave it watching.
      await provider.close();
    }
  });
});

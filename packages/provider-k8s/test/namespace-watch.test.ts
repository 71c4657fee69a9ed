// Many services, few connections: the watched services of a namespace share one list + watch
// of its EndpointSlices (or pods), demultiplexed by service, once more than a threshold of
// them are watched; below it, each has its own watch. Connections are counted at the double.
import { isDiscoveryError, type DiscoveryError, type Instance, type ProviderEvent } from '@disco/core';
import type { AttachedSink, FollowEnd, ServiceSource } from '@disco/core/provider';
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

/** An engine's sink, as core's engine hands it to `attach`: records what reaches it. */
class Sink implements AttachedSink<string> {
  readonly service: string;
  readonly #instances = new Map<string, Instance>();
  readonly ends: (FollowEnd | DiscoveryError)[] = [];
  readonly errors: DiscoveryError[] = [];
  replaced = 0;

  constructor(service: string) {
    this.service = service;
  }

  ids(): string {
    return [...this.#instances.keys()].sort().join();
  }

  replace(instances: Iterable<Instance>): void {
    this.replaced++;
    this.#instances.clear();
    for (const instance of instances) this.#instances.set(instance.id, instance);
  }

  resync(instances: Iterable<Instance>): void {
    this.replace(instances);
  }

  upsert(instance: Instance): void {
    this.#instances.set(instance.id, instance);
  }

  remove(id: string): void {
    this.#instances.delete(id);
  }

  advance(): void {}

  invalid(): void {}

  stale(error: DiscoveryError): void {
    this.errors.push(error);
  }

  end(result: FollowEnd | DiscoveryError): void {
    this.ends.push(result);
  }
}

/** Counts the AbortControllers made and the AbortSignal.any calls (what a follow of its own costs) until `restore`. */
function countAborts() {
  const Original = globalThis.AbortController;
  const any = AbortSignal.any.bind(AbortSignal);
  const counts = { controllers: 0, any: 0 };
  globalThis.AbortController = class extends Original {
    constructor() {
      super();
      counts.controllers++;
    }
  };
  AbortSignal.any = (signals) => {
    counts.any++;
    return any(signals);
  };
  return {
    counts,
    restore: () => {
      globalThis.AbortController = Original;
      AbortSignal.any = any;
    },
  };
}

async function listed(sources: ServiceSource<string>[]): Promise<string[]> {
  const positions: string[] = [];
  // One after another: lists at once count as services in use at once (and may flip the mode).
  for (const source of sources) positions.push((await source.list(new AbortController().signal)).position!);
  return positions;
}

describe('namespace watch: what an attached service holds', () => {
  it('a service on the shared watch is its engine sink hooked onto the feed: attaching makes no controller nor AbortSignal.any, and every sink gets the same unhook', async () => {
    f = await startDouble();
    services(f, 3);
    const provider = f.provider({ namespaceWatch: 'always' });
    const sources = [0, 1, 2].map((i) => provider.source(`svc-${i}`));
    // Core's engine attaches (no follow to fall back on, whose promise and controller each service would hold).
    expect(sources.every((source) => source.attach && !source.follow)).toBe(true);
    const positions = await listed(sources);
    const sinks = [0, 1, 2].map((i) => new Sink(`svc-${i}`));
    const aborts = countAborts();
    let unhooks;
    try {
      unhooks = sources.map((source, i) => source.attach!(positions[i]!, sinks[i]!));
    } finally {
      aborts.restore();
    }
    expect(aborts.counts).toEqual({ controllers: 0, any: 0 });
    expect(new Set(unhooks).size).toBe(1);
    await waitFor(() => sinks.every((sink, i) => sink.ids() === `svc-${i}-pod`), { what: 'every sink in sync' });
    f.double.applyEndpointSlice({ name: 'svc-1', service: 'svc-1', endpoints: [{ address: '10.66.0.1', pod: 'changed' }] });
    await waitFor(() => sinks[1]!.ids() === 'changed', { what: 'the change of svc-1' });
    expect(f.double.openWatches()).toBe(1);
    unhooks.forEach((unhook, i) => unhook(sinks[i]!));
    expect(sinks.map((sink) => sink.ends)).toEqual([[], [], []]);

    // The same count on a watch of its own (namespaceWatch: 'never'), which does cost some (a follow's, its request's).
    const own = f.provider({ namespaceWatch: 'never' }).source('svc-0');
    const [position] = await listed([own]);
    const sink = new Sink('svc-0');
    const counting = countAborts();
    let unhook;
    try {
      unhook = own.attach!(position!, sink);
    } finally {
      counting.restore();
    }
    expect(counting.counts.controllers).toBeGreaterThan(0);
    await unhook(sink);
    expect(sink.ends).toEqual([]);
  });

  it('moves attached sinks between watches of their own and the shared one without ending them', async () => {
    f = await startDouble();
    services(f, 3);
    const provider = f.provider({ namespaceWatchThreshold: 2 });
    const sources = [0, 1, 2].map((i) => provider.source(`svc-${i}`));
    const positions = await listed(sources);
    const sinks = [0, 1, 2].map((i) => new Sink(`svc-${i}`));
    const unhook = sources[0]!.attach!(positions[0]!, sinks[0]!);
    sources[1]!.attach!(positions[1]!, sinks[1]!);
    await waitFor(() => f!.double.openWatches() === 2, { what: 'two watches of their own' });
    // A third is past the threshold: all three share one watch.
    sources[2]!.attach!(positions[2]!, sinks[2]!);
    await waitFor(() => f!.double.openWatches() === 1 && sinks.every((sink, i) => sink.ids() === `svc-${i}-pod`), { what: 'one shared watch' });
    f.double.applyEndpointSlice({ name: 'svc-0', service: 'svc-0', endpoints: [{ address: '10.66.0.2', pod: 'shared' }] });
    await waitFor(() => sinks[0]!.ids() === 'shared', { what: 'a change through the shared watch' });
    // Down to one (no more than half of 2): svc-0 lists and watches on its own again.
    const replaced = sinks[0]!.replaced;
    unhook(sinks[1]!);
    unhook(sinks[2]!);
    await waitFor(() => sinks[0]!.replaced > replaced && f!.double.openWatches('endpointslices') >= 1, { what: 'svc-0 listed on its own' });
    await waitFor(() => sliceWatches(f!).at(-1)?.query.labelSelector === 'kubernetes.io/service-name=svc-0', { what: 'a watch of its own' });
    f.double.applyEndpointSlice({ name: 'svc-0', service: 'svc-0', endpoints: [{ address: '10.66.0.3', pod: 'own' }] });
    await waitFor(() => sinks[0]!.ids() === 'own', { what: 'a change through its own watch' });
    expect(sinks.map((sink) => [sink.ends, sink.errors])).toEqual([[[], []], [[], []], [[], []]]);
    await unhook(sinks[0]!);
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

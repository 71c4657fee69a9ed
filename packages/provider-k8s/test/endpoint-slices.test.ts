import type { ProviderEvent } from '@disco/core';
import { waitFor } from '@disco/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ids, Recorder, startDouble, type DoubleFixture } from './helpers.js';

let f: DoubleFixture;
let n = 0;
const svc = () => `svc-${n++}`;
beforeAll(async () => {
  f = await startDouble();
});
afterAll(() => f.close());

/** Watches `service` with a fresh provider and waits until `test` holds for its latest snapshot. */
function watching(service: string, options: Parameters<DoubleFixture['provider']>[0] = {}) {
  const provider = f.provider(options);
  const recorder = new Recorder();
  const events: ProviderEvent[] = [];
  provider.onEvent((e) => events.push(e));
  const stop = provider.watch(service, recorder.listener);
  const until = async (test: (ids: string[]) => boolean, what: string) => {
    await waitFor(() => recorder.last() !== undefined && test(ids(recorder.last())), { timeoutMs: 5000, what });
    return recorder.last()!;
  };
  return { provider, recorder, events, stop, until };
}

describe('endpointslices mode', () => {
  it('merges every slice of a service into one snapshot, and drops a deleted slice', async () => {
    const s = svc();
    f.double.applyEndpointSlice({ name: `${s}-a`, service: s, endpoints: [{ address: '10.0.0.1', pod: 'p1' }, { address: '10.0.0.2', pod: 'p2' }] });
    f.double.applyEndpointSlice({ name: `${s}-b`, service: s, endpoints: [{ address: '10.0.0.3', pod: 'p3' }] });
    f.double.applyEndpointSlice({ name: 'other', service: `${s}-other`, endpoints: [{ address: '10.0.0.9', pod: 'p9' }] });
    const w = watching(s);
    await w.until((i) => i.join() === 'p1,p2,p3', 'the merged snapshot');
    f.double.applyEndpointSlice({ name: `${s}-c`, service: s, endpoints: [{ address: '10.0.0.4', pod: 'p4' }] });
    await w.until((i) => i.join() === 'p1,p2,p3,p4', 'a third slice to merge in');
    f.double.delete('endpointslices', `${s}-a`);
    await w.until((i) => i.join() === 'p3,p4', 'the deleted slice to leave');
    expect(ids(await w.provider.discover(s))).toEqual(['p3', 'p4']);
    w.stop();
  });

  it('takes a pod that turns unready out of the snapshot, and back when ready again', async () => {
    const s = svc();
    const slice = (ready: boolean) => f.double.applyEndpointSlice({ name: s, service: s, endpoints: [{ address: '10.1.0.1', pod: 'a' }, { address: '10.1.0.2', pod: 'b', ready }] });
    slice(true);
    const w = watching(s);
    const flagged = watching(s, { unready: 'unhealthy' });
    await w.until((i) => i.join() === 'a,b', 'both ready');
    slice(false);
    await w.until((i) => i.join() === 'a', 'the unready pod to leave');
    const kept = await flagged.until((i) => i.join() === 'a,b', 'both listed');
    await waitFor(() => flagged.recorder.last()!.find((i) => i.id === 'b')?.healthy === false, { what: 'b flagged unhealthy with unready: unhealthy' });
    expect(kept.find((i) => i.id === 'a')!.healthy).toBe(true);
    slice(true);
    await w.until((i) => i.join() === 'a,b', 'the pod back when ready');
    w.stop();
    flagged.stop();
  });

  describe('terminating endpoints', () => {
    const write = (s: string, readyOnes: number) =>
      f.double.applyEndpointSlice({
        name: s,
        service: s,
        endpoints: [
          ...Array.from({ length: readyOnes }, (_, i) => ({ address: `10.2.0.${i + 1}`, pod: `ready-${i}` })),
          { address: '10.2.1.1', pod: 'draining', ready: false, serving: true, terminating: true },
          { address: '10.2.1.2', pod: 'gone', ready: false, serving: false, terminating: true },
        ],
      });

    it('are left out by default, and never offered once they stop serving', async () => {
      const s = svc();
      write(s, 1);
      const w = watching(s);
      expect(ids(await w.until((i) => i.length > 0, 'a snapshot'))).toEqual(['ready-0']);
      w.stop();
    });

    it('are kept as unhealthy with terminating: unhealthy', async () => {
      const s = svc();
      write(s, 1);
      const w = watching(s, { terminating: 'unhealthy' });
      const snapshot = await w.until((i) => i.length === 2, 'two instances');
      expect(snapshot.map((i) => [i.id, i.healthy, i.metadata['k8s.terminating']])).toEqual([
        ['draining', false, 'true'],
        ['ready-0', true, undefined],
      ]);
      w.stop();
    });

    it('are offered as healthy with terminating: fallback only while no endpoint is ready', async () => {
      const s = svc();
      write(s, 1);
      const w = watching(s, { terminating: 'fallback' });
      expect(ids(await w.until((i) => i.length > 0, 'a snapshot'))).toEqual(['ready-0']);
      write(s, 0);
      const fallback = await w.until((i) => i.join() === 'draining', 'the draining endpoint as the fallback');
      expect(fallback[0]!.healthy).toBe(true);
      write(s, 2);
      await w.until((i) => i.join() === 'ready-0,ready-1', 'ready endpoints to win again');
      w.stop();
    });
  });

  it('carries zone, node, hostname and pod name; missing conditions mean ready', async () => {
    const s = svc();
    f.double.applyEndpointSlice({
      name: s,
      service: s,
      namespace: 'default',
      endpoints: [
        { address: '10.3.0.1', pod: 'web-7d4f', zone: 'eu-west-1a', nodeName: 'node-3', hostname: 'web-0' },
        { address: '10.3.0.2', hostname: 'no-pod' },
        { address: '10.3.0.3' },
      ],
    });
    const [byAddress, byHostname, byPod] = await f.provider().discover(s); // sorted by id
    expect(byPod).toMatchObject({
      id: 'web-7d4f',
      name: s,
      address: '10.3.0.1',
      port: 8080,
      healthy: true,
      zone: 'eu-west-1a',
      metadata: { 'k8s.namespace': 'default', 'k8s.pod': 'web-7d4f', 'k8s.node': 'node-3', 'k8s.hostname': 'web-0' },
    });
    expect(byAddress).toMatchObject({ id: '10.3.0.3', address: '10.3.0.3', healthy: true });
    expect(byHostname).toMatchObject({ id: 'no-pod', address: '10.3.0.2' });
    expect(Object.isFrozen(byPod)).toBe(true);
  });

  it('chooses the port by name or number, and reports slices it cannot choose one from', async () => {
    const s = svc();
    const ports = [{ name: 'http', port: 8080 }, { name: 'metrics', port: 9090 }];
    f.double.applyEndpointSlice({ name: s, service: s, ports, endpoints: [{ address: '10.4.0.1', pod: 'a' }] });
    expect((await f.provider({ port: 'metrics' }).discover(s)).map((i) => i.port)).toEqual([9090]);
    expect((await f.provider({ port: 8080 }).discover(s)).map((i) => i.port)).toEqual([8080]);
    for (const [port, message] of [
      [undefined, /has several ports \(http:8080, metrics:9090\): set the port option/],
      ['grpc', /has no port named "grpc"/],
      [7000, /has no port 7000/],
    ] as const) {
      const provider = f.provider(port === undefined ? {} : { port });
      const events: ProviderEvent[] = [];
      provider.onEvent((e) => events.push(e));
      expect(await provider.discover(s)).toEqual([]);
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ type: 'invalid-record', service: s, error: { code: 'ERR_INVALID_RECORD', key: `default/${s}` } });
      expect(events[0]!.message).toMatch(message);
    }
  });

  it('serves IPv6 slices, filters by address family, and gives dual-stack pods distinct ids', async () => {
    const s = svc();
    f.double.applyEndpointSlice({ name: `${s}-v4`, service: s, endpoints: [{ address: '10.5.0.1', pod: 'a' }] });
    f.double.applyEndpointSlice({ name: `${s}-v6`, service: s, endpoints: [{ address: 'fd00::1', pod: 'a' }] });
    expect((await f.provider({ addressType: 'IPv6' }).discover(s)).map((i) => [i.id, i.address])).toEqual([['a', 'fd00::1']]);
    expect((await f.provider({ addressType: 'IPv4' }).discover(s)).map((i) => [i.id, i.address])).toEqual([['a', '10.5.0.1']]);
    expect((await f.provider().discover(s)).map((i) => [i.id, i.address])).toEqual([
      ['a', '10.5.0.1'],
      ['a@fd00::1', 'fd00::1'],
    ]);
  });

  it('skips and reports an endpoint without a usable address, keeping the rest', async () => {
    const s = svc();
    f.double.apply('endpointslices', {
      metadata: { name: s, namespace: 'default', labels: { 'kubernetes.io/service-name': s } },
      addressType: 'IPv4',
      ports: [{ name: 'http', port: 80 }],
      endpoints: [{ addresses: [] }, { addresses: ['not an address'] }, { addresses: ['10.6.0.1'], targetRef: { kind: 'Pod', name: 'ok' } }],
    });
    const w = watching(s);
    expect(ids(await w.until((i) => i.length > 0, 'the good endpoint'))).toEqual(['ok']);
    expect(w.events.filter((e) => e.type === 'invalid-record').map((e) => e.message)).toEqual([
      `skipped invalid record default/${s}: endpoint 0 has no usable address (null)`,
      `skipped invalid record default/${s}: endpoint 1 has no usable address ("not an address")`,
    ]);
    // The same slice version is not mapped (nor reported) again.
    f.double.applyEndpointSlice({ name: `${s}-2`, service: s, endpoints: [{ address: '10.6.0.2', pod: 'ok2' }] });
    await w.until((i) => i.length === 2, 'the second slice');
    expect(w.events.filter((e) => e.type === 'invalid-record')).toHaveLength(2);
    w.stop();
  });

  it('skips and reports a slice of a shape it cannot read, from a list and from a watch', async () => {
    const s = svc();
    const broken = (name: string) => ({ metadata: { name, namespace: 'default', labels: { 'kubernetes.io/service-name': s } }, addressType: 'IPv4', ports: [{ port: 80 }], endpoints: 'garbage' });
    f.double.apply('endpointslices', broken(`${s}-listed`));
    f.double.applyEndpointSlice({ name: `${s}-good`, service: s, endpoints: [{ address: '10.6.1.1', pod: 'good' }] });
    const w = watching(s);
    await w.until((i) => i.join() === 'good', 'the good slice');
    f.double.apply('endpointslices', broken(`${s}-watched`));
    f.double.apply('endpointslices', { ...broken(`${s}-odd`), endpoints: [{ addresses: ['10.6.1.9'] }], ports: 'junk' });
    f.double.applyEndpointSlice({ name: `${s}-good`, service: s, endpoints: [{ address: '10.6.1.1', pod: 'good' }, { address: '10.6.1.2', pod: 'good2' }] });
    await w.until((i) => i.join() === 'good,good2', 'the watch to go on');
    // Listed and watched objects are read the same way (raw JSON, every field checked).
    const reported = w.events.filter((e) => e.type === 'invalid-record').map((e) => e.message);
    expect(reported.filter((m) => m.includes(`default/${s}-listed`))).toEqual([`skipped invalid record default/${s}-listed: endpoints is not a list (got "garbage")`]);
    expect(reported.filter((m) => m.includes(`default/${s}-watched`))).toEqual([`skipped invalid record default/${s}-watched: endpoints is not a list (got "garbage")`]);
    expect(reported.filter((m) => m.includes(`default/${s}-odd`))).toEqual([`skipped invalid record default/${s}-odd: ports is not a list (got "junk")`]);
    w.stop();
  });

  it('ANDs the labelSelector option with the service-name label', async () => {
    const s = svc();
    f.double.applyEndpointSlice({ name: `${s}-blue`, service: s, labels: { track: 'blue' }, endpoints: [{ address: '10.7.0.1', pod: 'blue' }] });
    f.double.applyEndpointSlice({ name: `${s}-green`, service: s, labels: { track: 'green' }, endpoints: [{ address: '10.7.0.2', pod: 'green' }] });
    expect(ids(await f.provider({ labelSelector: 'track=green' }).discover(s))).toEqual(['green']);
  });

  it('sends no snapshot for a rewrite that changes nothing, and keeps unchanged Instance objects', async () => {
    const s = svc();
    const write = (extra: { address: string; pod: string }[] = []) =>
      f.double.applyEndpointSlice({ name: s, service: s, endpoints: [{ address: '10.8.0.1', pod: 'a' }, ...extra] });
    write();
    const w = watching(s);
    const first = await w.until((i) => i.length === 1, 'the first snapshot');
    write(); // new resourceVersion, same endpoints
    write([{ address: '10.8.0.2', pod: 'b' }]);
    const second = await w.until((i) => i.length === 2, 'the add');
    expect(w.recorder.snapshots()).toHaveLength(2);
    expect(second.find((i) => i.id === 'a')).toBe(first[0]);
    w.stop();
  });
});

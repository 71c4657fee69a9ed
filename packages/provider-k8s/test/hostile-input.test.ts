// Hostile input from the API server (issue 13, items 7-10): objects with fields of the wrong
// type, objects that make a typed deserializer throw, and watch streams of garbage. Every case
// must cost invalid-record events at most: never a crash, never the service, never a tight
// loop of requests.
import type { Instance, ProviderEvent } from '@disco/core';
import type { KubeApiRequest } from '@disco/testing';
import { waitFor } from '@disco/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { ids, Recorder, startDouble, type DoubleFixture } from './helpers.js';

let f: DoubleFixture | undefined;
afterEach(async () => {
  await f?.close();
  f = undefined;
});

const labels = (service: string) => ({ 'kubernetes.io/service-name': service });
const good = (address: string, pod: string) => ({ addresses: [address], targetRef: { kind: 'Pod', name: pod } });

function slice(name: string, service: string, endpoints: unknown[], extra: Record<string, unknown> = {}) {
  return { metadata: { name, namespace: 'default', labels: labels(service) }, addressType: 'IPv4', ports: [{ name: 'http', port: 80 }], endpoints, ...extra };
}

/** Every field an Instance types as a string is one. */
function wellTyped(instance: Instance): boolean {
  return (
    typeof instance.id === 'string' &&
    instance.id !== '' &&
    typeof instance.address === 'string' &&
    (instance.zone === undefined || typeof instance.zone === 'string') &&
    Object.values(instance.metadata).every((value) => typeof value === 'string')
  );
}

function watching(fixture: DoubleFixture, service: string, options: Parameters<DoubleFixture['provider']>[0] = {}) {
  const provider = fixture.provider(options);
  const events: ProviderEvent[] = [];
  provider.onEvent((e) => events.push(e));
  const recorder = new Recorder();
  const stop = provider.watch(service, recorder.listener);
  const invalid = () => events.filter((e) => e.type === 'invalid-record').map((e) => e.message);
  return { provider, events, recorder, stop, invalid };
}

describe('fields of the wrong type (issue 13, item 7)', () => {
  it('skip the endpoint as an invalid record, listed or watched; no instance gets a non-string id or metadata', async () => {
    f = await startDouble();
    const hostile = [
      { addresses: ['10.70.0.1'], targetRef: { kind: 'Pod', name: 123 } },
      { addresses: ['10.70.0.2'], targetRef: { kind: 'Pod', name: {} } },
      { addresses: ['10.70.0.3'], targetRef: { kind: 'Pod', name: '' } },
      { addresses: ['10.70.0.4'], hostname: 5 },
      { addresses: ['10.70.0.5'], nodeName: ['node'] },
      { addresses: ['10.70.0.6'], zone: 7 },
      { addresses: ['10.70.0.7'], conditions: { ready: 'yes' } },
      good('10.70.0.8', 'fine'),
    ];
    f.double.apply('endpointslices', slice('typed-listed', 'typed', hostile));
    const w = watching(f, 'typed');
    await waitFor(() => ids(w.recorder.last()).join() === 'fine', { what: 'the one good endpoint' });
    const expected = [
      'endpoint 0: targetRef.name must be a non-empty string; got 123',
      'endpoint 1: targetRef.name must be a non-empty string; got an object',
      'endpoint 2: targetRef.name must be a non-empty string; got ""',
      'endpoint 3: hostname must be a non-empty string; got 5',
      'endpoint 4: nodeName must be a non-empty string; got an array',
      'endpoint 5: zone must be a non-empty string; got 7',
      'endpoint 6: conditions.ready must be true or false; got "yes"',
    ];
    expect(w.invalid()).toEqual(expected.map((m) => `skipped invalid record default/typed-listed: ${m}`));
    // The same from a watch event.
    f.double.apply('endpointslices', slice('typed-watched', 'typed', [...hostile.slice(0, 7), good('10.70.1.8', 'fine-too')]));
    await waitFor(() => ids(w.recorder.last()).join() === 'fine,fine-too', { what: 'the good endpoint of the watched slice' });
    expect(w.invalid().filter((m) => m.includes('typed-watched'))).toEqual(expected.map((m) => `skipped invalid record default/typed-watched: ${m}`));
    expect(w.recorder.snapshots().flat().every(wellTyped)).toBe(true);
    expect((await w.provider.discover('typed')).every(wellTyped)).toBe(true);
    w.stop();
  });

  it('in pods mode too: a pod with a mistyped field is one invalid record', async () => {
    f = await startDouble();
    const pod = (name: string, extra: Record<string, unknown>) => ({
      metadata: { name, namespace: 'default', labels: { app: 'typed-pods' } },
      spec: { containers: [{ name: 'c', ports: [{ name: 'http', containerPort: 80 }] }] },
      status: { phase: 'Running', podIP: '10.71.0.1', conditions: [{ type: 'Ready', status: 'True' }] },
      ...extra,
    });
    f.double.apply('pods', pod('ok', {}));
    f.double.apply('pods', pod('bad-node', { spec: { nodeName: 5, containers: [{ name: 'c', ports: [{ name: 'http', containerPort: 80 }] }] } }));
    f.double.apply('pods', pod('bad-ip', { status: { phase: 'Running', podIP: { ip: 1 } } }));
    f.double.apply('pods', pod('bad-version', { metadata: { name: 'bad-version', namespace: 'default', labels: { app: 'typed-pods', 'app.kubernetes.io/version': '' } } }));
    const w = watching(f, 'typed-pods', { mode: 'pods' });
    await waitFor(() => ids(w.recorder.last()).join() === 'ok', { what: 'the good pod' });
    expect(w.invalid().sort()).toEqual([
      'skipped invalid record default/bad-ip: status.podIP must be a non-empty string; got an object',
      'skipped invalid record default/bad-node: spec.nodeName must be a non-empty string; got 5',
      'skipped invalid record default/bad-version: metadata.labels["app.kubernetes.io/version"] must be a non-empty string; got ""',
    ]);
    expect(w.recorder.snapshots().flat().every(wellTyped)).toBe(true);
    w.stop();
  });
});

describe('an object that a careless mapper would crash on (issue 13, item 9)', () => {
  it('targetRef.name {"toString":1} is one invalid record; the process stays up and the watch goes on', async () => {
    f = await startDouble();
    const poison = { addresses: ['10.72.0.1'], targetRef: { kind: 'Pod', name: { toString: 1 } }, hostname: { valueOf: 1 } };
    f.double.apply('endpointslices', slice('poison-listed', 'poison', [poison, good('10.72.0.2', 'a')]));
    const w = watching(f, 'poison');
    await waitFor(() => ids(w.recorder.last()).join() === 'a', { what: 'the listed good endpoint' });
    f.double.apply('endpointslices', slice('poison-watched', 'poison', [poison, good('10.72.0.3', 'b')]));
    await waitFor(() => ids(w.recorder.last()).join() === 'a,b', { what: 'the watched good endpoint' });
    // The watch is not stuck: a later change still arrives.
    f.double.apply('endpointslices', slice('poison-later', 'poison', [good('10.72.0.4', 'c')]));
    await waitFor(() => ids(w.recorder.last()).join() === 'a,b,c', { what: 'a change after the poison' });
    expect(w.invalid()).toEqual([
      'skipped invalid record default/poison-listed: endpoint 0: targetRef.name must be a non-empty string; got an object',
      'skipped invalid record default/poison-watched: endpoint 0: targetRef.name must be a non-empty string; got an object',
    ]);
    expect(w.recorder.errors()).toEqual([]);
    w.stop();
  });
});

describe('an object the typed list deserializer throws on (issue 13, item 10)', () => {
  it('one stored slice with "ports": 5 costs one invalid record, in the first list and in the re-list after a 410', async () => {
    f = await startDouble({ bookmarkIntervalMs: 60_000 });
    f.double.apply('endpointslices', slice('broken-ports', 'frozen', [good('10.73.0.1', 'x')], { ports: 5 }));
    f.double.apply('endpointslices', slice('fine', 'frozen', [good('10.73.0.2', 'a')]));
    // The first watch ends cleanly at its timeoutSeconds (1-2 s); when the next one asks to resume,
    // the slice has changed and history is compacted past its position: it gets ERROR 410.
    let compacted = false;
    f.double.onRequest = (request) => {
      if (!request.watch || compacted || f!.double.requests.filter((r) => r.watch).length < 2) return;
      compacted = true;
      f!.double.apply('endpointslices', slice('fine', 'frozen', [good('10.73.0.2', 'a'), good('10.73.0.3', 'b')]));
      f!.double.compact();
    };
    const w = watching(f, 'frozen', { watchTimeout: '1s' });
    await waitFor(() => ids(w.recorder.last()).join() === 'a', { what: 'the good slice from the first list' });
    expect(w.invalid()).toEqual(['skipped invalid record default/broken-ports: ports is not a list (got 5)']);
    await waitFor(() => ids(w.recorder.last()).join() === 'a,b', { timeoutMs: 8_000, what: 'the change, through a re-list past the broken slice' });
    expect(compacted).toBe(true);
    expect(w.events.filter((e) => e.type === 'resync').map((e) => e.message)).toEqual([expect.stringMatching(/410 Gone\); listing again/)]);
    expect(f.double.requests.filter((r) => r.resource === 'endpointslices' && !r.watch)).toHaveLength(2);
    expect(w.recorder.errors()).toEqual([]);
    // Still one event: the broken slice's version did not change, so it is not mapped (nor reported) again.
    expect(w.invalid()).toEqual(['skipped invalid record default/broken-ports: ports is not a list (got 5)']);
    w.stop();
  });
});

/** The most requests seen in any one-second window, and the total. */
function rate(requests: readonly KubeApiRequest[]): { total: number; peak: number } {
  const times = requests.map((r) => r.at).sort((a, b) => a - b);
  let peak = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[i]! - times[j]! >= 1000) j++;
    peak = Math.max(peak, i - j + 1);
  }
  return { total: times.length, peak };
}

describe('garbage in watch streams cannot make the provider hammer the API server (issue 13, item 8)', () => {
  const windowMs = 2500;
  const gone = { type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'too old resource version', reason: 'Expired', code: 410 } };
  const garbage = { type: 'MUTATED', object: { metadata: { name: 'x', resourceVersion: '1' } } };

  async function measure(script: { events: unknown[]; then: 'end' | 'continue' }, backoff: Record<string, unknown>) {
    const fixture = (f = await startDouble({ bookmarkIntervalMs: 60_000 }));
    fixture.double.applyEndpointSlice({ name: 'hammer', service: 'hammer', endpoints: [{ address: '10.74.0.1', pod: 'a' }] });
    fixture.double.watchScript = () => script;
    const w = watching(fixture, 'hammer', { backoff });
    await waitFor(() => w.recorder.last()?.length === 1, { what: 'the first snapshot' });
    const started = performance.now();
    // Measuring a window of time: the requests made in it are the result.
    await new Promise((resolve) => setTimeout(resolve, windowMs));
    w.stop();
    const requests = fixture.double.requests.filter((r) => r.resource === 'endpointslices' && r.at >= started && r.at < started + windowMs);
    return { ...rate(requests), lists: requests.filter((r) => !r.watch).length, watches: requests.filter((r) => r.watch).length, w };
  }

  it('an unknown-type event then ERROR 410 in every watch: lists and watches stay within the engine bound (5/s, burst 10)', async () => {
    // A 1 ms backoff, so that only the engine's rate bound stands between the garbage and the server.
    const m = await measure({ events: [garbage, gone], then: 'end' }, { initial: 1, max: 1 });
    console.log(`[provider-k8s] unknown event + ERROR 410 in every watch, ${windowMs} ms: ${m.total} requests (${m.lists} lists, ${m.watches} watches), peak ${m.peak} per second`);
    expect(m.total).toBeLessThanOrEqual(10 + 5 * (windowMs / 1000) + 1);
    expect(m.peak).toBeLessThanOrEqual(15);
    expect(m.w.invalid()).toEqual(['skipped invalid record watch event: an event of unknown type "MUTATED"']);
    expect(m.w.recorder.errors()).toEqual([]);
  }, 15_000);

  it('an unknown-type event then a clean end: within the bound, and the garbage does not count as received', async () => {
    const fast = await measure({ events: [garbage], then: 'end' }, { initial: 1, max: 1 });
    console.log(`[provider-k8s] unknown event + clean end in every watch, ${windowMs} ms: ${fast.total} requests (${fast.lists} lists, ${fast.watches} watches), peak ${fast.peak} per second`);
    expect(fast.total).toBeLessThanOrEqual(10 + 5 * (windowMs / 1000) + 1);
    expect(fast.peak).toBeLessThanOrEqual(15);
    await f!.close();
    // With a real backoff (no jitter: 200 ms, ×2 per failure), a watch that ends at once with only
    // garbage in it is a failure: the watches slow down instead of resuming at once.
    const slow = await measure({ events: [garbage], then: 'end' }, { initial: 200, max: 30_000, random: () => 1 });
    console.log(`[provider-k8s]   with a 200 ms backoff: ${slow.watches} watches in ${windowMs} ms`);
    expect(slow.watches).toBeLessThanOrEqual(5);
    expect(slow.w.recorder.errors()).toEqual([]);
  }, 20_000);
});

// The source on its own, over a scripted KubeApi: how one watch maps onto the engine's sink.
import type { Instance, InvalidRecordError } from '@disco/core';
import type { FollowSink } from '@disco/core/provider';
import { describe, expect, it } from 'vitest';
import { endpointSliceMapper } from '../src/endpoint-slice-mapper.js';
import type { KubeApi } from '../src/kube-api.js';
import { KubernetesSource } from '../src/kubernetes-source.js';

const slice = (name: string, version: string, pods: string[]) => ({
  metadata: { name, namespace: 'default', resourceVersion: version },
  addressType: 'IPv4',
  ports: [{ name: 'http', port: 80 }],
  endpoints: pods.map((pod) => ({ addresses: [`10.80.0.${pod.slice(1)}`], targetRef: { kind: 'Pod', name: pod } })),
});

/** A KubeApi whose watch hands the test its callbacks. */
function scripted(items: unknown[] = []) {
  const watches: { onEvent: (type: unknown, object: unknown) => void; done: (error: unknown) => void; aborted: boolean }[] = [];
  const api: KubeApi = {
    list: async () => ({ items, resourceVersion: '10', continue: undefined }),
    watch: async (_request, onEvent, done) => {
      const watch = { onEvent, done, aborted: false };
      watches.push(watch);
      return { abort: () => (watch.aborted = true) };
    },
  };
  return { api, watches };
}

function recordingSink(overrides: Partial<FollowSink<string>> = {}) {
  const calls: string[] = [];
  const sink: FollowSink<string> = {
    replace: (instances: Iterable<Instance>) => calls.push(`replace ${[...instances].map((i) => i.id).join(',')}`),
    resync: (instances: Iterable<Instance>) => calls.push(`resync ${[...instances].map((i) => i.id).join(',')}`),
    upsert: (instance) => calls.push(`upsert ${instance.id}`),
    remove: (id) => calls.push(`remove ${id}`),
    advance: (position) => calls.push(`advance ${position}`),
    invalid: (error: InvalidRecordError) => calls.push(`invalid ${error.message}`),
    stale: () => calls.push('stale'),
    ...overrides,
  };
  return { sink, calls };
}

function source(api: KubeApi) {
  const events: string[] = [];
  const made = new KubernetesSource(api, endpointSliceMapper({ service: 'web', port: undefined, addressType: 'any' }), { unready: 'exclude', terminating: 'exclude' }, { pageSize: 10, watchTimeoutMs: 60_000, watchGraceMs: 1000 }, {
    emit: (event) => events.push(`${event.type}: ${event.message}`),
    errors: { redact: (t) => t, credential: 'KUBECONFIG' },
    what: 'EndpointSlices "x" in namespace default',
  });
  return { source: made, events };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('KubernetesSource.follow', () => {
  it('publishes the events of one chunk as upserts and removes of what changed, then advances to the last resourceVersion', async () => {
    const { api, watches } = scripted([slice('a', '5', ['p1', 'p2'])]);
    const { source: s } = source(api);
    const listed = await s.list(new AbortController().signal);
    expect([...listed.instances].map((i) => i.id)).toEqual(['p1', 'p2']);
    expect(listed.position).toBe('10');
    const { sink, calls } = recordingSink();
    const controller = new AbortController();
    const following = s.follow('10', sink, controller.signal);
    await settle();
    watches[0]!.onEvent('MODIFIED', slice('a', '11', ['p2', 'p3']));
    watches[0]!.onEvent('ADDED', slice('b', '12', ['p4']));
    await settle();
    expect(calls).toEqual(['remove p1', 'upsert p3', 'upsert p4', 'advance 12']);
    watches[0]!.onEvent('BOOKMARK', { metadata: { resourceVersion: '20' } });
    expect(calls.at(-1)).toBe('advance 20');
    watches[0]!.onEvent('MUTATED', {});
    watches[0]!.onEvent('ADDED', { metadata: { name: 'no-version' } });
    expect(calls.slice(-2)).toEqual(['invalid skipped invalid record watch event: an event of unknown type "MUTATED"', 'invalid skipped invalid record /no-version: ADDED event without metadata.name and metadata.resourceVersion']);
    watches[0]!.done(null);
    await expect(following).resolves.toBe('ended');
    controller.abort();
  });

  it('resolves relist on ERROR 410, rejects on another ERROR, resolves ended when aborted', async () => {
    const { api, watches } = scripted();
    const { source: s } = source(api);
    await s.list(new AbortController().signal);
    const gone = s.follow('10', recordingSink().sink, new AbortController().signal);
    await settle();
    watches[0]!.onEvent('ERROR', { kind: 'Status', code: 410, message: 'too old resource version' });
    await expect(gone).resolves.toBe('relist');
    expect(watches[0]!.aborted).toBe(true);
    const failed = s.follow('10', recordingSink().sink, new AbortController().signal);
    await settle();
    watches[1]!.onEvent('ERROR', { kind: 'Status', code: 500, message: 'etcdserver: leader changed' });
    await expect(failed).rejects.toMatchObject({ code: 'ERR_PROVIDER_UNAVAILABLE', message: expect.stringMatching(/answered 500: etcdserver: leader changed/) as string });
    const controller = new AbortController();
    const stopped = s.follow('10', recordingSink().sink, controller.signal);
    await settle();
    controller.abort();
    await expect(stopped).resolves.toBe('ended');
    expect(watches[2]!.aborted).toBe(true);
  });

  it('turns a throw inside a scheduled callback into a failed watch, not an uncaught exception (issue 13, item 9)', async () => {
    const { api, watches } = scripted([slice('a', '5', ['p1'])]);
    const { source: s } = source(api);
    await s.list(new AbortController().signal);
    const { sink } = recordingSink({
      upsert: () => {
        throw new TypeError('Cannot convert object to primitive value');
      },
    });
    const following = s.follow('10', sink, new AbortController().signal);
    await settle();
    watches[0]!.onEvent('ADDED', slice('b', '11', ['p2'])); // published from a setImmediate
    await expect(following).rejects.toMatchObject({ code: 'ERR_PROVIDER_UNAVAILABLE', message: expect.stringMatching(/Cannot convert object to primitive value/) as string });
    // Later callbacks of the dead watch are ignored.
    expect(() => watches[0]!.onEvent('ADDED', slice('c', '12', ['p3']))).not.toThrow();
    expect(() => watches[0]!.done(new Error('late'))).not.toThrow();
  });
});

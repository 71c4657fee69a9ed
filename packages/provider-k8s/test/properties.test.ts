// Property tests (fast-check, fixed seeds) for what the API server hands the provider: any
// EndpointSlice or Pod, mutated field by field into any JSON, maps to well-formed instances
// plus InvalidRecordErrors, never a throw and never a non-string where an Instance has a string.
import { isDiscoveryError, type ProviderEvent } from '@disco/core';
import { instanceProblem } from '@disco/core/provider';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MappedObject } from '../src/candidate.js';
import { endpointSliceMapper } from '../src/endpoint-slice-mapper.js';
import type { KubeItem } from '../src/kube-api.js';
import { podMapper } from '../src/pod-mapper.js';
import { ServiceView } from '../src/service-view.js';
import { startDouble, type DoubleFixture } from './helpers.js';

/** Any JSON, plus the values that broke careless code before (issue 13). */
const hostile = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom<unknown>({ toString: 1 }, { valueOf: {} }, { toString: 'x', valueOf: 'y' }, '', 123, -1, 1.5, null, [], {}, [null], ['10.0.0.1', 5], '__proto__', 'constructor', 'not an address'),
);
/** Usually the right shape, often hostile. */
const or = <T>(right: fc.Arbitrary<T>) => fc.oneof({ arbitrary: right, weight: 3 }, { arbitrary: hostile, weight: 1 });

const endpoint = fc.record(
  {
    addresses: or(fc.constantFrom(['10.0.0.1'], ['10.0.0.2', '10.0.0.3'], ['fd00::1'], ['web.example.com'])),
    conditions: or(fc.record({ ready: or(fc.boolean()), serving: or(fc.boolean()), terminating: or(fc.boolean()) }, { requiredKeys: [] })),
    targetRef: or(fc.record({ kind: or(fc.constant('Pod')), name: or(fc.constantFrom('web-1', 'web-2', 'web-3')), namespace: or(fc.constant('default')) }, { requiredKeys: [] })),
    hostname: or(fc.constantFrom('web-0', 'web-1')),
    nodeName: or(fc.constant('node-1')),
    zone: or(fc.constantFrom('a', 'b')),
  },
  { requiredKeys: [] },
);

const slice = fc.record(
  {
    metadata: fc.record({ name: fc.constantFrom('s1', 's2', 's3'), namespace: or(fc.constant('default')), resourceVersion: fc.nat().map(String) }),
    addressType: or(fc.constantFrom('IPv4', 'IPv6', 'FQDN')),
    ports: or(fc.array(fc.record({ name: or(fc.constantFrom('http', 'grpc')), port: or(fc.integer({ min: 1, max: 65_535 })), protocol: or(fc.constant('TCP')) }, { requiredKeys: [] }), { maxLength: 3 })),
    endpoints: or(fc.array(or(endpoint), { maxLength: 4 })),
  },
  { requiredKeys: ['metadata'] },
);

const pod = fc.record(
  {
    metadata: fc.record(
      {
        name: fc.constantFrom('p1', 'p2', 'p3'),
        namespace: or(fc.constant('default')),
        resourceVersion: fc.nat().map(String),
        labels: or(fc.record({ app: fc.constant('web'), 'app.kubernetes.io/version': or(fc.constant('1.0.0')) }, { requiredKeys: ['app'] })),
        deletionTimestamp: fc.option(or(fc.constant('2026-01-01T00:00:00Z')), { nil: undefined }),
      },
      { requiredKeys: ['name', 'resourceVersion'] },
    ),
    spec: or(
      fc.record(
        { nodeName: or(fc.constant('node-1')), containers: or(fc.array(or(fc.record({ name: fc.constant('c'), ports: or(fc.array(or(fc.record({ name: or(fc.constant('http')), containerPort: or(fc.integer({ min: 1, max: 65_535 })) }, { requiredKeys: [] })), { maxLength: 2 })) }, { requiredKeys: [] })), { maxLength: 2 })) },
        { requiredKeys: [] },
      ),
    ),
    status: or(
      fc.record(
        {
          phase: or(fc.constantFrom('Running', 'Pending', 'Succeeded', 'Failed')),
          podIP: or(fc.constantFrom('10.1.0.1', 'fd00::2')),
          podIPs: or(fc.array(or(fc.record({ ip: or(fc.constantFrom('10.1.0.1', 'fd00::2')) })), { maxLength: 2 })),
          conditions: or(fc.array(or(fc.record({ type: or(fc.constant('Ready')), status: or(fc.constantFrom('True', 'False')) })), { maxLength: 2 })),
        },
        { requiredKeys: [] },
      ),
    ),
  },
  { requiredKeys: ['metadata'] },
);

/** As the API would send it: through JSON. */
const wire = (value: unknown) => JSON.parse(JSON.stringify(value)) as KubeItem;

function wellFormed(mapped: MappedObject): void {
  for (const { instance } of mapped.candidates) expect(instanceProblem(instance)).toBeUndefined();
  for (const problem of mapped.problems) expect(isDiscoveryError(problem, 'ERR_INVALID_RECORD')).toBe(true);
}

const runs = { slices: 3000, pods: 3000, views: 500, wire: 15 };

describe('any EndpointSlice or Pod maps to well-formed instances or invalid records', () => {
  it(`EndpointSlices (${runs.slices} mutated slices, seed 7)`, () => {
    const mappers = [endpointSliceMapper({ service: 'web', port: undefined, addressType: 'any' }), endpointSliceMapper({ service: 'web', port: 'http', addressType: 'IPv4' }), endpointSliceMapper({ service: 'web', port: 80, addressType: 'any' })];
    fc.assert(
      fc.property(slice, (value) => {
        for (const map of mappers) wellFormed(map(wire(value)));
      }),
      { numRuns: runs.slices, seed: 7 },
    );
  });

  it(`Pods (${runs.pods} mutated pods, seed 11)`, () => {
    const mappers = [podMapper({ service: 'web', port: undefined, addressType: 'any' }), podMapper({ service: 'web', port: 'http', addressType: 'IPv6' }), podMapper({ service: 'web', port: 8080, addressType: 'IPv4' })];
    fc.assert(
      fc.property(pod, (value) => {
        for (const map of mappers) wellFormed(map(wire(value)));
      }),
      { numRuns: runs.pods, seed: 11 },
    );
  });

  it(`a view merging several of them never throws and never offers a malformed instance (${runs.views} sets of slices, seed 13)`, () => {
    const map = endpointSliceMapper({ service: 'web', port: undefined, addressType: 'any' });
    fc.assert(
      fc.property(fc.array(slice, { maxLength: 4 }), fc.array(fc.tuple(fc.constantFrom('ADDED', 'MODIFIED', 'DELETED' as const), slice), { maxLength: 4 }), fc.constantFrom('exclude', 'unhealthy', 'fallback' as const), (listed, events, terminating) => {
        const view = new ServiceView(map, { unready: 'unhealthy', terminating }, () => {});
        view.replace(listed.map(wire));
        for (const [type, object] of events) view.apply(type, wire(object));
        view.rebuild();
        for (const instance of view.snapshot ?? []) expect(instanceProblem(instance)).toBeUndefined();
        expect(new Set((view.snapshot ?? []).map((i) => i.id)).size).toBe(view.snapshot?.length ?? 0);
      }),
      { numRuns: runs.views, seed: 13 },
    );
  });
});

describe('through the API double: whatever is stored, the service is served', () => {
  let f: DoubleFixture;
  beforeAll(async () => {
    f = await startDouble();
  });
  afterAll(() => f.close());

  it(`${runs.wire} stores of mutated slices next to one good slice: discover() answers with the good one and well-formed others (seed 17)`, async () => {
    let round = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(slice, { minLength: 1, maxLength: 4 }), async (slices) => {
        const service = `prop-${round++}`;
        const labels = { 'kubernetes.io/service-name': service };
        for (const [i, s] of slices.entries()) f.double.apply('endpointslices', { ...wire(s), metadata: { name: `${service}-${i}`, namespace: 'default', labels } } as never);
        f.double.apply('endpointslices', { metadata: { name: `${service}-good`, namespace: 'default', labels }, addressType: 'IPv4', ports: [{ name: 'http', port: 80 }], endpoints: [{ addresses: ['10.99.0.1'], targetRef: { kind: 'Pod', name: 'good' } }] } as never);
        const provider = f.provider({ port: 'http' });
        const events: ProviderEvent[] = [];
        provider.onEvent((e) => events.push(e));
        const found = await provider.discover(service);
        expect(found.map((i) => i.id)).toContain('good');
        for (const instance of found) expect(instanceProblem(instance)).toBeUndefined();
        expect(events.every((e) => e.type === 'invalid-record')).toBe(true);
        await provider.close();
      }),
      { numRuns: runs.wire, seed: 17 },
    );
  });
});

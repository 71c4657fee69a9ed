// The Kubernetes API double held to the API's documented behaviour, point by point
// (kubernetes.io/docs/reference/using-api/api-concepts, the apiserver's handlers and the
// kinds' strategies and validation): what a real API server answers, the double answers.
import { request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubernetesApiDouble, waitFor } from '../src/index.js';
import { openWatch } from './k8s-double-client.js';

const slices = '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices';
const pods = '/api/v1/namespaces/default/pods';
type Obj = { kind?: string; apiVersion?: string; metadata: Record<string, unknown> & { name: string; resourceVersion: string; labels?: Record<string, string> }; [key: string]: unknown };
type List = { kind: string; metadata: { resourceVersion: string; continue?: string; remainingItemCount?: number }; items: Obj[] };

const slice = (name: string, addresses: string[], labels: Record<string, string> = { 'kubernetes.io/service-name': 'web' }) => ({
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: { name, labels },
  addressType: 'IPv4',
  ports: [{ name: 'http', port: 80 }],
  endpoints: [{ addresses }],
});
const podBody = (name: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels: { app: 'web' } },
  spec: { nodeName: 'node-1', containers: [{ name: 'app', image: 'example/app:1', ports: [{ containerPort: 8080 }] }], ...extra },
  status: { podIP: '10.9.9.9', phase: 'Running' },
});

describe('KubernetesApiDouble against the API documentation', () => {
  const double = new KubernetesApiDouble({ bookmarkIntervalMs: 100, tooLargeResourceVersionWaitMs: 400 });
  const api = double.request.bind(double);

  beforeAll(async () => {
    await double.start();
  });
  afterAll(async () => {
    await double.stop();
  });

  it('serves HTTPS only, with a certificate for 127.0.0.1 signed by the CA of its kubeconfig; a client without that CA is refused', async () => {
    expect(double.url).toMatch(/^https:/);
    expect((await api('/version')).status).toBe(200);
    const untrusted = await new Promise<string>((resolve) => {
      const req = request(`${double.url}/version`, { agent: false }, () => resolve('answered'));
      req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
      req.end();
    });
    expect(untrusted).toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED|UNABLE_TO_GET_ISSUER_CERT/);
    expect(double.connections.accepted).toBeGreaterThanOrEqual(1);
  });

  it('serves discovery: /version, /api, /apis, and an APIResourceList per group version', async () => {
    expect((await api('/version')).json()).toMatchObject({ major: '1', minor: '30', gitVersion: expect.stringMatching(/^v1\.30\./) });
    expect((await api('/api')).json()).toMatchObject({ kind: 'APIVersions', versions: ['v1'] });
    expect((await api('/apis')).json()).toMatchObject({ kind: 'APIGroupList', groups: [{ name: 'discovery.k8s.io', preferredVersion: { groupVersion: 'discovery.k8s.io/v1' } }] });
    const core = (await api('/api/v1')).json<{ groupVersion: string; resources: { name: string; namespaced: boolean; kind: string; shortNames?: string[]; verbs: string[] }[] }>();
    expect(core.groupVersion).toBe('v1');
    const byName = Object.fromEntries(core.resources.map((r) => [r.name, r]));
    expect(byName.pods).toMatchObject({ namespaced: true, kind: 'Pod', shortNames: ['po'], verbs: expect.arrayContaining(['get', 'list', 'watch', 'create', 'patch', 'delete']) });
    expect(byName['pods/status']).toMatchObject({ verbs: ['get', 'patch', 'update'] });
    expect(byName.services).toMatchObject({ shortNames: ['svc'] });
    expect(byName.namespaces).toMatchObject({ namespaced: false, shortNames: ['ns'] });
    expect((await api('/apis/discovery.k8s.io/v1')).json()).toMatchObject({ kind: 'APIResourceList', groupVersion: 'discovery.k8s.io/v1', resources: [{ name: 'endpointslices', kind: 'EndpointSlice', namespaced: true }] });
    expect((await api('/apis/apps/v1')).status).toBe(404);
  });

  it('serves /openapi/v2 as JSON, and as gnostic protobuf to a client asking for it (kubectl), with each kind tagged by x-kubernetes-group-version-kind', async () => {
    const doc = (await api('/openapi/v2')).json<{ swagger: string; definitions: Record<string, Record<string, unknown>> }>();
    expect(doc.swagger).toBe('2.0');
    const kinds = Object.values(doc.definitions).flatMap((d) => (d['x-kubernetes-group-version-kind'] as { kind: string }[] | undefined) ?? []).map((g) => g.kind);
    expect(kinds.sort()).toEqual(['EndpointSlice', 'Namespace', 'Pod', 'Service']);
    expect(doc.definitions['io.k8s.api.core.v1.PodSpec']!.properties).toMatchObject({ containers: { 'x-kubernetes-patch-merge-key': 'name', 'x-kubernetes-patch-strategy': 'merge' } });
    const pb = await api('/openapi/v2', { headers: { accept: 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf' } });
    expect(pb.status).toBe(200);
    const bytes = Buffer.from(pb.text, 'latin1');
    // Field 1 (swagger) first: tag 0x0a, length 3, "2.0".
    expect([...bytes.subarray(0, 5)]).toEqual([0x0a, 0x03, 0x32, 0x2e, 0x30]);
    expect(pb.text).toContain('io.k8s.api.discovery.v1.EndpointSlice');
  });

  it('filters by fieldSelector on metadata.name and metadata.namespace, and answers 400 with the API server\'s message for other fields', async () => {
    double.applyEndpointSlice({ name: 'fs-a', service: 'fs', endpoints: [{ address: '10.10.0.1' }] });
    double.applyEndpointSlice({ name: 'fs-b', service: 'fs', endpoints: [{ address: '10.10.0.2' }] });
    double.applyEndpointSlice({ name: 'fs-a', service: 'fs', namespace: 'other', endpoints: [{ address: '10.10.0.3' }] });
    const names = async (path: string) => (await api(path)).json<List>().items.map((i) => `${String(i.metadata.namespace)}/${i.metadata.name}`);
    expect(await names(`${slices}?fieldSelector=metadata.name%3Dfs-a`)).toEqual(['default/fs-a']);
    expect(await names(`${slices}?labelSelector=kubernetes.io%2Fservice-name%3Dfs&fieldSelector=metadata.name!%3Dfs-a`)).toEqual(['default/fs-b']);
    expect(await names(`/apis/discovery.k8s.io/v1/endpointslices?fieldSelector=metadata.name%3Dfs-a,metadata.namespace%3Dother`)).toEqual(['other/fs-a']);
    const bad = await api(`${slices}?fieldSelector=spec.foo%3Dx`);
    expect(bad.status).toBe(400);
    expect(bad.json()).toMatchObject({ kind: 'Status', reason: 'BadRequest', code: 400, message: '"spec.foo" is not a known field selector: only "metadata.name", "metadata.namespace"' });
    expect((await api(`${pods}?fieldSelector=spec.foo%3Dx`)).json()).toMatchObject({ code: 400, message: 'field label not supported: spec.foo' });
    expect((await api(`${pods}?fieldSelector=status.phase%3DRunning`)).status).toBe(200);
  });

  it('PATCHes with JSON merge patch, JSON patch and strategic merge patch; 415 for a patch type it does not implement; 409 on a stale resourceVersion', async () => {
    expect((await api(slices, { method: 'POST', body: slice('patched', ['10.11.0.1'], { 'kubernetes.io/service-name': 'web', drop: 'me' }) })).status).toBe(201);
    const merge = await api(`${slices}/patched`, { method: 'PATCH', headers: { 'content-type': 'application/merge-patch+json' }, body: { metadata: { labels: { drop: null, added: 'yes' } }, endpoints: [{ addresses: ['10.11.0.2'] }] } });
    expect(merge.status).toBe(200);
    expect(merge.json<Obj>()).toMatchObject({ metadata: { labels: { 'kubernetes.io/service-name': 'web', added: 'yes' } }, endpoints: [{ addresses: ['10.11.0.2'] }] });
    expect(merge.json<Obj>().metadata.labels).not.toHaveProperty('drop');
    const json = await api(`${slices}/patched`, { method: 'PATCH', headers: { 'content-type': 'application/json-patch+json' }, body: [{ op: 'add', path: '/endpoints/-', value: { addresses: ['10.11.0.3'] } }, { op: 'replace', path: '/metadata/labels/added', value: 'again' }] });
    expect(json.json<{ endpoints: unknown[]; metadata: { labels: Record<string, string> } }>()).toMatchObject({ endpoints: [{}, { addresses: ['10.11.0.3'] }], metadata: { labels: { added: 'again' } } });
    expect((await api(`${slices}/patched`, { method: 'PATCH', headers: { 'content-type': 'application/json-patch+json' }, body: [{ op: 'test', path: '/addressType', value: 'IPv6' }] })).status).toBe(422);
    const stale = await api(`${slices}/patched`, { method: 'PATCH', headers: { 'content-type': 'application/merge-patch+json' }, body: { metadata: { resourceVersion: '1' } } });
    expect(stale.json()).toMatchObject({ code: 409, reason: 'Conflict' });
    expect((await api(`${slices}/patched`, { method: 'PATCH', headers: { 'content-type': 'application/apply-patch+yaml' }, body: '{}' })).status).toBe(415);

    expect((await api(pods, { method: 'POST', body: podBody('smp', {}) })).status).toBe(201);
    const twoContainers = { spec: { containers: [{ name: 'sidecar', image: 'example/sidecar:1' }, { name: 'app', image: 'example/app:2' }] } };
    const smp = await api(`${pods}/smp`, { method: 'PATCH', headers: { 'content-type': 'application/strategic-merge-patch+json' }, body: twoContainers });
    // Merged by name, this adds a container: a spec change ValidatePodUpdate refuses.
    expect(smp.status).toBe(422);
    expect(smp.json<{ message: string }>().message).toContain('pod updates may not change fields other than `spec.containers[*].image`');
    // Merged by name, app keeps its ports and takes the new image.
    const image = await api(`${pods}/smp`, { method: 'PATCH', headers: { 'content-type': 'application/strategic-merge-patch+json' }, body: { spec: { containers: [{ name: 'app', image: 'example/app:2' }] } } });
    expect(image.json<{ spec: { containers: unknown[] } }>().spec.containers).toEqual([expect.objectContaining({ name: 'app', image: 'example/app:2', ports: [{ containerPort: 8080, protocol: 'TCP' }] })]);
    const deleted = await api(`${pods}/smp`, { method: 'PATCH', headers: { 'content-type': 'application/strategic-merge-patch+json' }, body: { metadata: { labels: { $patch: 'replace', fresh: 'x' } } } });
    expect(deleted.json<Obj>().metadata.labels).toEqual({ fresh: 'x' });
  });

  it('serves Services (defaulted, clusterIP assigned, validated) and Namespaces, with NamespaceLifecycle', async () => {
    const svc = await api('/api/v1/namespaces/default/services', { method: 'POST', body: { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ port: 80 }] } } });
    expect(svc.status).toBe(201);
    expect(svc.json()).toMatchObject({ spec: { type: 'ClusterIP', clusterIP: expect.stringMatching(/^10\.96\./), ports: [{ port: 80, targetPort: 80, protocol: 'TCP' }] } });
    const noPorts = await api('/api/v1/namespaces/default/services', { method: 'POST', body: { apiVersion: 'v1', kind: 'Service', metadata: { name: 'bad' }, spec: {} } });
    expect(noPorts.json()).toMatchObject({ code: 422, reason: 'Invalid', message: 'Service "bad" is invalid: spec.ports: Required value' });

    const missing = await api('/apis/discovery.k8s.io/v1/namespaces/nowhere/endpointslices', { method: 'POST', body: slice('x', ['10.12.0.1']) });
    expect(missing.json()).toEqual({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'namespaces "nowhere" not found', reason: 'NotFound', details: { name: 'nowhere', kind: 'namespaces' }, code: 404 });
    expect((await api('/api/v1/namespaces', { method: 'POST', body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'doomed' } } })).json()).toMatchObject({ status: { phase: 'Active' }, spec: { finalizers: ['kubernetes'] } });
    expect((await api('/apis/discovery.k8s.io/v1/namespaces/doomed/endpointslices', { method: 'POST', body: slice('inside', ['10.12.0.2']) })).status).toBe(201);
    const w = openWatch(double, '/apis/discovery.k8s.io/v1/namespaces/doomed/endpointslices?watch=true&resourceVersion=' + double.store.revision);
    const terminating = await api('/api/v1/namespaces/doomed', { method: 'DELETE' });
    expect(terminating.json()).toMatchObject({ metadata: { deletionTimestamp: expect.any(String) }, status: { phase: 'Terminating' } });
    const refused = await api('/apis/discovery.k8s.io/v1/namespaces/doomed/endpointslices', { method: 'POST', body: slice('late', ['10.12.0.3']) });
    expect(refused.json()).toMatchObject({ code: 403, reason: 'Forbidden', message: 'endpointslices.discovery.k8s.io "late" is forbidden: unable to create new content in namespace doomed because it is being terminated', details: { causes: [{ reason: 'NamespaceTerminating', field: 'metadata.namespace' }] } });
    await waitFor(() => w.names().includes('DELETED inside'), { what: 'the namespace controller to delete its content' });
    await waitFor(async () => (await api('/api/v1/namespaces/doomed')).status === 404, { what: 'the namespace to go' });
    w.stop();
    expect((await api('/api/v1/namespaces/default', { method: 'DELETE' })).json()).toMatchObject({ code: 403, message: 'namespaces "default" is forbidden: this namespace may not be deleted' });
  });

  it('answers 422 Invalid with the field errors as causes (an endpoint with addresses: [])', async () => {
    const res = await api(slices, { method: 'POST', body: slice('no-address', []) });
    expect(res.status).toBe(422);
    expect(res.json()).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'EndpointSlice.discovery.k8s.io "no-address" is invalid: endpoints[0].addresses: Required value: must contain at least 1 address',
      reason: 'Invalid',
      details: { name: 'no-address', group: 'discovery.k8s.io', kind: 'EndpointSlice', causes: [{ reason: 'FieldValueRequired', message: 'Required value: must contain at least 1 address', field: 'endpoints[0].addresses' }] },
      code: 422,
    });
    const several = await api(slices, { method: 'POST', body: { ...slice('Bad_Name', ['300.1.1.1']), addressType: 'IPv4' } });
    expect(several.json<{ message: string }>().message).toMatch(/^EndpointSlice\.discovery\.k8s\.io "Bad_Name" is invalid: \[metadata\.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain .*, endpoints\[0\]\.addresses\[0\]: Invalid value: "300\.1\.1\.1": must be a valid IPv4 address\]$/);
    const immutable = await api(`${slices}/patched`, { method: 'PATCH', headers: { 'content-type': 'application/merge-patch+json' }, body: { addressType: 'IPv6' } });
    expect(immutable.json<{ message: string }>().message).toContain('addressType: Invalid value: "IPv6": field is immutable');
    expect((await api(slices, { method: 'POST', body: { ...slice('with-rv', ['10.13.0.1']), metadata: { name: 'with-rv', resourceVersion: '5' } } })).json()).toMatchObject({ code: 400, message: 'resourceVersion should not be set on objects to be created' });
  });

  it('keeps a pod\'s status to the status subresource, and deletes a scheduled pod gracefully (deletionTimestamp, grace period, then DELETED)', async () => {
    const created = (await api(pods, { method: 'POST', body: podBody('graceful', { terminationGracePeriodSeconds: 1 }) })).json<Obj & { status: Record<string, unknown> }>();
    expect(created.status).toEqual({ phase: 'Pending', qosClass: 'BestEffort' });
    const status = await api(`${pods}/graceful/status`, { method: 'PUT', body: { ...created, status: { phase: 'Running', podIP: '10.14.0.1', podIPs: [{ ip: '10.14.0.1' }] } } });
    expect(status.json()).toMatchObject({ status: { phase: 'Running', podIP: '10.14.0.1' } });
    const main = await api(`${pods}/graceful`, { method: 'PUT', body: { ...status.json<Obj>(), status: { phase: 'Failed' }, metadata: { ...status.json<Obj>().metadata, labels: { app: 'web', v: '2' } } } });
    expect(main.json()).toMatchObject({ metadata: { labels: { v: '2' } }, status: { phase: 'Running' } });

    const w = openWatch(double, `${pods}?watch=true&fieldSelector=metadata.name%3Dgraceful&resourceVersion=${double.store.revision}`);
    const started = performance.now();
    const deleting = await api(`${pods}/graceful`, { method: 'DELETE' });
    expect(deleting.json()).toMatchObject({ metadata: { deletionTimestamp: expect.any(String), deletionGracePeriodSeconds: 1 } });
    await waitFor(() => w.names().includes('DELETED graceful'), { what: 'the pod to be gone after its grace period' });
    expect(performance.now() - started).toBeGreaterThan(900);
    expect(w.names()).toEqual(['MODIFIED graceful', 'DELETED graceful']);
    w.stop();
    // Not scheduled to a node: nothing to wait for, gone at once.
    await api(pods, { method: 'POST', body: { ...podBody('unscheduled'), spec: { containers: [{ name: 'app', image: 'example/app:1' }] } } });
    expect((await api(`${pods}/unscheduled`, { method: 'DELETE' })).status).toBe(200);
    expect((await api(`${pods}/unscheduled`)).status).toBe(404);
  });

  it('lists as the API server does: items without kind, remainingItemCount only without a selector, continue + resourceVersion is 400, Exact reads the past, a future resourceVersion waits then 504', async () => {
    for (let i = 0; i < 4; i++) double.applyEndpointSlice({ name: `page-${i}`, service: 'paged', endpoints: [{ address: `10.15.0.${i + 1}` }] });
    const first = (await api(`${slices}?limit=2`)).json<List>();
    expect(first.kind).toBe('EndpointSliceList');
    expect(first.items[0]).not.toHaveProperty('kind');
    expect(first.items[0]).not.toHaveProperty('apiVersion');
    expect(first.metadata.remainingItemCount).toBeGreaterThan(0);
    const selected = (await api(`${slices}?limit=2&labelSelector=kubernetes.io%2Fservice-name%3Dpaged`)).json<List>();
    expect(selected.metadata.continue).toBeDefined();
    expect(selected.metadata).not.toHaveProperty('remainingItemCount');
    const both = await api(`${slices}?limit=2&continue=${selected.metadata.continue}&resourceVersion=${selected.metadata.resourceVersion}`);
    expect(both.json()).toMatchObject({ code: 400, message: 'specifying resource version is not allowed when using continue' });

    const at = double.store.revision;
    double.applyEndpointSlice({ name: 'page-0', service: 'paged', endpoints: [{ address: '10.15.1.1' }] });
    const past = (await api(`${slices}?labelSelector=kubernetes.io%2Fservice-name%3Dpaged&resourceVersion=${at}&resourceVersionMatch=Exact`)).json<List & { items: { endpoints: { addresses: string[] }[] }[] }>();
    expect(past.metadata.resourceVersion).toBe(String(at));
    expect(past.items[0]!.endpoints[0]!.addresses).toEqual(['10.15.0.1']);

    const future = double.store.revision + 5;
    const started = performance.now();
    const tooLarge = await api(`${slices}?resourceVersion=${future}`);
    expect(performance.now() - started).toBeGreaterThanOrEqual(350);
    expect(tooLarge.status).toBe(504);
    expect(tooLarge.json()).toMatchObject({ reason: 'Timeout', message: `Timeout: Too large resource version: ${future}, current: ${double.store.revision}`, details: { causes: [{ reason: 'ResourceVersionTooLarge' }], retryAfterSeconds: 1 } });
    // It waits: a resourceVersion reached during the wait is served.
    const soon = double.store.revision + 1;
    setTimeout(() => double.applyEndpointSlice({ name: 'soon', service: 'soon', endpoints: [{ address: '10.15.2.1' }] }), 100);
    expect((await api(`${slices}?resourceVersion=${soon}`)).status).toBe(200);
  });

  it('watches as the watch cache does: an object leaving the selector is DELETED with its last matching state at the change\'s resourceVersion; BOOKMARKs carry only a resourceVersion', async () => {
    double.applyPod({ name: 'leaver', labels: { app: 'stay' }, ip: '10.16.0.1' });
    const w = openWatch(double, `${pods}?watch=true&labelSelector=app%3Dstay&allowWatchBookmarks=true&resourceVersion=${double.store.revision}`);
    await waitFor(() => double.openWatches('pods') >= 1, { what: 'the watch' });
    const moved = double.applyPod({ name: 'leaver', labels: { app: 'gone' }, ip: '10.16.0.1' });
    await waitFor(() => w.names().includes('DELETED leaver'), { what: 'the DELETED event' });
    const deleted = w.events.find((e) => e.type === 'DELETED')!;
    expect(deleted.object.metadata.labels).toEqual({ app: 'stay' });
    expect(deleted.object.metadata.resourceVersion).toBe(moved.metadata.resourceVersion);
    await waitFor(() => w.events.some((e) => e.type === 'BOOKMARK'), { what: 'a bookmark' });
    const bookmark = w.events.find((e) => e.type === 'BOOKMARK')!;
    expect(bookmark.object).toEqual({ kind: 'Pod', apiVersion: 'v1', metadata: { resourceVersion: expect.stringMatching(/^\d+$/), creationTimestamp: null }, spec: { containers: null }, status: {} });
    w.stop();
  });

  it('answers NotFound with the group and details, as NewNotFound builds it', async () => {
    expect((await api(`${slices}/nope`)).json()).toEqual({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'endpointslices.discovery.k8s.io "nope" not found', reason: 'NotFound', details: { name: 'nope', group: 'discovery.k8s.io', kind: 'endpointslices' }, code: 404 });
    expect((await api(`${pods}/nope`)).json()).toMatchObject({ message: 'pods "nope" not found', details: { name: 'nope', kind: 'pods' } });
    expect((await api('/apis/discovery.k8s.io/v1/namespaces/default/widgets')).json()).toMatchObject({ code: 404, message: 'the server could not find the requested resource' });
  });
});

import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubernetesApiDouble, waitFor } from '../src/index.js';
import { openWatch } from './k8s-double-client.js';

const slices = '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices';
const pods = '/api/v1/namespaces/default/pods';

describe('KubernetesApiDouble', () => {
  const double = new KubernetesApiDouble({ bookmarkIntervalMs: 100 });
  const get = async (path: string, token: string | undefined = double.token) => {
    const res = await double.request(path, { token: token ?? null });
    return { status: res.status, json: () => res.json() };
  };
  const json = async (path: string) => {
    const res = await double.request(path);
    return { status: res.status, body: res.json<{ metadata: { resourceVersion: string; continue?: string; remainingItemCount?: number }; items: { metadata: { name: string }; kind?: string }[]; code?: number; reason?: string }>() };
  };
  const watch = (path: string) => openWatch(double, path);

  beforeAll(async () => {
    await double.start();
  });
  afterAll(async () => {
    await double.stop();
  });

  it('answers 401 with a Status without the right bearer token', async () => {
    for (const token of ['', 'wrong']) {
      const res = await get(slices, token);
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ kind: 'Status', code: 401, reason: 'Unauthorized' });
    }
  });

  it('lists by label selector with a resourceVersion', async () => {
    double.applyEndpointSlice({ name: 'web-a', service: 'web', endpoints: [{ address: '10.0.0.1' }] });
    double.applyEndpointSlice({ name: 'api-a', service: 'api', endpoints: [{ address: '10.0.0.2' }] });
    double.applyPod({ name: 'web-1', labels: { app: 'web', tier: 'front' }, ip: '10.0.1.1' });
    double.applyPod({ name: 'db-1', labels: { app: 'db' }, ip: '10.0.1.2' });
    const web = await json(`${slices}?labelSelector=${encodeURIComponent('kubernetes.io/service-name=web')}`);
    expect(web.status).toBe(200);
    expect(web.body.items.map((i) => i.metadata.name)).toEqual(['web-a']);
    expect(web.body.metadata.resourceVersion).toBe(String(double.store.revision));
    const selected = await json(`${pods}?labelSelector=${encodeURIComponent('app in (web,db),tier notin (back)')}`);
    expect(selected.body.items.map((i) => i.metadata.name)).toEqual(['db-1', 'web-1']);
    const bad = await json(`${pods}?labelSelector=${encodeURIComponent('app in web')}`);
    expect(bad.status).toBe(400);
  });

  it('pages with limit/continue over a consistent snapshot, and 410s a continuation after compaction', async () => {
    for (let i = 0; i < 5; i++) double.applyEndpointSlice({ name: `page-${i}`, service: 'paged', endpoints: [{ address: `10.1.0.${i}` }] });
    const q = `labelSelector=${encodeURIComponent('kubernetes.io/service-name=paged')}`;
    const first = await json(`${slices}?${q}&limit=2`);
    expect(first.body.items.map((i) => i.metadata.name)).toEqual(['page-0', 'page-1']);
    double.delete('endpointslices', 'page-3');
    const second = await json(`${slices}?${q}&limit=2&continue=${first.body.metadata.continue}`);
    expect(second.body.items.map((i) => i.metadata.name)).toEqual(['page-2', 'page-3']);
    expect(second.body.metadata.resourceVersion).toBe(first.body.metadata.resourceVersion);
    double.compact();
    const expired = await json(`${slices}?${q}&limit=2&continue=${second.body.metadata.continue}`);
    expect(expired.status).toBe(410);
    expect(expired.body).toMatchObject({ code: 410, reason: 'Expired' });
  });

  it('streams changes from a resourceVersion, turning selector exits into DELETED', async () => {
    const list = await json(`${pods}?labelSelector=app%3Dweb`);
    const w = watch(`${pods}?watch=true&labelSelector=app%3Dweb&resourceVersion=${list.body.metadata.resourceVersion}`);
    await waitFor(() => double.openWatches('pods') === 1, { what: 'the watch to open' });
    double.applyPod({ name: 'web-2', labels: { app: 'web' }, ip: '10.0.1.3' });
    double.applyPod({ name: 'web-2', labels: { app: 'web' }, ip: '10.0.1.3', ready: false });
    double.applyPod({ name: 'web-2', labels: { app: 'other' }, ip: '10.0.1.3' });
    double.applyPod({ name: 'db-2', labels: { app: 'db' }, ip: '10.0.1.4' });
    double.applyPod({ name: 'db-2', labels: { app: 'web' }, ip: '10.0.1.4' });
    double.delete('pods', 'db-2');
    await waitFor(() => w.names().length === 5, { what: 'five events' });
    expect(w.names()).toEqual(['ADDED web-2', 'MODIFIED web-2', 'DELETED web-2', 'ADDED db-2', 'DELETED db-2']);
    const versions = w.events.map((e) => Number(e.object.metadata.resourceVersion));
    expect([...versions].sort((a, b) => a - b)).toEqual(versions);
    w.stop();
  });

  it('starts a watch without resourceVersion with ADDED for what exists; replays history from an old one', async () => {
    const before = double.store.revision;
    double.applyEndpointSlice({ name: 'replay', service: 'replay', endpoints: [{ address: '10.2.0.1' }] });
    const fresh = watch(`${slices}?watch=1&labelSelector=kubernetes.io%2Fservice-name%3Dreplay&timeoutSeconds=1`);
    const replay = watch(`${slices}?watch=1&labelSelector=kubernetes.io%2Fservice-name%3Dreplay&resourceVersion=${before}&timeoutSeconds=1`);
    await fresh.done;
    await replay.done;
    expect(fresh.names()).toEqual(['ADDED replay']);
    expect(replay.names()).toEqual(['ADDED replay']);
  });

  it('ends a watch at timeoutSeconds, with a BOOKMARK first when asked for', async () => {
    const started = performance.now();
    const w = watch(`${slices}?watch=true&allowWatchBookmarks=true&timeoutSeconds=1&resourceVersion=${double.store.revision}`);
    await w.done;
    expect(performance.now() - started).toBeGreaterThanOrEqual(950);
    const bookmarks = w.events.filter((e) => e.type === 'BOOKMARK');
    expect(bookmarks.length).toBeGreaterThanOrEqual(2); // periodic (100ms here) and the closing one
    expect(bookmarks.at(-1)!.object.metadata.resourceVersion).toBe(String(double.store.revision));
    const plain = watch(`${slices}?watch=true&timeoutSeconds=1&resourceVersion=${double.store.revision}`);
    await plain.done;
    expect(plain.events).toEqual([]);
  });

  it('ends watches early and cleanly with endWatchesAfterMs (a proxy cutting long requests), without a BOOKMARK', async () => {
    const cut = await new KubernetesApiDouble({ token: null, bookmarkIntervalMs: 60_000, endWatchesAfterMs: 300 }).start();
    try {
      const started = performance.now();
      const res = await cut.request(`${slices}?watch=true&allowWatchBookmarks=true&timeoutSeconds=30&resourceVersion=${cut.store.revision}`);
      expect(res.status).toBe(200);
      expect(res.text).toBe('');
      const took = performance.now() - started;
      expect(took).toBeGreaterThanOrEqual(250);
      expect(took).toBeLessThan(5_000);
    } finally {
      await cut.stop();
    }
  });

  it('scripts the start of each watch with raw events through watchScript, then ends it or goes on', async () => {
    const seen: string[] = [];
    double.watchScript = (request) => {
      seen.push(request.query.resourceVersion ?? '');
      return seen.length === 1 ? { events: [{ type: 'MUTATED', object: 5 }, 'not even an object'], then: 'end' } : { events: [{ type: 'BOOKMARK', object: { metadata: { name: '', resourceVersion: '1' } } }], then: 'continue' };
    };
    try {
      const ended = watch(`${slices}?watch=true&resourceVersion=${double.store.revision}`);
      await ended.done;
      expect(ended.events as unknown[]).toEqual([{ type: 'MUTATED', object: 5 }, 'not even an object']);
      const going = watch(`${slices}?watch=true&resourceVersion=${double.store.revision}`);
      double.applyEndpointSlice({ name: 'scripted', service: 'scripted', endpoints: [{ address: '10.9.9.9' }] });
      await waitFor(() => going.names().includes('ADDED scripted'), { what: 'the scripted watch to go on as a normal one' });
      expect(going.events[0]).toMatchObject({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '1' } } });
      going.stop();
      expect(seen).toHaveLength(2);
    } finally {
      double.watchScript = undefined;
    }
  });

  it('answers a watch from a compacted resourceVersion with an ERROR event carrying 410', async () => {
    const old = double.store.revision;
    double.applyPod({ name: 'compacted', labels: { app: 'x' }, ip: '10.3.0.1' });
    double.compact();
    const w = watch(`${pods}?watch=true&resourceVersion=${old}`);
    await w.done;
    expect(w.events).toHaveLength(1);
    expect(w.events[0]).toMatchObject({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } });
  });

  it('creates, replaces (with conflict detection) and deletes over HTTP', async () => {
    const body = { metadata: { name: 'http-made', labels: { 'kubernetes.io/service-name': 'made' } }, addressType: 'IPv4', endpoints: [], ports: [] };
    const created = await double.request(slices, { method: 'POST', body });
    expect(created.status).toBe(201);
    const stored = created.json<{ metadata: { resourceVersion: string } }>();
    expect((await double.request(slices, { method: 'POST', body })).status).toBe(409);
    const update = { ...body, metadata: { ...body.metadata, resourceVersion: stored.metadata.resourceVersion } };
    expect((await double.request(`${slices}/http-made`, { method: 'PUT', body: update })).status).toBe(200);
    expect((await double.request(`${slices}/http-made`, { method: 'PUT', body: update })).status).toBe(409);
    expect((await get(`${slices}/http-made`)).status).toBe(200);
    expect((await double.request(`${slices}/http-made`, { method: 'DELETE' })).status).toBe(200);
    expect((await get(`${slices}/http-made`)).status).toBe(404);
  });

  it('keeps objects and revisions across stop/start on the same port, and cuts watches on stop', async () => {
    const port = double.port;
    const revision = double.store.revision;
    const w = watch(`${pods}?watch=true&resourceVersion=${revision}`);
    await waitFor(() => double.openWatches() === 1, { what: 'the watch to open' });
    await double.stop();
    await w.done;
    expect(w.ended).toBe(true);
    await expect(get(pods)).rejects.toThrow();
    await double.start();
    expect(double.port).toBe(port);
    expect(double.store.revision).toBe(revision);
    expect((await json(`${pods}?labelSelector=app%3Dweb`)).body.items.map((i) => i.metadata.name)).toEqual(['web-1']);
  });

  it('cuts on stop a connection still in its TLS handshake, as a crashed server would', async () => {
    // A TCP connection that never starts its handshake: only the raw socket exists on the server.
    const socket = connect(double.port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => {});
    await double.stop();
    await closed;
    expect(socket.destroyed).toBe(true);
    await double.start();
  });

  it('freezes watches (silent, never ending) and injects failures', async () => {
    const w = watch(`${pods}?watch=true&allowWatchBookmarks=true&timeoutSeconds=1&resourceVersion=${double.store.revision}`);
    await waitFor(() => double.openWatches() === 1, { what: 'the watch to open' });
    double.freezeWatches();
    double.applyPod({ name: 'unseen', labels: {}, ip: '10.4.0.1' });
    await new Promise((r) => setTimeout(r, 1300)); // past timeoutSeconds: a frozen watch must not end
    expect(w.ended).toBe(false);
    expect(w.names()).toEqual([]);
    double.dropConnections();
    await w.done;
    double.failRequests(2, 503);
    expect((await get(pods)).status).toBe(503);
    expect((await get(pods)).status).toBe(503);
    expect((await get(pods)).status).toBe(200);
  });

  it('records requests for tests that measure them, and hands each to onRequest before answering it', async () => {
    const watches = double.requests.filter((r) => r.watch && r.resource === 'pods');
    expect(watches.length).toBeGreaterThan(3);
    expect(watches[0]).toMatchObject({ method: 'GET', namespace: 'default', query: { watch: 'true' } });
    double.onRequest = (request) => {
      if (request.query.labelSelector === 'app=late') double.applyPod({ name: 'late-1', labels: { app: 'late' }, ip: '10.5.0.1' });
    };
    const list = await json(`${pods}?labelSelector=app%3Dlate`);
    double.onRequest = undefined;
    expect(list.body.items.map((i) => i.metadata.name)).toEqual(['late-1']);
  });

  it('produces a kubeconfig that names its https URL, its CA and its token', () => {
    const config = JSON.parse(double.kubeconfig({ namespace: 'prod' })) as { clusters: { cluster: { server: string; 'certificate-authority-data': string } }[]; users: { user: { token: string } }[]; contexts: { context: { namespace: string } }[] };
    expect(config.clusters[0]!.cluster.server).toBe(double.url);
    expect(double.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(Buffer.from(config.clusters[0]!.cluster['certificate-authority-data'], 'base64').toString()).toBe(double.ca);
    expect(config.users[0]!.user.token).toBe(double.token);
    expect(config.contexts[0]!.context.namespace).toBe('prod');
  });
});

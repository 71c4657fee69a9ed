// The Consul double fails the way Consul does: the per-client connection limit
// (limits.http_max_conns_per_client, go-connlimit's bare 429 and close), the 400s of
// agent/http.go parseConsistency/parseWait and health_endpoint.go's boolean parameters, ACL
// behaviour of the agent endpoints, X-Consul-Default-ACL-Policy, and a loud 501 for what it
// does not implement. Runs against a real agent too when CONSUL_HTTP_ADDR is set (the parts a
// test can observe without reconfiguring the agent).
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ConsulDouble, type ConsulDoubleOptions } from '../src/index.js';

const doubles: ConsulDouble[] = [];
afterEach(async () => {
  await Promise.all(doubles.splice(0).map((d) => d.close()));
});
async function start(options: ConsulDoubleOptions = {}) {
  const d = await ConsulDouble.start(options);
  doubles.push(d);
  return d;
}

/** A raw connection that sends nothing yet (holds a slot), and what the server said on it. */
function hold(port: number): Promise<{ said: () => string; closed: Promise<void>; end: () => void }> {
  return new Promise((resolve, reject) => {
    let text = '';
    const socket = connect(port, '127.0.0.1');
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    socket.on('data', (chunk) => (text += chunk.toString()));
    socket.once('error', reject);
    socket.once('connect', () => resolve({ said: () => text, closed, end: () => socket.destroy() }));
  });
}

describe('limits.http_max_conns_per_client', () => {
  it('a client\'s connection beyond the limit gets a bare 429 and is closed; the others are served', async () => {
    const d = await start({ httpMaxConnsPerClient: 3 });
    const held = await Promise.all([hold(d.port), hold(d.port), hold(d.port)]);
    const extra = await hold(d.port);
    await extra.closed;
    expect(extra.said()).toBe('HTTP/1.1 429 Too Many Requests\r\n\r\n');
    expect(d.connections).toMatchObject({ open: 3, peak: 3, refused: 1 });
    for (const h of held) h.end();
    await Promise.all(held.map((h) => h.closed));
    await expect.poll(() => d.connections.open).toBe(0);
    expect((await fetch(`${d.url}/v1/health/service/x`)).status).toBe(200);
  });

  it('defaults to Consul\'s 200', async () => {
    const d = await start();
    const held = await Promise.all(Array.from({ length: 200 }, () => hold(d.port)));
    const extra = await hold(d.port);
    await extra.closed;
    expect(extra.said()).toMatch(/^HTTP\/1\.1 429 /);
    for (const h of held) h.end();
  });
});

// Consul's own texts; the same requests run against a real agent below.
const malformed: [string, number, string][] = [
  ['/v1/health/service/x?wait=abc', 400, 'Invalid wait time'],
  ['/v1/health/service/x?wait=5', 400, 'Invalid wait time'],
  ['/v1/health/service/x?index=abc', 400, 'Invalid index'],
  ['/v1/health/service/x?index=-1', 400, 'Invalid index'],
  ['/v1/health/service/x?passing=nope', 400, 'Invalid value for ?passing'],
  ['/v1/health/service/x?stale&consistent', 400, 'Cannot specify ?stale with ?consistent, conflicting semantics.'],
  ['/v1/catalog/services?stale&consistent', 400, 'Cannot specify ?stale with ?consistent, conflicting semantics.'],
  ['/v1/catalog/services?max_stale=soon', 400, 'Invalid max_stale value "soon"'],
  ['/v1/health/state/any?index=1x', 400, 'Invalid index'],
];

describe('malformed parameters are 400 with Consul\'s message (agent/http.go)', () => {
  it.each(malformed)('%s → %i %s', async (path, status, text) => {
    const d = await start();
    const r = await fetch(`${d.url}${path}`);
    expect([r.status, await r.text()]).toEqual([status, text]);
  });

  it('a Go duration with a unit is a wait: wait=1s holds about a second, not 1 ms', async () => {
    const d = await start({ random: () => 0 });
    const index = (await fetch(`${d.url}/v1/health/service/x`)).headers.get('x-consul-index');
    const started = performance.now();
    await fetch(`${d.url}/v1/health/service/x?index=${index}&wait=1s`);
    expect(performance.now() - started).toBeGreaterThanOrEqual(990);
  });

  it('passing takes Go booleans: 1, t, true, True are true; 0, f, false are false', async () => {
    const d = await start();
    await fetch(`${d.url}/v1/agent/service/register`, { method: 'PUT', body: JSON.stringify({ Name: 'p', Port: 1, Check: { TTL: '30s' } }) });
    for (const yes of ['', '1', 't', 'true', 'True']) expect(await (await fetch(`${d.url}/v1/health/service/p?passing=${yes}`)).json()).toEqual([]);
    for (const no of ['0', 'f', 'false']) expect(((await (await fetch(`${d.url}/v1/health/service/p?passing=${no}`)).json()) as unknown[]).length).toBe(1);
  });
});

describe('what the double does not implement is refused loudly (501), never ignored', () => {
  it.each([
    '/v1/health/service/x?node-meta=rack:1',
    '/v1/health/service/x?near=_agent',
    '/v1/health/service/x?cached',
    '/v1/catalog/services?node-meta=rack:1',
    '/v1/catalog/service/x?near=_agent',
    '/v1/health/state/any?node-meta=rack:1',
    '/v1/agent/service/x?index=abc',
    '/v1/kv/config',
    '/v1/catalog/nodes',
    '/v1/health/checks/x',
    '/v1/agent/members',
  ])('%s', async (path) => {
    const d = await start();
    const r = await fetch(`${d.url}${path}`);
    expect(r.status).toBe(501);
    const name = path.includes('?') ? path.slice(path.indexOf('?') + 1).split('=')[0]! : path;
    expect(await r.text()).toContain(name);
  });
});

describe('filter and tag on agent and catalog endpoints, with each endpoint\'s selectors', () => {
  it('filters /v1/agent/services, /v1/agent/checks, /v1/catalog/services and /v1/catalog/service/:name', async () => {
    const d = await start();
    const put = (body: unknown) => fetch(`${d.url}/v1/agent/service/register`, { method: 'PUT', body: JSON.stringify(body) });
    await put({ ID: 'w1', Name: 'web', Port: 1, Tags: ['blue'], Meta: { team: 'a' }, Check: { TTL: '30s', Status: 'passing' } });
    await put({ ID: 'w2', Name: 'web', Port: 2, Tags: ['green'] });
    await put({ ID: 'd1', Name: 'db', Port: 3, Tags: ['blue'] });
    const json = async (path: string) => (await fetch(`${d.url}${path}`)).json();
    const q = encodeURIComponent;
    expect(Object.keys((await json(`/v1/agent/services?filter=${q('Service == web')}`)) as object).sort()).toEqual(['w1', 'w2']);
    expect(Object.keys((await json(`/v1/agent/services?filter=${q('Meta.team == a')}`)) as object)).toEqual(['w1']);
    expect(Object.keys((await json(`/v1/agent/checks?filter=${q('ServiceName == web')}`)) as object)).toEqual(['service:w1']);
    expect(await json(`/v1/catalog/services?filter=${q('ServiceTags contains blue')}`)).toEqual({ db: ['blue'], web: ['blue'] });
    expect(((await json(`/v1/catalog/service/web?tag=green`)) as { ServiceID: string }[]).map((r) => r.ServiceID)).toEqual(['w2']);
    const bad = await fetch(`${d.url}/v1/agent/services?filter=${q('Nope == 1')}`);
    expect([bad.status, await bad.text()]).toEqual([400, 'Failed to create boolean expression evaluator: Selector "Nope" is not valid']);
  });
});

describe('indexes as Consul keeps them', () => {
  it('a check\'s status moves the checks index (/v1/health/state) but not the catalog\'s (/v1/catalog/services)', async () => {
    const d = await start();
    await fetch(`${d.url}/v1/agent/service/register`, { method: 'PUT', body: JSON.stringify({ Name: 's', Port: 1, Check: { TTL: '30s' } }) });
    const index = async (path: string) => Number((await fetch(`${d.url}${path}`)).headers.get('x-consul-index'));
    const catalog = await index('/v1/catalog/services');
    const checks = await index('/v1/health/state/any');
    await fetch(`${d.url}/v1/agent/check/pass/service:s`, { method: 'PUT' });
    expect(await index('/v1/catalog/services')).toBe(catalog);
    expect(await index('/v1/health/state/any')).toBeGreaterThan(checks);
    const critical = (await (await fetch(`${d.url}/v1/health/state/critical`)).json()) as unknown[];
    expect(critical).toEqual([]);
    const bad = await fetch(`${d.url}/v1/health/state/sick`);
    expect([bad.status, await bad.text()]).toEqual([400, 'Invalid check state']);
  });
});

describe('ACLs on the agent endpoints', () => {
  const tokens = { 'w-token-1234': 'write', 'n-token-0000': 'none' } as const;

  it('anonymous reads of /v1/agent/services and /v1/agent/checks are 200 and filtered; a token without rights is flagged', async () => {
    const d = await start({ acl: { tokens } });
    await fetch(`${d.url}/v1/agent/service/register`, { method: 'PUT', headers: { 'X-Consul-Token': 'w-token-1234' }, body: JSON.stringify({ Name: 'sec', Port: 1, Check: { TTL: '30s' } }) });
    for (const path of ['/v1/agent/services', '/v1/agent/checks']) {
      const anonymous = await fetch(`${d.url}${path}`);
      expect([anonymous.status, await anonymous.json(), anonymous.headers.get('x-consul-results-filtered-by-acls')]).toEqual([200, {}, null]);
      const none = await fetch(`${d.url}${path}`, { headers: { 'X-Consul-Token': 'n-token-0000' } });
      expect([none.status, await none.json(), none.headers.get('x-consul-results-filtered-by-acls')]).toEqual([200, {}, 'true']);
      const writer = await fetch(`${d.url}${path}`, { headers: { 'X-Consul-Token': 'w-token-1234' } });
      expect(Object.keys((await writer.json()) as object).length).toBe(1);
    }
    const one = await fetch(`${d.url}/v1/agent/service/sec`);
    expect([one.status, await one.text()]).toEqual([403, `Permission denied: token with AccessorID '00000000-0000-0000-0000-000000000002' lacks permission 'service:read' on "sec"`]);
  });

  it('X-Consul-Default-ACL-Policy on every answer: allow without ACLs, the configured policy with them', async () => {
    const open = await start();
    expect((await fetch(`${open.url}/v1/agent/services`)).headers.get('x-consul-default-acl-policy')).toBe('allow');
    expect((await fetch(`${open.url}/v1/nope`)).headers.get('x-consul-default-acl-policy')).toBe('allow');
    const allow = await start({ acl: { tokens, defaultPolicy: 'allow' } });
    const r = await fetch(`${allow.url}/v1/agent/service/register`, { method: 'PUT', body: JSON.stringify({ Name: 'anyone', Port: 1 }) });
    expect([r.status, r.headers.get('x-consul-default-acl-policy')]).toEqual([200, 'allow']);
  });
});

const realAgent = process.env.CONSUL_HTTP_ADDR;
if (realAgent) {
  const base = /^https?:\/\//.test(realAgent) ? realAgent : `http://${realAgent}`;
  const headers: Record<string, string> = process.env.CONSUL_HTTP_TOKEN ? { 'X-Consul-Token': process.env.CONSUL_HTTP_TOKEN } : {};
  describe(`the same 400s from the real agent at ${realAgent}`, () => {
    it.each(malformed)('%s → %i %s', async (path, status, text) => {
      const r = await fetch(`${base}${path}`, { headers });
      expect([r.status, (await r.text()).trim()]).toEqual([status, text]);
      expect(['allow', 'deny']).toContain(r.headers.get('x-consul-default-acl-policy'));
    });
    it('deregistering an unknown id is 404 "Unknown service ID"', async () => {
      const r = await fetch(`${base}/v1/agent/service/deregister/disco-never-${process.pid}`, { method: 'PUT', headers });
      expect([r.status, (await r.text()).trim()]).toEqual([404, `Unknown service ID "disco-never-${process.pid}". Ensure that the service ID is passed, not the service name.`]);
    });
  });
} else {
  console.log('SKIPPED: the double-vs-real-agent checks of consul-double-limits (set CONSUL_HTTP_ADDR to a `consul agent -dev` to run them); they ran against the double only.');
}

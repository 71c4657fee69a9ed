// The Consul double held to the examples of Consul's HTTP API documentation
// (developer.hashicorp.com/consul/api-docs: agent/service, agent/check, health, features/blocking).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsulDouble, type ServiceEntry } from '../src/index.js';

let consul: ConsulDouble;
beforeAll(async () => {
  consul = await ConsulDouble.start();
});
afterAll(async () => {
  await consul?.close();
});

const put = (path: string, body?: unknown) => fetch(`${consul.url}${path}`, { method: 'PUT', body: body === undefined ? undefined : JSON.stringify(body) });
const get = (path: string) => fetch(`${consul.url}${path}`);
const rows = async (path: string) => (await (await get(path)).json()) as ServiceEntry[];

// The sample payload of "Register Service", with an HTTP check in place of the script check
// (script checks are disabled on agents by default, as the next test shows).
const samplePayload = {
  ID: 'redis1',
  Name: 'redis',
  Tags: ['primary', 'v1'],
  Address: '127.0.0.1',
  Port: 8000,
  Meta: { redis_version: '4.0' },
  EnableTagOverride: false,
  Check: { DeregisterCriticalServiceAfter: '90m', HTTP: 'http://127.0.0.1:1/health', Interval: '10s', Timeout: '5s' },
  Weights: { Passing: 10, Warning: 1 },
};

describe('agent service registration (api-docs/agent/service)', () => {
  it('registers the sample payload and lists it in the shape of the health sample response', async () => {
    expect((await put('/v1/agent/service/register', samplePayload)).status).toBe(200);
    const response = await get('/v1/health/service/redis');
    expect(response.status).toBe(200);
    expect(Number(response.headers.get('x-consul-index'))).toBeGreaterThan(0);
    const [row] = (await response.json()) as ServiceEntry[];
    expect(row!.Node).toMatchObject({ Node: 'disco-double', Address: '127.0.0.1', Datacenter: 'dc1', TaggedAddresses: { lan: '127.0.0.1', wan: '127.0.0.1' } });
    expect(row!.Service).toMatchObject({ ID: 'redis1', Service: 'redis', Tags: ['primary', 'v1'], Address: '127.0.0.1', Meta: { redis_version: '4.0' }, Port: 8000, Weights: { Passing: 10, Warning: 1 } });
    expect(row!.Checks.map((c) => c.CheckID)).toEqual(['serfHealth', 'service:redis1']);
    expect(row!.Checks[0]).toMatchObject({ Name: 'Serf Health Status', Status: 'passing', ServiceID: '' });
    // A new check is critical until it has passed (no Status given).
    expect(row!.Checks[1]).toMatchObject({ Name: "Service 'redis' check", Status: 'critical', ServiceID: 'redis1', ServiceName: 'redis', ServiceTags: ['primary', 'v1'], Type: 'http', Interval: '10s', Timeout: '5s' });
  });

  it('refuses script checks, bad weights, bad meta and checks without an interval, with Consul messages', async () => {
    const cases: [unknown, RegExp][] = [
      [{ Name: 'x', Check: { Args: ['/bin/true'], Interval: '10s' } }, /Scripts are disabled on this agent from remote calls/],
      [{ Name: 'x', Weights: { Passing: 0, Warning: 1 } }, /Passing must be greater than 0/],
      [{ Name: 'x', Meta: { 'bad key': 'v' } }, /Invalid Service Meta/],
      [{ Name: 'x', Meta: { 'consul-x': 'v' } }, /reserved/],
      [{ Name: 'x', Check: { HTTP: 'http://127.0.0.1:1/' } }, /Interval must be > 0/],
      [{ Name: 'x', Check: { TTL: 'soon' } }, /invalid duration/],
      [{ Port: 1 }, /Missing service name/],
      [{ Name: 'x', Address: '0.0.0.0' }, /Invalid service address/],
    ];
    for (const [body, message] of cases) {
      const response = await put('/v1/agent/service/register', body);
      expect(response.status).toBe(400);
      expect(await response.text()).toMatch(message);
    }
  });

  it('names checks service:<id> for Check and service:<id>:<n> for Checks; ID defaults to Name', async () => {
    await put('/v1/agent/service/register', { Name: 'multi', Port: 1, Checks: [{ TTL: '30s' }, { TTL: '30s', CheckID: 'own' }] });
    const checks = (await (await get('/v1/agent/checks')).json()) as Record<string, { ServiceID: string }>;
    expect(checks['service:multi:1']?.ServiceID).toBe('multi');
    expect(checks.own?.ServiceID).toBe('multi');
    await put('/v1/agent/service/deregister/multi');
  });

  it('renders check durations as Go does', async () => {
    await put('/v1/agent/service/register', { Name: 'dur', Port: 1, Check: { HTTP: 'http://127.0.0.1:1/', Interval: '90s', Timeout: '1500ms' } });
    const checks = (await (await get('/v1/agent/checks')).json()) as Record<string, { Interval: string; Timeout: string }>;
    expect(checks['service:dur']).toMatchObject({ Interval: '1m30s', Timeout: '1.5s' });
    await put('/v1/agent/service/deregister/dur');
  });

  it('accepts snake_case keys as Consul does', async () => {
    await put('/v1/agent/service/register', { name: 'snake', id: 'snake-1', port: 2, check: { ttl: '10s', deregister_critical_service_after: '1m' } });
    const services = (await (await get('/v1/agent/services')).json()) as Record<string, { Service: string; Port: number }>;
    expect(services['snake-1']).toMatchObject({ Service: 'snake', Port: 2 });
    await put('/v1/agent/service/deregister/snake-1');
  });

  it('deregisters with its checks; an absent service is 404 with Consul\'s text', async () => {
    await put('/v1/agent/service/register', { Name: 'gone', Port: 3, Check: { TTL: '10s' } });
    expect((await put('/v1/agent/service/deregister/gone')).status).toBe(200);
    expect(await rows('/v1/health/service/gone')).toEqual([]);
    const checks = (await (await get('/v1/agent/checks')).json()) as Record<string, unknown>;
    expect(checks['service:gone']).toBeUndefined();
    const absent = await put('/v1/agent/service/deregister/never-there');
    expect([absent.status, await absent.text()]).toEqual([404, 'Unknown service ID "never-there". Ensure that the service ID is passed, not the service name.']);
  });

  it('a repeated identical registration is no write (the index stays), and keeps check status', async () => {
    const body = { Name: 'same', Port: 4, Check: { TTL: '30s' } };
    await put('/v1/agent/service/register?replace-existing-checks=true', body);
    await put('/v1/agent/check/pass/service:same');
    const before = (await get('/v1/health/service/same')).headers.get('x-consul-index');
    await put('/v1/agent/service/register?replace-existing-checks=true', body);
    const after = await get('/v1/health/service/same');
    expect(after.headers.get('x-consul-index')).toBe(before);
    expect(((await after.json()) as ServiceEntry[])[0]!.Checks[1]!.Status).toBe('passing');
    await put('/v1/agent/service/deregister/same');
  });

  it('replace-existing-checks (present, empty or "true") removes checks missing from the new registration; without it they stay', async () => {
    await put('/v1/agent/service/register', { Name: 'rep', Port: 5, Checks: [{ TTL: '30s', CheckID: 'a' }, { TTL: '30s', CheckID: 'b' }] });
    await put('/v1/agent/service/register', { Name: 'rep', Port: 5, Checks: [{ TTL: '30s', CheckID: 'a' }] });
    expect((await rows('/v1/health/service/rep'))[0]!.Checks.map((c) => c.CheckID)).toEqual(['serfHealth', 'a', 'b']);
    await put('/v1/agent/service/register?replace-existing-checks=false', { Name: 'rep', Port: 5, Checks: [{ TTL: '30s', CheckID: 'a' }] });
    expect((await rows('/v1/health/service/rep'))[0]!.Checks.map((c) => c.CheckID)).toEqual(['serfHealth', 'a', 'b']);
    await put('/v1/agent/service/register?replace-existing-checks', { Name: 'rep', Port: 5, Checks: [{ TTL: '30s', CheckID: 'a' }] });
    expect((await rows('/v1/health/service/rep'))[0]!.Checks.map((c) => c.CheckID)).toEqual(['serfHealth', 'a']);
    await put('/v1/agent/service/deregister/rep');
  });

  it('maintenance mode adds a critical _service_maintenance check with the reason, and removes it', async () => {
    await put('/v1/agent/service/register', { Name: 'maint', Port: 6 });
    expect((await put('/v1/agent/service/maintenance/maint?enable=true&reason=deploying')).status).toBe(200);
    const [row] = await rows('/v1/health/service/maint');
    expect(row!.Checks[1]).toMatchObject({ CheckID: '_service_maintenance:maint', Status: 'critical', Notes: 'deploying' });
    expect(await rows('/v1/health/service/maint?passing')).toEqual([]);
    await put('/v1/agent/service/maintenance/maint?enable=false');
    expect((await rows('/v1/health/service/maint?passing')).length).toBe(1);
    expect((await put('/v1/agent/service/maintenance/nobody?enable=true')).status).toBe(404);
    expect((await put('/v1/agent/service/maintenance/maint')).status).toBe(400);
    expect(await (await put('/v1/agent/service/maintenance/maint?enable=maybe')).text()).toBe('Invalid value for enable: "maybe"');
    await put('/v1/agent/service/deregister/maint');
  });
});

describe('TTL check updates (api-docs/agent/check)', () => {
  it('pass, warn, fail and update set status and output; an unknown check is 404', async () => {
    await put('/v1/agent/service/register', { Name: 'ttl', Port: 7, Check: { TTL: '30s' } });
    const status = async () => (await rows('/v1/health/service/ttl'))[0]!.Checks[1]!;
    await put('/v1/agent/check/pass/service:ttl?note=all%20good');
    expect(await status()).toMatchObject({ Status: 'passing', Output: 'all good' });
    await put('/v1/agent/check/warn/service:ttl');
    expect((await status()).Status).toBe('warning');
    await put('/v1/agent/check/fail/service:ttl');
    expect((await status()).Status).toBe('critical');
    // The sample payload of "TTL Check Update".
    expect((await put('/v1/agent/check/update/service:ttl', { Status: 'passing', Output: 'Everything is fine' })).status).toBe(200);
    expect(await status()).toMatchObject({ Status: 'passing', Output: 'Everything is fine' });
    const badStatus = await put('/v1/agent/check/update/service:ttl', { Status: 'great' });
    expect([badStatus.status, await badStatus.text()]).toEqual([400, "Invalid check status: 'great'"]);
    const badInitial = await put('/v1/agent/service/register', { Name: 'bad-status', Port: 1, Check: { TTL: '1s', Status: 'great' } });
    expect(await badInitial.text()).toBe("Status for checks must 'passing', 'warning', 'critical'");
    const unknown = await put('/v1/agent/check/pass/service:nobody');
    expect([unknown.status, await unknown.text()]).toEqual([404, 'Unknown check ID "service:nobody". Ensure that the check ID is passed, not the check name.']);
    // A check that exists but is not a TTL check cannot be fed: the agent's own error (500).
    await put('/v1/agent/service/register', { Name: 'probed', Port: 7, Check: { HTTP: 'http://127.0.0.1:1/', Interval: '10s' } });
    const notTtl = await put('/v1/agent/check/pass/service:probed');
    expect([notTtl.status, await notTtl.text()]).toEqual([500, 'CheckID "service:probed" does not have associated TTL']);
    await put('/v1/agent/service/deregister/probed');
    expect((await get('/v1/agent/check/pass/service:ttl')).status).toBe(405);
    await put('/v1/agent/service/deregister/ttl');
  });
});

describe('health/service query parameters (api-docs/health)', () => {
  beforeAll(async () => {
    await put('/v1/agent/service/register', { ID: 'q1', Name: 'q', Port: 1, Tags: ['primary', 'v1'], Meta: { version: '1' }, Check: { TTL: '30s', Status: 'passing' } });
    await put('/v1/agent/service/register', { ID: 'q2', Name: 'q', Port: 2, Tags: ['v1'], Meta: { version: '2' }, Check: { TTL: '30s', Status: 'warning' } });
    await put('/v1/agent/service/register', { ID: 'q3', Name: 'q', Port: 3, Tags: ['primary'], Check: { TTL: '30s' } });
  });
  const ids = async (query: string) => (await rows(`/v1/health/service/q${query}`)).map((r) => r.Service.ID);

  it('passing keeps rows whose every check passes', async () => {
    expect(await ids('')).toEqual(['q1', 'q2', 'q3']);
    expect(await ids('?passing')).toEqual(['q1']);
    expect(await ids('?passing=true')).toEqual(['q1']);
  });

  it('tag is repeatable and ANDed', async () => {
    expect(await ids('?tag=primary')).toEqual(['q1', 'q3']);
    expect(await ids('?tag=primary&tag=v1')).toEqual(['q1']);
  });

  it('filter evaluates the documented expression forms', async () => {
    const f = (e: string) => ids(`?filter=${encodeURIComponent(e)}`);
    expect(await f('Service.Meta.version == "2"')).toEqual(['q2']);
    expect(await f('"primary" in Service.Tags')).toEqual(['q1', 'q3']);
    expect(await f('Service.Tags contains "v1" and not ("primary" in Service.Tags)')).toEqual(['q2']);
    expect(await f('Service.Port != 1 or Service.ID == q1')).toEqual(['q1', 'q2', 'q3']);
    expect(await f('Service.Meta is empty')).toEqual(['q3']);
    expect(await f('"warning" in Checks.Status')).toEqual(['q2']);
    expect(await f('Service.ID matches "^q[12]$"')).toEqual(['q1', 'q2']);
    const bad = await get(`/v1/health/service/q?filter=${encodeURIComponent('Nope.X == 1')}`);
    expect(bad.status).toBe(400);
    expect(await bad.text()).toMatch(/Failed to create boolean expression evaluator/);
  });

  it('dc: the agent datacenter answers, another has no path', async () => {
    expect((await get('/v1/health/service/q?dc=dc1')).status).toBe(200);
    const other = await get('/v1/health/service/q?dc=elsewhere');
    expect(other.status).toBe(500);
    expect(await other.text()).toBe('No path to datacenter');
  });

  it('ns keeps namespaces apart (query or X-Consul-Namespace)', async () => {
    await put('/v1/agent/service/register?ns=team-a', { ID: 'q9', Name: 'q', Port: 9 });
    expect(await ids('?ns=team-a')).toEqual(['q9']);
    const viaHeader = (await (await fetch(`${consul.url}/v1/health/service/q`, { headers: { 'X-Consul-Namespace': 'team-a' } })).json()) as ServiceEntry[];
    expect(viaHeader.map((r) => r.Service.Namespace)).toEqual(['team-a']);
    expect(await ids('')).not.toContain('q9');
  });

  it('consistency modes come back in X-Consul-Effective-Consistency, with the leader headers', async () => {
    for (const [query, mode] of [['', 'leader'], ['?stale', 'stale'], ['?consistent', 'consistent']] as const) {
      const response = await get(`/v1/health/service/q${query}`);
      expect(response.headers.get('x-consul-effective-consistency')).toBe(mode);
      expect(response.headers.get('x-consul-knownleader')).toBe('true');
      expect(response.headers.get('x-consul-lastcontact')).toBe('0');
    }
  });

  it('catalog endpoints list names with tags and the raw rows', async () => {
    const services = (await (await get('/v1/catalog/services')).json()) as Record<string, string[]>;
    expect(services.q).toEqual(['primary', 'v1']);
    const catalog = (await (await get('/v1/catalog/service/q')).json()) as { ServiceID: string; ServicePort: number }[];
    expect(catalog.map((r) => r.ServiceID)).toEqual(['q1', 'q2', 'q3']);
  });
});

describe('blocking queries (api-docs/features/blocking)', () => {
  it('an index below the current one answers at once; the current one waits for a change', async () => {
    await put('/v1/agent/service/register', { ID: 'b1', Name: 'b', Port: 1 });
    const index = Number((await get('/v1/health/service/b')).headers.get('x-consul-index'));
    const started = performance.now();
    expect((await get(`/v1/health/service/b?index=${index - 1}&wait=5s`)).status).toBe(200);
    expect(performance.now() - started).toBeLessThan(1000);
    const pending = get(`/v1/health/service/b?index=${index}&wait=5s`);
    await new Promise((r) => setTimeout(r, 100));
    await put('/v1/agent/service/register', { ID: 'b2', Name: 'b', Port: 2 });
    const answer = await pending;
    expect(Number(answer.headers.get('x-consul-index'))).toBeGreaterThan(index);
    expect(((await answer.json()) as ServiceEntry[]).map((r) => r.Service.ID)).toEqual(['b1', 'b2']);
  });

  it('a write to another service does not wake a query for this one', async () => {
    const index = Number((await get('/v1/health/service/b')).headers.get('x-consul-index'));
    const started = performance.now();
    const pending = get(`/v1/health/service/b?index=${index}&wait=1s`);
    await put('/v1/agent/service/register', { Name: 'unrelated', Port: 1 });
    const answer = await pending;
    expect(performance.now() - started).toBeGreaterThanOrEqual(990);
    expect(answer.headers.get('x-consul-index')).toBe(String(index));
  });
});

describe('wait jitter', () => {
  it('holds a query for wait plus at most wait/16', async () => {
    const high = await ConsulDouble.start({ random: () => 0.999 });
    try {
      const index = Number((await fetch(`${high.url}/v1/health/service/j`)).headers.get('x-consul-index'));
      const started = performance.now();
      await fetch(`${high.url}/v1/health/service/j?index=${index}&wait=800ms`);
      const took = performance.now() - started;
      expect(took).toBeGreaterThanOrEqual(800 + 45);
      expect(took).toBeLessThan(800 + 50 + 150);
    } finally {
      await high.close();
    }
  });
});

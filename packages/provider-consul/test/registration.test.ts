// What register() sends to Consul and how Consul rows come back as Instances.
import { createDiscovery, type Instance, type ProviderEvent } from '@disco/core';
import { waitFor, type ConsulDouble, type ConsulDoubleOptions } from '@disco/testing';
import { describe, expect, it } from 'vitest';
import { Recorder, consulFixture } from './helpers.js';

const consul = consulFixture({ double: { minCheckIntervalMs: 50 }, provider: { wait: '2s' } });
const setup = (double: ConsulDoubleOptions = {}) => consul.start({ double });
const lastBody = (double: ConsulDouble, path: string) => JSON.parse(double.requestsTo(path).at(-1)!.body) as Record<string, unknown>;
const putRaw = (double: ConsulDouble, path: string, body?: unknown) => fetch(`${double.url}${path}`, { method: 'PUT', body: JSON.stringify(body) });

describe('register', () => {
  it('sends ID, Name, Tags, Address, Port, Meta with version and zone, explicit Weights, idempotently', async () => {
    const { double, provider } = await setup();
    await provider.register({ id: 'api-1', name: 'api', address: '10.0.0.7', port: 8080, tags: ['v2'], metadata: { team: 'core' }, version: '2.1.0', zone: 'eu-1a', weight: 2.6 });
    const [request] = double.requestsTo('/v1/agent/service/register');
    expect(request!.query.get('replace-existing-checks')).toBe('true');
    expect(JSON.parse(request!.body)).toEqual({
      ID: 'api-1',
      Name: 'api',
      Tags: ['v2'],
      Address: '10.0.0.7',
      Port: 8080,
      Meta: { team: 'core', version: '2.1.0', zone: 'eu-1a' },
      Weights: { Passing: 3, Warning: 1 },
    });
    const [instance] = await provider.discover('api');
    expect(instance).toMatchObject({ id: 'api-1', version: '2.1.0', zone: 'eu-1a', weight: 3, metadata: { team: 'core' }, healthy: true });
    expect(instance!.metadata).not.toHaveProperty('version');
  });

  it('maps each kind of health check onto a Consul check with every field', async () => {
    const { double, provider } = await setup();
    const base = { name: 'checked', address: '127.0.0.1', port: 1 };
    const common = { interval: '2s', timeout: 1500, deregisterAfter: '5m', successBeforePassing: 2, failuresBeforeCritical: 3 };
    await provider.register({ ...base, id: 'h', health: { http: 'http://127.0.0.1:1/health', ...common } });
    expect(lastBody(double, '/v1/agent/service/register').Check).toEqual({
      CheckID: 'service:h', Name: 'disco check of h', HTTP: 'http://127.0.0.1:1/health', Method: 'GET',
      Interval: '2s', Timeout: '1500ms', DeregisterCriticalServiceAfter: '300s', SuccessBeforePassing: 2, FailuresBeforeCritical: 3,
    });
    await provider.register({ ...base, id: 't', health: { tcp: '127.0.0.1:1' } });
    expect(lastBody(double, '/v1/agent/service/register').Check).toMatchObject({ TCP: '127.0.0.1:1', Interval: '10s' });
    await provider.register({ ...base, id: 'g', health: { grpc: '127.0.0.1:1/pay', interval: '1s' } });
    expect(lastBody(double, '/v1/agent/service/register').Check).toMatchObject({ GRPC: '127.0.0.1:1/pay', Interval: '1s' });
    await provider.register({ ...base, id: 'ttl', health: { ttl: '30s' } });
    expect(lastBody(double, '/v1/agent/service/register').Check).toEqual({ CheckID: 'service:ttl', Name: 'disco check of ttl', TTL: '30s', Status: 'passing' });
    const checks = (await (await fetch(`${double.url}/v1/agent/checks`)).json()) as Record<string, { Type: string }>;
    expect(Object.values(checks).map((c) => c.Type).sort()).toEqual(['grpc', 'http', 'tcp', 'ttl']);
  });

  it('refuses what Consul would refuse, before sending it, with every problem listed', async () => {
    const { double, provider } = await setup();
    const error = await provider.register({ id: 'm', name: 'm', address: '127.0.0.1', port: 1, metadata: { 'has space': 'x', 'consul-internal': 'y' } }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_INVALID_SERVICE' });
    expect((error as Error).message).toMatch(/has space/);
    expect((error as Error).message).toMatch(/consul-/);
    expect(double.requestsTo('/v1/agent/service/register')).toEqual([]);
    // What only Consul knows is refused by Consul, and comes back as the same typed error.
    const unroutable = await provider.register({ id: 'z', name: 'z', address: '0.0.0.0', port: 1 }).catch((e: unknown) => e);
    expect(unroutable).toMatchObject({ code: 'ERR_INVALID_SERVICE', message: expect.stringMatching(/Consul rejected the registration: Invalid service address/) });
  });

  it('healthy:false puts the service in maintenance mode (kept, seen critical) and healthy:true takes it out', async () => {
    const { double, provider } = await setup();
    const service = { id: 'm1', name: 'maint', address: '127.0.0.1', port: 1 };
    await provider.register(service);
    const recorder = new Recorder();
    provider.watch('maint', recorder.listener);
    await recorder.until((s) => s[0]?.healthy === true, 'healthy');
    await provider.register(service, { healthy: false });
    await recorder.until((s) => s.length === 1 && s[0]!.healthy === false, 'unhealthy, still listed');
    const checks = (await (await fetch(`${double.url}/v1/agent/checks`)).json()) as Record<string, { Notes: string }>;
    expect(checks['_service_maintenance:m1']?.Notes).toBe('marked unhealthy by disco');
    await provider.register(service, { healthy: false }); // again: no blink to healthy
    await provider.register(service);
    await recorder.until((s) => s[0]?.healthy === true, 'healthy again');
    expect(recorder.snapshots().map((s) => s[0]!.healthy)).toEqual([true, false, true]);
  });

  it("heartbeat() through Discovery sets the TTL check's status, which every later beat repeats (pass, warn, fail)", async () => {
    const { double, provider } = await setup();
    await using discovery = createDiscovery({ provider });
    await discovery.register({ id: 'worker-1', name: 'worker', address: '127.0.0.1', port: 1, health: { ttl: '300ms' } });
    const seen: (readonly Instance[])[] = [];
    discovery.watch('worker', (e) => 'instances' in e && seen.push(e.instances), { healthyOnly: false });
    const beats = (verb: string) => double.requestsTo(`/v1/agent/check/${verb}/service%3Aworker-1`).length;
    const check = () => double.registry.check('default', 'service:worker-1')?.status;
    await waitFor(() => seen.at(-1)?.[0]?.healthy === true, { what: 'listed healthy' });

    await discovery.heartbeat('worker-1', 'critical');
    expect(check()).toBe('critical'); // sent at once
    await waitFor(() => seen.at(-1)?.[0]?.healthy === false, { what: 'the watch hears critical' });
    const passesBefore = beats('pass');
    await waitFor(() => beats('fail') >= 3, { what: 'beats repeating fail' });
    expect([beats('pass'), check()]).toEqual([passesBefore, 'critical']); // no beat put it back to passing

    await discovery.heartbeat('worker-1', 'warning');
    await waitFor(() => seen.at(-1)?.[0]?.healthy === true, { what: 'warning takes traffic' });
    await waitFor(() => beats('warn') >= 3, { what: 'beats repeating warn' });
    await discovery.heartbeat('worker-1');
    expect(check()).toBe('passing');

    await expect(discovery.heartbeat('nope')).rejects.toMatchObject({ code: 'ERR_CONFIG' });
    await expect(provider.heartbeat('nope', 'passing')).rejects.toThrow(/holds no registration "nope" with a ttl check/);
    await expect(provider.heartbeat('worker-1', 'ok' as 'passing')).rejects.toMatchObject({ code: 'ERR_CONFIG', variable: 'status' });
    expect(check()).toBe('passing');
  });

  it('feeds TTL checks itself, and registers again when the agent has lost the service', async () => {
    const { double, provider, events } = await setup();
    await provider.register({ id: 'beat', name: 'beat', address: '127.0.0.1', port: 1, health: { ttl: '300ms' } });
    // Beats every ttl/3: three of them outlive the 300 ms TTL, so the check stays passing.
    await waitFor(() => double.requestsTo('/v1/agent/check/pass/service%3Abeat').length >= 3, { what: 'three heartbeats' });
    expect((await provider.discover('beat'))[0]?.healthy).toBe(true);
    await double.stop(); // the agent is unreachable for a moment: beats fail and say so
    await waitFor(() => events.some((e) => e.type === 'heartbeat-failed'), { what: 'a failed heartbeat reported' });
    await double.restart();
    await putRaw(double, '/v1/agent/service/deregister/beat'); // the agent forgets it (restart without state, reaper…)
    await waitFor(() => events.some((e) => e.type === 'reregistered'), { what: 'the re-registration' });
    expect((await provider.discover('beat'))[0]?.healthy).toBe(true);
  });

  it('deregisters, idempotently, and close() deregisters what this process registered', async () => {
    const { double, provider } = await setup();
    await provider.register({ id: 'd1', name: 'dereg', address: '127.0.0.1', port: 1 });
    await provider.register({ id: 'd2', name: 'dereg', address: '127.0.0.1', port: 2 });
    await provider.deregister('d1');
    await provider.deregister('d1');
    expect((await provider.discover('dereg')).map((i) => i.id)).toEqual(['d2']);
    await provider.close();
    const rows = (await (await fetch(`${double.url}/v1/health/service/dereg`)).json()) as unknown[];
    expect(rows).toEqual([]);
  });
});

describe('rows to instances', () => {
  it('falls back to the node address, takes the datacenter as zone, and skips bad rows with an event', async () => {
    const { double, provider, events } = await setup({ nodeAddress: '10.9.8.7', datacenter: 'east' });
    await putRaw(double, '/v1/agent/service/register', { ID: 'no-addr', Name: 'raw', Port: 9000 });
    await putRaw(double, '/v1/agent/service/register', { ID: 'no-port', Name: 'raw', Address: '10.0.0.1' });
    const instances = await provider.discover('raw');
    expect(instances).toHaveLength(1);
    expect(instances[0]).toMatchObject({ id: 'no-addr', address: '10.9.8.7', port: 9000, zone: 'east' });
    const invalid = events.filter((e) => e.type === 'invalid-record');
    expect(invalid).toHaveLength(1);
    expect(invalid[0]!.error).toMatchObject({ code: 'ERR_INVALID_RECORD' });
    expect(invalid[0]!.message).toMatch(/no-port/);
  });

  it('warning is healthy with the Warning weight; critical (node or service) is unhealthy; Warning weight 0 means no traffic', async () => {
    const { double, provider } = await setup();
    await putRaw(double, '/v1/agent/service/register', { ID: 'w', Name: 'wt', Port: 1, Weights: { Passing: 5, Warning: 2 }, Check: { TTL: '30s', Status: 'warning' } });
    await putRaw(double, '/v1/agent/service/register', { ID: 'c', Name: 'wt', Port: 2, Weights: { Passing: 5, Warning: 2 }, Check: { TTL: '30s', Status: 'critical' } });
    await putRaw(double, '/v1/agent/service/register', { ID: 'p', Name: 'wt', Port: 3, Weights: { Passing: 5, Warning: 2 }, Check: { TTL: '30s', Status: 'passing' } });
    await putRaw(double, '/v1/agent/service/register', { ID: 'z', Name: 'wt', Port: 4, Weights: { Passing: 5, Warning: 0 }, Check: { TTL: '30s', Status: 'warning' } });
    const byId = Object.fromEntries((await provider.discover('wt')).map((i) => [i.id, i]));
    expect(byId.w).toMatchObject({ healthy: true, weight: 2 });
    expect(byId.c).toMatchObject({ healthy: false });
    expect(byId.p).toMatchObject({ healthy: true, weight: 5 });
    expect(byId.z).toMatchObject({ healthy: false });
  });

  it('reports instances the token may not read (X-Consul-Results-Filtered-By-ACLs) as an acl-filtered event', async () => {
    const { double, provider: admin } = await consul.start({ double: { acl: { tokens: { 'admin-token-1': 'write', 'empty-token-2': 'none' } } }, provider: { token: 'admin-token-1' } });
    const reader = consul.provider(double, { token: 'empty-token-2' });
    const events: ProviderEvent[] = [];
    reader.onEvent((e) => events.push(e));
    await admin.register({ id: 'hidden-1', name: 'hidden', address: '127.0.0.1', port: 1 });
    expect(await reader.discover('hidden')).toEqual([]);
    expect(events).toMatchObject([{ type: 'acl-filtered', service: 'hidden' }]);
  });

  it('passingOnly asks Consul for ?passing (warning instances drop out too)', async () => {
    const { double, provider } = await consul.start({ provider: { passingOnly: true } });
    await putRaw(double, '/v1/agent/service/register', { ID: 'w', Name: 'po', Port: 1, Check: { TTL: '30s', Status: 'warning' } });
    await putRaw(double, '/v1/agent/service/register', { ID: 'p', Name: 'po', Port: 2, Check: { TTL: '30s', Status: 'passing' } });
    expect((await provider.discover('po')).map((i) => i.id)).toEqual(['p']);
    expect(double.requestsTo('/v1/health/service/po')[0]!.query.has('passing')).toBe(true);
  });
});

// The Consul double's ACLs and fault hooks.
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
const call = (d: ConsulDouble, method: string, path: string, headers: Record<string, string> = {}, body?: unknown) =>
  fetch(`${d.url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });

describe('ACL tokens (default deny)', () => {
  const tokens = { 'w-token-1234': 'write', 'r-token-5678': 'read', 'n-token-0000': 'none' } as const;

  it('writes need a write token: a 403 names the permission and the AccessorID (never the secret); an unknown token is "ACL not found"', async () => {
    const d = await start({ acl: { tokens } });
    const body = { Name: 'secure', Port: 1 };
    let r = await call(d, 'PUT', '/v1/agent/service/register', {}, body);
    expect([r.status, await r.text()]).toEqual([403, `Permission denied: token with AccessorID '00000000-0000-0000-0000-000000000002' lacks permission 'service:write' on "secure"`]);
    expect(r.headers.get('x-consul-default-acl-policy')).toBe('deny');
    r = await call(d, 'PUT', '/v1/agent/service/register', { 'X-Consul-Token': 'nope' }, body);
    expect([r.status, await r.text()]).toEqual([403, 'ACL not found']);
    r = await call(d, 'PUT', '/v1/agent/service/register', { 'X-Consul-Token': 'r-token-5678' }, body);
    const text = await r.text();
    expect([r.status, text]).toEqual([403, `Permission denied: token with AccessorID '00000000-0000-4000-8000-000000000002' lacks permission 'service:write' on "secure"`]);
    expect(text).not.toContain('r-token-5678');
    r = await call(d, 'PUT', '/v1/agent/service/register', { 'X-Consul-Token': 'w-token-1234' }, body);
    expect(r.status).toBe(200);
    r = await call(d, 'PUT', '/v1/agent/service/deregister/secure', { Authorization: 'Bearer w-token-1234' });
    expect(r.status).toBe(200);
  });

  it('anonymous reads come back empty (200, not flagged, as Consul); an unknown token is refused', async () => {
    const d = await start({ acl: { tokens } });
    await call(d, 'PUT', '/v1/agent/service/register', { 'X-Consul-Token': 'w-token-1234' }, { Name: 'secure', Port: 1 });
    let r = await call(d, 'GET', '/v1/health/service/secure');
    expect(r.status).toBe(200);
    expect(r.headers.get('x-consul-results-filtered-by-acls')).toBeNull();
    expect(await r.json()).toEqual([]);
    r = await call(d, 'GET', '/v1/health/service/secure', { 'X-Consul-Token': 'r-token-5678' });
    expect(((await r.json()) as unknown[]).length).toBe(1);
    r = await call(d, 'GET', '/v1/health/service/secure', { 'X-Consul-Token': 'nope' });
    expect([r.status, await r.text()]).toEqual([403, 'ACL not found']);
    // A known token without rights: filtered, and told so.
    r = await call(d, 'GET', '/v1/health/service/secure', { 'X-Consul-Token': 'n-token-0000' });
    expect(r.headers.get('x-consul-results-filtered-by-acls')).toBe('true');
    expect(await r.json()).toEqual([]);
  });
});

describe('fault hooks', () => {
  it('status: answers 5xx for the next N matching requests, then serves again', async () => {
    const d = await start();
    d.faults.add({ path: '/v1/health/', status: 503, times: 2 });
    expect((await call(d, 'GET', '/v1/health/service/x')).status).toBe(503);
    expect((await call(d, 'GET', '/v1/agent/services')).status).toBe(200); // other paths unaffected
    const second = await call(d, 'GET', '/v1/health/service/x');
    expect([second.status, await second.text()]).toEqual([503, 'rpc error making call: No cluster leader']);
    expect((await call(d, 'GET', '/v1/health/service/x')).status).toBe(200);
  });

  it('delay: holds answers; removing the fault ends it', async () => {
    const d = await start();
    const remove = d.faults.add({ delayMs: 300 });
    let started = performance.now();
    await call(d, 'GET', '/v1/health/service/x');
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    remove();
    started = performance.now();
    await call(d, 'GET', '/v1/health/service/x');
    expect(performance.now() - started).toBeLessThan(200);
  });

  it('drop: the connection closes without an answer', async () => {
    const d = await start();
    d.faults.add({ drop: true, times: 1 });
    await expect(call(d, 'GET', '/v1/health/service/x')).rejects.toThrow();
    expect((await call(d, 'GET', '/v1/health/service/x')).status).toBe(200);
  });

  it('dropConnections cuts a blocking query in flight', async () => {
    const d = await start();
    const index = (await call(d, 'GET', '/v1/health/service/x')).headers.get('x-consul-index');
    const pending = call(d, 'GET', `/v1/health/service/x?index=${index}&wait=10s`);
    await new Promise((r) => setTimeout(r, 100));
    d.dropConnections();
    await expect(pending).rejects.toThrow();
  });

  it('setIndex: the index goes backwards, and a query waiting on the old one waits out its wait', async () => {
    const d = await start({ initialIndex: 500 });
    await call(d, 'PUT', '/v1/agent/service/register', {}, { Name: 'x', Port: 1 });
    const before = Number((await call(d, 'GET', '/v1/health/service/x')).headers.get('x-consul-index'));
    d.setIndex(3);
    const started = performance.now();
    const r = await call(d, 'GET', `/v1/health/service/x?index=${before}&wait=1s`);
    expect(performance.now() - started).toBeGreaterThanOrEqual(990);
    expect(Number(r.headers.get('x-consul-index'))).toBe(3);
    await call(d, 'PUT', '/v1/agent/service/register', {}, { Name: 'x', Port: 2 });
    expect(Number((await call(d, 'GET', '/v1/health/service/x')).headers.get('x-consul-index'))).toBe(4);
  });

  it('zeroIndex: X-Consul-Index 0 and no blocking', async () => {
    const d = await start();
    d.zeroIndex = true;
    const started = performance.now();
    const r = await call(d, 'GET', '/v1/health/service/x?index=1&wait=5s');
    expect(performance.now() - started).toBeLessThan(500);
    expect(r.headers.get('x-consul-index')).toBe('0');
  });

  it('stop and restart: an outage on the same port, state kept', async () => {
    const d = await start();
    await call(d, 'PUT', '/v1/agent/service/register', {}, { Name: 'kept', Port: 1 });
    await d.stop();
    await expect(call(d, 'GET', '/v1/health/service/kept')).rejects.toThrow();
    await d.restart();
    expect(((await (await call(d, 'GET', '/v1/health/service/kept')).json()) as unknown[]).length).toBe(1);
  });

  it('records what clients sent', async () => {
    const d = await start();
    await call(d, 'GET', '/v1/health/service/rec?passing', { 'X-Consul-Token': 'abc' });
    const [seen] = d.requestsTo('/v1/health/service/rec');
    expect(seen!.query.has('passing')).toBe(true);
    expect(seen!.headers['x-consul-token']).toBe('abc');
  });
});

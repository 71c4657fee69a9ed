import { createDiscovery, staticProvider } from '@disco/core';
import { freePort } from '@disco/testing';
import { fetch, request } from 'undici';
import { describe, expect, it, onTestFinished } from 'vitest';
import { discoveryDispatcher, type RetryEvent } from '../src/index.ts';
import { serviceFixture, tally } from './fixture.ts';
import type { Behaviour } from './http-servers.ts';

const unavailable: Behaviour = (_req, res, server) => {
  res.statusCode = 503;
  res.end(`${server.name} unavailable`);
};

describe('retries on another instance', () => {
  it('a 503 is retried on an instance the request has not tried, never the same one twice', async () => {
    const { servers, get } = await serviceFixture(['a', 'b', 'c']);
    // Two of three always answer 503: with 2 retries every request reaches c.
    servers[0]!.behaviour = unavailable;
    servers[1]!.behaviour = unavailable;
    const visits = new Map<string, string[]>();
    for (const server of servers) {
      const answer = server.behaviour;
      server.behaviour = (req, res, s) => {
        visits.set(req.url!, [...(visits.get(req.url!) ?? []), s.name]);
        answer(req, res, s);
      };
    }
    for (let i = 0; i < 12; i++) expect(await get(`/r/${i}`)).toEqual({ status: 200, body: 'c' });
    for (const [url, names] of visits) expect(new Set(names).size, url).toBe(names.length);
    expect(servers[2]!.requests).toBe(12);
  });

  it('a connection refused (an instance that is gone) is retried', async () => {
    const { discovery, servers, get } = await serviceFixture(['a']);
    await discovery.register({ id: 'gone', name: 'svc', address: '127.0.0.1', port: await freePort() });
    for (let i = 0; i < 6; i++) expect(await get()).toEqual({ status: 200, body: 'a' });
    expect(servers[0]!.requests).toBe(6);
  });

  it('when no other instance is left, the caller gets the 503 itself, body and all', async () => {
    const { servers, get } = await serviceFixture(['a'], {}, unavailable);
    expect(await get()).toEqual({ status: 503, body: 'a unavailable' });
    expect(servers[0]!.requests).toBe(1);
  });

  it('Retry-After is waited for; one longer than maxRetryAfter hands the response over', async () => {
    const { servers, get } = await serviceFixture(['a', 'b'], { retry: { maxRetryAfter: '2s' } });
    let retryAfter = '1';
    servers[0]!.behaviour = (_req, res) => {
      res.writeHead(503, { 'retry-after': retryAfter }).end('later');
    };
    const started = performance.now();
    expect(await get()).toEqual({ status: 200, body: 'b' });
    expect(performance.now() - started).toBeGreaterThanOrEqual(990);
    // Round robin comes back to a (the retry's pick moved it on to b).
    retryAfter = '5';
    expect(await get()).toEqual({ status: 503, body: 'later' });
    expect(tally(servers)).toEqual({ a: 2, b: 1 });
  });

  it('a held-back 503 is handed over, headers and body, when the instance to retry on is gone by then', async () => {
    const { servers, deregister, dispatcher } = await serviceFixture(['a', 'b']);
    let arrived!: () => void;
    const received = new Promise<void>((resolve) => (arrived = resolve));
    servers[0]!.behaviour = (_req, res) => {
      res.writeHead(503, { 'retry-after': '1', 'x-from': 'a' }).end('a is busy');
      arrived();
    };
    const call = fetch('http://svc/', { dispatcher });
    await received;
    await deregister(servers[1]!);
    const response = await call;
    expect([response.status, response.headers.get('x-from'), response.headers.get('retry-after'), await response.text()]).toEqual([503, 'a', '1', 'a is busy']);
    expect(tally(servers)).toEqual({ a: 1, b: 0 });
  });

  it('a POST is not retried: not on a 503, not on a reset', async () => {
    const { servers, dispatcher } = await serviceFixture(['a', 'b']);
    servers[0]!.behaviour = unavailable;
    const post = await fetch('http://svc/orders', { dispatcher, method: 'POST', body: 'one order' });
    expect(post.status).toBe(503);
    await post.text();
    expect(tally(servers)).toEqual({ a: 1, b: 0 });
    servers[1]!.behaviour = (req) => req.socket.destroy();
    const reset = await fetch('http://svc/orders', { dispatcher, method: 'POST', body: 'another' }).catch((e: Error) => e);
    expect((reset as Error).cause).toMatchObject({ code: 'UND_ERR_SOCKET' });
    expect(tally(servers)).toEqual({ a: 1, b: 1 });
  });

  it('a POST with an Idempotency-Key, or undici’s idempotent: true, is retried with its body', async () => {
    const { servers, dispatcher } = await serviceFixture(['a', 'b']);
    servers[0]!.behaviour = unavailable;
    const keyed = await fetch('http://svc/orders', { dispatcher, method: 'POST', body: 'order 1', headers: { 'idempotency-key': 'k1' } });
    expect(await keyed.text()).toBe('b');
    const { statusCode, body } = await request('http://svc/orders', { dispatcher, method: 'POST', body: 'order 2', idempotent: true });
    expect([statusCode, await body.text()]).toEqual([200, 'b']);
    expect(servers[1]!.bodies).toEqual(['order 1', 'order 2']);
    expect(servers[0]!.bodies).toEqual(['order 1', 'order 2']);
  });

  it('a PUT body is buffered and sent again; one over maxBufferedBytes is not retried', async () => {
    const { servers, dispatcher } = await serviceFixture(['a', 'b'], { retry: { maxBufferedBytes: 1024 } });
    servers[0]!.behaviour = unavailable;
    const small = 'x'.repeat(1000);
    const put = await fetch('http://svc/doc', { dispatcher, method: 'PUT', body: small });
    expect([put.status, await put.text()]).toEqual([200, 'b']);
    expect(servers[1]!.bodies).toEqual([small]);
    const big = 'y'.repeat(5000);
    const stream = new ReadableStream({
      start(controller) {
        for (let i = 0; i < 5; i++) controller.enqueue(new TextEncoder().encode(big.slice(i * 1000, (i + 1) * 1000)));
        controller.close();
      },
    });
    const large = await fetch('http://svc/doc', { dispatcher, method: 'PUT', body: stream, duplex: 'half' });
    expect([large.status, await large.text()]).toEqual([503, 'a unavailable']);
    expect(servers[0]!.bodies).toEqual([small, big]);
    expect(tally(servers)).toEqual({ a: 2, b: 1 });
  });

  it('retry: false turns them off', async () => {
    const { servers, get } = await serviceFixture(['a', 'b'], { retry: false });
    servers[0]!.behaviour = unavailable;
    expect((await get()).status).toBe(503);
    expect(tally(servers)).toEqual({ a: 1, b: 0 });
  });
});

describe('the retry budget', () => {
  it('caps the extra requests a broken service sees at the configured share (counted at the servers)', async () => {
    const events = { granted: 0, refused: 0 };
    const onRetry = ({ granted, result, service }: RetryEvent) => {
      expect([service, result.statusCode]).toEqual(['svc', 503]);
      events[granted ? 'granted' : 'refused']++;
    };
    const { servers, get } = await serviceFixture(['a', 'b', 'c'], { retry: { retries: 2, budget: { ratio: 0.2, minPerSecond: 0 } }, onRetry }, unavailable);
    const requests = 300;
    let unavailableSeen = 0;
    for (let i = 0; i < requests; i++) if ((await get()).status === 503) unavailableSeen++;
    const received = servers.reduce((sum, s) => sum + s.requests, 0);
    const extra = received - requests;
    console.log(`broken service: ${requests} requests, ${received} reached the servers, ${extra} retries (${((100 * extra) / requests).toFixed(1)} %, budget 20 %)`);
    expect(unavailableSeen).toBe(requests);
    expect(extra).toBeLessThanOrEqual(0.2 * requests);
    // The budget is spent, not left unused: without it every request would be tried three times.
    expect(extra).toBeGreaterThanOrEqual(0.2 * requests - 1);
    expect(events.granted).toBe(extra);
    expect(events.refused).toBeGreaterThan(requests - extra - 1);
  });

  it('the floor lets a quiet service retry: minPerSecond × window retries without traffic to earn them', async () => {
    const { servers, get } = await serviceFixture(['a', 'b'], { retry: { retries: 1, budget: { ratio: 0, minPerSecond: 1, window: '5s' } } }, unavailable);
    for (let i = 0; i < 10; i++) await get();
    expect(servers[0]!.requests + servers[1]!.requests).toBe(10 + 5);
  });

  it('is kept per service', async () => {
    const a = await serviceFixture(['a', 'b'], { retry: { budget: { ratio: 0, minPerSecond: 0.2, window: '5s' } } }, unavailable);
    const discovery = a.discovery;
    const others = [a.servers[0]!, a.servers[1]!];
    for (const s of others) await discovery.register({ id: `other-${s.name}`, name: 'other', address: '127.0.0.1', port: s.port });
    const dispatcher = discoveryDispatcher(discovery, { retry: { budget: { ratio: 0, minPerSecond: 0.2, window: '5s' } } });
    onTestFinished(() => dispatcher.close());
    for (const host of ['svc', 'svc', 'other', 'other']) await (await fetch(`http://${host}/`, { dispatcher })).text();
    // One retry each for svc and other (a floor of 1 per 5 s window), none for the second request to either.
    expect(a.servers[0]!.requests + a.servers[1]!.requests).toBe(4 + 2);
  });
});

it('a request that waits for an instance is not retried past the instances it has', async () => {
  const discovery = createDiscovery({ provider: staticProvider() });
  const dispatcher = discoveryDispatcher(discovery);
  onTestFinished(async () => {
    await dispatcher.close();
    await discovery.close();
  });
  await discovery.register({ id: 'gone-1', name: 'svc', address: '127.0.0.1', port: await freePort() });
  await discovery.register({ id: 'gone-2', name: 'svc', address: '127.0.0.1', port: await freePort() });
  const error = await fetch('http://svc/', { dispatcher }).catch((e: Error) => e);
  expect((error as Error).cause).toMatchObject({ code: 'ECONNREFUSED' });
});

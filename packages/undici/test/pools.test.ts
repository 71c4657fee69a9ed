import { waitFor } from '@disco/testing';
import { fetch } from 'undici';
import { expect, it } from 'vitest';
import { runConcurrently, serviceFixture } from './fixture.ts';
import { TestServer } from './http-servers.ts';

it('keeps one pool per instance and reuses its connections', async () => {
  const { servers, dispatcher, get } = await serviceFixture(['a', 'b'], { pool: { connections: 2 } });
  await runConcurrently(100, 4, () => get());
  const origins = dispatcher.openOrigins().get('svc')!;
  expect(origins.sort()).toEqual(servers.map((s) => `http://127.0.0.1:${s.port}`).sort());
  for (const server of servers) {
    const connections = await server.connections();
    expect(connections).toBeGreaterThan(0);
    expect(connections).toBeLessThanOrEqual(2);
  }
});

it('closes the pool of an instance that leaves the snapshot: no socket to it is left open', async () => {
  const { servers, deregister, dispatcher, get } = await serviceFixture(['a', 'b']);
  await runConcurrently(20, 4, () => get());
  const [a, b] = servers as [TestServer, TestServer];
  expect(await a.connections()).toBeGreaterThan(0);
  await deregister(a);
  await waitFor(async () => (await a.connections()) === 0, { timeoutMs: 2000, what: 'a’s connections to close' });
  expect(dispatcher.openOrigins().get('svc')).toEqual([`http://127.0.0.1:${b.port}`]);
  const before = a.requests;
  for (let i = 0; i < 5; i++) expect((await get()).body).toBe('b');
  expect(a.requests).toBe(before);
  expect(await b.connections()).toBeGreaterThan(0);
});

it('lets a request in flight on a departing instance finish', async () => {
  const { servers, register, deregister, get } = await serviceFixture(['a']);
  const [a] = servers as [TestServer];
  let arrived!: () => void;
  const received = new Promise<void>((resolve) => (arrived = resolve));
  a.behaviour = (_req, res) => {
    arrived();
    setTimeout(() => res.end('slow a'), 200);
  };
  const b = await new TestServer('b').start();
  servers.push(b);
  const slow = get();
  await received;
  await register(b);
  await deregister(a);
  expect(await slow).toEqual({ status: 200, body: 'slow a' });
  await waitFor(async () => (await a.connections()) === 0, { timeoutMs: 2000, what: 'a’s connection to close' });
  expect((await get()).body).toBe('b');
});

it('destroys a departed instance’s pool after drainTimeout, and the request it held is retried elsewhere', async () => {
  const { servers, deregister, dispatcher } = await serviceFixture(['a', 'b'], { drainTimeout: '200ms' });
  const [a, b] = servers as [TestServer, TestServer];
  let arrived!: () => void;
  const received = new Promise<void>((resolve) => (arrived = resolve));
  a.behaviour = () => arrived(); // never answers
  const hung = fetch('http://svc/', { dispatcher }); // round robin: a first
  await received;
  const started = performance.now();
  await deregister(a);
  const response = await hung;
  expect(await response.text()).toBe('b');
  expect(performance.now() - started).toBeGreaterThanOrEqual(180);
  await waitFor(async () => (await a.connections()) === 0, { timeoutMs: 2000, what: 'a’s connection to close' });
  expect(b.requests).toBe(1);
});

it('closing the Discovery closes every pool', async () => {
  const { servers, discovery, dispatcher, get } = await serviceFixture(['a', 'b']);
  await runConcurrently(10, 2, () => get());
  await discovery.close();
  for (const server of servers) await waitFor(async () => (await server.connections()) === 0, { timeoutMs: 2000, what: `${server.name}’s connections to close` });
  expect(dispatcher.openOrigins().size).toBe(0);
});

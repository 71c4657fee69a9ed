import { createDiscovery, staticProvider } from '@disco/core';
import '@disco/balancers';
import { Agent, fetch, getGlobalDispatcher, request, setGlobalDispatcher, type Dispatcher } from 'undici';
import { describe, expect, it, onTestFinished } from 'vitest';
import { discoveryDispatcher, discoveryInterceptor } from '../src/index.ts';
import { runConcurrently, serviceFixture, tally } from './fixture.ts';
import { TestServer } from './http-servers.ts';

describe('spreading requests over the instances', () => {
  it('round_robin (the default) takes turns exactly', async () => {
    const { servers, get } = await serviceFixture(['a', 'b', 'c']);
    const answers: string[] = [];
    for (let i = 0; i < 9; i++) answers.push((await get('/x')).body);
    expect(answers).toEqual(['a', 'b', 'c', 'a', 'b', 'c', 'a', 'b', 'c']);
    expect(tally(servers)).toEqual({ a: 3, b: 3, c: 3 });
  });

  it.each(['random', 'p2c', 'least_connections', 'peak_ewma', 'outlier_detection'])('%s gives every instance a share', async (balancer) => {
    const { servers, get } = await serviceFixture(['a', 'b', 'c'], { balancer });
    await runConcurrently(300, 6, () => get());
    const counts = Object.values(tally(servers));
    expect(counts.reduce((sum, n) => sum + n, 0)).toBe(300);
    for (const count of counts) expect(count).toBeGreaterThan(30);
  });

  it('weighted_round_robin follows the instances’ weights', async () => {
    const servers = await Promise.all(['heavy', 'light'].map((name) => new TestServer(name).start()));
    const discovery = createDiscovery({ provider: staticProvider() });
    await discovery.register({ id: 'heavy', name: 'svc', address: '127.0.0.1', port: servers[0]!.port, weight: 3 });
    await discovery.register({ id: 'light', name: 'svc', address: '127.0.0.1', port: servers[1]!.port, weight: 1 });
    const dispatcher = discoveryDispatcher(discovery, { balancer: 'weighted_round_robin' });
    onTestFinished(async () => {
      await dispatcher.close();
      await discovery.close();
      for (const s of servers) await s.stop();
    });
    for (let i = 0; i < 40; i++) await (await fetch('http://svc/', { dispatcher })).text();
    expect(tally(servers)).toEqual({ heavy: 30, light: 10 });
  });

  it('per-service options override the defaults', async () => {
    const { servers, get } = await serviceFixture(['a', 'b'], { balancer: 'random', services: { svc: { balancer: () => ({ name: 'first', pick: (i) => i[0] }) } } });
    for (let i = 0; i < 5; i++) await get();
    expect(tally(servers)).toEqual({ a: 5, b: 0 });
  });
});

describe('which hosts are services', () => {
  it('passes other hosts to the fallback untouched, and a service host arrives as the Host header', async () => {
    const { servers, dispatcher, get } = await serviceFixture(['a']);
    const direct = new TestServer('direct');
    await direct.start();
    onTestFinished(() => direct.stop());
    for (const host of [`127.0.0.1:${direct.port}`, `localhost:${direct.port}`]) {
      expect(await (await fetch(`http://${host}/`, { dispatcher })).text()).toBe('direct');
    }
    expect(direct.hosts).toEqual([`127.0.0.1:${direct.port}`, `localhost:${direct.port}`]);
    await get('/');
    expect(servers[0]!.hosts).toEqual(['svc']);
  });

  it('hostHeader "instance" sends the instance’s address instead', async () => {
    const { servers, get } = await serviceFixture(['a'], { hostHeader: 'instance' });
    await get('/');
    expect(servers[0]!.hosts).toEqual([`127.0.0.1:${servers[0]!.port}`]);
  });

  it('a suffix rule, a host list or a function picks the service out of the host', async () => {
    const { servers, discovery } = await serviceFixture(['a']);
    const rules = [{ suffix: '.svc.internal' }, { hosts: ['svc'] }, (host: string) => (host === 'users-api' ? 'svc' : undefined)] as const;
    const urls = ['http://svc.svc.internal/', 'http://svc/', 'http://users-api/'];
    for (const [i, route] of rules.entries()) {
      const dispatcher = discoveryDispatcher(discovery, { route });
      onTestFinished(() => dispatcher.close());
      expect(await (await fetch(urls[i]!, { dispatcher })).text()).toBe('a');
    }
    expect(servers[0]!.hosts).toEqual(['svc.svc.internal', 'svc', 'users-api']);
    // A host the rule does not match is not a service: it goes to the fallback (and fails DNS there).
    const strict = discoveryDispatcher(discovery, { route: { hosts: ['other'] } });
    onTestFinished(() => strict.close());
    const error = await fetch('http://svc.invalid/', { dispatcher: strict }).catch((e: Error) => e);
    expect((error as Error).cause).toMatchObject({ code: 'ENOTFOUND' });
  });

  it('a user-supplied fallback gets the other hosts', async () => {
    const direct = await new TestServer('direct').start();
    const discovery = createDiscovery({ provider: staticProvider() });
    const seen: string[] = [];
    const fallback = new Agent().compose((dispatch) => (opts, handler) => {
      seen.push(String(opts.origin));
      return dispatch(opts, handler);
    });
    const dispatcher = discoveryDispatcher(discovery, { fallback });
    onTestFinished(async () => {
      await dispatcher.close();
      await fallback.close();
      await discovery.close();
      await direct.stop();
    });
    expect(await (await fetch(`http://127.0.0.1:${direct.port}/`, { dispatcher })).text()).toBe('direct');
    expect(seen).toEqual([`http://127.0.0.1:${direct.port}`]);
  });
});

describe('ways to plug it in', () => {
  it('works with undici.request, with Node’s own fetch, and as the global dispatcher', async () => {
    const { servers, dispatcher } = await serviceFixture(['a', 'b']);
    const { body } = await request('http://svc/', { dispatcher });
    expect(await body.text()).toMatch(/^[ab]$/);
    const builtin = await globalThis.fetch('http://svc/', { dispatcher } as RequestInit);
    expect(await builtin.text()).toMatch(/^[ab]$/);
    const previous = getGlobalDispatcher();
    setGlobalDispatcher(dispatcher);
    try {
      expect(await (await globalThis.fetch('http://svc/')).text()).toMatch(/^[ab]$/);
      expect(await (await fetch('http://svc/')).text()).toMatch(/^[ab]$/);
    } finally {
      setGlobalDispatcher(previous);
    }
    expect(servers[0]!.requests + servers[1]!.requests).toBe(4);
  });

  it('composes as an interceptor: services go to their instances, other hosts on down the chain', async () => {
    const { servers, discovery } = await serviceFixture(['a', 'b']);
    const direct = await new TestServer('direct').start();
    const disco = discoveryInterceptor(discovery);
    const log = (seen: string[]): Dispatcher.DispatcherComposeInterceptor => (dispatch) => (opts, handler) => {
      seen.push(`${String(opts.origin)}${opts.path}`);
      return dispatch(opts, handler);
    };
    const seen: string[] = [];
    const below: string[] = [];
    const agent = new Agent();
    // The last one composed is called first: `log(seen)` sees every request's logical URL,
    // `log(below)` only what the discovery interceptor passed on.
    const dispatcher = agent.compose(log(below), disco, log(seen));
    onTestFinished(async () => {
      await disco.close();
      await agent.close();
      await direct.stop();
    });
    expect(await (await fetch('http://svc/hello', { dispatcher })).text()).toMatch(/^[ab]$/);
    expect(await (await fetch(`http://127.0.0.1:${direct.port}/`, { dispatcher })).text()).toBe('direct');
    expect(seen).toEqual(['http://svc/hello', `http://127.0.0.1:${direct.port}/`]);
    expect(below).toEqual([`http://127.0.0.1:${direct.port}/`]);
    expect(servers[0]!.requests + servers[1]!.requests).toBe(1);
    expect([...disco.openOrigins().keys()]).toEqual(['svc']);
    expect(() => discoveryInterceptor(discovery, { fallback: agent } as never)).toThrow(/fallback/);
  });
});

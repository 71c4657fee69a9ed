import { ConfigError, createDiscovery, isDiscoveryError, staticProvider, type Provider } from '@disco/core';
import { fetch, request } from 'undici';
import { describe, expect, it, onTestFinished } from 'vitest';
import { discoveryDispatcher, type DiscoveryDispatcherOptions } from '../src/index.ts';
import { serviceFixture } from './fixture.ts';

/** A provider whose reads and watches never deliver anything. */
const silent: Provider = {
  name: 'silent',
  capabilities: { register: false, watch: true, serverHealthChecks: false },
  register: () => new Promise(() => {}),
  deregister: () => new Promise(() => {}),
  discover: () => new Promise(() => {}),
  watch: () => () => {},
  close: async () => {},
};

async function failure(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  if (!error) throw new Error('expected a rejection');
  return error;
}

describe('errors reach the caller typed', () => {
  it('no instance: an ERR_NO_INSTANCES DiscoveryError as fetch’s cause, and as undici.request’s rejection', async () => {
    const discovery = createDiscovery({ provider: staticProvider() });
    const dispatcher = discoveryDispatcher(discovery);
    onTestFinished(async () => {
      await dispatcher.close();
      await discovery.close();
    });
    const error = await failure(fetch('http://orders/api', { dispatcher }));
    expect(error).toBeInstanceOf(TypeError);
    expect(isDiscoveryError(error.cause, 'ERR_NO_INSTANCES')).toBe(true);
    expect(error.cause).toMatchObject({ service: 'orders', message: expect.stringMatching(/check the host in the URL \(http:\/\/orders\/\.\.\.\)/) });
    const direct = await failure(request('http://orders/api', { dispatcher }));
    expect(isDiscoveryError(direct, 'ERR_NO_INSTANCES')).toBe(true);
  });

  it('the last instance gone: ERR_NO_INSTANCES too', async () => {
    const { servers, deregister, dispatcher, get } = await serviceFixture(['a']);
    expect((await get()).body).toBe('a');
    await deregister(servers[0]!);
    const error = await failure(fetch('http://svc/', { dispatcher }));
    expect(isDiscoveryError(error.cause, 'ERR_NO_INSTANCES')).toBe(true);
  });

  it('a host the rule maps to an invalid service name: ERR_INVALID_SERVICE', async () => {
    const discovery = createDiscovery({ provider: staticProvider() });
    const dispatcher = discoveryDispatcher(discovery, { route: () => 'a/b' });
    onTestFinished(async () => {
      await dispatcher.close();
      await discovery.close();
    });
    const error = await failure(fetch('http://anything/', { dispatcher }));
    expect(isDiscoveryError(error.cause, 'ERR_INVALID_SERVICE')).toBe(true);
  });

  it('a backend that never answers: ERR_TIMEOUT after readyTimeout, and the next request waits afresh', async () => {
    const discovery = createDiscovery({ provider: silent });
    const dispatcher = discoveryDispatcher(discovery, { readyTimeout: '150ms' });
    onTestFinished(async () => {
      await dispatcher.destroy();
      await discovery.close();
    });
    for (let i = 0; i < 2; i++) {
      const started = performance.now();
      const error = await failure(fetch('http://users/', { dispatcher }));
      expect(isDiscoveryError(error.cause, 'ERR_TIMEOUT')).toBe(true);
      expect((error.cause as Error).message).toMatch(/discovering "users" for an HTTP request did not finish within 150 ms/);
      expect(performance.now() - started).toBeGreaterThanOrEqual(140);
    }
  });

  it('a request still waiting for the first snapshot when the dispatcher closes: UND_ERR_CLOSED at once', async () => {
    const discovery = createDiscovery({ provider: silent });
    const dispatcher = discoveryDispatcher(discovery, { readyTimeout: '10s' });
    onTestFinished(() => discovery.close());
    const waiting = failure(fetch('http://users/', { dispatcher }));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = performance.now();
    await dispatcher.close();
    const error = await waiting;
    expect(error.cause).toMatchObject({ code: 'UND_ERR_CLOSED' });
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('a closed Discovery: ERR_CLOSED; a closed dispatcher: undici’s ClientClosedError', async () => {
    const { discovery, dispatcher, get } = await serviceFixture(['a']);
    await get();
    await discovery.close();
    const closed = await failure(fetch('http://svc/', { dispatcher }));
    expect(isDiscoveryError(closed.cause, 'ERR_CLOSED')).toBe(true);
    await dispatcher.close();
    for (const url of ['http://svc/', 'http://127.0.0.1:65535/']) {
      const error = await failure(fetch(url, { dispatcher }));
      expect(error.cause).toMatchObject({ code: 'UND_ERR_CLOSED' });
    }
  });
});

describe('options are checked when the dispatcher is made', () => {
  const discovery = createDiscovery({ provider: staticProvider() });
  const cases: [string, unknown, RegExp][] = [
    ['an unknown option', { retires: 2 }, /unknown option "retires"; known options: balancer, .*retry/],
    ['an unknown retry option', { retry: { attempts: 2 } }, /unknown option "retry.attempts"; known options of retry: retries/],
    ['a budget ratio above 1', { retry: { budget: { ratio: 2 } } }, /option "retry.budget.ratio" must be a number between 0 and 1; got 2/],
    ['a negative number of retries', { retry: { retries: -1 } }, /"retry.retries" must be a whole number between 0 and 10/],
    ['a status that is not one', { retry: { statuses: [503, 'x'] } }, /"retry.statuses" must be an array of status codes/],
    ['a bad duration', { readyTimeout: 'soon' }, /readyTimeout/],
    ['a bad route', { route: { prefix: 'x' } }, /option "route" must be 'single-label', \{ suffix/],
    ['a bad host header mode', { hostHeader: 'both' }, /"hostHeader" must be "service" or "instance"/],
    ['a bad per-service option', { services: { users: { retry: { budget: { window: -1 } } } } }, /services\.users\.retry\.budget\.window/],
    ['an unknown per-service option', { services: { users: { pool: {} } } }, /unknown option "services.users.pool"/],
    ['a pool factory inside pool', { pool: { factory: () => null } }, /"pool.factory" is not used: give poolFactory instead/],
  ];
  it.each(cases)('%s is an ERR_CONFIG naming it', (_what, options, message) => {
    let error: unknown;
    try {
      discoveryDispatcher(discovery, options as DiscoveryDispatcherOptions);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(message);
  });
});

import { createDiscovery, staticProvider, type Discovery } from '@disco/core';
import { fetch, type Dispatcher } from 'undici';
import { onTestFinished } from 'vitest';
import { discoveryDispatcher, type DiscoveryDispatcher, type DiscoveryDispatcherOptions } from '../src/index.ts';
import { TestServer, type Behaviour } from './http-servers.ts';

export interface Fixture {
  readonly servers: TestServer[];
  readonly discovery: Discovery;
  readonly dispatcher: DiscoveryDispatcher;
  register(server: TestServer, metadata?: Record<string, string>): Promise<void>;
  deregister(server: TestServer): Promise<void>;
  /** GETs `http://svc<path>` through the dispatcher and returns the status and body. */
  get(path?: string, init?: Parameters<typeof fetch>[1]): Promise<{ status: number; body: string }>;
}

/**
 * Servers named `names` registered as service `svc` on a static provider, and a dispatcher over
 * them; everything is stopped when the test ends.
 */
export async function serviceFixture(names: readonly string[], options: DiscoveryDispatcherOptions = {}, behaviour?: Behaviour): Promise<Fixture> {
  const servers = await Promise.all(names.map((name) => new TestServer(name, behaviour).start()));
  const discovery = createDiscovery({ provider: staticProvider() });
  const dispatcher = discoveryDispatcher(discovery, options);
  onTestFinished(async () => {
    await dispatcher.destroy();
    await discovery.close();
    await Promise.all(servers.map((s) => s.stop()));
  });
  const register = (server: TestServer, metadata?: Record<string, string>) =>
    discovery.register({ id: server.name, name: 'svc', address: '127.0.0.1', port: server.port, metadata });
  for (const server of servers) await register(server);
  return {
    servers,
    discovery,
    dispatcher,
    register,
    deregister: (server) => discovery.deregister(server.name),
    get: async (path = '/', init = {}) => {
      const response = await fetch(`http://svc${path}`, { dispatcher: dispatcher as Dispatcher, ...init });
      return { status: response.status, body: await response.text() };
    },
  };
}

/** How many requests each server received, by name. */
export function tally(servers: readonly TestServer[]): Record<string, number> {
  return Object.fromEntries(servers.map((s) => [s.name, s.requests]));
}

/** Runs `total` calls of `call`, `concurrency` at a time. */
export async function runConcurrently(total: number, concurrency: number, call: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) await call(next++);
    }),
  );
}

import { createInstance, isDiscoveryError, type Instance, type WatchListener } from '@disco/core';
import { waitFor } from '@disco/testing';
import * as grpc from '@grpc/grpc-js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { registerDiscoveryResolver } from '../src/index.ts';
import { callWho, clientFor, startServers, type TestServer } from './grpc-fixtures.ts';

/** Just enough of a Discovery: a watch that sends the current snapshot at once, then changes. */
class FakeSource {
  readonly subscribers = new Set<WatchListener>();
  readonly requests: { name: string; tags: string[] | undefined }[] = [];
  snapshot: readonly Instance[] = [];

  watch(name: string, listener: WatchListener, options?: { tags?: string[] }): () => void {
    this.requests.push({ name, tags: options?.tags });
    this.subscribers.add(listener);
    listener({ instances: this.snapshot });
    return () => this.subscribers.delete(listener);
  }

  set(servers: TestServer[]): void {
    this.snapshot = servers.map((s) => createInstance({ id: s.id, name: 'svc', address: '127.0.0.1', port: s.port }));
    for (const listener of this.subscribers) listener({ instances: this.snapshot });
  }
}

const uri = (path: string, scheme = 'fake'): grpc.experimental.GrpcUri => ({ scheme, authority: '', path });

describe('discovery resolver', () => {
  let servers: TestServer[];
  const source = new FakeSource();
  let unregister: () => void;

  beforeAll(async () => {
    servers = await startServers('a', 'b');
    unregister = registerDiscoveryResolver(source, { scheme: 'fake' });
  });
  afterAll(async () => {
    unregister();
    await Promise.all(servers.map((s) => s.stop()));
  });
  afterEach(() => expect(source.subscribers.size).toBe(0));

  it('never calls back synchronously, then follows every snapshot; destroy() unsubscribes', async () => {
    source.set([servers[0]!]);
    const results: grpc.experimental.StatusOr<grpc.experimental.Endpoint[]>[] = [];
    const resolver = grpc.experimental.createResolver(uri('svc'), (endpoints) => (results.push(endpoints), true), {});
    resolver.updateResolution();
    expect(source.subscribers.size).toBe(1);
    expect(results).toHaveLength(0); // the watch answered synchronously; the resolver did not
    await waitFor(() => results.length === 1, { what: 'first resolution' });
    expect(results[0]).toMatchObject({ ok: true, value: [{ addresses: [{ host: '127.0.0.1', port: servers[0]!.port }] }] });

    source.set(servers);
    await waitFor(() => results.length === 2, { what: 'second resolution' });
    const second = results[1]!;
    expect(second.ok && second.value.map((e) => e.addresses[0])).toEqual(servers.map((s) => ({ host: '127.0.0.1', port: s.port })));

    resolver.destroy();
    expect(source.subscribers.size).toBe(0);
    source.set([servers[1]!]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(results).toHaveLength(2);
  });

  it('coalesces a burst of snapshots into one delivery of the latest', async () => {
    const results: grpc.experimental.StatusOr<grpc.experimental.Endpoint[]>[] = [];
    const resolver = grpc.experimental.createResolver(uri('svc'), (endpoints) => (results.push(endpoints), true), {});
    resolver.updateResolution();
    source.set([servers[0]!]);
    source.set([servers[1]!]);
    await waitFor(() => results.length >= 1, { what: 'resolution' });
    await new Promise((resolve) => setImmediate(resolve));
    expect(results).toHaveLength(1);
    expect(results[0]!.ok && results[0]!.value[0]!.addresses[0]).toEqual({ host: '127.0.0.1', port: servers[1]!.port });
    resolver.destroy();
  });

  it('speaks the older listener object (grpc-js 1.10 - 1.13): onSuccessfulResolution / onError', async () => {
    source.set(servers);
    const seen: unknown[][] = [];
    const legacy = {
      onSuccessfulResolution: (...args: unknown[]) => seen.push(['ok', ...args]),
      onError: (error: unknown) => seen.push(['error', error]),
    };
    const resolver = grpc.experimental.createResolver(uri('svc'), legacy as never, {});
    resolver.updateResolution();
    await waitFor(() => seen.length === 1, { what: 'legacy resolution' });
    const [kind, endpoints, serviceConfig, serviceConfigError, configSelector, attributes] = seen[0]!;
    expect(kind).toBe('ok');
    expect((endpoints as grpc.experimental.Endpoint[]).map((e) => e.addresses[0]!)).toHaveLength(2);
    expect([serviceConfig, serviceConfigError, configSelector, attributes]).toEqual([null, null, null, {}]);
    resolver.destroy();

    registerDiscoveryResolver(source, { scheme: 'fake-unbound' })(); // registered, then unbound
    const orphan = grpc.experimental.createResolver(uri('svc', 'fake-unbound'), legacy as never, {});
    orphan.updateResolution();
    await waitFor(() => seen.length === 2, { what: 'legacy error' });
    expect(seen[1]![0]).toBe('error');
    expect(seen[1]![1]).toMatchObject({ code: grpc.status.UNAVAILABLE, details: expect.stringContaining('no Discovery is registered for the gRPC scheme "fake-unbound"') });
  });

  it('passes ?tag= filters to the watch', async () => {
    const resolver = grpc.experimental.createResolver(uri('svc?tag=v2&tag=eu'), () => true, {});
    resolver.updateResolution();
    expect(source.requests.at(-1)).toEqual({ name: 'svc', tags: ['v2', 'eu'] });
    resolver.destroy();
  });

  it('gives a real channel the addresses and moves its calls when the snapshot changes', async () => {
    source.set([servers[0]!]);
    const client = clientFor('fake:///svc');
    try {
      expect(await callWho(client)).toBe('a');
      source.set([servers[1]!]);
      await waitFor(async () => (await callWho(client)) === 'b', { what: 'calls moving to b' });
      expect(await callWho(client)).toBe('b');
    } finally {
      client.close();
    }
    await waitFor(() => source.subscribers.size === 0, { what: 'channel close to release the watch' });
  });

  it('lets go of the watch when the channel goes idle, and watches again on the next call', async () => {
    source.set([servers[0]!]);
    const client = new grpc.Client('fake:///svc', grpc.credentials.createInsecure(), { 'grpc.client_idle_timeout_ms': 1_000 });
    try {
      expect(await callWho(client)).toBe('a');
      expect(source.subscribers.size).toBe(1);
      await waitFor(() => source.subscribers.size === 0, { what: 'idle channel to destroy its resolver', timeoutMs: 5_000 });
      source.set([servers[1]!]);
      expect(await callWho(client)).toBe('b');
      expect(source.subscribers.size).toBe(1);
    } finally {
      client.close();
    }
  });

  it('rejects bad targets when the channel is created, saying what is wrong', () => {
    expect(() => clientFor('fake:///a/b')).toThrow(/service name must not contain "\/"; got "a\/b"/);
    expect(() => clientFor('fake://somehost/svc')).toThrow(/names an authority \("somehost"\); write fake:\/\/\/<service-name>/);
    expect(() => clientFor('fake:///svc?zone=eu')).toThrow(/unknown parameter "zone"; only "tag" is supported/);
  });
});

describe('registerDiscoveryResolver', () => {
  const source = new FakeSource();

  it('rejects bad schemes, grpc-js schemes, a second binding, and a non-Discovery with ERR_CONFIG', () => {
    const expectConfigError = (fn: () => unknown, message: RegExp) => {
      try {
        fn();
        expect.unreachable('should have thrown');
      } catch (error) {
        expect(isDiscoveryError(error, 'ERR_CONFIG')).toBe(true);
        expect((error as Error).message).toMatch(message);
      }
    };
    expectConfigError(() => registerDiscoveryResolver(source, { scheme: '1bad' }), /must be a URI scheme/);
    expectConfigError(() => registerDiscoveryResolver(source, { scheme: 'dns' }), /belongs to grpc-js/);
    expectConfigError(() => registerDiscoveryResolver({} as never, { scheme: 'x' }), /needs a Discovery/);
    const unregister = registerDiscoveryResolver(source, { scheme: 'twice' });
    expectConfigError(() => registerDiscoveryResolver(source, { scheme: 'twice' }), /already bound/);
    unregister();
    registerDiscoveryResolver(source, { scheme: 'twice' })();
  });

  it('unregistering stops every watch and fails new calls with UNAVAILABLE', async () => {
    const [server] = await startServers('solo');
    source.set([server!]);
    const unregister = registerDiscoveryResolver(source, { scheme: 'gone' });
    const client = clientFor('gone:///svc');
    try {
      expect(await callWho(client)).toBe('solo');
      expect(source.subscribers.size).toBe(1);
      unregister();
      expect(source.subscribers.size).toBe(0);
      const late = clientFor('gone:///svc');
      await expect(callWho(late)).rejects.toMatchObject({
        code: grpc.status.UNAVAILABLE,
        details: expect.stringContaining('no Discovery is registered for the gRPC scheme "gone"'),
      });
      late.close();
    } finally {
      client.close();
      await server!.stop();
    }
  });
});

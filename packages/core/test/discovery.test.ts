import { createDiscovery, isDiscoveryError, ProviderUnavailableError, staticProvider, type Balancer, type Instance, type WatchEvent } from '@disco/core';
import { waitFor } from '@disco/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { WatchEngine } from '@disco/core/provider';
import { healthyFilter } from '../src/instance-filter.js';
import { inst, ScriptedProvider, tick } from './helpers.js';

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((d) => d.close()));
});
function discovery(config: Parameters<typeof createDiscovery>[0] = {}) {
  const d = createDiscovery(config);
  open.push(d);
  return d;
}
const svc = (id: string, extra = {}) => ({ id, name: 'users', address: '127.0.0.1', port: 8000 + Number(id.replace(/\D/g, '')), ...extra });

describe('register / discover', () => {
  it('discovers what was registered, filtered by tags and health', async () => {
    const d = discovery();
    await d.register(svc('u1', { tags: ['blue'] }));
    await d.register(svc('u2', { tags: ['green'] }));
    expect((await d.discover('users')).map((i) => i.id)).toEqual(['u1', 'u2']);
    expect((await d.discover('users', { tags: ['blue'] })).map((i) => i.id)).toEqual(['u1']);
    const provider = await d.provider();
    await provider.register(svc('u3'), { healthy: false });
    const all = await createDiscovery({ provider }).discover('users', { healthyOnly: false });
    expect(all.map((i) => [i.id, i.healthy])).toEqual([['u1', true], ['u2', true], ['u3', false]]);
  });

  it('validates before registering and lists every problem', async () => {
    const d = discovery();
    const error = await d.register({ id: '', name: '', address: 'bad host!', port: 0, weight: -1 }).catch((e: unknown) => e);
    expect(isDiscoveryError(error, 'ERR_INVALID_SERVICE')).toBe(true);
    expect((error as { problems: string[] }).problems).toHaveLength(5);
    expect(await d.discover('users')).toEqual([]);
  });

  it('uses serviceName when a registration names none', async () => {
    const d = discovery({ serviceName: 'orders' });
    await d.register({ id: 'o1', address: '127.0.0.1', port: 9000 } as never);
    expect((await d.discover('orders')).map((i) => i.id)).toEqual(['o1']);
  });

  it('deregister is idempotent', async () => {
    const d = discovery();
    await d.register(svc('u1'));
    await d.deregister('u1');
    await d.deregister('u1');
    expect(await d.discover('users')).toEqual([]);
  });
});

describe('watch and updates', () => {
  it('sends the current state first, then each change, never two equal snapshots in a row', async () => {
    const d = discovery();
    await d.register(svc('u1'));
    const seen: string[][] = [];
    d.watch('users', (e) => 'instances' in e && seen.push(e.instances.map((i) => i.id)));
    await waitFor(() => seen.length === 1);
    await d.register(svc('u1')); // same again: no event
    await d.register(svc('u2'));
    await d.deregister('u1');
    await waitFor(() => seen.length === 3);
    await tick(20);
    expect(seen).toEqual([['u1'], ['u1', 'u2'], ['u2']]);
  });

  it('one backend watch however many subscribers; released with the last one', async () => {
    const provider = new ScriptedProvider();
    const d = discovery({ provider });
    const stops = Array.from({ length: 50 }, () => d.watch('svc', () => {}));
    const handles = Array.from({ length: 5 }, () => d.service('svc'));
    await tick();
    expect(provider.watchCalls).toBe(1);
    stops.forEach((s) => s());
    expect(provider.listeners.size).toBe(1);
    handles.forEach((h) => h.close());
    expect(provider.listeners.size).toBe(0);
  });

  it('reuses unchanged Instance objects across snapshots', async () => {
    const provider = new ScriptedProvider();
    provider.instances = [inst('a1'), inst('b2')];
    const d = discovery({ provider });
    const snaps: (readonly Instance[])[] = [];
    d.watch('svc', (e) => 'instances' in e && snaps.push(e.instances));
    await waitFor(() => snaps.length === 1);
    provider.set([inst('a1'), inst('b2', { weight: 5 }), inst('c3')]);
    await waitFor(() => snaps.length === 2);
    expect(snaps[1]![0]).toBe(snaps[0]![0]);
    expect(snaps[1]![1]).not.toBe(snaps[0]![1]);
    provider.set([inst('a1'), inst('b2', { weight: 5 }), inst('c3')]);
    await tick(10);
    expect(snaps).toHaveLength(2);
  });

  it('updates() yields snapshots and ends on abort and on close', async () => {
    const d = discovery();
    await d.register(svc('u1'));
    const controller = new AbortController();
    const got: string[][] = [];
    const loop = (async () => {
      for await (const instances of d.updates('users', { signal: controller.signal })) {
        got.push(instances.map((i) => i.id));
        if (got.length === 1) await d.register(svc('u2'));
        if (got.length === 2) controller.abort();
      }
    })();
    await loop;
    expect(got).toEqual([['u1'], ['u1', 'u2']]);

    const iterator = d.updates('users');
    expect((await iterator.next()).value?.length).toBe(2);
    const pending = iterator.next();
    await d.close();
    expect(await pending).toEqual({ done: true, value: undefined });
  });

  it('watch stops on abort', async () => {
    const d = discovery();
    const controller = new AbortController();
    const events: WatchEvent[] = [];
    d.watch('users', (e) => events.push(e), { signal: controller.signal });
    await waitFor(() => events.length === 1);
    controller.abort();
    await d.register(svc('u1'));
    await tick(10);
    expect(events).toHaveLength(1);
  });
});

describe('cache', () => {
  it('concurrent misses make one backend call', async () => {
    const provider = new ScriptedProvider();
    provider.instances = [inst('a1')];
    provider.discoverDelayMs = 20;
    const d = discovery({ provider });
    const results = await Promise.all(Array.from({ length: 100 }, () => d.discover('svc')));
    expect(provider.discoverCalls).toBe(1);
    expect(new Set(results).size).toBe(1);
  });

  it('serves from the TTL, refreshes ahead of expiry in the background, and reads again after it', async () => {
    // The cache entry with a clock the test moves: no timing assumptions.
    const provider = new ScriptedProvider();
    provider.instances = [inst('a1')];
    let now = 0;
    const source = { list: async () => ({ instances: await provider.discover() }) };
    const hooks = { error: () => {}, event: () => {}, listenerError: () => {} };
    const entry = new WatchEngine('svc', { provider: 'scripted', source: () => source, hooks, ttlMs: 1000, now: () => now, random: () => 0.5 });
    await entry.read(healthyFilter);
    now = 800; // before the refresh-ahead point (75 % + 0.5 × 20 % = 85 % of the TTL)
    await entry.read(healthyFilter);
    expect(provider.discoverCalls).toBe(1);
    provider.instances = [inst('a1'), inst('b2')];
    now = 900; // inside the refresh-ahead window: the cached answer at once, a refresh in the background
    expect((await entry.read(healthyFilter)).length).toBe(1);
    await waitFor(() => provider.discoverCalls === 2);
    await tick();
    expect((await entry.read(healthyFilter)).length).toBe(2);
    // Past the TTL (stale-while-revalidate, RFC 5861): still the cached answer at once, never a
    // wait for the backend; the refresh behind it brings the new state for the next read.
    now = 900 + 1001;
    provider.instances = [inst('c3')];
    provider.discoverDelayMs = 50;
    const started = performance.now();
    expect((await entry.read(healthyFilter)).map((i) => i.id)).toEqual(['a1', 'b2']);
    expect(performance.now() - started).toBeLessThan(40);
    await waitFor(() => provider.discoverCalls === 3);
    await waitFor(async () => (await entry.read(healthyFilter)).map((i) => i.id).join() === 'c3');
    await entry.close();
  });

  it('keeps serving the last good snapshot when the backend fails, reports it, and recovers', async () => {
    const provider = new ScriptedProvider();
    provider.instances = [inst('a1')];
    const d = discovery({ provider, cacheTtl: 10 });
    const errors: string[] = [];
    d.on('error', (e) => errors.push(e.error.code));
    await d.discover('svc');
    provider.failing = new Error('connection refused');
    await tick(20);
    // Past the TTL the cached snapshot comes at once; the refresh behind it fails and says so.
    expect((await d.discover('svc')).map((i) => i.id)).toEqual(['a1']);
    await waitFor(() => errors.length === 1);
    expect(errors).toEqual(['ERR_PROVIDER_UNAVAILABLE']);
    expect((await d.resolve('svc')).id).toBe('a1');
    provider.failing = undefined;
    provider.instances = [inst('b2')];
    await waitFor(async () => (await d.discover('svc')).map((i) => i.id).join() === 'b2', { timeoutMs: 5_000 });
  });

  it('without a snapshot a failing backend is ERR_PROVIDER_UNAVAILABLE', async () => {
    const provider = new ScriptedProvider();
    provider.failing = new Error('down');
    const d = discovery({ provider });
    await expect(d.discover('svc')).rejects.toMatchObject({ code: 'ERR_PROVIDER_UNAVAILABLE' });
  });

  it('stops serving a stale snapshot after maxStale, and a watch sees the error then the fresh state', async () => {
    const provider = new ScriptedProvider();
    provider.instances = [inst('a1')];
    const d = discovery({ provider, maxStale: 50 });
    const handle = d.service('svc');
    await handle.ready;
    const events: string[] = [];
    d.watch('svc', (e) => events.push('instances' in e ? `snap:${e.instances.length}` : `error:${e.error.code}`));
    await waitFor(() => events.length === 1);
    const down = new ProviderUnavailableError('scripted', 'down');
    provider.failing = down;
    for (const l of provider.listeners) l({ error: down });
    expect(handle.pick()?.id).toBe('a1');
    await waitFor(() => handle.instances.length === 0, { timeoutMs: 1000 });
    expect(handle.pick()).toBeUndefined();
    await expect(d.resolve('svc')).rejects.toMatchObject({ code: 'ERR_PROVIDER_UNAVAILABLE' });
    provider.failing = undefined;
    provider.set([inst('a1')]);
    expect(handle.pick()?.id).toBe('a1');
    expect(events.slice(0, 3)).toEqual(['snap:1', 'error:ERR_PROVIDER_UNAVAILABLE', 'error:ERR_PROVIDER_UNAVAILABLE']);
    expect(events.indexOf('snap:0')).toBeGreaterThan(1);
    expect(events.at(-1)).toBe('snap:1');
  });
});

describe('resolve and service handles', () => {
  it('resolve spreads round robin and fails with ERR_NO_INSTANCES when there is none', async () => {
    const d = discovery();
    for (const id of ['u1', 'u2', 'u3']) await d.register(svc(id));
    const picks = await Promise.all(Array.from({ length: 9 }, () => d.resolve('users')));
    const counts = Object.groupBy(picks, (i) => i.id);
    expect(Object.values(counts).map((l) => l!.length)).toEqual([3, 3, 3]);
    await expect(d.resolve('nobody')).rejects.toMatchObject({ code: 'ERR_NO_INSTANCES' });
  });

  it('a handle picks synchronously, follows changes, and feeds the balancer through acquire/release', async () => {
    const calls: string[] = [];
    const balancer: Balancer = {
      name: 'recording',
      pick: (instances) => instances[0],
      onStart: (i) => calls.push(`start:${i.id}`),
      onEnd: (i, o) => calls.push(`end:${i.id}:${o.ok}:${typeof o.latencyMs}`),
    };
    const d = discovery();
    await d.register(svc('u1'));
    const handle = d.service('users', { balancer });
    expect(handle.pick()).toBeUndefined();
    await handle.ready;
    expect(handle.pick()?.id).toBe('u1');
    {
      using lease = handle.acquire();
      expect(lease.instance.id).toBe('u1');
    }
    handle.acquire().release({ ok: false });
    expect(calls).toEqual(['start:u1', 'end:u1:true:number', 'start:u1', 'end:u1:false:number']);
    await d.deregister('u1');
    expect(handle.instances).toEqual([]);
    expect(() => handle.acquire()).toThrow(expect.objectContaining({ code: 'ERR_NO_INSTANCES' }));
  });

  it('each handle has its own balancer instance when given a factory or a name', async () => {
    const made: Balancer[] = [];
    const factory = () => {
      const b: Balancer = { name: 'f', pick: (i) => i[0] };
      made.push(b);
      return b;
    };
    const d = discovery({ balancer: factory });
    await d.register(svc('u1'));
    await Promise.all([d.service('users').ready, d.service('users').ready]);
    expect(made).toHaveLength(2);
    await expect(d.service('users', { balancer: 'no_such_balancer' }).ready).rejects.toMatchObject({ code: 'ERR_CONFIG' });
  });

  it('handle.ready rejects when the backend fails before the first snapshot', async () => {
    const provider = new ScriptedProvider();
    provider.failing = new Error('down');
    const d = discovery({ provider });
    await expect(d.service('svc').ready).rejects.toMatchObject({ code: 'ERR_PROVIDER_UNAVAILABLE' });
  });
});

describe('close', () => {
  it('deregisters what this process registered, closes handles and the provider, and rejects later calls', async () => {
    const provider = staticProvider();
    const other = createDiscovery({ provider });
    const d = createDiscovery({ provider: { ...provider, name: provider.name, capabilities: provider.capabilities, register: (s, o) => provider.register(s, o), deregister: (id, o) => provider.deregister(id, o), discover: (n, o) => provider.discover(n, o), watch: (n, l, o) => provider.watch(n, l, o), close: async () => {} } });
    await d.register(svc('u1'));
    const handle = d.service('users');
    await handle.ready;
    await d.close();
    await d.close();
    expect(handle.closed).toBe(true);
    expect(await other.discover('users')).toEqual([]);
    for (const call of [() => d.discover('users'), () => d.register(svc('u2')), () => d.resolve('users')]) {
      await expect(call()).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    }
    expect(() => d.service('users')).toThrow(expect.objectContaining({ code: 'ERR_CLOSED' }));
    await other.close();
  });

  it('tells watchers still attached that it closed', async () => {
    const d = createDiscovery();
    const events: string[] = [];
    d.watch('users', (e) => events.push('instances' in e ? 'snapshot' : e.error.code));
    await waitFor(() => events.length === 1);
    await d.close();
    expect(events).toEqual(['snapshot', 'ERR_CLOSED']);
  });

  it('works with await using', async () => {
    let provider!: ScriptedProvider;
    {
      provider = new ScriptedProvider();
      await using d = createDiscovery({ provider });
      await d.discover('svc');
    }
    expect(provider.closed).toBe(true);
  });
});

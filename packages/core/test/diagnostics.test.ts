import { channelNames, createDiscovery, staticProvider, type CallMessage, type OperationContext, type SnapshotMessage, type WatchErrorMessage, type WatchRecoveredMessage } from '@disco/core';
import { waitFor } from '@disco/testing';
import { subscribe, tracingChannel, unsubscribe } from 'node:diagnostics_channel';
import { afterEach, describe, expect, it } from 'vitest';
import { inst, ScriptedProvider } from './helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

function listen<T>(name: string): T[] {
  const messages: T[] = [];
  const handler = (message: unknown) => void messages.push(message as T);
  subscribe(name, handler);
  cleanups.push(() => unsubscribe(name, handler));
  return messages;
}

describe('diagnostics channels', () => {
  it('publishes snapshot changes with counts and the instances added and removed', async () => {
    const snapshots = listen<SnapshotMessage>(channelNames.snapshot);
    const d = createDiscovery({ provider: staticProvider() });
    const handle = d.service('users');
    await d.register({ id: 'u1', name: 'users', address: '127.0.0.1', port: 8001 });
    await d.register({ id: 'u2', name: 'users', address: '127.0.0.1', port: 8002 });
    await d.deregister('u1');
    await waitFor(() => handle.instances.length === 1 && handle.instances[0]!.id === 'u2');
    const mine = snapshots.filter((s) => s.service === 'users');
    const last = mine.at(-1)!;
    expect([last.provider, last.instances, last.healthy]).toEqual(['static', 1, 1]);
    expect(last.removed.map((i) => i.id)).toEqual(['u1']);
    expect(mine.flatMap((s) => s.added.map((i) => i.id))).toEqual(['u1', 'u2']);
    await d.close();
  });

  it('publishes an outage once and its recovery with how long it lasted', async () => {
    const errors = listen<WatchErrorMessage>(channelNames.watchError);
    const recovered = listen<WatchRecoveredMessage>(channelNames.watchRecovered);
    const provider = new ScriptedProvider();
    provider.instances = [inst('a1')];
    const d = createDiscovery({ provider });
    d.watch('svc', () => {});
    await waitFor(() => provider.listeners.size === 1);
    const down = new Error('down');
    for (const l of provider.listeners) l({ error: down as never });
    for (const l of provider.listeners) l({ error: down as never });
    provider.set([inst('a1')]);
    await waitFor(() => recovered.length === 1);
    expect(errors.map((e) => [e.service, e.error.code])).toEqual([['svc', 'ERR_PROVIDER_UNAVAILABLE']]);
    expect(recovered[0]).toMatchObject({ service: 'svc', provider: 'scripted' });
    expect(recovered[0]!.staleMs).toBeGreaterThanOrEqual(0);
    await d.close();
  });

  it('traces register, deregister and discover, and publishes calls through acquire/release', async () => {
    const starts: OperationContext[] = [];
    const ends: OperationContext[] = [];
    const handlers = {
      start: (context: OperationContext) => void starts.push(context),
      asyncEnd: (context: OperationContext) => void ends.push(context),
    };
    for (const name of ['disco:register', 'disco:deregister', 'disco:discover']) {
      const channel = tracingChannel<unknown, OperationContext>(name);
      channel.subscribe(handlers as never);
      cleanups.push(() => channel.unsubscribe(handlers as never));
    }
    const calls = listen<CallMessage>(channelNames.callStart);
    const ended = listen<CallMessage>(channelNames.callEnd);
    const d = createDiscovery({ provider: staticProvider() });
    await d.register({ id: 'u1', name: 'users', address: '127.0.0.1', port: 8001 });
    await d.discover('users');
    const lease = await d.acquire('users');
    lease.release({ ok: false, latencyMs: 12 });
    await d.deregister('u1');
    expect(starts.map((c) => [c.service, c.serviceId])).toEqual([['users', 'u1'], ['users', undefined], ['users', 'u1']]);
    expect((ends[1]!.result as unknown[]).length).toBe(1);
    expect(calls.map((c) => c.instance.id)).toEqual(['u1']);
    expect(ended).toEqual([expect.objectContaining({ service: 'users', ok: false, latencyMs: 12 })]);
    await d.close();
  });
});

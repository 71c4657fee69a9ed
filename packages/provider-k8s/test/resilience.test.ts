// How the list + watch behaves when the API server misbehaves: compaction (410 Gone),
// restarts, silent watches, bad credentials, and many clients coming back at once.
import type { ProviderEvent } from '@disco/core';
import type { ServiceSource } from '@disco/core/provider';
import { waitFor } from '@disco/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { ids, Recorder, startDouble, type DoubleFixture } from './helpers.js';

let f: DoubleFixture | undefined;
afterEach(async () => {
  await f?.close();
  f = undefined;
});

const lists = (fixture: DoubleFixture, since = 0) => fixture.double.requests.filter((r) => r.at >= since && r.resource === 'endpointslices' && !r.watch && r.method === 'GET');
const watches = (fixture: DoubleFixture, since = 0) => fixture.double.requests.filter((r) => r.at >= since && r.resource === 'endpointslices' && r.watch);

function slice(fixture: DoubleFixture, service: string, pods: string[]) {
  fixture.double.applyEndpointSlice({ name: service, service, endpoints: pods.map((pod, i) => ({ address: `10.20.0.${i + 1}`, pod })) });
}

describe('list + watch resilience', () => {
  it('runs one watch per service however many subscribers, and stops it with the last one', async () => {
    f = await startDouble();
    slice(f, 'one', ['a']);
    slice(f, 'two', ['b']);
    const provider = f.provider();
    const recorders = Array.from({ length: 6 }, () => new Recorder());
    const stops = recorders.map((r, i) => provider.watch(i % 2 ? 'one' : 'two', r.listener));
    await waitFor(() => recorders.every((r) => r.last()?.length === 1), { what: 'every subscriber to get a snapshot' });
    await waitFor(() => f!.double.openWatches('endpointslices') === 2, { what: 'two watches' });
    expect(lists(f)).toHaveLength(2);
    for (const stop of stops) stop();
    await waitFor(() => f!.double.openWatches() === 0, { what: 'the watches to end with their last subscriber' });
  });

  it('restarts watches that end at timeoutSeconds from the last resourceVersion, without listing again', async () => {
    f = await startDouble();
    slice(f, 'quiet', ['a']);
    const provider = f.provider({ watchTimeout: '1s' });
    const recorder = new Recorder();
    const stop = provider.watch('quiet', recorder.listener);
    await waitFor(() => watches(f!).length >= 3, { timeoutMs: 8000, what: 'three watches in a row' });
    expect(lists(f)).toHaveLength(1);
    const resourceVersions = watches(f).map((w) => w.query.resourceVersion);
    expect(resourceVersions.every((rv) => rv !== undefined && rv !== '' && rv !== '0')).toBe(true);
    // timeoutSeconds is jittered in [1x, 2x) like client-go's reflector, bookmarks are asked for.
    expect(watches(f).every((w) => ['1', '2'].includes(w.query.timeoutSeconds!) && w.query.allowWatchBookmarks === 'true')).toBe(true);
    slice(f, 'quiet', ['a', 'b']);
    await waitFor(() => recorder.last()?.length === 2, { what: 'a change after the restarts' });
    expect(recorder.errors().length).toBe(0);
    stop();
  });

  it('resumes at once a watch the server ends cleanly before timeoutSeconds with nothing in it: no error, no growing backoff, changes on time (issue 11, defect 2)', async () => {
    // A proxy cuts every watch after 1.2 s (the run: every 2 s in 60 s; scaled down, but
    // still past the 1 s under which client-go's rule counts an empty watch as a failure), and
    // no bookmark ever comes.
    f = await startDouble({ bookmarkIntervalMs: 60_000, endWatchesAfterMs: 1200 });
    slice(f, 'cut', ['a']);
    // No jitter, so that a backoff would show as gaps of 500 ms, 1 s, 2 s… between watches.
    const provider = f.provider({ watchTimeout: '30s', backoff: { initial: 500, max: 30_000, random: () => 1 } });
    const recorder = new Recorder();
    const stop = provider.watch('cut', recorder.listener);
    await waitFor(() => watches(f!).length >= 5, { timeoutMs: 10_000, what: 'five watches in a row, each cut early' });
    const started = watches(f).map((w) => w.at);
    const gaps = started.slice(1).map((at, i) => at - started[i]! - 1200);
    console.log(`[provider-k8s] watches cut after 1.2 s: resumed after ${gaps.map((g) => g.toFixed(0)).join(', ')} ms`);
    expect(Math.max(...gaps)).toBeLessThan(250);
    expect(recorder.errors()).toEqual([]);
    expect(lists(f)).toHaveLength(1);
    const changedAt = performance.now();
    slice(f, 'cut', ['a', 'b']);
    await waitFor(() => recorder.last()?.length === 2, { what: 'the change' });
    expect(performance.now() - changedAt).toBeLessThan(1000);
    expect(recorder.errors()).toEqual([]);
    stop();
  }, 15_000);

  it('lists again after 410 Gone for a compacted resourceVersion, and catches up', async () => {
    f = await startDouble();
    slice(f, 'stale', ['a']);
    const provider = f.provider();
    const events: ProviderEvent[] = [];
    provider.onEvent((e) => events.push(e));
    const recorder = new Recorder();
    const stop = provider.watch('stale', recorder.listener);
    await waitFor(() => recorder.last()?.length === 1 && f!.double.openWatches() === 1, { what: 'the watch' });
    // While the watch is cut, the object changes and history is compacted past the watch's position.
    await f.double.stop();
    slice(f, 'stale', ['a', 'b', 'c']);
    f.double.compact();
    await f.double.start();
    await waitFor(() => ids(recorder.last()).join() === 'a,b,c', { what: 'the re-list to bring the change' });
    expect(lists(f)).toHaveLength(2);
    expect(events.filter((e) => e.type === 'resync')).toHaveLength(1);
    expect(events.find((e) => e.type === 'resync')!.message).toMatch(/410 Gone/);
    stop();
  });

  it('starts a paged list over when its continue token expires (410 Gone), in the watch and in discover()', async () => {
    f = await startDouble();
    for (const pod of ['a', 'b', 'c']) f.double.applyEndpointSlice({ name: `paged-${pod}`, service: 'paged', endpoints: [{ address: '10.21.0.1', pod }] });
    let expire = 1; // the next continuation answers 410
    f.double.onRequest = (request) => {
      if (request.query.continue && expire > 0) {
        expire--;
        f!.double.applyPod({ name: `unrelated-${expire}` }); // history moves on…
        f!.double.compact(); // …and the list's snapshot revision is compacted away
      }
    };
    const provider = f.provider({ pageSize: 1 });
    const events: ProviderEvent[] = [];
    provider.onEvent((e) => events.push(e));
    const recorder = new Recorder();
    const stop = provider.watch('paged', recorder.listener);
    await waitFor(() => ids(recorder.last()).join() === 'a,b,c', { what: 'the whole list after starting over' });
    expect(recorder.snapshots()).toHaveLength(1);
    expect(recorder.errors().length).toBe(0);
    expect(events.filter((e) => e.type === 'resync').map((e) => e.message)).toEqual([expect.stringMatching(/the list continuation expired \(410 Gone\); listing again/)]);
    stop();
    expire = 1;
    expect(ids(await provider.discover('paged'))).toEqual(['a', 'b', 'c']);
    expect(expire).toBe(0);
  });

  it('recovers when the API server stops and starts again, keeping its state meanwhile', async () => {
    f = await startDouble();
    slice(f, 'steady', ['a', 'b']);
    const provider = f.provider();
    const recorder = new Recorder();
    const stop = provider.watch('steady', recorder.listener);
    await waitFor(() => recorder.last()?.length === 2 && f!.double.openWatches() === 1, { what: 'the watch' });
    await f.double.stop();
    await waitFor(() => recorder.errors().length === 1, { what: 'one error event for the outage' });
    expect(recorder.events.at(-1)).toMatchObject({ error: { code: 'ERR_PROVIDER_UNAVAILABLE' } });
    await expect(provider.discover('steady')).rejects.toMatchObject({ code: 'ERR_PROVIDER_UNAVAILABLE' });
    slice(f, 'steady', ['a', 'b', 'c']); // changed while the server was down
    await new Promise((r) => setTimeout(r, 300)); // several failed retries
    expect(recorder.errors().length).toBe(1);
    await f.double.start();
    await waitFor(() => ids(recorder.last()).join() === 'a,b,c', { what: 'the change made during the outage' });
    // A failed watch is followed by a re-list (core's engine: the position may be gone).
    expect(lists(f)).toHaveLength(2);
    expect(ids(await provider.discover('steady'))).toEqual(['a', 'b', 'c']);
    stop();
  });

  it('sends the unchanged snapshot again once the API answers after an outage (so caches know it is fresh)', async () => {
    f = await startDouble();
    slice(f, 'same', ['a']);
    const recorder = new Recorder();
    const stop = f.provider().watch('same', recorder.listener);
    await waitFor(() => recorder.last()?.length === 1 && f!.double.openWatches() === 1, { what: 'the watch' });
    await f.double.stop();
    await waitFor(() => recorder.errors().length === 1, { what: 'the outage' });
    await f.double.start();
    await waitFor(() => recorder.events.length === 3, { what: 'the snapshot after recovery' });
    expect(recorder.events.map((e) => Object.keys(e)[0])).toEqual(['instances', 'error', 'instances']);
    expect(ids(recorder.last())).toEqual(['a']);
    stop();
  });

  it('detects a watch gone silent and restarts it', async () => {
    f = await startDouble({ bookmarkIntervalMs: 60_000 });
    slice(f, 'silent', ['a']);
    const provider = f.provider({ watchTimeout: '1s', watchGrace: '500ms' });
    const events: ProviderEvent[] = [];
    provider.onEvent((e) => events.push(e));
    const recorder = new Recorder();
    const stop = provider.watch('silent', recorder.listener);
    await waitFor(() => recorder.last()?.length === 1 && f!.double.openWatches() === 1, { what: 'the watch' });
    f.double.freezeWatches(); // the connection stays open; nothing comes, not even the end
    const frozenAt = performance.now();
    slice(f, 'silent', ['a', 'b']);
    await waitFor(() => recorder.last()?.length === 2, { timeoutMs: 6000, what: 'the change, after the silent watch was replaced' });
    const detectedAfter = performance.now() - frozenAt;
    expect(events.some((e) => e.type === 'watch-silent')).toBe(true);
    expect(detectedAfter).toBeLessThan(2 * 1000 + 500 + 1000);
    // The silent watch is a failure: the engine lists again once, then watches from there.
    expect(lists(f)).toHaveLength(2);
    expect(events.find((e) => e.type === 'watch-silent')!.message).toMatch(/the watch sent nothing to end it 500 ms past its timeoutSeconds/);
    stop();
  });

  it('reports bad credentials as ERR_CONFIG naming KUBECONFIG, without the token or any piece of it', async () => {
    f = await startDouble({ token: 'the-real-token-123' });
    const { kubernetesProvider } = await import('../src/index.js');
    const { writeFile } = await import('node:fs/promises');
    const wrong = `${f.kubeconfig}.wrong`;
    await writeFile(wrong, f.double.kubeconfig().replace('the-real-token-123', 'a-wrong-token-456'));
    const provider = kubernetesProvider({ kubeconfig: wrong, backoff: { initial: 20, max: 100 } }, { env: {} });
    const error = await provider.discover('web').catch((e: unknown) => e as Error);
    expect(error).toMatchObject({ code: 'ERR_CONFIG', variable: 'KUBECONFIG', retryable: false });
    expect((error as Error).message).toMatch(/rejected the credentials \(401 Unauthorized\)/);
    const token = 'a-wrong-token-456';
    const pieces = Array.from({ length: token.length - 7 }, (_, i) => token.slice(i, i + 8));
    const recorder = new Recorder();
    const stop = provider.watch('web', recorder.listener);
    await waitFor(() => recorder.errors().length === 1, { what: 'the watch to report the failure' });
    for (const text of [(error as Error).message, JSON.stringify(recorder.events.map((e) => ('error' in e ? e.error.message : '')))]) {
      for (const piece of pieces) expect(text).not.toContain(piece);
    }
    expect(recorder.errors()[0]).toMatchObject({ error: { code: 'ERR_CONFIG' } });
    stop();
    await provider.close();
  });

  /** `source` with the start of each list that succeeded handed to `listed`. */
  function timingLists(source: ServiceSource<string>, listed: (startedAt: number) => void): ServiceSource<string> {
    return new Proxy(source, {
      get(target, key) {
        if (key === 'list') {
          return async (signal: AbortSignal) => {
            const startedAt = performance.now();
            const result = await target.list(signal);
            listed(startedAt);
            return result;
          };
        }
        const value: unknown = Reflect.get(target, key, target);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
  }

  /**
   * Cuts the API server for 1.2 s while compacting, so every provider must list again; returns,
   * for each provider, when it started the list that brought it back, in ms after the restart.
   * Timed where the provider starts the list (its source's `list()`), not where the server
   * receives it: each list is a TLS connection of its own, so the server sees even lists started
   * at the same instant spread over what this machine's CPU takes to serve them, which on a
   * loaded 2-core machine is most of a second for 20 (as wide as the jitter, so the two could not
   * be told apart). The outage is not a sum of the backoff's steps without jitter (100, 300, 700,
   * 1500 ms): those retries come 300 ms after the restart, never a moment before it.
   */
  async function relistTimes(count: number, random?: () => number): Promise<number[]> {
    const fixture = (f = await startDouble());
    slice(fixture, 'herd', ['a']);
    const recorders = Array.from({ length: count }, () => new Recorder());
    let cutAt = Infinity;
    const relists: number[] = [];
    const providers = recorders.map(() => {
      const provider = fixture.provider({ backoff: { initial: 100, max: 2000, ...(random && { random }) } });
      // The watch engine takes each service's source from provider.source().
      const source = provider.source.bind(provider);
      provider.source = (name) =>
        timingLists(source(name), (startedAt) => {
          if (startedAt >= cutAt) relists.push(startedAt);
        });
      return provider;
    });
    const stops = providers.map((p, i) => p.watch('herd', recorders[i]!.listener));
    await waitFor(() => fixture.double.openWatches() === count, { what: 'every provider watching' });
    cutAt = performance.now();
    await fixture.double.stop();
    slice(fixture, 'herd', ['a', 'b']);
    fixture.double.compact();
    await new Promise((r) => setTimeout(r, 1200));
    const back = performance.now();
    await fixture.double.start();
    await waitFor(() => recorders.every((r) => r.last()?.length === 2), { timeoutMs: 10_000, what: 'every provider to catch up' });
    // One re-list each, as the server saw it too.
    expect(lists(fixture, back)).toHaveLength(count);
    for (const stop of stops) stop();
    await fixture.close();
    f = undefined;
    return relists.map((at) => at - back);
  }

  it('spreads the re-lists of many providers when the API server comes back (full-jitter backoff)', async () => {
    const count = 20;
    const describe = (times: number[]) => {
      const first = Math.min(...times);
      const spread = Math.max(...times) - first;
      return { spread, within50: times.filter((t) => t - first <= 50).length, text: `first after ${first.toFixed(0)} ms, spread over ${spread.toFixed(0)} ms, ${times.filter((t) => t - first <= 50).length}/${times.length} within 50 ms of the first` };
    };
    const jittered = await relistTimes(count);
    const lockstep = await relistTimes(count, () => 1); // the same backoff without jitter: the baseline
    expect(jittered).toHaveLength(count);
    expect(lockstep).toHaveLength(count);
    const a = describe(jittered);
    const b = describe(lockstep);
    console.log(`[provider-k8s] ${count} providers re-listing after a 1.2 s API-server outage (when each started its re-list)`);
    console.log(`[provider-k8s]   full-jitter backoff: ${a.text}`);
    console.log(`[provider-k8s]   no-jitter baseline : ${b.text}`);
    console.log(`[provider-k8s]   spread ratio jitter/baseline: ${(a.spread / Math.max(b.spread, 1)).toFixed(1)}x`);
    // Without jitter the providers start their re-lists together (within what it takes to run
    // their timers one after another); with jitter they spread over the backoff window.
    expect(a.spread).toBeGreaterThan(300);
    expect(a.spread).toBeGreaterThan(1.5 * b.spread);
    expect(a.within50).toBeLessThan(count / 2);
  });
});

// The change feed and the connection budget (issue 14): per-service blocking queries up to
// feedThreshold, the feed above it (and back at half of it), changes the catalog does not show
// found by a sweep, a failing feed reported once per watcher and recovered with a fresh read,
// and an agent that answers 429 backed off and reported once, never looped on.
import { silentLogger, type Unsubscribe } from '@disco/core';
import { waitFor, type ConsulDouble } from '@disco/testing';
import { describe, expect, it } from 'vitest';
import { ConsulProvider } from '../src/index.js';
import { resolveOptions } from '../src/options.js';
import { consulFixture, ids, Recorder } from './helpers.js';

const fixture = consulFixture({ provider: { wait: '5s' } });

const register = (double: ConsulDouble, body: Record<string, unknown>) =>
  fetch(`${double.url}/v1/agent/service/register`, { method: 'PUT', body: JSON.stringify({ Address: '127.0.0.1', Port: 1000, ...body }) }).then((r) => r.status);

/** Requests to a path since `since`, blocking (`?index`) or not. */
const seen = (double: ConsulDouble, path: string, since: number, blocking: boolean) => double.requestsTo(path).filter((r) => r.at >= since && r.query.has('index') === blocking).length;

async function watchAll(provider: ConsulProvider, names: string[]): Promise<{ recorders: Map<string, Recorder>; stops: Unsubscribe[] }> {
  const recorders = new Map<string, Recorder>();
  const stops: Unsubscribe[] = [];
  for (const name of names) {
    const recorder = new Recorder();
    recorders.set(name, recorder);
    stops.push(provider.watch(name, recorder.listener));
  }
  for (const recorder of recorders.values()) await recorder.until(() => true, 'a first snapshot');
  return { recorders, stops };
}

describe('per-service blocking queries up to feedThreshold, the feed above it', () => {
  it('3 watched with feedThreshold 3: one blocking query each, no feed; a 4th starts the feed, which stops again at half', async () => {
    const { double, provider } = await fixture.start({ provider: { feedThreshold: 3 } });
    const names = ['a', 'b', 'c', 'd'];
    for (const name of names) await register(double, { ID: `${name}-1`, Name: name, Check: { TTL: '10m', Status: 'passing' } });
    const t0 = performance.now();
    const first = await watchAll(provider, names.slice(0, 3));
    await waitFor(() => seen(double, '/v1/health/service/', t0, true) >= 3, { what: 'three blocking queries' });
    expect(seen(double, '/v1/catalog/services', t0, true) + seen(double, '/v1/health/state/any', t0, true)).toBe(0);

    const t1 = performance.now();
    const fourth = await watchAll(provider, ['d']);
    await waitFor(() => seen(double, '/v1/catalog/services', t1, true) >= 1 && seen(double, '/v1/health/state/any', t1, true) >= 1, { what: 'the feed\'s two blocking queries' });
    // A change reaches its watcher through the feed.
    await fetch(`${double.url}/v1/agent/check/fail/service:b-1`, { method: 'PUT' });
    await first.recorders.get('b')!.until((s) => s[0]?.healthy === false, 'the flip of b through the feed');
    const t2 = performance.now();
    await fetch(`${double.url}/v1/agent/check/fail/service:c-1`, { method: 'PUT' });
    await first.recorders.get('c')!.until((s) => s[0]?.healthy === false, 'the flip of c');
    expect(seen(double, '/v1/health/service/', t2, true)).toBe(0);

    // Down to 1 watched (half of 3, rounded down): after its linger the feed stops and blocking queries are back.
    for (const stop of [...first.stops.slice(1), ...fourth.stops]) stop();
    const t3 = performance.now();
    await waitFor(() => seen(double, '/v1/health/service/a', t3, true) >= 1, { what: 'a blocking query for a again', timeoutMs: 10_000 });
    await fetch(`${double.url}/v1/agent/check/fail/service:a-1`, { method: 'PUT' });
    await first.recorders.get('a')!.until((s) => s[0]?.healthy === false, 'the flip of a through its own blocking query');
  });
});

describe('what the catalog does not show', () => {
  it('a meta change under the same tags and an instance without a check arrive through a sweep', async () => {
    const { double, provider } = await fixture.start({ provider: { feedThreshold: 0 } });
    for (const name of ['m', 'n']) await register(double, { ID: `${name}-1`, Name: name, Tags: ['x'], Check: { TTL: '10m', Status: 'passing' } });
    const { recorders } = await watchAll(provider, ['m', 'n']);
    await waitFor(() => seen(double, '/v1/health/state/any', 0, true) >= 1, { what: 'the feed' });
    await register(double, { ID: 'm-1', Name: 'm', Tags: ['x'], Meta: { build: '42' }, Check: { TTL: '10m', Status: 'passing' } });
    await recorders.get('m')!.until((s) => s[0]?.metadata.build === '42', 'the meta change');
    await register(double, { ID: 'n-2', Name: 'n', Tags: ['x'] });
    await recorders.get('n')!.until((s) => ids(s).join() === 'n-1,n-2', 'the instance without a check');
  });
});

describe('the safety sweep', () => {
  it('re-reads every watched service every feedSweepInterval while the feed runs, so nothing it missed stays missed; 0 turns it off', async () => {
    const names = ['s1', 's2', 's3'];
    const run = async (feedSweepInterval: string) => {
      const { double, provider } = await fixture.start({ provider: { feedThreshold: 0, feedSweepInterval } });
      for (const name of names) await register(double, { ID: `${name}-1`, Name: name, Check: { TTL: '10m', Status: 'passing' } });
      await watchAll(provider, names);
      await waitFor(() => seen(double, '/v1/health/state/any', 0, true) >= 1, { what: 'the feed' });
      const t0 = performance.now();
      await new Promise((r) => setTimeout(r, 1_500));
      // Unblocked reads of each service while nothing changed: only a sweep makes them.
      return names.map((name) => seen(double, `/v1/health/service/${name}`, t0, false));
    };
    // Sweeps come at most once a second, so 1.5 s of a 300 ms interval is at least one each.
    expect((await run('300ms')).every((reads) => reads >= 1)).toBe(true);
    expect(await run('0')).toEqual([0, 0, 0]);
  });

  it('CONSUL_FEED_SWEEP_INTERVAL sets it, and a bad value names the variable', () => {
    expect(resolveOptions({}, { CONSUL_FEED_SWEEP_INTERVAL: '2m' }).feedSweepIntervalMs).toBe(120_000);
    expect(resolveOptions({}, {}).feedSweepIntervalMs).toBe(300_000);
    expect(() => resolveOptions({}, { CONSUL_FEED_SWEEP_INTERVAL: 'often' })).toThrow(expect.objectContaining({ code: 'ERR_CONFIG', variable: 'CONSUL_FEED_SWEEP_INTERVAL' }));
  });
});

describe('failures', () => {
  it('a failing feed is one error per watcher, and its recovery delivers a snapshot and later changes', async () => {
    const { double, provider } = await fixture.start({ provider: { feedThreshold: 0, backoff: { initial: '20ms', max: '200ms' } } });
    for (const name of ['p', 'q', 'r']) await register(double, { ID: `${name}-1`, Name: name, Check: { TTL: '10m', Status: 'passing' } });
    const { recorders } = await watchAll(provider, ['p', 'q', 'r']);
    await waitFor(() => seen(double, '/v1/health/state/any', 0, true) >= 1, { what: 'the feed' });
    const before = new Map([...recorders].map(([name, r]) => [name, r.events.length]));
    await double.stop();
    for (const [name, recorder] of recorders) await waitFor(() => recorder.events.slice(before.get(name)).some((e) => 'error' in e), { what: `the outage, told to ${name}` });
    await new Promise((r) => setTimeout(r, 1_000));
    await double.restart();
    for (const [name, recorder] of recorders) {
      await waitFor(() => 'instances' in recorder.last()!, { what: `the recovery of ${name}`, timeoutMs: 10_000 });
      expect(recorder.events.slice(before.get(name)).filter((e) => 'error' in e), name).toHaveLength(1);
    }
    await fetch(`${double.url}/v1/agent/check/fail/service:q-1`, { method: 'PUT' });
    await recorders.get('q')!.until((s) => s[0]?.healthy === false, 'a change after the recovery');
  });

  it('an agent whose connection limit is below the budget: the 429s are backed off and reported once per outage, not looped on', async () => {
    const { double, provider } = await fixture.start({ double: { httpMaxConnsPerClient: 3 }, provider: { feedThreshold: 100 } });
    const names = Array.from({ length: 8 }, (_, i) => `l${i}`);
    for (const name of names) await register(double, { ID: `${name}-1`, Name: name });
    const recorders = new Map<string, Recorder>();
    for (const name of names) {
      const recorder = new Recorder();
      recorders.set(name, recorder);
      provider.watch(name, recorder.listener);
    }
    await waitFor(() => double.connections.refused > 0, { what: 'a 429', timeoutMs: 10_000 });
    const from = double.connections.refused;
    await new Promise((r) => setTimeout(r, 3_000));
    const refused = double.connections.refused - from;
    // Eight engines, each at most 5 requests a second and backing off: a loop would be thousands.
    expect(refused).toBeLessThan(8 * 5 * 3);
    for (const [name, recorder] of recorders) {
      // One error per outage: never two in a row without a fresh snapshot (a real recovery) between them.
      const kinds = recorder.events.map((e) => ('error' in e ? 'E' : 'S')).join('');
      expect(kinds, name).not.toContain('EE');
      expect(recorder.errors().length, name).toBeLessThanOrEqual(3);
    }
    console.log(`429 run: ${refused} connections refused in 3 s for 8 watches; errors per watcher ${[...recorders.values()].map((r) => r.errors().length).join(',')}`);
  });
});

describe('options', () => {
  it('maxConnections and feedThreshold come from CONSUL_MAX_CONNECTIONS and CONSUL_FEED_THRESHOLD, checked', () => {
    expect(resolveOptions({}, {})).toMatchObject({ maxConnections: 32, feedThreshold: 16 });
    expect(resolveOptions({}, { CONSUL_MAX_CONNECTIONS: '8', CONSUL_FEED_THRESHOLD: '0' })).toMatchObject({ maxConnections: 8, feedThreshold: 0 });
    expect(() => resolveOptions({}, { CONSUL_MAX_CONNECTIONS: '2000' })).toThrow(expect.objectContaining({ code: 'ERR_CONFIG', variable: 'CONSUL_MAX_CONNECTIONS' }));
    expect(() => resolveOptions({ maxConnections: 2 }, {})).toThrow(expect.objectContaining({ code: 'ERR_CONFIG', variable: 'consul.maxConnections' }));
    expect(() => resolveOptions({}, { CONSUL_FEED_THRESHOLD: 'many' })).toThrow(expect.objectContaining({ code: 'ERR_CONFIG', variable: 'CONSUL_FEED_THRESHOLD' }));
    expect(() => new ConsulProvider({ feedThreshold: -1 }, { env: {}, logger: silentLogger })).toThrow(expect.objectContaining({ code: 'ERR_CONFIG' }));
  });
});

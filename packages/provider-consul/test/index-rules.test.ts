// The blocking-query rules of PROTOCOLS.md, each against the Consul double.
import { waitFor, type ConsulDouble } from '@disco/testing';
import { describe, expect, it } from 'vitest';
import type { ConsulProviderOptions } from '../src/index.js';
import { Recorder, consulFixture, ids } from './helpers.js';

const consul = consulFixture({ provider: { wait: '1s' } });
const setup = (provider: ConsulProviderOptions = {}) => consul.start({ provider });
const svc = (id: string, port = 8000) => ({ id, name: 'web', address: '127.0.0.1', port });
const indexes = (double: ConsulDouble) => double.requestsTo('/v1/health/service/web').map((r) => r.query.get('index'));

describe('blocking-query index rules', () => {
  it('sends back X-Consul-Index with the configured wait, and blocks between changes', async () => {
    const { double, provider } = await setup({ wait: '2s' });
    await provider.register(svc('a'));
    const recorder = new Recorder();
    provider.watch('web', recorder.listener);
    await recorder.until((s) => s.length === 1, 'the first snapshot');
    await waitFor(() => double.requestsTo('/v1/health/service/web').length === 2, { what: 'the blocking query' });
    const [first, second] = double.requestsTo('/v1/health/service/web');
    expect(first!.query.has('index')).toBe(false);
    expect(Number(second!.query.get('index'))).toBe(double.registry.indexFor('default', 'web'));
    expect(second!.query.get('wait')).toBe('2s');
    await new Promise((r) => setTimeout(r, 300));
    expect(double.requestsTo('/v1/health/service/web').length).toBe(2); // still blocked: no busy loop
    await provider.register(svc('b', 8001));
    expect(ids(await recorder.until((s) => s.length === 2, 'the add'))).toEqual(['a', 'b']);
  });

  it('starts again from 0 when the index goes backwards, and goes on from the new index', async () => {
    const { double, provider } = await setup();
    await provider.register(svc('a'));
    const recorder = new Recorder();
    provider.watch('web', recorder.listener);
    await recorder.until((s) => s.length === 1, 'the first snapshot');
    await waitFor(() => indexes(double).length === 2, { what: 'the blocking query' });
    const high = Number(indexes(double)[1]);
    double.setIndex(3); // a restored snapshot: every index is now far lower
    // The query waiting on `high` returns after its wait with index 3: the loop must re-read from 0, then block on 3.
    await waitFor(() => indexes(double).includes('3'), { what: 'a query on the new index', timeoutMs: 4_000 });
    const seen = indexes(double);
    const at = seen.indexOf('3');
    expect(seen[at - 1]).toBeNull(); // the reset: an unblocked read without an index
    expect(Number(seen[at - 2])).toBe(high);
    await provider.register(svc('b', 8001));
    expect(ids(await recorder.until((s) => s.length === 2, 'an add after the reset'))).toEqual(['a', 'b']);
  });

  it('never sends an index below 1, and a server that answers index 0 without blocking is rate-limited', async () => {
    const { double, provider } = await setup({ rateLimit: { perSecond: 5, burst: 2 } });
    double.zeroIndex = true;
    const recorder = new Recorder();
    provider.watch('web', recorder.listener);
    await recorder.until(() => true, 'the first snapshot');
    const started = performance.now();
    const before = indexes(double).length;
    await new Promise((r) => setTimeout(r, 1_000));
    const sent = indexes(double).slice(1);
    expect(sent.length).toBeGreaterThan(2);
    expect(sent.every((i) => i === '1')).toBe(true);
    const rate = (indexes(double).length - before) / ((performance.now() - started) / 1000);
    expect(rate).toBeLessThanOrEqual(7); // 5/s sustained (+ the burst already spent)
    // Results that do not change are not delivered again.
    expect(recorder.snapshots().length).toBe(1);
  });

  it('backs off exponentially with jitter on errors, keeps the last snapshot, reports {error}, recovers', async () => {
    const { double, provider } = await setup({ backoff: { initial: '100ms', max: '800ms' } });
    await provider.register(svc('a'));
    const recorder = new Recorder();
    provider.watch('web', recorder.listener);
    await recorder.until((s) => s.length === 1, 'the first snapshot');
    const reads = () => double.requestsTo('/v1/health/service/web');
    await waitFor(() => reads().length === 2, { what: 'the blocking query' });
    const remove = double.faults.add({ path: '/v1/health/service/web', status: 500, body: 'boom' });
    double.dropConnections(); // end the blocking query now
    // Waits for the reads rather than sleeping a fixed time: a loaded machine only makes gaps longer.
    await waitFor(() => reads().length >= 6, { what: 'four reads after the failure', timeoutMs: 10_000 });
    const failed = reads().slice(2, 6).map((r) => r.at);
    const gaps = failed.slice(1).map((at, i) => at - failed[i]!);
    const errors = recorder.errors();
    expect(errors.length).toBeGreaterThanOrEqual(3);
    // p-retry: 100ms × 2^n × a random 1..2, capped at 800ms. Each gap is at least its floor, so the
    // delays grow and never make a tight loop (5 ms of slack for timer granularity).
    gaps.forEach((gap, i) => expect(gap).toBeGreaterThanOrEqual(100 * 2 ** (i + 1) - 5));
    expect((errors.at(-1) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'ERR_PROVIDER_UNAVAILABLE' });
    expect((errors.at(-1) as { error: { message: string } }).error.message).toMatch(/500: boom/);
    remove();
    // Recovery delivers a fresh snapshot even though nothing changed.
    const after = await recorder.until((s) => s.length === 1, 'the snapshot after recovery', 3_000);
    expect(recorder.last()).toEqual({ instances: after });
  });

  it('sends the consistency mode, dc and ns it was given', async () => {
    for (const [consistency, flag] of [['stale', 'stale'], ['consistent', 'consistent']] as const) {
      const { double, provider } = await setup({ consistency, datacenter: 'dc1', namespace: 'default' });
      await provider.discover('web');
      const [request] = double.requestsTo('/v1/health/service/web');
      expect(request!.query.has(flag)).toBe(true);
      expect(request!.query.get('dc')).toBe('dc1');
      expect(request!.query.get('ns')).toBe('default');
    }
    const { double, provider } = await setup();
    await provider.discover('web');
    const [request] = double.requestsTo('/v1/health/service/web');
    expect(request!.query.has('stale') || request!.query.has('consistent')).toBe(false);
  });

  it('one blocking loop per service name, however many listeners', async () => {
    const { double, provider } = await setup();
    const recorders = [new Recorder(), new Recorder(), new Recorder()];
    const stops = recorders.map((r) => provider.watch('web', r.listener));
    for (const r of recorders) await r.until(() => true, 'each first snapshot');
    await new Promise((r) => setTimeout(r, 100));
    expect(double.requestsTo('/v1/health/service/web').length).toBe(2);
    for (const stop of stops) stop();
  });
});

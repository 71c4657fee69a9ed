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

  it('never sends an index below 1, and a server that answers index 0 without blocking is held to the engine\'s rate', async () => {
    const { double, provider } = await setup();
    double.zeroIndex = true;
    const recorder = new Recorder();
    provider.watch('web', recorder.listener);
    await recorder.until(() => true, 'the first snapshot');
    // The burst (10) goes at once; from then on the engine allows 5 lists/follows per second.
    await waitFor(() => indexes(double).length >= 12, { what: 'the burst spent', timeoutMs: 3_000 });
    const before = indexes(double).length;
    const started = performance.now();
    await new Promise((r) => setTimeout(r, 1_000)); // a measurement window, not a synchronisation
    const rate = (indexes(double).length - before) / ((performance.now() - started) / 1000);
    expect(rate).toBeLessThanOrEqual(6.5);
    expect(rate).toBeGreaterThanOrEqual(3); // and the loop goes on at that rate, it does not stall
    const sent = indexes(double).slice(1);
    expect(sent.every((i) => i === '1')).toBe(true);
    // Results that do not change are not delivered again.
    expect(recorder.snapshots().length).toBe(1);
  });

  it('on errors: one {error} for the whole outage, unblocked retries spread by backoff, the last snapshot kept, a fresh one on recovery', async () => {
    const { double, provider } = await setup({ backoff: { initial: '100ms', max: '400ms' } });
    await provider.register(svc('a'));
    const recorder = new Recorder();
    provider.watch('web', recorder.listener);
    await recorder.until((s) => s.length === 1, 'the first snapshot');
    const reads = () => double.requestsTo('/v1/health/service/web');
    await waitFor(() => reads().length === 2, { what: 'the blocking query' });
    const remove = double.faults.add({ path: '/v1/health/service/web', status: 500, body: 'boom' });
    const failedAt = performance.now();
    double.dropConnections(); // end the blocking query now
    // Waits for the reads rather than sleeping a fixed time: a loaded machine only makes gaps longer.
    await waitFor(() => reads().length >= 7, { what: 'five reads after the failure', timeoutMs: 10_000 });
    const elapsed = (performance.now() - failedAt) / 1000;
    const failed = reads().slice(2);
    // After a failure the engine lists again: no index, no blocking.
    for (const read of failed) expect(read.query.has('index')).toBe(false);
    // Never a tight loop: within the engine's bound (burst 10, then 5/s), whatever the backoff drew.
    expect(failed.length).toBeLessThanOrEqual(10 + 5 * elapsed + 1);
    const errors = recorder.errors();
    expect(errors).toHaveLength(1); // one outage, one {error}: not one per retry
    expect((errors[0] as { error: { code: string; message: string } }).error).toMatchObject({ code: 'ERR_PROVIDER_UNAVAILABLE' });
    expect(ids(recorder.snapshots().at(-1)!)).toEqual(['a']); // the last snapshot is what subscribers hold
    remove();
    // Recovery delivers a fresh snapshot even though nothing changed.
    const after = await recorder.until((s) => s.length === 1, 'the snapshot after recovery', 3_000);
    expect(recorder.last()).toEqual({ instances: after });
    expect('instances' in recorder.events.at(-2)! ? 'snapshot' : 'error').toBe('error');
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

// Issue 11, defect 3: an outage is ONE {error} per subscriber however many retries fail (the old
// BlockingWatch sent one per failed attempt), and a subscriber that joins during the outage gets
// the last snapshot and then the error (it was told neither that it was stale).
import { createDiscovery, type WatchEvent } from '@disco/core';
import { waitFor, type ConsulDouble } from '@disco/testing';
import { describe, expect, it } from 'vitest';
import { Recorder, consulFixture, ids } from './helpers.js';

const consul = consulFixture({ provider: { wait: '2s', backoff: { initial: '20ms', max: '80ms' } } });
const svc = (id: string, port = 8000) => ({ id, name: 'out', address: '127.0.0.1', port });
const shape = (events: readonly WatchEvent[]) => events.map((e) => ('instances' in e ? `snap:${ids(e.instances).join('+')}` : `error:${e.error.code}`));
const reads = (double: ConsulDouble) => double.requestsTo('/v1/health/service/out').length;

describe('an outage of the agent (the double answering 503 to every read)', () => {
  it('provider.watch: many failed retries, one {error} per subscriber; a late joiner gets the last snapshot, then the error; recovery reaches all', async () => {
    const { double, provider } = await consul.start();
    await provider.register(svc('a'));
    const first = new Recorder();
    const second = new Recorder();
    provider.watch('out', first.listener);
    provider.watch('out', second.listener);
    await first.until((s) => s.length === 1, 'the first snapshot');
    await second.until((s) => s.length === 1, 'the first snapshot, second subscriber');
    await waitFor(() => reads(double) === 2, { what: 'the blocking query' });

    const fault = double.faults.add({ path: '/v1/health/service/out', status: 503, body: 'No cluster leader' });
    double.dropConnections(); // the blocking query fails too
    const before = reads(double);
    await waitFor(() => reads(double) >= before + 8, { what: 'eight failed retries', timeoutMs: 10_000 });
    expect(first.errors()).toHaveLength(1);
    expect(second.errors()).toHaveLength(1);

    const late = new Recorder();
    provider.watch('out', late.listener);
    await waitFor(() => late.events.length >= 2, { what: 'the late subscriber to be told' });
    expect(shape(late.events)).toEqual(['snap:a', 'error:ERR_PROVIDER_UNAVAILABLE']);

    const more = reads(double);
    await waitFor(() => reads(double) >= more + 3, { what: 'three more failed retries', timeoutMs: 10_000 });
    for (const recorder of [first, second, late]) expect(recorder.errors()).toHaveLength(1);

    fault();
    for (const recorder of [first, second, late]) await recorder.until(() => recorder.events.length >= 3, 'the recovery');
    expect(shape(first.events)).toEqual(['snap:a', 'error:ERR_PROVIDER_UNAVAILABLE', 'snap:a']);
    expect(shape(second.events)).toEqual(['snap:a', 'error:ERR_PROVIDER_UNAVAILABLE', 'snap:a']);
    expect(shape(late.events)).toEqual(['snap:a', 'error:ERR_PROVIDER_UNAVAILABLE', 'snap:a']);
  });

  it('discovery.watch: one error event and one {error} per subscriber for the whole outage, however many retries', async () => {
    const { double, provider } = await consul.start();
    await provider.register(svc('a'));
    const discovery = createDiscovery({ provider });
    const errorEvents: string[] = [];
    discovery.on('error', ({ error }) => void errorEvents.push(error.code));
    const early = new Recorder();
    const stops = [discovery.watch('out', early.listener)];
    try {
      await early.until((s) => s.length === 1, 'the first snapshot');
      await waitFor(() => reads(double) === 2, { what: 'the blocking query' });
      const fault = double.faults.add({ path: '/v1/health/service/out', status: 503 });
      double.dropConnections();
      const before = reads(double);
      // Core's backoff (100ms doubling, full jitter): five retries come within a few seconds.
      await waitFor(() => reads(double) >= before + 5, { what: 'five failed retries', timeoutMs: 15_000 });
      const late = new Recorder();
      stops.push(discovery.watch('out', late.listener));
      await waitFor(() => late.events.length >= 2, { what: 'the late subscriber to be told' });
      expect(shape(late.events)).toEqual(['snap:a', 'error:ERR_PROVIDER_UNAVAILABLE']);
      expect(shape(early.events)).toEqual(['snap:a', 'error:ERR_PROVIDER_UNAVAILABLE']);
      expect(errorEvents).toEqual(['ERR_PROVIDER_UNAVAILABLE']);
      fault();
      await early.until(() => early.events.length >= 3, 'the recovery', 15_000);
      await late.until(() => late.events.length >= 3, 'the recovery, late subscriber', 15_000);
      expect(shape(early.events)).toEqual(['snap:a', 'error:ERR_PROVIDER_UNAVAILABLE', 'snap:a']);
    } finally {
      for (const stop of stops) stop();
      await discovery.close();
    }
  });
});

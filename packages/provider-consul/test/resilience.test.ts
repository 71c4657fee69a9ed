// Fault hooks of the double against the provider: 5xx, slow answers, dropped connections, an outage.
import { createDiscovery, type DiscoveryError, type Instance } from '@disco/core';
import { waitFor } from '@disco/testing';
import { describe, expect, it } from 'vitest';
import type { ConsulProviderOptions } from '../src/index.js';
import { Recorder, consulFixture, ids } from './helpers.js';

const consul = consulFixture({ provider: { wait: '2s', backoff: { initial: '50ms', max: '200ms' } } });
const setup = (provider: ConsulProviderOptions = {}) => consul.start({ provider });
const svc = (id: string, port = 8000) => ({ id, name: 'res', address: '127.0.0.1', port });

describe('5xx answers', () => {
  it('register and discover retry a passing 5xx and succeed', async () => {
    const { double, provider } = await setup();
    double.faults.add({ status: 503, times: 2 });
    await provider.register(svc('a'));
    expect(double.requestsTo('/v1/agent/service/register').length).toBe(3);
    double.faults.add({ path: '/v1/health/', status: 500, times: 1 });
    expect(ids(await provider.discover('res'))).toEqual(['a']);
  });

  it('a lasting 5xx is ERR_PROVIDER_UNAVAILABLE with what Consul said', async () => {
    const { double, provider } = await setup({ retries: 1 });
    double.faults.add({ status: 500, body: 'rpc error: No cluster leader' });
    const error = await provider.discover('res').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_PROVIDER_UNAVAILABLE' });
    expect((error as Error).message).toMatch(/500: rpc error: No cluster leader/);
    expect(double.requestsTo('/v1/health/service/res').length).toBe(2);
  });

  it('a 4xx is not retried', async () => {
    const { double, provider } = await setup();
    double.faults.add({ status: 403, body: 'Permission denied' });
    const error = await provider.register(svc('a')).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/403 Permission denied.*CONSUL_HTTP_TOKEN/);
    expect(double.requestsTo('/v1/agent/service/register').length).toBe(1);
  });
});

describe('slow answers', () => {
  it('a request slower than requestTimeout fails as ERR_TIMEOUT (retryable); a watch waits them out', async () => {
    const { double, provider } = await setup({ requestTimeout: '200ms', retries: 0 });
    const remove = double.faults.add({ delayMs: 600 });
    const started = performance.now();
    await expect(provider.discover('res')).rejects.toMatchObject({ code: 'ERR_TIMEOUT', retryable: true, message: expect.stringMatching(/within 200 ms/) });
    expect(performance.now() - started).toBeLessThan(550);
    remove();
    double.faults.add({ path: '/v1/health/', delayMs: 150 });
    await provider.register(svc('a'));
    const recorder = new Recorder();
    provider.watch('res', recorder.listener);
    await recorder.until((s) => s.length === 1, 'the snapshot, late');
  });
});

describe('dropped connections', () => {
  it('a blocking query cut mid-flight is an {error}, then the watch resumes and sees changes', async () => {
    const { double, provider } = await setup();
    await provider.register(svc('a'));
    const recorder = new Recorder();
    provider.watch('res', recorder.listener);
    await recorder.until((s) => s.length === 1, 'the first snapshot');
    await waitFor(() => double.requestsTo('/v1/health/service/res').length === 2, { what: 'the blocking query' });
    double.dropConnections();
    await recorder.untilError('the dropped query reported');
    await recorder.until((s) => s.length === 1, 'a fresh snapshot after the drop');
    await provider.register(svc('b', 8001));
    await recorder.until((s) => s.length === 2, 'a change after the drop');
  });

  it('a register whose connection drops is retried', async () => {
    const { double, provider } = await setup();
    double.faults.add({ path: '/v1/agent/service/register', drop: true, times: 1 });
    await provider.register(svc('a'));
    expect(ids(await provider.discover('res'))).toEqual(['a']);
  });
});

describe('an outage', () => {
  it('serves the stale snapshot with error events while Consul is down, then recovers', async () => {
    const { double, provider } = await setup();
    await provider.register(svc('a'));
    const discovery = createDiscovery({ provider });
    const errors: DiscoveryError[] = [];
    discovery.on('error', ({ error }) => void errors.push(error));
    const seen: (readonly Instance[])[] = [];
    const stop = discovery.watch('res', (event) => void ('instances' in event && seen.push(event.instances)));
    try {
      await waitFor(() => seen.at(-1)?.length === 1, { what: 'the first snapshot' });
      await double.stop();
      await waitFor(() => errors.length > 0, { what: 'an error event' });
      expect(errors[0]).toMatchObject({ code: 'ERR_PROVIDER_UNAVAILABLE' });
      expect((await discovery.discover('res')).map((i) => i.id)).toEqual(['a']); // stale, still served
      expect(seen.at(-1)!.map((i) => i.id)).toEqual(['a']);
      // Meanwhile another process registers (the agent keeps state); the watch must pick it up after recovery.
      double.registry.register('default', { ID: 'b', Service: 'res', Tags: [], Address: '127.0.0.1', Meta: {}, Port: 8001, Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false }, [], false);
      await double.restart();
      await waitFor(() => seen.at(-1)?.length === 2, { what: 'the snapshot after recovery', timeoutMs: 5_000 });
      expect(ids(await discovery.discover('res'))).toEqual(['a', 'b']);
    } finally {
      stop();
      await discovery.close();
    }
  });
});

import { createDiscovery, staticProvider } from '@disco/core';
import { waitFor } from '@disco/testing';
import type { Histogram } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { instrumentDiscovery, metricNames } from '../src/index.js';
import { FlakyProvider, instance } from './flaky-provider.js';
import { cleanups, instrumented } from './otel-sdk.js';

describe('metrics', () => {
  it('disco.instances counts each service’s instances by health, from its snapshots', async () => {
    const { otel } = instrumented();
    const provider = new FlakyProvider();
    provider.instances = [instance('u1'), instance('u2'), instance('u3', false)];
    const d = createDiscovery({ provider });
    cleanups.push(() => d.close());
    const handle = d.service('users');
    await handle.ready;
    const where = { 'disco.service.name': 'users', 'disco.provider.name': 'flaky' };
    expect((await otel.points(metricNames.instances, { ...where, 'disco.instance.health': 'healthy' })).map((p) => p.value)).toEqual([2]);
    expect((await otel.points(metricNames.instances, { ...where, 'disco.instance.health': 'unhealthy' })).map((p) => p.value)).toEqual([1]);
    provider.set([instance('u1')]);
    await waitFor(() => handle.instances.length === 1);
    expect((await otel.points(metricNames.instances, { ...where, 'disco.instance.health': 'healthy' })).map((p) => p.value)).toEqual([1]);
    expect((await otel.points(metricNames.instances, { ...where, 'disco.instance.health': 'unhealthy' })).map((p) => p.value)).toEqual([0]);
  });

  it('an outage is one disco.watch.errors, disco.watch.staleness grows while it lasts and is 0 after, and its length lands in disco.watch.outage.duration', async () => {
    const { otel } = instrumented();
    const provider = new FlakyProvider();
    provider.instances = [instance('u1')];
    const d = createDiscovery({ provider });
    cleanups.push(() => d.close());
    const errors: unknown[] = [];
    d.on('error', (e) => errors.push(e));
    const handle = d.service('users');
    await handle.ready;
    const where = { 'disco.service.name': 'users', 'disco.provider.name': 'flaky' };
    expect((await otel.points(metricNames.watchStaleness, where)).map((p) => p.value)).toEqual([0]);
    provider.fail();
    provider.fail();
    await waitFor(() => errors.length > 0);
    await new Promise((r) => setTimeout(r, 60));
    const [stale] = await otel.points(metricNames.watchStaleness, where);
    expect(stale!.value as number).toBeGreaterThanOrEqual(0.05);
    expect((await otel.points(metricNames.watchErrors, where)).map((p) => [p.value, p.attributes['error.type']])).toEqual([[1, 'ERR_PROVIDER_UNAVAILABLE']]);
    provider.set([instance('u1')]);
    await waitFor(async () => (await otel.points(metricNames.watchOutageDuration, where)).length === 1);
    const [outage] = await otel.points(metricNames.watchOutageDuration, where);
    expect((outage!.value as Histogram).count).toBe(1);
    expect((outage!.value as Histogram).sum).toBeGreaterThanOrEqual(0.05);
    expect((await otel.points(metricNames.watchStaleness, where)).map((p) => p.value)).toEqual([0]);
  });

  it('disco.call.duration in seconds per service, instance and outcome; disco.call.active returns to 0', async () => {
    const { otel } = instrumented();
    const d = createDiscovery({ provider: staticProvider({ instances: 'users=127.0.0.1:8001' }) });
    cleanups.push(() => d.close());
    const ok = await d.acquire('users');
    const held = await d.acquire('users');
    expect((await otel.points(metricNames.callActive, { 'disco.service.name': 'users' })).map((p) => p.value)).toEqual([2]);
    ok.release({ ok: true, latencyMs: 20 });
    held.release({ ok: false, latencyMs: 2000 });
    const instanceAttributes = { 'disco.service.name': 'users', 'disco.instance.id': '127.0.0.1:8001', 'server.address': '127.0.0.1', 'server.port': 8001 };
    const [succeeded] = await otel.points(metricNames.callDuration, { ...instanceAttributes, 'disco.call.outcome': 'ok' });
    const [failed] = await otel.points(metricNames.callDuration, { ...instanceAttributes, 'disco.call.outcome': 'error' });
    expect(succeeded!.value).toMatchObject({ count: 1, sum: 0.02 });
    expect(failed!.value).toMatchObject({ count: 1, sum: 2 });
    const metric = (await otel.collect()).get(metricNames.callDuration)!;
    expect(metric.descriptor.unit).toBe('s');
    expect((await otel.points(metricNames.callActive, { 'disco.service.name': 'users' })).map((p) => p.value)).toEqual([0]);
  });

  it('instanceAttributes: false keeps call metrics per service only', async () => {
    const { otel } = instrumented({ instanceAttributes: false });
    const d = createDiscovery({ provider: staticProvider({ instances: 'users=127.0.0.1:8001,127.0.0.1:8002' }) });
    cleanups.push(() => d.close());
    for (let i = 0; i < 4; i++) (await d.acquire('users')).release({ latencyMs: 5 });
    const points = await otel.points(metricNames.callDuration);
    expect(points.map((p) => p.attributes)).toEqual([{ 'disco.service.name': 'users', 'disco.call.outcome': 'ok' }]);
    expect((points[0]!.value as Histogram).count).toBe(4);
  });

  it('registrations, deregistrations and disco.operation.duration, with error.type on a failed register', async () => {
    const { otel } = instrumented();
    const provider = new FlakyProvider();
    const d = createDiscovery({ provider });
    cleanups.push(() => d.close());
    await d.register({ id: 'u1', name: 'users', address: '127.0.0.1', port: 8001 });
    provider.failRegister = true;
    await expect(d.register({ id: 'u2', name: 'users', address: '127.0.0.1', port: 8002 })).rejects.toMatchObject({ code: 'ERR_PROVIDER_UNAVAILABLE' });
    await d.deregister('u1');
    await d.discover('users');
    const registrations = await otel.points(metricNames.registrations, { 'disco.service.name': 'users' });
    expect(registrations.map((p) => [p.attributes['error.type'], p.value]).sort()).toEqual([['ERR_PROVIDER_UNAVAILABLE', 1], [undefined, 1]].sort());
    expect((await otel.points(metricNames.deregistrations, { 'disco.service.id': 'u1' })).map((p) => p.value)).toEqual([1]);
    const operations = await otel.points(metricNames.operationDuration);
    expect(operations.map((p) => `${p.attributes['disco.operation.name']}:${p.attributes['error.type'] ?? 'ok'}:${(p.value as Histogram).count}`).sort()).toEqual(['deregister:ok:1', 'discover:ok:1', 'register:ERR_PROVIDER_UNAVAILABLE:1', 'register:ok:1']);
  });

  it('health check results and provider events are counted', async () => {
    const { otel } = instrumented();
    const provider = new FlakyProvider();
    const d = createDiscovery({ provider });
    cleanups.push(() => d.close());
    // Port 1 on loopback refuses connections: the TCP probe reports critical.
    await d.register({ id: 'u1', name: 'users', address: '127.0.0.1', port: 1, health: { tcp: '127.0.0.1:1', interval: '50ms', timeout: '200ms' } });
    await waitFor(async () => (await otel.points(metricNames.healthChecks, { 'disco.service.id': 'u1', 'disco.health.status': 'critical' })).length === 1);
    provider.emit({ type: 'lease-lost', message: 'the lease expired', service: 'users' });
    provider.emit({ type: 'resync', message: 'a re-list found changes' });
    const events = await otel.points(metricNames.providerEvents, { 'disco.provider.name': 'flaky' });
    expect(events.map((p) => [p.attributes['disco.event.type'], p.attributes['disco.service.name'], p.value]).sort()).toEqual([['lease-lost', 'users', 1], ['resync', undefined, 1]]);
  });

  it('disable() and Symbol.dispose unsubscribe: nothing more is recorded', async () => {
    const { otel, instrumentation } = instrumented();
    const d = createDiscovery({ provider: staticProvider({ instances: 'users=127.0.0.1:8001' }) });
    cleanups.push(() => d.close());
    (await d.acquire('users')).release({ latencyMs: 1 });
    instrumentation.disable();
    expect(instrumentation.enabled).toBe(false);
    (await d.acquire('users')).release({ latencyMs: 1 });
    expect(((await otel.points(metricNames.callDuration))[0]!.value as Histogram).count).toBe(1);
    expect(await otel.points(metricNames.instances)).toEqual([]);
    {
      using again = instrumentDiscovery({ meterProvider: otel.meterProvider, traces: false });
      expect(again.enabled).toBe(true);
      (await d.acquire('users')).release({ latencyMs: 1 });
    }
    (await d.acquire('users')).release({ latencyMs: 1 });
    expect(((await otel.points(metricNames.callDuration))[0]!.value as Histogram).count).toBe(2);
  });
});

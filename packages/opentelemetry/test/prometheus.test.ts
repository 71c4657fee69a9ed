import { createDiscovery, staticProvider } from '@disco/core';
import { freePort } from '@disco/testing';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import parsePrometheusTextFormat, { type PrometheusFamily } from 'parse-prometheus-text-format';
import { expect, it } from 'vitest';
import { instrumentDiscovery } from '../src/index.js';
import { FlakyProvider, instance } from './flaky-provider.js';

interface Scrape {
  families: Map<string, PrometheusFamily>;
  /** A histogram's series with their labels: `{ outcome/… → { count, sum, buckets } }`. */
  histogram(name: string): { labels: Record<string, string>; count: number; sum: number; buckets: Record<string, number> }[];
}

async function scrape(port: number): Promise<Scrape> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
  const text = await response.text();
  const families = new Map(parsePrometheusTextFormat(text).map((family) => [family.name, family]));
  return {
    families,
    histogram(name) {
      // parse-prometheus-text-format folds a histogram's series into one and drops their labels
      // (it expects a histogram without labels), so its sample lines are parsed again as
      // untyped families: the same parser, which then keeps every line's labels.
      const lines = text.split('\n').filter((line) => line.startsWith(`${name}_`));
      const samples = parsePrometheusTextFormat(`${lines.join('\n')}\n`).flatMap((family) => family.metrics.map((m) => ({ kind: family.name.slice(name.length + 1), ...m })));
      const series = new Map<string, { labels: Record<string, string>; count: number; sum: number; buckets: Record<string, number> }>();
      for (const { kind, labels = {}, value } of samples) {
        const { le, ...own } = labels;
        const key = JSON.stringify(Object.entries(own).sort());
        let entry = series.get(key);
        if (!entry) series.set(key, (entry = { labels: own, count: 0, sum: 0, buckets: {} }));
        if (kind === 'count') entry.count = Number(value);
        else if (kind === 'sum') entry.sum = Number(value);
        else if (kind === 'bucket' && le !== undefined) entry.buckets[le] = Number(value);
      }
      expect(families.get(name)?.type).toBe('HISTOGRAM');
      return [...series.values()];
    },
  };
}

it('a Prometheus scrape over HTTP carries the instances, watch errors, registrations and call durations', async () => {
  const port = await freePort();
  const exporter = new PrometheusExporter({ host: '127.0.0.1', port, preventServerStart: true });
  await exporter.startServer();
  const meterProvider = new MeterProvider({ readers: [exporter] });
  using _instrumentation = instrumentDiscovery({ meterProvider, traces: false });
  const provider = new FlakyProvider();
  provider.instances = [instance('u1'), instance('u2', false)];
  const watched = createDiscovery({ provider });
  const d = createDiscovery({ provider: staticProvider({ instances: 'orders=127.0.0.1:8001' }) });
  try {
    const handle = watched.service('users');
    await handle.ready;
    watched.on('error', () => {});
    provider.fail();
    await d.register({ id: 'orders-2', name: 'orders', address: '127.0.0.1', port: 8002 });
    const fast = await d.acquire('orders');
    fast.release({ ok: true, latencyMs: 3 });
    const slow = await d.acquire('orders');
    slow.release({ ok: false, latencyMs: 700 });

    const scraped = await scrape(port);
    const { families } = scraped;
    const instances = families.get('disco_instances')!;
    expect(instances.type).toBe('GAUGE');
    const series = (service: string) => instances.metrics.filter((m) => m.labels!.disco_service_name === service).map((m) => [m.labels!.disco_provider_name, m.labels!.disco_instance_health, m.value]).sort();
    expect(series('users')).toEqual([['flaky', 'healthy', '1'], ['flaky', 'unhealthy', '1']]);
    expect(series('orders')).toEqual([['static', 'healthy', '2'], ['static', 'unhealthy', '0']]);

    const errors = families.get('disco_watch_errors_total')!;
    expect(errors.type).toBe('COUNTER');
    expect(errors.metrics).toEqual([{ labels: expect.objectContaining({ disco_service_name: 'users', error_type: 'ERR_PROVIDER_UNAVAILABLE' }), value: '1' }]);
    expect(Number(families.get('disco_watch_staleness')!.metrics.find((m) => m.labels!.disco_service_name === 'users')!.value)).toBeGreaterThan(0);

    expect(families.get('disco_registrations_total')!.metrics).toEqual([{ labels: expect.objectContaining({ disco_service_name: 'orders', disco_service_id: 'orders-2' }), value: '1' }]);

    const calls = scraped.histogram('disco_call_duration');
    expect(calls.map((c) => c.labels.disco_call_outcome).sort()).toEqual(['error', 'ok']);
    const ok = calls.find((c) => c.labels.disco_call_outcome === 'ok')!;
    const failed = calls.find((c) => c.labels.disco_call_outcome === 'error')!;
    expect(ok.labels).toMatchObject({ disco_service_name: 'orders', server_address: '127.0.0.1' });
    expect(ok.count).toBe(1);
    expect(ok.sum).toBeCloseTo(0.003, 6);
    expect(ok.buckets).toMatchObject({ '0.0025': 0, '0.005': 1, '+Inf': 1 });
    expect(failed.buckets).toMatchObject({ '0.5': 0, '1': 1, '+Inf': 1 });
  } finally {
    await d.close();
    await watched.close();
    await exporter.shutdown();
    await meterProvider.shutdown();
  }
});

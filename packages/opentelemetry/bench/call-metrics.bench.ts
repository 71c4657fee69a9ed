// pnpm bench: what @disco/opentelemetry adds to a call through acquire()/release(), against the
// same calls with nothing subscribed, in the same run. With it, each call records into
// disco.call.active (twice) and disco.call.duration of a real SDK MeterProvider.
import { createDiscovery, staticProvider } from '@disco/core';
import { instrumentDiscovery } from '@disco/opentelemetry';
import { measure, printComparison } from '@disco/testing';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';

const discovery = createDiscovery({ provider: staticProvider({ instances: 'users=10.0.0.1:8080,10.0.0.2:8080,10.0.0.3:8080' }) });
const handle = discovery.service('users');
await handle.ready;
const calls = (label: string) =>
  measure(label, (k) => {
    for (let j = 0; j < k; j++) handle.acquire().release({ ok: true, latencyMs: 3 });
  });

const bare = calls('acquire + release, nothing subscribed');
const reader = new PeriodicExportingMetricReader({ exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE), exportIntervalMillis: 3_600_000 });
const meterProvider = new MeterProvider({ readers: [reader] });
const instrumentation = instrumentDiscovery({ meterProvider, traces: false });
const measured = calls('acquire + release, instrumented');
const perService = instrumentDiscovery({ meterProvider, traces: false, instanceAttributes: false });
instrumentation.disable();
const lean = calls('… with instanceAttributes: false');
perService.disable();
printComparison('a call through acquire()/release()', bare, [measured, lean]);
console.log(`  ${((1e9 / measured.opsPerSec - 1e9 / bare.opsPerSec) / 1000).toFixed(2)} µs added per call`);

handle.close();
await discovery.close();
await meterProvider.shutdown();

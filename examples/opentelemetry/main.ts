// disco with OpenTelemetry: every Discovery in the process is measured through disco's
// diagnostics channels. Metrics are served for Prometheus at /metrics, spans are printed as
// they end. Two HTTP servers register, six calls go through acquire()/release(), then the
// example scrapes its own /metrics and prints the disco series. Run: node main.ts
import { createDiscovery, endpoint } from '@disco/core';
import { instrumentDiscovery } from '@disco/opentelemetry';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { SimpleSpanProcessor, TracerProvider, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';

// 1. The OpenTelemetry SDK, as an application sets it up: a context manager (so spans find their
//    parent), a MeterProvider read by the Prometheus exporter, a TracerProvider.
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
const prometheus = new PrometheusExporter({ preventServerStart: true });
const meterProvider = new MeterProvider({ readers: [prometheus] });
const printSpans: SpanExporter = {
  export(spans: ReadableSpan[], done) {
    for (const span of spans) {
      const ms = span.duration[0] * 1e3 + span.duration[1] / 1e6;
      const parent = span.parentSpanContext ? ' (child of the caller’s span)' : '';
      console.log(`span: ${span.name} ${span.attributes['disco.provider.name'] ?? ''} ${ms.toFixed(1)} ms${parent}`.replace(/ {2,}/g, ' '));
    }
    done({ code: 0 });
  },
  shutdown: async () => {},
};
const tracerProvider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter: printSpans })] });
trace.setGlobalTracerProvider(tracerProvider);

// 2. One call instruments every Discovery in the process.
const instrumentation = instrumentDiscovery({ meterProvider });

// 3. /metrics on our own HTTP server (the exporter's handler), and two services to call.
const metricsServer = await listen(createServer((req, res) => prometheus.getMetricsRequestHandler(req, res)));
const greeters = [await listen(createServer((_req, res) => res.end('alpha'))), await listen(createServer((_req, res) => res.end('bravo')))];

const discovery = createDiscovery({ provider: 'static' });
await trace.getTracer('example').startActiveSpan('startup', async (span) => {
  for (const [i, server] of greeters.entries()) {
    await discovery.register({ id: `greeter-${i + 1}`, name: 'greeter', address: '127.0.0.1', port: portOf(server) });
  }
  span.end();
});

// 4. Six calls: acquire() picks an instance, release() reports the outcome and its duration.
const answers: string[] = [];
for (let i = 0; i < 6; i++) {
  const lease = await discovery.acquire('greeter');
  const response = await fetch(`http://${endpoint(lease.instance)}/`);
  answers.push(await response.text());
  lease.release({ ok: response.ok });
}
console.log(`6 calls answered by: ${answers.join(', ')}`);

// 5. What Prometheus would scrape.
const text = await (await fetch(`http://127.0.0.1:${portOf(metricsServer)}/metrics`)).text();
const shown = /^disco_(instances|registrations_total|call_duration_count)\{/;
for (const line of text.split('\n').filter((l) => shown.test(l))) console.log(`metric: ${line.replace(/,?otel_scope_name="[^"]*"/, '')}`);

// 6. Shut down: the Discovery deregisters, the instrumentation unsubscribes, the SDK flushes.
await discovery.close();
instrumentation.disable();
await Promise.all([meterProvider.shutdown(), tracerProvider.shutdown()]);
for (const server of [metricsServer, ...greeters]) server.close();
console.log('closed; exit 0');

async function listen(server: Server): Promise<Server> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

function portOf(server: Server): number {
  return (server.address() as { port: number }).port;
}

import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { context } from '@opentelemetry/api';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type DataPoint, type MetricData } from '@opentelemetry/sdk-metrics';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { afterEach } from 'vitest';
import { instrumentDiscovery, type DiscoveryInstrumentation, type DiscoveryInstrumentationOptions } from '../src/index.js';

// Spans find their parent through the active context, as in an application with the Node SDK.
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());

/** An SDK meter and tracer provider whose output the test reads: metrics on demand, spans as they end. */
export class InMemoryOtel {
  readonly #metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  readonly #reader = new PeriodicExportingMetricReader({ exporter: this.#metricExporter, exportIntervalMillis: 3_600_000 });
  readonly spanExporter = new InMemorySpanExporter();
  readonly meterProvider = new MeterProvider({ readers: [this.#reader] });
  readonly tracerProvider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter: this.spanExporter })] });

  /** Every metric collected now, by name. */
  async collect(): Promise<Map<string, MetricData>> {
    this.#metricExporter.reset();
    await this.#reader.forceFlush();
    const byName = new Map<string, MetricData>();
    for (const resource of this.#metricExporter.getMetrics()) {
      for (const scope of resource.scopeMetrics) for (const metric of scope.metrics) byName.set(metric.descriptor.name, metric);
    }
    return byName;
  }

  /** The data points of one metric whose attributes include `match`. */
  async points(name: string, match: Record<string, string | number> = {}): Promise<DataPoint<unknown>[]> {
    const metric = (await this.collect()).get(name);
    const points = (metric?.dataPoints ?? []) as DataPoint<unknown>[];
    return points.filter((p) => Object.entries(match).every(([k, v]) => p.attributes[k] === v));
  }

  async shutdown(): Promise<void> {
    await this.meterProvider.shutdown();
    await this.tracerProvider.shutdown();
  }
}

/** Run after each test, last added first: SDK shutdowns, Discovery closes, disable(). */
export const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** An in-memory SDK with the instrumentation recording into it, both undone after the test. */
export function instrumented(options: DiscoveryInstrumentationOptions = {}): { otel: InMemoryOtel; instrumentation: DiscoveryInstrumentation } {
  const otel = new InMemoryOtel();
  const instrumentation = instrumentDiscovery({ meterProvider: otel.meterProvider, tracerProvider: otel.tracerProvider, ...options });
  cleanups.push(() => otel.shutdown(), () => instrumentation.disable());
  return { otel, instrumentation };
}

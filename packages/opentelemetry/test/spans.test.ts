import { createDiscovery, staticProvider } from '@disco/core';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { instrumentDiscovery } from '../src/index.js';
import { FlakyProvider } from './flaky-provider.js';
import { cleanups, instrumented, InMemoryOtel } from './otel-sdk.js';

describe('spans', () => {
  it('register, discover and deregister are CLIENT spans named "<operation> <service>", children of the caller’s span', async () => {
    const { otel } = instrumented();
    const d = createDiscovery({ provider: staticProvider({ instances: 'users=127.0.0.1:8001' }) });
    cleanups.push(() => d.close());
    const tracer = otel.tracerProvider.getTracer('app');
    await tracer.startActiveSpan('startup', async (parent) => {
      await d.register({ id: 'users-2', name: 'users', address: '127.0.0.1', port: 8002 });
      await d.discover('users');
      await d.deregister('users-2');
      parent.end();
    });
    const spans = otel.spanExporter.getFinishedSpans();
    const parent = spans.find((s) => s.name === 'startup')!;
    const ours = spans.filter((s) => s !== parent);
    expect(ours.map((s) => s.name)).toEqual(['register users', 'discover users', 'deregister users']);
    for (const span of ours) {
      expect(span.kind).toBe(SpanKind.CLIENT);
      expect(span.parentSpanContext?.spanId).toBe(parent.spanContext().spanId);
      expect(span.spanContext().traceId).toBe(parent.spanContext().traceId);
      expect(span.instrumentationScope.name).toBe('@disco/opentelemetry');
      expect(span.status.code).toBe(SpanStatusCode.UNSET);
    }
    expect(ours[0]!.attributes).toEqual({ 'disco.provider.name': 'static', 'disco.service.name': 'users', 'disco.service.id': 'users-2' });
    expect(ours[1]!.attributes).toEqual({ 'disco.provider.name': 'static', 'disco.service.name': 'users', 'disco.instances': 2 });
    expect(ours[2]!.attributes).toEqual({ 'disco.provider.name': 'static', 'disco.service.name': 'users', 'disco.service.id': 'users-2' });
  });

  it('a failed register ends its span with status ERROR, error.type and the exception', async () => {
    const { otel } = instrumented();
    const provider = new FlakyProvider();
    provider.failRegister = true;
    const d = createDiscovery({ provider });
    cleanups.push(() => d.close());
    await expect(d.register({ id: 'u1', name: 'users', address: '127.0.0.1', port: 8001 })).rejects.toThrow('the registry is down');
    const [span] = otel.spanExporter.getFinishedSpans();
    expect(span!.name).toBe('register users');
    expect(span!.status).toEqual({ code: SpanStatusCode.ERROR, message: expect.stringContaining('the registry is down') });
    expect(span!.attributes['error.type']).toBe('ERR_PROVIDER_UNAVAILABLE');
    expect(span!.events.map((e) => e.name)).toEqual(['exception']);
  });

  it('a deregister of an id this process never registered is a span named "deregister"', async () => {
    const { otel } = instrumented();
    const d = createDiscovery({ provider: staticProvider() });
    cleanups.push(() => d.close());
    await d.deregister('someone-else');
    expect(otel.spanExporter.getFinishedSpans().map((s) => [s.name, s.attributes['disco.service.id']])).toEqual([['deregister', 'someone-else']]);
  });

  it('traces: false records no span; the global TracerProvider is the default', async () => {
    const { otel } = instrumented({ traces: false });
    const d = createDiscovery({ provider: staticProvider({ instances: 'users=127.0.0.1:8001' }) });
    cleanups.push(() => d.close());
    await d.discover('users');
    expect(otel.spanExporter.getFinishedSpans()).toEqual([]);

    const global = new InMemoryOtel();
    trace.setGlobalTracerProvider(global.tracerProvider);
    cleanups.push(() => trace.disable(), () => global.shutdown());
    const instrumentation = instrumentDiscovery({ metrics: false });
    cleanups.push(() => instrumentation.disable());
    await d.discover('users');
    expect(global.spanExporter.getFinishedSpans().map((s) => s.name)).toEqual(['discover users']);
  });
});

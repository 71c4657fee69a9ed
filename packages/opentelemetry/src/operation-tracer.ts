import { channelNames, type OperationContext } from '@disco/core';
import { context, SpanKind, SpanStatusCode, type Attributes, type Span, type Tracer } from '@opentelemetry/api';
import { errorType } from './error-type.js';
import type { MetricsRecorder } from './metrics-recorder.js';
import { attributeNames as a, operationNames, type OperationName } from './names.js';
import type { Subscriptions } from './subscriptions.js';

interface InFlight {
  readonly started: number;
  readonly attributes: Attributes;
  readonly span: Span | undefined;
}

/**
 * Spans and durations for register, deregister and discover, from core's tracing channels.
 * `start` is published synchronously in the caller's async context, so the span's parent is
 * whatever span the caller had active; the span ends when the call settles (`asyncEnd`), or at
 * `end` when the call threw before returning a promise.
 */
export function traceOperations(tracer: Tracer | undefined, metrics: MetricsRecorder | undefined, subscriptions: Subscriptions): void {
  for (const operation of operationNames) {
    const inFlight = new WeakMap<OperationContext, InFlight>();
    const finish = (message: OperationContext) => {
      const call = inFlight.get(message);
      if (!call) return;
      inFlight.delete(message);
      const failed = 'error' in message && message.error !== undefined;
      metrics?.operationEnded(operation, call.attributes, (performance.now() - call.started) / 1000, failed ? message.error : undefined);
      if (!call.span) return;
      if (failed) {
        call.span.setAttribute(a.errorType, errorType(message.error));
        if (message.error instanceof Error) call.span.recordException(message.error);
        call.span.setStatus({ code: SpanStatusCode.ERROR, message: message.error instanceof Error ? message.error.message : String(message.error) });
      } else if (operation === 'discover' && Array.isArray(message.result)) {
        call.span.setAttribute(a.instances, message.result.length);
      }
      call.span.end();
    };
    subscriptions.onTracing<OperationContext>(channelNames[operation], {
      start(message) {
        const attributes: Attributes = { [a.provider]: message.provider };
        if (message.service !== '') attributes[a.service] = message.service;
        if (message.serviceId !== undefined) attributes[a.serviceId] = message.serviceId;
        const span = tracer?.startSpan(spanName(operation, message.service), { kind: SpanKind.CLIENT, attributes }, context.active());
        inFlight.set(message, { started: performance.now(), attributes, span });
      },
      // A call that threw synchronously has its error set before `end`; one that returned a promise settles later.
      end(message) {
        if ('error' in message) finish(message);
      },
      asyncEnd: finish,
    });
  }
}

/** `register users`; a deregister of an id this process never registered knows no service name. */
export function spanName(operation: OperationName, service: string): string {
  return service === '' ? operation : `${operation} ${service}`;
}

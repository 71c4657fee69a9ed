import { metrics as metricsApi, trace, type MeterProvider, type TracerProvider } from '@opentelemetry/api';
import { defaultCallDurationBuckets, MetricsRecorder } from './metrics-recorder.js';
import { traceOperations } from './operation-tracer.js';
import { Subscriptions } from './subscriptions.js';

export interface DiscoveryInstrumentationOptions {
  /** Where metrics go. Default: the global MeterProvider (`metrics.setGlobalMeterProvider`). */
  meterProvider?: MeterProvider;
  /** Where spans go. Default: the global TracerProvider (`trace.setGlobalTracerProvider`). */
  tracerProvider?: TracerProvider;
  /** Record metrics. Default true. */
  metrics?: boolean;
  /** Record spans for register, deregister and discover. Default true. */
  traces?: boolean;
  /**
   * Put the instance (`disco.instance.id`, `server.address`, `server.port`) on the call metrics.
   * Default true; turn it off when instances churn so fast that one series each costs too much.
   */
  instanceAttributes?: boolean;
  /** Bucket boundaries of `disco.call.duration`, in seconds. Default 1 ms … 10 s. */
  callDurationBuckets?: readonly number[];
}

/** What {@link instrumentDiscovery} returns: `disable()` (or `using`) unsubscribes from every channel. */
export interface DiscoveryInstrumentation extends Disposable {
  readonly enabled: boolean;
  disable(): void;
}

/** The instrumentation scope name metrics and spans are recorded under. */
export const instrumentationScope = '@disco/opentelemetry';

/**
 * Records what every Discovery in this process does as OpenTelemetry metrics and spans, by
 * subscribing to disco's diagnostics channels (no Discovery needs to be passed in, and a process
 * that never calls this pays nothing). Call it once, after the SDK is set up.
 */
export function instrumentDiscovery(options: DiscoveryInstrumentationOptions = {}): DiscoveryInstrumentation {
  const subscriptions = new Subscriptions();
  const recorder =
    options.metrics === false
      ? undefined
      : new MetricsRecorder((options.meterProvider ?? metricsApi.getMeterProvider()).getMeter(instrumentationScope), {
          instanceAttributes: options.instanceAttributes ?? true,
          callDurationBuckets: options.callDurationBuckets ?? defaultCallDurationBuckets,
        }, subscriptions);
  const tracer = options.traces === false ? undefined : (options.tracerProvider ?? trace.getTracerProvider()).getTracer(instrumentationScope);
  if (recorder || tracer) traceOperations(tracer, recorder, subscriptions);
  let enabled = true;
  const disable = () => {
    if (!enabled) return;
    enabled = false;
    subscriptions.dispose();
  };
  return {
    get enabled() {
      return enabled;
    },
    disable,
    [Symbol.dispose]: disable,
  };
}

import { channelNames, type CallMessage, type HealthMessage, type Instance, type ProviderEventMessage, type SnapshotMessage, type WatchErrorMessage, type WatchRecoveredMessage } from '@disco/core';
import type { Attributes, Meter, ObservableResult } from '@opentelemetry/api';
import { errorType } from './error-type.js';
import { attributeNames as a, metricNames as m, type OperationName } from './names.js';
import type { Subscriptions } from './subscriptions.js';

export interface MetricsOptions {
  /** Put the instance (`disco.instance.id`, `server.address`, `server.port`) on call metrics. */
  instanceAttributes: boolean;
  /** Bucket boundaries of `disco.call.duration`, in seconds. */
  callDurationBuckets: readonly number[];
}

/** Seconds: OpenTelemetry's unit for durations. */
const durationBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
export const defaultCallDurationBuckets: readonly number[] = durationBuckets;

interface ServiceState {
  readonly provider: string;
  readonly service: string;
  instances: number;
  healthy: number;
  /** performance.now() when the current outage began; undefined while healthy. */
  staleSince: number | undefined;
}

/**
 * Turns disco's channel messages into metrics. Gauges (instances, staleness) keep the last state
 * per provider and service and are read at collection time, so a busy service costs one map
 * write per snapshot, not one export per change.
 */
export class MetricsRecorder {
  readonly #services = new Map<string, ServiceState>();
  /** Calls in flight per attribute set, read by the `disco.call.active` callback. */
  readonly #active = new Map<CallAttributes, { readonly attributes: Attributes; count: number }>();
  readonly #operationDuration;
  readonly #registrations;
  readonly #deregistrations;

  constructor(meter: Meter, options: MetricsOptions, subscriptions: Subscriptions) {
    const instances = meter.createObservableGauge(m.instances, { description: 'Instances of a service the last snapshot held, by health', unit: '{instance}' });
    const staleness = meter.createObservableGauge(m.watchStaleness, { description: 'How long the instances of a service have been served stale because its backend fails (0 when in sync)', unit: 's' });
    const observeInstances = (result: ObservableResult) => {
      for (const s of this.#services.values()) {
        const base = { [a.service]: s.service, [a.provider]: s.provider };
        result.observe(s.healthy, { ...base, [a.health]: 'healthy' });
        result.observe(s.instances - s.healthy, { ...base, [a.health]: 'unhealthy' });
      }
    };
    const observeStaleness = (result: ObservableResult) => {
      const now = performance.now();
      for (const s of this.#services.values()) result.observe(s.staleSince === undefined ? 0 : (now - s.staleSince) / 1000, { [a.service]: s.service, [a.provider]: s.provider });
    };
    instances.addCallback(observeInstances);
    staleness.addCallback(observeStaleness);
    subscriptions.add(() => instances.removeCallback(observeInstances));
    subscriptions.add(() => staleness.removeCallback(observeStaleness));

    const watchErrors = meter.createCounter(m.watchErrors, { description: 'Outages of a service’s watch (one per outage, not per retry)', unit: '{error}' });
    const outageDuration = meter.createHistogram(m.watchOutageDuration, { description: 'How long a watch outage lasted, measured when it recovered', unit: 's', advice: { explicitBucketBoundaries: [0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600] } });
    this.#operationDuration = meter.createHistogram(m.operationDuration, { description: 'Duration of register, deregister and discover calls', unit: 's', advice: { explicitBucketBoundaries: durationBuckets } });
    this.#registrations = meter.createCounter(m.registrations, { description: 'register() calls, by outcome (error.type set when it failed)', unit: '{registration}' });
    this.#deregistrations = meter.createCounter(m.deregistrations, { description: 'deregister() calls, by outcome (error.type set when it failed)', unit: '{registration}' });
    const callDuration = meter.createHistogram(m.callDuration, { description: 'Duration of calls made through acquire()/release(), by instance and outcome', unit: 's', advice: { explicitBucketBoundaries: [...options.callDurationBuckets] } });
    const callActive = meter.createObservableUpDownCounter(m.callActive, { description: 'Calls acquired and not yet released', unit: '{call}' });
    const observeActive = (result: ObservableResult) => {
      for (const { attributes, count } of this.#active.values()) result.observe(count, attributes);
    };
    callActive.addCallback(observeActive);
    subscriptions.add(() => callActive.removeCallback(observeActive));
    const healthChecks = meter.createCounter(m.healthChecks, { description: 'Local health check results for this process’s registrations', unit: '{check}' });
    const providerEvents = meter.createCounter(m.providerEvents, { description: 'Provider events: skipped records, resyncs, lease loss and restore, reconnects', unit: '{event}' });

    // Attribute objects are made once per instance (instances are frozen and survive snapshots
    // unchanged), so a call costs a map update and one histogram record.
    const attributeSets = new WeakMap<Instance, CallAttributes>();
    const byService = new Map<string, CallAttributes>();
    const callAttributes = ({ service, instance }: CallMessage): CallAttributes => {
      let set = options.instanceAttributes ? attributeSets.get(instance) : byService.get(service);
      if (set && set.base[a.service] === service) return set;
      set = callAttributeSet(service, options.instanceAttributes ? instance : undefined);
      if (options.instanceAttributes) attributeSets.set(instance, set);
      else byService.set(service, set);
      return set;
    };

    subscriptions.on<SnapshotMessage>(channelNames.snapshot, (message) => {
      const state = this.#state(message.provider, message.service);
      state.instances = message.instances;
      state.healthy = message.healthy;
    });
    subscriptions.on<WatchErrorMessage>(channelNames.watchError, (message) => {
      const state = this.#state(message.provider, message.service);
      state.staleSince ??= performance.now();
      watchErrors.add(1, { [a.service]: message.service, [a.provider]: message.provider, [a.errorType]: errorType(message.error) });
    });
    subscriptions.on<WatchRecoveredMessage>(channelNames.watchRecovered, (message) => {
      this.#state(message.provider, message.service).staleSince = undefined;
      outageDuration.record(message.staleMs / 1000, { [a.service]: message.service, [a.provider]: message.provider });
    });
    subscriptions.on<CallMessage>(channelNames.callStart, (message) => {
      const set = callAttributes(message);
      const active = this.#active.get(set);
      if (active) active.count++;
      else this.#active.set(set, { attributes: set.base, count: 1 });
    });
    subscriptions.on<CallMessage>(channelNames.callEnd, (message) => {
      const set = callAttributes(message);
      const active = this.#active.get(set);
      if (active) active.count--;
      if (message.latencyMs !== undefined) callDuration.record(message.latencyMs / 1000, message.ok === false ? set.error : set.ok);
    });
    subscriptions.on<HealthMessage>(channelNames.health, (message) => {
      healthChecks.add(1, { [a.service]: message.service, [a.serviceId]: message.serviceId, [a.healthStatus]: message.status });
    });
    subscriptions.on<ProviderEventMessage>(channelNames.providerEvent, ({ provider, event }) => {
      const attributes: Attributes = { [a.provider]: provider, [a.eventType]: event.type };
      if (event.service !== undefined) attributes[a.service] = event.service;
      if (event.error) attributes[a.errorType] = errorType(event.error);
      providerEvents.add(1, attributes);
    });
  }

  /** Called by the operation tracer when a register, deregister or discover call settles. */
  operationEnded(operation: OperationName, attributes: Attributes, seconds: number, error: unknown): void {
    const withOutcome = error === undefined ? attributes : { ...attributes, [a.errorType]: errorType(error) };
    this.#operationDuration.record(seconds, { ...withOutcome, [a.operation]: operation });
    if (operation === 'register') this.#registrations.add(1, withOutcome);
    else if (operation === 'deregister') this.#deregistrations.add(1, withOutcome);
  }

  #state(provider: string, service: string): ServiceState {
    const key = `${provider}\u0000${service}`;
    let state = this.#services.get(key);
    if (!state) this.#services.set(key, (state = { provider, service, instances: 0, healthy: 0, staleSince: undefined }));
    return state;
  }
}

/** The attributes of one service's (or one instance's) calls: without outcome, and with each outcome. */
interface CallAttributes {
  readonly base: Attributes;
  readonly ok: Attributes;
  readonly error: Attributes;
}

function callAttributeSet(service: string, instance: Instance | undefined): CallAttributes {
  const base: Attributes = instance ? { [a.service]: service, [a.instanceId]: instance.id, [a.serverAddress]: instance.address, [a.serverPort]: instance.port } : { [a.service]: service };
  return { base, ok: { ...base, [a.outcome]: 'ok' }, error: { ...base, [a.outcome]: 'error' } };
}

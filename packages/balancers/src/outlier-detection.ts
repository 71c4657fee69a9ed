import type { Balancer, CallOutcome, Duration, Instance, PickContext } from '@disco/core';
import { OptionReader } from './options.js';
import { registerWrapper } from './register-wrapper.js';

export interface OutlierDetectionOptions {
  /** Consecutive failed calls (`release({ ok: false })`) that eject an instance. Default 5. */
  consecutiveFailures?: number;
  /** An ejection lasts this long times the instance's ejection count. Default 30s. */
  baseEjectionTime?: Duration;
  /** Upper bound on one ejection. Default 300s. */
  maxEjectionTime?: Duration;
  /** At most this percentage of the instances is ejected at once (at least one, unless 0). Default 10. */
  maxEjectionPercent?: number;
  /** When fewer than this percentage of the instances is usable, use all of them (panic). Default 50. */
  panicThreshold?: number;
  /** Millisecond clock read in onStart/onEnd (never in pick); default `performance.now`. */
  now?: () => number;
}

class FailureRecord {
  failures = 0;
  /** Ejections so far, less one for every base ejection time spent without one. */
  ejections = 0;
  /** Ejected until this time; NaN when not ejected. */
  until = Number.NaN;
  /** When the last ejection ended. */
  returned = Number.NaN;
}

/**
 * Ejects instances that fail repeatedly (Envoy's outlier detection, consecutive-failure kind):
 * `consecutiveFailures` failures in a row eject an instance for baseEjectionTime × its ejection
 * count (capped by maxEjectionTime); the count decays by one for each baseEjectionTime it then
 * stays in. A success resets the failure run.
 *
 * The inner strategy is handed the usable instances (healthy and not ejected) as a stable array,
 * rebuilt only when the snapshot or the ejected set changes, or every instance when fewer than
 * `panicThreshold` percent are usable. Ejections and returns happen in onStart/onEnd, where the
 * clock is read; pick reads no clock, so an ejected instance returns at the first call event
 * after its time is up.
 */
class OutlierDetectionBalancer implements Balancer {
  readonly name: string;
  readonly #inner: Balancer;
  readonly #threshold: number;
  readonly #baseTime: number;
  readonly #maxTime: number;
  readonly #maxPercent: number;
  readonly #panicPercent: number;
  readonly #clock: () => number;
  readonly #records = new Map<string, FailureRecord>();
  readonly #ejected = new Set<string>();
  /** Earliest end of a current ejection. */
  #nextReturn = Number.POSITIVE_INFINITY;
  #snapshot: readonly Instance[] = [];
  #usable: readonly Instance[] = [];

  constructor(inner: Balancer, options: OutlierDetectionOptions | undefined) {
    const read = new OptionReader('outlier_detection', options, [
      'consecutiveFailures', 'baseEjectionTime', 'maxEjectionTime', 'maxEjectionPercent', 'panicThreshold', 'now',
    ]);
    this.#inner = inner;
    this.#threshold = read.integer('consecutiveFailures', 5, 1);
    this.#baseTime = read.duration('baseEjectionTime', '30s');
    this.#maxTime = Math.max(read.duration('maxEjectionTime', '300s'), this.#baseTime);
    this.#maxPercent = read.number('maxEjectionPercent', 10, 0, 100);
    this.#panicPercent = read.number('panicThreshold', 50, 0, 100);
    this.#clock = read.clock();
    this.name = `outlier_detection(${inner.name})`;
  }

  pick(instances: readonly Instance[], context?: PickContext): Instance | undefined {
    if (instances !== this.#snapshot) this.#update(instances);
    return this.#inner.pick(this.#usable, context);
  }

  onStart(instance: Instance): void {
    this.#returnDue(this.#clock());
    this.#inner.onStart?.(instance);
  }

  onEnd(instance: Instance, outcome: CallOutcome): void {
    const now = this.#clock();
    this.#returnDue(now);
    this.#inner.onEnd?.(instance, outcome);
    let record = this.#records.get(instance.id);
    if (outcome.ok) {
      if (record) record.failures = 0;
      return;
    }
    if (!record) {
      record = new FailureRecord();
      this.#records.set(instance.id, record);
    }
    if (++record.failures >= this.#threshold && !this.#ejected.has(instance.id) && this.#mayEject()) {
      this.#eject(instance.id, record, now);
    }
  }

  /** Whether one more instance may be ejected now (at least one, unless the percentage is 0). */
  #mayEject(): boolean {
    if (this.#maxPercent === 0) return false;
    const allowed = Math.max(1, Math.floor((this.#snapshot.length * this.#maxPercent) / 100));
    return this.#ejected.size < allowed;
  }

  #eject(id: string, record: FailureRecord, now: number): void {
    if (!Number.isNaN(record.returned) && this.#baseTime > 0) {
      record.ejections = Math.max(0, record.ejections - Math.floor((now - record.returned) / this.#baseTime));
    }
    record.ejections++;
    record.failures = 0;
    record.until = now + Math.min(this.#baseTime * record.ejections, this.#maxTime);
    this.#ejected.add(id);
    if (record.until < this.#nextReturn) this.#nextReturn = record.until;
    this.#update(this.#snapshot);
  }

  #returnDue(now: number): void {
    if (now < this.#nextReturn) return;
    let next = Number.POSITIVE_INFINITY;
    for (const id of this.#ejected) {
      const record = this.#records.get(id)!;
      if (record.until <= now) {
        this.#ejected.delete(id);
        record.until = Number.NaN;
        record.returned = now;
      } else if (record.until < next) {
        next = record.until;
      }
    }
    this.#nextReturn = next;
    this.#update(this.#snapshot);
  }

  /** Recomputes what the inner strategy picks from; keeps the snapshot itself when nothing is excluded. */
  #update(instances: readonly Instance[]): void {
    const fresh = instances !== this.#snapshot;
    this.#snapshot = instances;
    if (fresh && this.#records.size > 0) {
      const present = new Set<string>();
      for (const instance of instances) present.add(instance.id);
      for (const id of this.#records.keys()) {
        if (present.has(id)) continue;
        this.#records.delete(id);
        this.#ejected.delete(id);
      }
    }
    let usable = 0;
    for (const instance of instances) if (instance.healthy && !this.#ejected.has(instance.id)) usable++;
    if (usable === instances.length || usable * 100 < instances.length * this.#panicPercent) {
      this.#usable = instances;
    } else {
      this.#usable = instances.filter((instance) => instance.healthy && !this.#ejected.has(instance.id));
    }
  }
}

/** Wraps any strategy so that instances failing call after call are left out for a while. */
export const outlierDetection = (inner: Balancer, options?: OutlierDetectionOptions): Balancer => new OutlierDetectionBalancer(inner, options);

registerWrapper('outlier_detection', outlierDetection);

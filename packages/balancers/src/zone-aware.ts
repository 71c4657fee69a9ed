import type { Balancer, CallOutcome, Instance, PickContext } from '@disco/core';
import { OptionReader } from './options.js';
import { registerWrapper } from './register-wrapper.js';

export interface ZoneAwareOptions {
  /** The caller's zone; `context.zone` of a pick overrides it. Without either, all zones are used. */
  zone?: string;
  /**
   * Stay in the caller's zone while at least this share of that zone's instances is healthy;
   * below it, spill over to the healthy instances of every zone. 0..1, default 0.7
   * (Envoy's overprovisioning factor 1.4 puts the same edge at 1/1.4 ≈ 0.71).
   */
  minHealthyShare?: number;
}

/**
 * Prefers instances in the caller's zone, handing the inner strategy only those; when too few
 * of them are healthy it hands over the healthy instances of all zones. Instances are grouped by
 * zone once per snapshot, so a pick is one map lookup plus the inner pick.
 *
 * A zone's healthy share needs the unhealthy instances too: use it on a handle made with
 * `healthyOnly: false`. With the default healthy-only lists the local share is always 1, so it
 * spills over only when the zone has no instance left. When nothing at all is healthy it hands
 * over every instance (panic) rather than none.
 *
 * The inner strategy sees the local list or the global one; they are stable arrays, so its
 * per-snapshot state survives until the snapshot or the zone decision changes.
 */
class ZoneAwareBalancer implements Balancer {
  readonly name: string;
  readonly #inner: Balancer;
  readonly #zone: string | undefined;
  readonly #minHealthyShare: number;
  #snapshot: readonly Instance[] | undefined;
  #everywhere: readonly Instance[] = [];
  /** Per zone: what a caller there picks from (its own zone's healthy instances, or `everywhere`). */
  readonly #byZone = new Map<string, readonly Instance[]>();

  constructor(inner: Balancer, options: ZoneAwareOptions | undefined) {
    const read = new OptionReader('zone_aware', options, ['zone', 'minHealthyShare']);
    this.#inner = inner;
    this.#zone = read.string('zone');
    this.#minHealthyShare = read.number('minHealthyShare', 0.7, 0, 1);
    this.name = `zone_aware(${inner.name})`;
  }

  pick(instances: readonly Instance[], context?: PickContext): Instance | undefined {
    if (instances.length === 0) return undefined;
    if (instances !== this.#snapshot) this.#group(instances);
    const zone = context?.zone ?? this.#zone;
    const candidates = zone === undefined ? this.#everywhere : (this.#byZone.get(zone) ?? this.#everywhere);
    return this.#inner.pick(candidates, context);
  }

  onStart(instance: Instance): void {
    this.#inner.onStart?.(instance);
  }

  onEnd(instance: Instance, outcome: CallOutcome): void {
    this.#inner.onEnd?.(instance, outcome);
  }

  #group(instances: readonly Instance[]): void {
    this.#snapshot = instances;
    this.#byZone.clear();
    const healthy = instances.filter((instance) => instance.healthy);
    this.#everywhere = healthy.length > 0 ? healthy : instances;
    const totals = new Map<string, number>();
    const local = new Map<string, Instance[]>();
    for (const instance of instances) {
      if (instance.zone === undefined) continue;
      totals.set(instance.zone, (totals.get(instance.zone) ?? 0) + 1);
      if (!instance.healthy) continue;
      const list = local.get(instance.zone);
      if (list) list.push(instance);
      else local.set(instance.zone, [instance]);
    }
    for (const [zone, list] of local) {
      const share = list.length / totals.get(zone)!;
      if (share >= this.#minHealthyShare) this.#byZone.set(zone, list);
    }
  }
}

/** Wraps any strategy to keep calls in the caller's zone while that zone is healthy enough. */
export const zoneAware = (inner: Balancer, options?: ZoneAwareOptions): Balancer => new ZoneAwareBalancer(inner, options);

registerWrapper('zone_aware', zoneAware);

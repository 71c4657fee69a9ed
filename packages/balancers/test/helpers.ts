import { createInstance, type Balancer, type Instance, type PickContext } from '@disco/core';

export interface FleetOptions {
  weights?: readonly number[];
  zones?: readonly string[];
  healthy?: readonly boolean[];
  prefix?: string;
}

/** `n` instances named `<prefix>0 .. <prefix>n-1`, with per-index weight, zone and health. */
export function fleet(n: number, options: FleetOptions = {}): Instance[] {
  const prefix = options.prefix ?? 'i';
  return Array.from({ length: n }, (_, i) =>
    createInstance({
      id: `${prefix}${i}`,
      name: 'svc',
      address: `10.0.${i >> 8}.${i & 255}`,
      port: 8080,
      weight: options.weights?.[i],
      zone: options.zones?.[i],
      healthy: options.healthy?.[i],
    }),
  );
}

/** How many of `picks` picks went to each instance id. */
export function tally(balancer: Balancer, instances: readonly Instance[], picks: number, context?: PickContext): Map<string, number> {
  const counts = new Map<string, number>();
  for (const instance of instances) counts.set(instance.id, 0);
  for (let i = 0; i < picks; i++) {
    const chosen = balancer.pick(instances, context)!;
    counts.set(chosen.id, (counts.get(chosen.id) ?? 0) + 1);
  }
  return counts;
}

/** Ids picked, in order. */
export function sequence(balancer: Balancer, instances: readonly Instance[], picks: number, context?: PickContext): string[] {
  return Array.from({ length: picks }, () => balancer.pick(instances, context)!.id);
}

/** Starts `calls` calls on `instance` (onStart only). */
export function begin(balancer: Balancer, instance: Instance, calls = 1): void {
  for (let i = 0; i < calls; i++) balancer.onStart?.(instance);
}

/** A clock the test moves by hand. */
export function manualClock(start = 0): { now: () => number; advance: (ms: number) => void } {
  let time = start;
  return { now: () => time, advance: (ms) => void (time += ms) };
}

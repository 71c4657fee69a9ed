import type { Instance } from './service.js';

export interface InstanceFilter {
  /** Every tag must be present. */
  readonly tags?: readonly string[] | undefined;
  /** Leave out instances marked unhealthy. */
  readonly healthyOnly: boolean;
}

export const healthyFilter: InstanceFilter = Object.freeze({ healthyOnly: true });

/** The instances that pass the filter; the input array itself when all of them do. */
export function applyFilter(instances: readonly Instance[], filter: InstanceFilter): readonly Instance[] {
  const tags = filter.tags ?? [];
  if (!filter.healthyOnly && tags.length === 0) return instances;
  const kept = instances.filter((i) => (!filter.healthyOnly || i.healthy) && tags.every((t) => i.tags.includes(t)));
  return kept.length === instances.length ? instances : kept;
}

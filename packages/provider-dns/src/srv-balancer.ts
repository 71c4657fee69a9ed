import type { Balancer, Instance } from '@disco/core';
import { PRIORITY_KEY } from './lookup.js';

export interface SrvBalancerOptions {
  /** Random source in [0, 1); inject a seeded one for reproducible picks. Default Math.random. */
  random?: () => number;
}

function priorityOf(instance: Instance): number {
  const value = Number(instance.metadata[PRIORITY_KEY]);
  return Number.isFinite(value) ? value : 0;
}

/**
 * RFC 2782 selection: the lowest priority present, then a weighted random draw within it.
 * The draw is the corrected one (as in Go's net package): an integer r in [0, total - 1] and
 * the first record whose running weight sum exceeds r, which gives every record exactly
 * weight/total of the picks. RFC 2782's inclusive draw over [0, total] is off by one: it
 * hands weight-0 records a share and skews the rest. Weight-0 records are chosen only when
 * the whole group has weight 0 (then uniformly). Loops only: no allocation per pick.
 */
export function srvBalancer(options: SrvBalancerOptions = {}): Balancer {
  const random = options.random ?? Math.random;
  return {
    name: 'srv',
    pick(instances) {
      if (instances.length === 0) return undefined;
      let lowest = Infinity;
      for (const instance of instances) lowest = Math.min(lowest, priorityOf(instance));
      let total = 0;
      let count = 0;
      for (const instance of instances) {
        if (priorityOf(instance) !== lowest) continue;
        total += Math.max(0, instance.weight);
        count++;
      }
      if (total === 0) {
        let index = Math.floor(random() * count);
        for (const instance of instances) if (priorityOf(instance) === lowest && index-- === 0) return instance;
        return undefined;
      }
      const r = Math.floor(random() * total);
      let running = 0;
      for (const instance of instances) {
        if (priorityOf(instance) !== lowest) continue;
        running += Math.max(0, instance.weight);
        if (running > r) return instance;
      }
      return undefined;
    },
  };
}

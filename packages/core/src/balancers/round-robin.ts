import { registerBalancer, type Balancer } from '../balancer.js';
import type { Instance } from '../service.js';

/**
 * Each instance in turn. The default. The counter survives snapshot changes, so an update
 * does not send the next call back to the first instance.
 */
export class RoundRobinBalancer implements Balancer {
  readonly name = 'round_robin';
  #next = 0;

  pick(instances: readonly Instance[]): Instance | undefined {
    const n = instances.length;
    if (n === 0) return undefined;
    // One read and one write of the field: pick() is the hot path.
    let next = this.#next;
    if (next >= n) next %= n;
    this.#next = next + 1;
    return instances[next];
  }
}

export const roundRobin = (): Balancer => new RoundRobinBalancer();

registerBalancer('round_robin', roundRobin);

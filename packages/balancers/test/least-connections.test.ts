import { describe, expect, it } from 'vitest';
import { leastConnections, seededRandom } from '@disco/balancers';
import { begin, fleet, tally } from './helpers.ts';

describe('least_connections', () => {
  it('picks the instance with the fewest calls in flight', () => {
    const balancer = leastConnections({ random: seededRandom(3) });
    const instances = fleet(4);
    begin(balancer, instances[0]!, 3);
    begin(balancer, instances[1]!, 1);
    begin(balancer, instances[2]!, 2);
    begin(balancer, instances[3]!, 2);
    expect(balancer.pick(instances)).toBe(instances[1]);
    begin(balancer, instances[1]!, 2); // i1: 3 -> now i2 and i3 tie at 2
    expect(new Set([...tally(balancer, instances, 200).entries()].filter(([, c]) => c > 0).map(([id]) => id))).toEqual(new Set(['i2', 'i3']));
    balancer.onEnd!(instances[0]!, { ok: true });
    balancer.onEnd!(instances[0]!, { ok: true }); // i0: 1
    expect(balancer.pick(instances)).toBe(instances[0]);
  });

  it('breaks ties uniformly at random (each of 8 idle instances within 5% of 1/8 over 80,000 picks)', () => {
    const counts = tally(leastConnections({ random: seededRandom(11) }), fleet(8), 80_000);
    for (const count of counts.values()) expect(Math.abs(count - 10_000)).toBeLessThan(500);
  });

  it('balances in-flight load when every pick starts a call: counts never differ by more than one', () => {
    const balancer = leastConnections({ random: seededRandom(5) });
    const instances = fleet(7);
    const inflight = new Map(instances.map((i) => [i.id, 0]));
    for (let k = 0; k < 1000; k++) {
      const chosen = balancer.pick(instances)!;
      balancer.onStart!(chosen);
      inflight.set(chosen.id, inflight.get(chosen.id)! + 1);
      if (k % 3 === 2) {
        const busiest = instances.reduce((a, b) => (inflight.get(b.id)! > inflight.get(a.id)! ? b : a));
        balancer.onEnd!(busiest, { ok: true });
        inflight.set(busiest.id, inflight.get(busiest.id)! - 1);
      }
      const values = [...inflight.values()];
      expect(Math.max(...values) - Math.min(...values)).toBeLessThanOrEqual(1);
    }
  });

  it('keeps in-flight counts across snapshots by id, even when an instance object is replaced', () => {
    const balancer = leastConnections({ random: seededRandom(1) });
    const first = fleet(3);
    balancer.pick(first);
    begin(balancer, first[0]!, 5);
    begin(balancer, first[1]!, 5);
    const second = [...fleet(3, { weights: [2, 1, 1] }).slice(0, 2), first[2]!, ...fleet(1, { prefix: 'new' })];
    begin(balancer, second[2]!, 1);
    // i2 has one call, "new0" none: it wins; after it gets two calls, i2 wins.
    expect(balancer.pick(second)!.id).toBe('new0');
    begin(balancer, second[3]!, 2);
    expect(balancer.pick(second)!.id).toBe('i2');
    // Calls that end on the replaced objects still count down the right instance.
    for (let k = 0; k < 5; k++) balancer.onEnd!(first[0]!, { ok: true });
    expect(balancer.pick(second)!.id).toBe('i0');
  });

  it('ignores ends without a start and instances it has never seen', () => {
    const balancer = leastConnections({ random: seededRandom(2) });
    const instances = fleet(2);
    balancer.onEnd!(instances[0]!, { ok: true });
    begin(balancer, instances[0]!);
    expect(balancer.pick(instances)).toBe(instances[1]);
    expect(balancer.pick([])).toBeUndefined();
  });
});

import { describe, expect, it } from 'vitest';
import { p2c, seededRandom } from '@disco/balancers';
import { begin, fleet, tally } from './helpers.ts';

describe('p2c', () => {
  it('never picks the busiest instance while another has fewer calls (it always loses its pair)', () => {
    const balancer = p2c({ random: seededRandom(9) });
    const instances = fleet(5);
    begin(balancer, instances[4]!, 10);
    expect(tally(balancer, instances, 5000).get('i4')).toBe(0);
  });

  it('follows in-flight counts: the less loaded an instance, the more it is picked', () => {
    const balancer = p2c({ random: seededRandom(4) });
    const instances = fleet(4);
    instances.forEach((instance, i) => begin(balancer, instance, i));
    const counts = tally(balancer, instances, 60_000);
    // With two distinct samples of four, rank r wins (3 - r) of the 6 pairs: 3/6, 2/6, 1/6, 0.
    expect(counts.get('i0')! / 60_000).toBeCloseTo(0.5, 1);
    expect(counts.get('i1')! / 60_000).toBeCloseTo(2 / 6, 1);
    expect(counts.get('i2')! / 60_000).toBeCloseTo(1 / 6, 1);
    expect(counts.get('i3')).toBe(0);
  });

  it('spreads evenly when idle (each of 10 within 5% of its share over 100,000 picks) and handles 0 or 1 instance', () => {
    const counts = tally(p2c({ random: seededRandom(6) }), fleet(10), 100_000);
    for (const count of counts.values()) expect(Math.abs(count - 10_000)).toBeLessThan(500);
    expect(p2c().pick([])).toBeUndefined();
    const one = fleet(1);
    expect(p2c().pick(one)).toBe(one[0]);
  });

  it('counts down on onEnd', () => {
    const balancer = p2c({ random: seededRandom(1) });
    const instances = fleet(2);
    begin(balancer, instances[0]!, 2);
    expect(balancer.pick(instances)).toBe(instances[1]);
    balancer.onEnd!(instances[0]!, { ok: true });
    balancer.onEnd!(instances[0]!, { ok: false });
    begin(balancer, instances[1]!, 1);
    expect(balancer.pick(instances)).toBe(instances[0]);
  });
});

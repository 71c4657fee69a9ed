import { describe, expect, it } from 'vitest';
import { random, seededRandom } from '@disco/balancers';
import { fleet, tally } from './helpers.ts';

describe('random', () => {
  it('spreads picks uniformly: each of 10 instances within 5% of its share over 100,000 picks (seed 1)', () => {
    const instances = fleet(10);
    const counts = tally(random({ random: seededRandom(1) }), instances, 100_000);
    for (const count of counts.values()) expect(Math.abs(count - 10_000)).toBeLessThan(500);
  });

  it('is deterministic for a seed and different across seeds', () => {
    const instances = fleet(5);
    const a = random({ random: seededRandom(7) });
    const b = random({ random: seededRandom(7) });
    const c = random({ random: seededRandom(8) });
    const seqA = Array.from({ length: 50 }, () => a.pick(instances)!.id);
    expect(Array.from({ length: 50 }, () => b.pick(instances)!.id)).toEqual(seqA);
    expect(Array.from({ length: 50 }, () => c.pick(instances)!.id)).not.toEqual(seqA);
  });

  it('returns undefined for no instances and stays in range when the source returns 1', () => {
    expect(random().pick([])).toBeUndefined();
    const instances = fleet(3);
    expect(random({ random: () => 1 }).pick(instances)).toBe(instances[2]);
  });
});

import { describe, expect, it } from 'vitest';
import { maglev, ringHash, seededRandom } from '@disco/balancers';
import type { Balancer, Instance } from '@disco/core';
import { fleet } from './helpers.ts';

const keys = Array.from({ length: 20_000 }, (_, i) => `user-${i}`);

function assignment(balancer: Balancer, instances: readonly Instance[]): string[] {
  return keys.map((key) => balancer.pick(instances, { key })!.id);
}

function moved(before: string[], after: string[]): number {
  return before.filter((id, i) => id !== after[i]).length / before.length;
}

for (const [name, make] of [
  ['ring_hash', () => ringHash({ random: seededRandom(1) })],
  ['maglev', () => maglev({ random: seededRandom(1) })],
] as const) {
  describe(name, () => {
    it('sends a key to the same instance every time, and across balancer objects', () => {
      const instances = fleet(10);
      const a = assignment(make(), instances);
      expect(assignment(make(), instances)).toEqual(a);
      expect(assignment(make(), [...instances].reverse())).toEqual(a);
    });

    it('spreads keys: each of 10 instances gets its tenth within 25% (ring) / 5% (maglev)', () => {
      const counts = new Map<string, number>();
      for (const id of assignment(make(), fleet(10))) counts.set(id, (counts.get(id) ?? 0) + 1);
      expect(counts.size).toBe(10);
      const tolerance = name === 'maglev' ? 0.05 : 0.25;
      for (const count of counts.values()) expect(Math.abs(count / 2000 - 1)).toBeLessThan(tolerance);
    });

    it('moves about 1/n of the keys when one of n leaves, and only those that were on it (ring) / few others (maglev)', () => {
      const instances = fleet(10);
      const balancer = make();
      const before = assignment(balancer, instances);
      const without = instances.filter((instance) => instance.id !== 'i3');
      const after = assignment(balancer, without);
      const share = moved(before, after);
      const onLeaver = before.filter((id) => id === 'i3').length / keys.length;
      expect(share).toBeGreaterThanOrEqual(onLeaver);
      expect(share).toBeLessThan(name === 'maglev' ? onLeaver + 0.03 : onLeaver + 1e-9);
      expect(share).toBeLessThan(0.15);
      // Joining again restores the original assignment exactly (ring) / almost (maglev).
      const back = assignment(balancer, instances);
      expect(moved(before, back)).toBeLessThan(name === 'maglev' ? 0.03 : 1e-9);
    });

    it('moves about 1/(n+1) of the keys when one joins', () => {
      const instances = fleet(10);
      const balancer = make();
      const before = assignment(balancer, instances);
      const after = assignment(balancer, [...instances, ...fleet(1, { prefix: 'joiner' })]);
      const share = moved(before, after);
      expect(share).toBeGreaterThan(0.05);
      expect(share).toBeLessThan(1 / 11 + 0.04);
      // Every moved key went to the joiner (ring); nearly all of them (maglev).
      const toJoiner = after.filter((id, i) => id !== before[i] && id === 'joiner0').length / keys.length;
      expect(toJoiner / share).toBeGreaterThan(name === 'maglev' ? 0.8 : 0.999);
    });

    it('follows weights: an instance of weight 3 among weight 1 gets about 3 shares', () => {
      const instances = fleet(5, { weights: [3, 1, 1, 1, 1] });
      const share = assignment(make(), instances).filter((id) => id === 'i0').length / keys.length;
      expect(share).toBeGreaterThan(3 / 7 - 0.06);
      expect(share).toBeLessThan(3 / 7 + 0.06);
    });

    it('picks at random without a key, and nothing from an empty list', () => {
      const instances = fleet(4);
      const balancer = make();
      const seen = new Set(Array.from({ length: 200 }, () => balancer.pick(instances)!.id));
      expect(seen.size).toBe(4);
      expect(balancer.pick([], { key: 'k' })).toBeUndefined();
    });
  });
}

describe('maglev options', () => {
  it('requires a prime table size and suggests one', () => {
    expect(() => maglev({ tableSize: 1000 })).toThrow(/must be a prime number; got 1000 \(try 1009\)/);
    const small = maglev({ tableSize: 7 });
    expect(() => small.pick(fleet(10), { key: 'k' })).toThrow(/smaller than the 10 instances/);
  });

  it('works with a small explicit table', () => {
    const instances = fleet(3);
    const balancer = maglev({ tableSize: 101 });
    expect(new Set(keys.slice(0, 500).map((key) => balancer.pick(instances, { key })!.id)).size).toBe(3);
  });
});

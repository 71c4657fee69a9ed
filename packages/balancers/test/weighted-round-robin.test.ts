import { describe, expect, it } from 'vitest';
import { weightedRoundRobin } from '@disco/balancers';
import { fleet, sequence, tally } from './helpers.ts';

const letters = (ids: string[]) => ids.map((id) => 'abcdefgh'[Number(id.slice(1))]).join(' ');

describe('weighted_round_robin', () => {
  it("follows nginx's smooth sequence for weights 5,1,1: a a b a c a a, cycle after cycle", () => {
    const balancer = weightedRoundRobin();
    const instances = fleet(3, { weights: [5, 1, 1] });
    expect(letters(sequence(balancer, instances, 14))).toBe('a a b a c a a a a b a c a a');
  });

  it('matches a direct implementation of nginx’s algorithm on mixed weights', () => {
    const weights = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3];
    const instances = fleet(weights.length, { weights });
    const current = weights.map(() => 0);
    const total = weights.reduce((a, b) => a + b, 0);
    const expected: string[] = [];
    for (let t = 0; t < 200; t++) {
      let best = 0;
      for (let i = 0; i < weights.length; i++) {
        current[i]! += weights[i]!;
        if (current[i]! > current[best]!) best = i;
      }
      current[best]! -= total;
      expected.push(`i${best}`);
    }
    expect(sequence(weightedRoundRobin(), instances, 200)).toEqual(expected);
  });

  it('gives exact shares over a full cycle and never bunches the heavy instance', () => {
    const instances = fleet(3, { weights: [5, 1, 1] });
    const ids = sequence(weightedRoundRobin(), instances, 700);
    expect(ids.filter((id) => id === 'i0')).toHaveLength(500);
    expect(ids.filter((id) => id === 'i1')).toHaveLength(100);
    // The order repeats every 7 picks, so any 7 consecutive picks hold exactly 5 of the heavy one.
    for (let at = 0; at + 7 <= ids.length; at++) expect(ids.slice(at, at + 7).filter((id) => id === 'i0')).toHaveLength(5);
  });

  it('with more distinct weights than maxWeightClasses, keeps shares within 1% over 10,000 picks', () => {
    const weights = Array.from({ length: 50 }, (_, i) => i + 1);
    const instances = fleet(50, { weights });
    const counts = tally(weightedRoundRobin({ maxWeightClasses: 4 }), instances, 1275 * 8);
    for (let i = 0; i < 50; i++) expect(Math.abs(counts.get(`i${i}`)! - weights[i]! * 8)).toBeLessThanOrEqual(1);
  });

  it('spreads a heavy instance evenly in the heap schedule too', () => {
    const instances = fleet(40, { weights: [20, ...Array.from({ length: 39 }, (_, i) => 1 + (i % 7) / 10)] });
    const ids = sequence(weightedRoundRobin({ maxWeightClasses: 2 }), instances, 400);
    const gaps: number[] = [];
    let last = -1;
    ids.forEach((id, at) => {
      if (id !== 'i0') return;
      if (last >= 0) gaps.push(at - last);
      last = at;
    });
    // Its share is 20/~50 of the others' ~1.3 each: one pick in ~3.5. No gap is over three times that.
    expect(Math.max(...gaps)).toBeLessThanOrEqual(11);
  });

  it('at 10,000 instances of two weights, one cycle of 15,000 picks gives each exactly its weight', () => {
    const weights = Array.from({ length: 10_000 }, (_, i) => 1 + (i % 2));
    const counts = tally(weightedRoundRobin(), fleet(10_000, { weights }), 15_000);
    for (let i = 0; i < 10_000; i++) expect(counts.get(`i${i}`)).toBe(weights[i]);
  });

  it('skips zero weights, and treats all-zero weights as equal', () => {
    expect(new Set(sequence(weightedRoundRobin(), fleet(3, { weights: [1, 0, 2] }), 30))).toEqual(new Set(['i0', 'i2']));
    expect(sequence(weightedRoundRobin(), fleet(3, { weights: [0, 0, 0] }), 6)).toEqual(['i0', 'i1', 'i2', 'i0', 'i1', 'i2']);
    expect(weightedRoundRobin().pick([])).toBeUndefined();
  });

  it('follows a new snapshot at once', () => {
    const balancer = weightedRoundRobin();
    sequence(balancer, fleet(3, { weights: [5, 1, 1] }), 3);
    const next = fleet(2, { weights: [1, 1], prefix: 'n' });
    expect(new Set(sequence(balancer, next, 4))).toEqual(new Set(['n0', 'n1']));
  });
});

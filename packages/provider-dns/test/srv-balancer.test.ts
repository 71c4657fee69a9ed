import { createInstance, type Instance } from '@disco/core';
import { describe, expect, it } from 'vitest';
import { PRIORITY_KEY, srvBalancer } from '../src/index.js';

const srv = (id: string, priority: number, weight: number): Instance =>
  createInstance({ id, name: 'web', address: '10.0.0.1', port: 80, weight, metadata: { [PRIORITY_KEY]: String(priority) } });

/** Every draw in [0, 1) on an even grid of n steps: exact shares, no sampling noise. */
function grid(n: number): () => number {
  let i = 0;
  return () => (i++ % n) / n;
}

function shares(instances: Instance[], draws: number): Map<string, number> {
  const balancer = srvBalancer({ random: grid(draws) });
  const counts = new Map<string, number>();
  for (let i = 0; i < draws; i++) {
    const id = balancer.pick(instances)!.id;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

describe('srvBalancer (RFC 2782 selection)', () => {
  it('gives each record of the lowest priority exactly weight/total of the draws', () => {
    const counts = shares([srv('a', 1, 3), srv('b', 1, 1), srv('c', 2, 100)], 400);
    expect(Object.fromEntries(counts)).toEqual({ a: 300, b: 100 });
  });

  it('never picks weight 0 beside weighted records, and picks evenly when the whole group weighs 0', () => {
    expect(Object.fromEntries(shares([srv('a', 0, 0), srv('b', 0, 5)], 100))).toEqual({ b: 100 });
    expect(Object.fromEntries(shares([srv('a', 0, 0), srv('b', 0, 0)], 100))).toEqual({ a: 50, b: 50 });
  });

  it('reads a missing priority as 0 and returns undefined for no instances', () => {
    const plain = createInstance({ id: 'p', name: 'web', address: '10.0.0.1', port: 80 });
    expect(srvBalancer().pick([plain, srv('x', 1, 9)])).toBe(plain);
    expect(srvBalancer().pick([])).toBeUndefined();
  });
});

// pick() is on the hot path: it must not allocate. Measured, not assumed: the heap must not grow
// over 200,000 warm picks, with no garbage collection in between (a collection would hide
// garbage). A deliberately allocating balancer proves the probe can see allocation.
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import { describe, expect, it } from 'vitest';
import {
  leastConnections, maglev, outlierDetection, p2c, peakEwma, random, ringHash, seededRandom, slowStart, weightedRoundRobin, zoneAware,
} from '@disco/balancers';
import { roundRobin, type Balancer, type Instance, type PickContext } from '@disco/core';
import { fleet } from './helpers.ts';

const picks = 200_000;
/** Less than a third of a byte per pick; the smallest allocation is 16 bytes. */
const limit = 64 * 1024;

interface Measure {
  /** Smallest heap growth over a trial without garbage collection, or undefined if every trial collected. */
  growth: number | undefined;
  collected: number;
}

async function measure(balancer: Balancer, instances: readonly Instance[], context?: PickContext): Promise<Measure> {
  const run = () => {
    for (let i = 0; i < picks; i++) balancer.pick(instances, context);
  };
  run(); // warm up: optimized code, per-snapshot tables built
  run();
  const collections: number[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) collections.push(entry.startTime);
  });
  observer.observe({ entryTypes: ['gc'] });
  let growth: number | undefined;
  let collected = 0;
  try {
    for (let trial = 0; trial < 5; trial++) {
      const start = performance.now();
      const before = getHeapStatistics().used_heap_size;
      run();
      const after = getHeapStatistics().used_heap_size;
      const end = performance.now();
      await new Promise((resolve) => setTimeout(resolve, 20)); // gc entries arrive asynchronously
      if (collections.some((at) => at >= start && at <= end)) {
        collected++;
        continue;
      }
      growth = Math.min(growth ?? Infinity, after - before);
    }
  } finally {
    observer.disconnect();
  }
  return { growth, collected };
}

function expectNoAllocation(result: Measure): void {
  expect(result.growth, `every trial was interrupted by a collection (${result.collected}): pick allocates`).toBeDefined();
  expect(result.growth!).toBeLessThan(limit);
}

describe('pick() does not allocate', () => {
  const instances = fleet(100, {
    weights: Array.from({ length: 100 }, (_, i) => 1 + (i % 3)),
    zones: Array.from({ length: 100 }, (_, i) => `z${i % 3}`),
  });

  const cases: [string, () => Balancer, PickContext?][] = [
    ['round_robin (core, reference)', roundRobin],
    ['random', () => random({ random: seededRandom(1) })],
    ['weighted_round_robin', () => weightedRoundRobin()],
    ['weighted_round_robin (heap schedule)', () => weightedRoundRobin({ maxWeightClasses: 1 })],
    ['least_connections', () => leastConnections({ random: seededRandom(1) })],
    ['p2c', () => p2c({ random: seededRandom(1) })],
    ['peak_ewma', () => peakEwma({ random: seededRandom(1) })],
    ['ring_hash', () => ringHash(), { key: 'user-42' }],
    ['maglev', () => maglev(), { key: 'user-42' }],
    ['zoneAware(p2c)', () => zoneAware(p2c(), { zone: 'z1' })],
    ['zoneAware by context.zone', () => zoneAware(roundRobin()), { zone: 'z2' }],
    ['slowStart(round_robin)', () => slowStart(roundRobin(), { random: seededRandom(1) })],
    ['outlierDetection(least_connections)', () => outlierDetection(leastConnections(), { consecutiveFailures: 1 })],
  ];

  for (const [name, make, context] of cases) {
    it(name, async () => {
      const balancer = make();
      // Give load-aware strategies and wrappers real state: calls in flight, latencies, an ejection, a ramp.
      balancer.pick(instances.slice(0, 99), context);
      balancer.pick(instances, context); // i99 joins: slowStart ramps it
      for (let i = 0; i < 100; i++) {
        balancer.onStart?.(instances[i % 99]!);
        if (i % 2 === 0) balancer.onEnd?.(instances[i % 99]!, { ok: i !== 10, latencyMs: 1 + (i % 7) });
      }
      expectNoAllocation(await measure(balancer, instances, context));
    });
  }

  it('the probe itself sees a balancer that allocates 16 bytes a pick', async () => {
    let kept: { list: readonly Instance[] } | undefined;
    const wasteful: Balancer = { name: 'wasteful', pick: (list) => (kept = { list }).list[0] };
    const result = await measure(wasteful, instances);
    expect(result.growth === undefined || result.growth >= limit).toBe(true);
    expect(kept).toBeDefined();
  });
});

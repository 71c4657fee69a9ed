import { describe, expect, it } from 'vitest';
import { outlierDetection, p2c, seededRandom } from '@disco/balancers';
import { roundRobin, type Balancer, type Instance } from '@disco/core';
import { fleet, manualClock, tally } from './helpers.ts';

function fail(balancer: Balancer, instance: Instance, times: number): void {
  for (let i = 0; i < times; i++) {
    balancer.onStart!(instance);
    balancer.onEnd!(instance, { ok: false, latencyMs: 1 });
  }
}

function succeed(balancer: Balancer, instance: Instance): void {
  balancer.onStart!(instance);
  balancer.onEnd!(instance, { ok: true, latencyMs: 1 });
}

describe('outlierDetection', () => {
  function setup(n = 10, options: Parameters<typeof outlierDetection>[1] = {}) {
    const clock = manualClock();
    const balancer = outlierDetection(roundRobin(), { now: clock.now, consecutiveFailures: 3, baseEjectionTime: '10s', ...options });
    const instances = fleet(n);
    balancer.pick(instances);
    return { clock, balancer, instances };
  }

  it('ejects an instance after consecutive failures, and only consecutive ones', () => {
    const { balancer, instances } = setup();
    fail(balancer, instances[2]!, 2);
    succeed(balancer, instances[2]!);
    fail(balancer, instances[2]!, 2);
    expect(tally(balancer, instances, 100).get('i2')).toBe(10);
    fail(balancer, instances[2]!, 1);
    expect(tally(balancer, instances, 90).get('i2')).toBe(0);
  });

  it('brings it back after base time × ejection count: 10s, then 20s', () => {
    const { clock, balancer, instances } = setup();
    fail(balancer, instances[2]!, 3);
    clock.advance(9_999);
    succeed(balancer, instances[0]!);
    expect(tally(balancer, instances, 90).get('i2')).toBe(0);
    clock.advance(1);
    succeed(balancer, instances[0]!); // a call event: the ejection has run out
    expect(tally(balancer, instances, 100).get('i2')).toBe(10);
    fail(balancer, instances[2]!, 3);
    clock.advance(19_999);
    succeed(balancer, instances[0]!);
    expect(tally(balancer, instances, 90).get('i2')).toBe(0);
    clock.advance(1);
    succeed(balancer, instances[0]!);
    expect(tally(balancer, instances, 100).get('i2')).toBe(10);
  });

  it('lets the ejection count decay while the instance behaves, and caps one ejection at maxEjectionTime', () => {
    const { clock, balancer, instances } = setup(10, { maxEjectionTime: '25s' });
    for (let k = 0; k < 3; k++) {
      fail(balancer, instances[2]!, 3);
      clock.advance(30_000);
      succeed(balancer, instances[0]!); // returns after 10s, 20s, then 25s (capped, not 30s)
      expect(tally(balancer, instances, 100).get('i2')).toBe(10);
      clock.advance(-30_000 + (k === 0 ? 10_000 : k === 1 ? 20_000 : 25_000));
    }
    // Long good behaviour: the count decays back to 0, so the next ejection is 10s again.
    clock.advance(1_000_000);
    fail(balancer, instances[2]!, 3);
    clock.advance(10_000);
    succeed(balancer, instances[0]!);
    expect(tally(balancer, instances, 100).get('i2')).toBe(10);
  });

  it('ejects at most maxEjectionPercent of the instances (at least one)', () => {
    const { balancer, instances } = setup(10, { maxEjectionPercent: 20 });
    for (const i of [1, 2, 3, 4]) fail(balancer, instances[i]!, 3);
    const counts = tally(balancer, instances, 800);
    expect(['i1', 'i2', 'i3', 'i4'].map((id) => counts.get(id))).toEqual([0, 0, 100, 100]);
    const small = setup(3, { maxEjectionPercent: 10 });
    fail(small.balancer, small.instances[0]!, 3);
    fail(small.balancer, small.instances[1]!, 3);
    expect(tally(small.balancer, small.instances, 60).get('i0')).toBe(0);
    expect(tally(small.balancer, small.instances, 60).get('i1')).toBe(30);
  });

  it('uses every instance when fewer than panicThreshold percent are usable', () => {
    const { balancer, instances } = setup(4, { maxEjectionPercent: 100, panicThreshold: 50 });
    fail(balancer, instances[0]!, 3);
    fail(balancer, instances[1]!, 3);
    // 2 of 4 usable = 50%: not panic.
    expect(tally(balancer, instances, 100).get('i0')).toBe(0);
    fail(balancer, instances[2]!, 3);
    // 1 of 4 = 25% < 50%: panic, all four used.
    const counts = tally(balancer, instances, 100);
    for (const count of counts.values()) expect(count).toBe(25);
  });

  it('leaves out unhealthy instances too and passes calls through to the inner strategy', () => {
    const clock = manualClock();
    const balancer = outlierDetection(p2c({ random: seededRandom(1) }), { now: clock.now });
    const instances = fleet(4, { healthy: [true, true, true, false] });
    expect(tally(balancer, instances, 400).get('i3')).toBe(0);
    for (let i = 0; i < 10; i++) balancer.onStart!(instances[0]!);
    expect(tally(balancer, instances, 400).get('i0')).toBe(0);
    expect(balancer.name).toBe('outlier_detection(p2c)');
  });

  it('forgets instances that leave', () => {
    const { clock, balancer, instances } = setup(10);
    fail(balancer, instances[2]!, 3);
    const without = instances.filter((i) => i.id !== 'i2');
    balancer.pick(without);
    balancer.pick(instances); // back at once, with no ejection
    clock.advance(1);
    expect(tally(balancer, instances, 100).get('i2')).toBe(10);
  });
});

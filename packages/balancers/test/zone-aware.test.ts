import { describe, expect, it } from 'vitest';
import { p2c, ringHash, seededRandom, zoneAware } from '@disco/balancers';
import { roundRobin } from '@disco/core';
import { fleet, tally } from './helpers.ts';

const zones = ['a', 'a', 'a', 'a', 'b', 'b', 'b', 'c'];

describe('zoneAware', () => {
  it("keeps every pick in the caller's zone (from options) while the zone is healthy", () => {
    const instances = fleet(8, { zones });
    const counts = tally(zoneAware(roundRobin(), { zone: 'b' }), instances, 300);
    expect([...counts].filter(([, c]) => c > 0).map(([id]) => id)).toEqual(['i4', 'i5', 'i6']);
    expect(counts.get('i4')).toBe(100);
  });

  it('lets context.zone override the configured zone per pick', () => {
    const instances = fleet(8, { zones });
    const balancer = zoneAware(roundRobin(), { zone: 'b' });
    expect(balancer.pick(instances, { zone: 'c' })!.id).toBe('i7');
    expect(balancer.pick(instances)!.zone).toBe('b');
  });

  it('spills over to the healthy instances of all zones when the local healthy share falls under the threshold', () => {
    // Zone a: 2 of 4 healthy (50%) < 70%: spill over.
    const instances = fleet(8, { zones, healthy: [true, true, false, false, true, true, true, true] });
    const counts = tally(zoneAware(roundRobin(), { zone: 'a' }), instances, 600);
    expect(counts.get('i2')).toBe(0);
    expect(counts.get('i3')).toBe(0);
    for (const id of ['i0', 'i1', 'i4', 'i5', 'i6', 'i7']) expect(counts.get(id)).toBe(100);
    // 3 of 4 healthy (75%) >= 70%: local again, only the healthy local ones.
    const better = fleet(8, { zones, healthy: [true, true, true, false, true, true, true, true] });
    const local = tally(zoneAware(roundRobin(), { zone: 'a' }), better, 300);
    expect([...local].filter(([, c]) => c > 0).map(([id]) => id)).toEqual(['i0', 'i1', 'i2']);
  });

  it('honours a custom threshold', () => {
    const instances = fleet(8, { zones, healthy: [true, false, false, false, true, true, true, true] });
    const strict = tally(zoneAware(roundRobin(), { zone: 'a', minHealthyShare: 0.2 }), instances, 100);
    expect(strict.get('i0')).toBe(100);
  });

  it('uses all zones for an unknown zone, no zone, or a zone with no instance left; every instance when none is healthy', () => {
    const instances = fleet(8, { zones });
    expect(tally(zoneAware(roundRobin(), { zone: 'z' }), instances, 80).get('i0')).toBe(10);
    expect(tally(zoneAware(roundRobin()), instances, 80).get('i7')).toBe(10);
    const sick = fleet(3, { zones: ['a', 'b', 'b'], healthy: [false, false, false] });
    expect(tally(zoneAware(roundRobin(), { zone: 'a' }), sick, 30).get('i0')).toBe(10);
    expect(zoneAware(roundRobin()).pick([])).toBeUndefined();
  });

  it('passes context to the inner strategy and calls through onStart/onEnd', () => {
    const instances = fleet(8, { zones });
    const balancer = zoneAware(ringHash(), { zone: 'a' });
    const first = balancer.pick(instances, { key: 'user-1' });
    expect(first!.zone).toBe('a');
    for (let i = 0; i < 20; i++) expect(balancer.pick(instances, { key: 'user-1' })).toBe(first);

    const counted = zoneAware(p2c({ random: seededRandom(1) }), { zone: 'b' });
    for (let i = 0; i < 5; i++) counted.onStart!(instances[4]!);
    expect(tally(counted, instances, 500).get('i4')).toBe(0);
    for (let i = 0; i < 5; i++) counted.onEnd!(instances[4]!, { ok: true });
    expect(tally(counted, instances, 500).get('i4')).toBeGreaterThan(0);
    expect(counted.name).toBe('zone_aware(p2c)');
  });
});

import { describe, expect, it } from 'vitest';
import { maglev, seededRandom, slowStart } from '@disco/balancers';
import { roundRobin } from '@disco/core';
import { fleet, manualClock, tally } from './helpers.ts';

describe('slowStart', () => {
  function setup(options: Parameters<typeof slowStart>[1] = {}) {
    const clock = manualClock(1_000);
    const balancer = slowStart(roundRobin(), { window: '10s', now: clock.now, random: seededRandom(1), ...options });
    const established = fleet(4);
    balancer.pick(established);
    const grown = [...established, ...fleet(1, { prefix: 'new' })];
    balancer.pick(grown); // new0 appears...
    balancer.onStart!(established[0]!); // ...and is stamped at the next call event
    return { clock, balancer, established, grown };
  }

  const share = (counts: Map<string, number>) => counts.get('new0')! / [...counts.values()].reduce((a, b) => a + b, 0);

  it('gives a joining instance minWeight of its share at first, ramping linearly to full over the window', () => {
    const { clock, balancer, grown } = setup();
    // Full share is 1/5 = 0.2; at first 10% of that.
    expect(share(tally(balancer, grown, 20_000))).toBeCloseTo(0.02 / (0.02 + 0.8), 2);
    clock.advance(5_000);
    balancer.onEnd!(grown[0]!, { ok: true });
    // Half way: factor 0.5 -> 0.5 / (0.5 + 4) of the picks.
    expect(share(tally(balancer, grown, 20_000))).toBeCloseTo(0.5 / 4.5, 2);
    clock.advance(5_000);
    balancer.onStart!(grown[0]!);
    expect(tally(balancer, grown, 500).get('new0')).toBe(100);
  });

  it('ramps faster early with a higher aggression', () => {
    const { clock, balancer, grown } = setup({ aggression: 2 });
    clock.advance(2_500);
    balancer.onStart!(grown[0]!);
    // (0.25)^(1/2) = 0.5.
    expect(share(tally(balancer, grown, 20_000))).toBeCloseTo(0.5 / 4.5, 2);
  });

  it('does not ramp the first snapshot, and ramps an instance that joined before any call from the first call on', () => {
    const clock = manualClock();
    const balancer = slowStart(roundRobin(), { window: '10s', now: clock.now, random: seededRandom(2) });
    const first = fleet(3);
    expect(tally(balancer, first, 300).get('i2')).toBe(100);
    const grown = [...first, ...fleet(1, { prefix: 'new' })];
    balancer.pick(grown);
    clock.advance(60_000);
    balancer.onStart!(grown[0]!); // stamps new0 now, not at time 0
    expect(share(tally(balancer, grown, 20_000))).toBeLessThan(0.05);
  });

  it('keeps hash affinity: a deterministic inner answer is kept even for a ramping instance', () => {
    const clock = manualClock();
    const balancer = slowStart(maglev(), { window: '10s', now: clock.now, random: seededRandom(3) });
    const first = fleet(3);
    balancer.pick(first, { key: 'x' });
    balancer.onStart!(first[0]!);
    const grown = [...first, ...fleet(1, { prefix: 'new' })];
    const keys = Array.from({ length: 400 }, (_, i) => `k${i}`);
    const plain = maglev();
    const owners = keys.map((key) => plain.pick(grown, { key })!.id);
    expect(keys.map((key) => balancer.pick(grown, { key })!.id)).toEqual(owners);
    expect(owners).toContain('new0');
  });

  it('forgets instances that leave: one that comes back later ramps again', () => {
    const { clock, balancer, established, grown } = setup();
    clock.advance(20_000);
    balancer.onStart!(grown[0]!);
    expect(tally(balancer, grown, 500).get('new0')).toBe(100);
    balancer.pick(established);
    balancer.pick(grown);
    expect(share(tally(balancer, grown, 20_000))).toBeLessThan(0.05);
  });
});

import { describe, expect, it } from 'vitest';
import { peakEwma, seededRandom } from '@disco/balancers';
import type { Balancer, Instance } from '@disco/core';
import { fleet, manualClock, tally } from './helpers.ts';

/** One finished call of `latencyMs` on `instance`. */
function call(balancer: Balancer, instance: Instance, latencyMs: number, ok = true): void {
  balancer.onStart!(instance);
  balancer.onEnd!(instance, { ok, latencyMs });
}

describe('peak_ewma', () => {
  it('avoids the slow instance: with 2 of 3 fast, the slow one is never chosen when idle', () => {
    const clock = manualClock();
    const balancer = peakEwma({ now: clock.now, random: seededRandom(1) });
    const instances = fleet(3);
    call(balancer, instances[0]!, 10);
    call(balancer, instances[1]!, 12);
    call(balancer, instances[2]!, 100);
    const counts = tally(balancer, instances, 3000);
    expect(counts.get('i2')).toBe(0);
    // p2c between the two fast ones: the faster wins every pair it is in.
    expect(counts.get('i0')!).toBeGreaterThan(counts.get('i1')!);
  });

  it('weighs latency by calls in flight + 1: a fast instance with many calls loses to a slower idle one', () => {
    const clock = manualClock();
    const balancer = peakEwma({ now: clock.now, random: seededRandom(2) });
    const [fast, slow] = fleet(2);
    call(balancer, fast!, 10);
    call(balancer, slow!, 30);
    expect(balancer.pick([fast!, slow!])).toBe(fast); // 10×1 < 30×1
    balancer.onStart!(fast!);
    balancer.onStart!(fast!);
    balancer.onStart!(fast!); // 10×4 = 40 > 30×1
    expect(balancer.pick([fast!, slow!])).toBe(slow);
  });

  it('takes a peak at once and forgets it gradually over the decay time', () => {
    const clock = manualClock();
    const balancer = peakEwma({ now: clock.now, decay: '1s', random: seededRandom(3) });
    const [a, b] = fleet(2);
    const pair = [a!, b!];
    call(balancer, a!, 20);
    call(balancer, b!, 20);
    clock.advance(10);
    call(balancer, a!, 200); // peak: a's estimate jumps to 200
    expect(balancer.pick(pair)).toBe(b);
    // Lower observations pull it back down: after several decay periods of 20ms calls it is near 20 again.
    for (let k = 0; k < 5; k++) {
      clock.advance(1000);
      call(balancer, a!, 20);
      call(balancer, b!, 25);
    }
    expect(balancer.pick(pair)).toBe(a);
  });

  it('fades an idle estimate so a once-slow instance is tried again', () => {
    const clock = manualClock();
    const balancer = peakEwma({ now: clock.now, decay: '1s', random: seededRandom(4) });
    const [a, b] = fleet(2);
    call(balancer, a!, 10);
    call(balancer, b!, 1000);
    expect(balancer.pick([a!, b!])).toBe(a);
    // Only a is used for 5 s: b's 1000 ms fades by e^-5 to ~7 ms, below a's fresh 10 ms.
    for (let k = 0; k < 50; k++) {
      clock.advance(100);
      call(balancer, a!, 10);
    }
    expect(balancer.pick([a!, b!])).toBe(b);
  });

  it('probes an instance without data once, then charges the penalty while that call is in flight', () => {
    const clock = manualClock();
    const balancer = peakEwma({ now: clock.now, penalty: 5000, random: seededRandom(5) });
    const [known, fresh] = fleet(2);
    call(balancer, known!, 50);
    expect(balancer.pick([known!, fresh!])).toBe(fresh); // no data, idle: cost 0
    balancer.onStart!(fresh!);
    expect(balancer.pick([known!, fresh!])).toBe(known); // no data, 1 in flight: 5000 + 1
    for (let k = 0; k < 50; k++) balancer.onStart!(known!); // 50 × 51 = 2550 < 5001
    expect(balancer.pick([known!, fresh!])).toBe(known);
    for (let k = 0; k < 50; k++) balancer.onStart!(known!); // 50 × 101 = 5050 > 5001
    expect(balancer.pick([known!, fresh!])).toBe(fresh);
  });

  it('ignores outcomes without a latency except for the in-flight count', () => {
    const clock = manualClock();
    const balancer = peakEwma({ now: clock.now, random: seededRandom(6) });
    const [a, b] = fleet(2);
    call(balancer, a!, 10);
    call(balancer, b!, 20);
    balancer.onStart!(a!);
    balancer.onEnd!(a!, { ok: true });
    expect(balancer.pick([a!, b!])).toBe(a);
  });

  it('rejects bad options with ERR_CONFIG naming the option', () => {
    expect(() => peakEwma({ decay: 'soon' })).toThrow(expect.objectContaining({ code: 'ERR_CONFIG', message: expect.stringContaining('peak_ewma.decay') }));
    expect(() => peakEwma({ penalty: -1 })).toThrow(/peak_ewma: option "penalty" must be a number at least 0/);
    expect(() => peakEwma({ decai: '1s' } as never)).toThrow(/unknown option "decai"; known options: decay, penalty, now, random/);
  });

  it('returns the only instance, or undefined when there is none', () => {
    const one: Instance[] = fleet(1);
    expect(peakEwma().pick(one)).toBe(one[0]);
    expect(peakEwma().pick([])).toBeUndefined();
  });
});

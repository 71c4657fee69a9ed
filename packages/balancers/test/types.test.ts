// Type-level contract of the public API, checked by `tsc` (pnpm typecheck); the runtime asserts
// are trivially true, the compiler is what fails.
import { describe, expectTypeOf, it } from 'vitest';
import type * as balancers from '@disco/balancers';
import {
  leastConnections, maglev, outlierDetection, p2c, peakEwma, random, ringHash, seededRandom, slowStart, weightedRoundRobin, zoneAware,
  type OutlierDetectionOptions, type PeakEwmaOptions, type RandomSource, type SlowStartOptions, type ZoneAwareOptions,
} from '@disco/balancers';
import type { Balancer, BalancerFactory, BalancerSpec, Duration } from '@disco/core';

describe('public types', () => {
  it('every strategy factory is a core BalancerFactory returning a Balancer', () => {
    for (const factory of [random, weightedRoundRobin, leastConnections, p2c, peakEwma, ringHash, maglev]) {
      expectTypeOf(factory).returns.toEqualTypeOf<Balancer>();
      expectTypeOf(factory).toMatchTypeOf<BalancerSpec>();
    }
    expectTypeOf(peakEwma).toMatchTypeOf<BalancerFactory>();
    expectTypeOf(() => zoneAware(p2c())).toMatchTypeOf<BalancerFactory>();
  });

  it('wrappers take a Balancer and options and return a Balancer', () => {
    expectTypeOf(zoneAware).parameters.toEqualTypeOf<[Balancer, ZoneAwareOptions?]>();
    expectTypeOf(slowStart).parameters.toEqualTypeOf<[Balancer, SlowStartOptions?]>();
    expectTypeOf(outlierDetection).parameters.toEqualTypeOf<[Balancer, OutlierDetectionOptions?]>();
    expectTypeOf(outlierDetection(zoneAware(slowStart(peakEwma())))).toEqualTypeOf<Balancer>();
  });

  it('options are typed: durations, numbers, clocks and random sources', () => {
    expectTypeOf<PeakEwmaOptions['decay']>().toEqualTypeOf<Duration | undefined>();
    expectTypeOf<PeakEwmaOptions['now']>().toEqualTypeOf<(() => number) | undefined>();
    expectTypeOf<SlowStartOptions['window']>().toEqualTypeOf<Duration | undefined>();
    expectTypeOf<OutlierDetectionOptions['maxEjectionPercent']>().toEqualTypeOf<number | undefined>();
    expectTypeOf<ZoneAwareOptions['zone']>().toEqualTypeOf<string | undefined>();
    expectTypeOf(seededRandom).returns.toEqualTypeOf<RandomSource>();
    expectTypeOf<RandomSource>().toEqualTypeOf<() => number>();
    // @ts-expect-error: a misspelt option is a compile error (and an ERR_CONFIG at run time)
    const misspelt = () => peakEwma({ decai: '1s' });
    // @ts-expect-error: ring_hash takes a number of replicas
    const wrongType = () => ringHash({ replicas: '100' });
    expectTypeOf(misspelt).returns.toEqualTypeOf<Balancer>();
    expectTypeOf(wrongType).returns.toEqualTypeOf<Balancer>();
  });

  it('exports factories only: nothing re-exported from core', () => {
    expectTypeOf<keyof typeof balancers>().toEqualTypeOf<
      'random' | 'weightedRoundRobin' | 'leastConnections' | 'p2c' | 'peakEwma' | 'ringHash' | 'maglev' | 'zoneAware' | 'slowStart' | 'outlierDetection' | 'seededRandom'
    >();
  });
});

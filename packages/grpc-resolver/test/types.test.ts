import type { Discovery, HealthProbe } from '@disco/core';
import { describe, expectTypeOf, it } from 'vitest';
import {
  createGrpcProbe,
  discoServiceConfig,
  grpcProbe,
  registerDiscoveryResolver,
  registerGrpcProbe,
  type DiscoPolicyOptions,
  type WatchSource,
} from '../src/index.ts';

describe('public types', () => {
  it('takes a Discovery (or anything with watch) and returns an unregister function', () => {
    expectTypeOf<Discovery>().toExtend<WatchSource>();
    expectTypeOf(registerDiscoveryResolver).parameter(0).toEqualTypeOf<WatchSource>();
    expectTypeOf(registerDiscoveryResolver).returns.toEqualTypeOf<() => void>();
  });

  it('probes are core HealthProbes', () => {
    expectTypeOf(grpcProbe).toEqualTypeOf<HealthProbe>();
    expectTypeOf(createGrpcProbe).returns.toEqualTypeOf<HealthProbe>();
    expectTypeOf(registerGrpcProbe).parameter(0).toEqualTypeOf<HealthProbe | undefined>();
  });

  it('builds the service config from the policy options', () => {
    expectTypeOf(discoServiceConfig).parameter(0).toEqualTypeOf<DiscoPolicyOptions | undefined>();
    expectTypeOf<DiscoPolicyOptions>().toEqualTypeOf<{ balancer?: string; options?: Record<string, unknown>; keyHeader?: string; zone?: string }>();
  });
});

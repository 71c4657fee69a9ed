import type { Discovery } from '@disco/core';
import type { Dispatcher, fetch } from 'undici';
import { describe, expectTypeOf, it } from 'vitest';
import { discoveryDispatcher, discoveryInterceptor, type CallResult, type DiscoveryDispatcherOptions, type DiscoveryInterceptor, type HostRule, type RetryEvent } from '../src/index.ts';

describe('public types', () => {
  it('the dispatcher is an undici Dispatcher, usable wherever fetch takes one', () => {
    expectTypeOf(discoveryDispatcher).parameter(0).toEqualTypeOf<Discovery>();
    expectTypeOf(discoveryDispatcher).returns.toExtend<Dispatcher>();
    expectTypeOf(discoveryDispatcher).returns.toExtend<NonNullable<NonNullable<Parameters<typeof fetch>[1]>['dispatcher']>>();
  });

  it('the interceptor composes, and can be closed', () => {
    expectTypeOf(discoveryInterceptor).returns.toEqualTypeOf<DiscoveryInterceptor>();
    expectTypeOf<DiscoveryInterceptor>().toExtend<Dispatcher.DispatcherComposeInterceptor>();
    expectTypeOf<DiscoveryInterceptor['close']>().returns.toEqualTypeOf<Promise<void>>();
    expectTypeOf(discoveryInterceptor).parameter(1).toEqualTypeOf<Omit<DiscoveryDispatcherOptions, 'fallback'> | undefined>();
  });

  it('options take rules, classifiers and listeners of these shapes', () => {
    expectTypeOf<DiscoveryDispatcherOptions['route']>().toEqualTypeOf<HostRule | undefined>();
    expectTypeOf<NonNullable<DiscoveryDispatcherOptions['isFailure']>>().toEqualTypeOf<(result: CallResult) => boolean>();
    expectTypeOf<NonNullable<DiscoveryDispatcherOptions['onRetry']>>().toEqualTypeOf<(event: RetryEvent) => void>();
    expectTypeOf<RetryEvent['result']>().toEqualTypeOf<CallResult>();
  });
});

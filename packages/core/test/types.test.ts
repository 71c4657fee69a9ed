// Type tests for the public API: `tsc` (the typecheck task) fails if these drift.
import {
  configFromEnv, createDiscovery, endpoint, registerBalancer, type Balancer, type Discovery, type DiscoveryConfig, type DiscoveryError, type Instance, type Lease,
  type InvalidRecordError, type PickContext, type Provider, type ProviderEvent, type Service, type ServiceHandle, type Unsubscribe, type WatchEvent,
} from '@disco/core';
import {
  attachFollow, type AttachedSink, type EngineHooks, type EngineOptions, type FollowEnd, type FollowSink, type RateLimiter, type ServiceSource, type Unhook, type WatchEngine,
} from '@disco/core/provider';
import { describe, expectTypeOf, it } from 'vitest';

describe('public types', () => {
  it('createDiscovery and configFromEnv agree', () => {
    expectTypeOf(createDiscovery).parameter(0).toEqualTypeOf<DiscoveryConfig | undefined>();
    expectTypeOf(configFromEnv).returns.toEqualTypeOf<DiscoveryConfig>();
    expectTypeOf(createDiscovery).returns.toEqualTypeOf<Discovery>();
  });

  it('Discovery methods', () => {
    const d = createDiscovery();
    expectTypeOf(d.discover).returns.toEqualTypeOf<Promise<readonly Instance[]>>();
    expectTypeOf(d.resolve).returns.toEqualTypeOf<Promise<Instance>>();
    expectTypeOf(d.watch).returns.toEqualTypeOf<Unsubscribe>();
    expectTypeOf(d.watch).parameter(1).parameter(0).toEqualTypeOf<WatchEvent>();
    expectTypeOf(d.updates('x')).toExtend<AsyncIterable<readonly Instance[]>>();
    expectTypeOf(d.service('x')).toEqualTypeOf<ServiceHandle>();
    expectTypeOf(d.register).parameter(0).toEqualTypeOf<Service>();
    expectTypeOf(d).toExtend<AsyncDisposable>();
    void d.close();
  });

  it('handles pick synchronously and lease for calls', () => {
    expectTypeOf<ServiceHandle['pick']>().returns.toEqualTypeOf<Instance | undefined>();
    expectTypeOf<ServiceHandle['pick']>().parameter(0).toEqualTypeOf<PickContext | undefined>();
    expectTypeOf<ServiceHandle['acquire']>().returns.toEqualTypeOf<Lease>();
    expectTypeOf<Lease>().toExtend<Disposable>();
    expectTypeOf<ServiceHandle['ready']>().toEqualTypeOf<Promise<void>>();
  });

  it('instances are read-only', () => {
    expectTypeOf<Instance['tags']>().toEqualTypeOf<readonly string[]>();
    const assign = (i: Instance) => {
      // @ts-expect-error instances are immutable
      i.port = 1;
    };
    void assign;
    expectTypeOf(endpoint).parameter(0).toExtend<Pick<Instance, 'address' | 'port'>>();
  });

  it('watch events are a snapshot or an error', () => {
    expectTypeOf<Extract<WatchEvent, { instances: unknown }>['instances']>().toEqualTypeOf<readonly Instance[]>();
    expectTypeOf<Extract<WatchEvent, { error: unknown }>['error']['code']>().toBeString();
  });

  it('plugins', () => {
    expectTypeOf(registerBalancer).parameter(1).returns.toEqualTypeOf<Balancer>();
    expectTypeOf<Provider['capabilities']['register']>().toEqualTypeOf<boolean>();
  });
});

describe('events and provider options', () => {
  it('provider events are a discriminated union', () => {
    const d = createDiscovery();
    d.on('provider', (event) => {
      if (event.type === 'invalid-record') expectTypeOf(event.error).toEqualTypeOf<InvalidRecordError>();
      if (event.type === 'resync') expectTypeOf(event.error).toEqualTypeOf<undefined>();
    });
    void d.close();
    expectTypeOf<ProviderEvent['type']>().toEqualTypeOf<
      'invalid-record' | 'lease-lost' | 'heartbeat-failed' | 'resync' | 'reconnected' | 'lease-restored' | 'reregistered' | 'acl-filtered' | 'watch-silent'
    >();
  });

  it('options of a provider package nobody imported are an open record until its package adds them to ProviderOptionsMap', () => {
    expectTypeOf<NonNullable<DiscoveryConfig['static']>>().toHaveProperty('instances');
    expectTypeOf<DiscoveryConfig>().toHaveProperty('providers');
  });
});

describe('the provider kit', () => {
  it('a source follows a stream of its own or attaches to a shared one; an unhook gets the sink back', () => {
    expectTypeOf<ServiceSource<number>['attach']>().toEqualTypeOf<((position: number, sink: AttachedSink<number>) => Unhook<number>) | undefined>();
    expectTypeOf<Unhook<number>>().parameter(0).toEqualTypeOf<AttachedSink<number>>();
    expectTypeOf<Unhook>().returns.toEqualTypeOf<void | Promise<void>>();
    expectTypeOf<AttachedSink<string>>().toMatchTypeOf<FollowSink<string>>();
    expectTypeOf<AttachedSink['end']>().parameter(0).toEqualTypeOf<FollowEnd | DiscoveryError>();
    expectTypeOf<AttachedSink['service']>().toEqualTypeOf<string>();
    expectTypeOf(attachFollow<number>).returns.toEqualTypeOf<() => Promise<void>>();
  });

  it('engines share one options object; hooks are told which service', () => {
    expectTypeOf<ConstructorParameters<typeof WatchEngine>>().toEqualTypeOf<[name: string, options: EngineOptions]>();
    expectTypeOf<EngineOptions['source']>().parameter(0).toEqualTypeOf<string>();
    expectTypeOf<EngineHooks['error']>().parameters.toEqualTypeOf<[error: DiscoveryError, service: string]>();
    expectTypeOf<RateLimiter['take']>().returns.toEqualTypeOf<Promise<void> | undefined>();
  });
});

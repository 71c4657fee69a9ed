import { configFromEnv, createDiscovery, environmentVariables } from '@disco/core';
import { describe, expect, it } from 'vitest';

describe('configFromEnv', () => {
  it('has the documented defaults', () => {
    const config = configFromEnv({});
    expect(config).toMatchObject({ provider: 'static', balancer: 'round_robin', cacheTtl: '10s', healthCheck: true, static: {} });
    expect(config.maxStale).toBeUndefined();
    expect(Object.keys(environmentVariables)).toEqual([
      'DISCOVERY_PROVIDER', 'DISCOVERY_SERVICE_NAME', 'DISCOVERY_BALANCER', 'DISCOVERY_CACHE_TTL', 'DISCOVERY_MAX_STALE',
      'DISCOVERY_HEALTH_CHECK', 'DISCOVERY_STATIC_INSTANCES', 'DISCOVERY_STATIC_FILE',
    ]);
  });

  it('reads every variable, and carries the environment to the provider', () => {
    const env = {
      DISCOVERY_PROVIDER: 'etcd', DISCOVERY_SERVICE_NAME: 'users', DISCOVERY_BALANCER: 'least_connections', DISCOVERY_CACHE_TTL: '2s',
      DISCOVERY_MAX_STALE: '5m', DISCOVERY_HEALTH_CHECK: 'false', ETCD_ENDPOINTS: 'a:2379',
    };
    const config = configFromEnv(env);
    expect(config).toMatchObject({ provider: 'etcd', serviceName: 'users', balancer: 'least_connections', cacheTtl: '2s', maxStale: '5m', healthCheck: false });
    expect(config.env).toBe(env);
    expect(configFromEnv({ DISCOVERY_STATIC_INSTANCES: 'a=1.2.3.4:80', DISCOVERY_STATIC_FILE: '/etc/disco.json' }).static).toEqual({ instances: 'a=1.2.3.4:80', file: '/etc/disco.json' });
  });

  // Each provider package reads its own variables; a bad one is ERR_CONFIG naming it when the provider loads.
  it.each([
    ['etcd', 'ETCD_ENDPOINTS', 'not an endpoint'],
    ['consul', 'CONSUL_HTTP_ADDR', 'ftp://consul'],
    ['dns', 'DNS_PORT', '99999'],
  ])('provider %s: bad %s reaches the caller as ERR_CONFIG', async (provider, variable, value) => {
    const discovery = createDiscovery(configFromEnv({ DISCOVERY_PROVIDER: provider, [variable]: value }));
    await expect(discovery.discover('users')).rejects.toMatchObject({ code: 'ERR_CONFIG', variable });
    await discovery.close();
  });

  it.each([
    ['DISCOVERY_PROVIDER', 'zookeeper'],
    ['DISCOVERY_BALANCER', 'Round Robin'],
    ['DISCOVERY_CACHE_TTL', 'ten seconds'],
    ['DISCOVERY_MAX_STALE', '-1s'],
    ['DISCOVERY_HEALTH_CHECK', 'maybe'],
    ['DISCOVERY_SERVICE_NAME', 'a/b'],
  ])('%s=%j is ERR_CONFIG naming the variable and the value', (variable, value) => {
    expect(() => configFromEnv({ [variable]: value })).toThrow(expect.objectContaining({ code: 'ERR_CONFIG', variable, message: expect.stringContaining(`${variable}=${JSON.stringify(value)}`) }));
  });

  it('bad configuration objects are ERR_CONFIG too', () => {
    expect(() => createDiscovery({ cacheTtl: 'soon' })).toThrow(expect.objectContaining({ code: 'ERR_CONFIG', variable: 'cacheTtl' }));
    expect(() => createDiscovery({ provider: {} as never })).toThrow(expect.objectContaining({ code: 'ERR_CONFIG' }));
  });

  it('an unknown provider name fails on first use with ERR_CONFIG', async () => {
    await expect(createDiscovery({ provider: 'zookeeper' as never }).discover('x')).rejects.toMatchObject({ code: 'ERR_CONFIG' });
  });
});

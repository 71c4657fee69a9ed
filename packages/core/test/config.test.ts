import { configFromEnv, createDiscovery, environmentVariables } from '@disco/core';
import { describe, expect, it } from 'vitest';

describe('configFromEnv', () => {
  it('has the documented defaults', () => {
    expect(configFromEnv({})).toMatchObject({ provider: 'static', balancer: 'round_robin', cacheTtl: '10s', healthCheck: true });
    expect(configFromEnv({ DISCOVERY_PROVIDER: 'etcd' }).etcd).toEqual({ endpoints: ['localhost:2379'], prefix: '/services/' });
    expect(configFromEnv({ DISCOVERY_PROVIDER: 'consul' }).consul).toEqual({ address: 'localhost:8500' });
    expect(configFromEnv({ DISCOVERY_PROVIDER: 'kubernetes' }).kubernetes).toEqual({ namespace: 'default', inCluster: false });
    expect(configFromEnv({ DISCOVERY_PROVIDER: 'dns' }).dns).toEqual({ port: 53, domain: 'service.consul', refreshTtl: '30s' });
  });

  it('reads every variable', () => {
    const env = {
      DISCOVERY_PROVIDER: 'etcd', DISCOVERY_SERVICE_NAME: 'users', DISCOVERY_BALANCER: 'least_connections', DISCOVERY_CACHE_TTL: '2s',
      DISCOVERY_MAX_STALE: '5m', DISCOVERY_HEALTH_CHECK: 'false', ETCD_ENDPOINTS: 'a:2379, b:2379', ETCD_DISCOVERY_PREFIX: '/disco/',
      ETCD_USERNAME: 'root', ETCD_PASSWORD: 'hunter22',
    };
    expect(configFromEnv(env)).toMatchObject({
      provider: 'etcd', serviceName: 'users', balancer: 'least_connections', cacheTtl: '2s', maxStale: '5m', healthCheck: false,
      etcd: { endpoints: ['a:2379', 'b:2379'], prefix: '/disco/', username: 'root', password: 'hunter22' },
    });
    expect(configFromEnv({ DISCOVERY_PROVIDER: 'consul', CONSUL_HTTP_ADDR: 'https://c:8501', CONSUL_HTTP_TOKEN: 't', CONSUL_DATACENTER: 'dc2', CONSUL_NAMESPACE: 'ns' }).consul)
      .toEqual({ address: 'https://c:8501', token: 't', datacenter: 'dc2', namespace: 'ns' });
    expect(configFromEnv({ DISCOVERY_PROVIDER: 'k8s', K8S_NAMESPACE: 'prod', K8S_LABEL_SELECTOR: 'app=x', K8S_IN_CLUSTER: 'true' }).kubernetes)
      .toEqual({ namespace: 'prod', labelSelector: 'app=x', inCluster: true });
    expect(configFromEnv({ DISCOVERY_PROVIDER: 'dns', DNS_SERVER: '127.0.0.1:8600,10.0.0.2', DNS_PORT: '5353', DNS_DOMAIN: 'consul', DNS_REFRESH_TTL: '5s' }).dns)
      .toEqual({ servers: ['127.0.0.1:8600', '10.0.0.2'], port: 5353, domain: 'consul', refreshTtl: '5s' });
    expect(Object.keys(environmentVariables)).toHaveLength(23);
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

  it.each([
    ['DNS_PORT', '99999', 'dns'],
    ['ETCD_DISCOVERY_PREFIX', 'services', 'etcd'],
    ['K8S_IN_CLUSTER', 'perhaps', 'kubernetes'],
    ['DNS_REFRESH_TTL', '30 s', 'dns'],
  ])('provider variable %s=%j is ERR_CONFIG', (variable, value, provider) => {
    expect(() => configFromEnv({ DISCOVERY_PROVIDER: provider, [variable]: value })).toThrow(expect.objectContaining({ code: 'ERR_CONFIG', variable }));
  });

  it('never repeats a secret in an error', () => {
    // A secret cannot be malformed in the variables we read, so check the message builder itself through a bad provider.
    const error = (() => {
      try {
        configFromEnv({ DISCOVERY_PROVIDER: 'etcd', ETCD_PASSWORD: 'sup3r-secret', ETCD_DISCOVERY_PREFIX: 'x' });
      } catch (e) {
        return e as Error;
      }
    })();
    expect(error?.message).not.toContain('sup3r-secret');
  });

  it('bad configuration objects are ERR_CONFIG too', () => {
    expect(() => createDiscovery({ cacheTtl: 'soon' })).toThrow(expect.objectContaining({ code: 'ERR_CONFIG', variable: 'cacheTtl' }));
    expect(() => createDiscovery({ provider: {} as never })).toThrow(expect.objectContaining({ code: 'ERR_CONFIG' }));
  });

  it('an unknown provider name fails on first use with ERR_CONFIG', async () => {
    await expect(createDiscovery({ provider: 'zookeeper' as never }).discover('x')).rejects.toMatchObject({ code: 'ERR_CONFIG' });
  });
});

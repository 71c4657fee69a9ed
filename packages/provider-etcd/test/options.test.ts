import { describe, expect, it } from 'vitest';
import { isDiscoveryError, silentLogger } from '@disco/core';
import { createProvider, etcdProvider, optionsFromEnv } from '../src/index.ts';
import { resolveOptions } from '../src/options.ts';

function configError(fn: () => unknown): Error & { variable?: string } {
  try {
    fn();
  } catch (error) {
    expect(isDiscoveryError(error, 'ERR_CONFIG')).toBe(true);
    return error as Error & { variable?: string };
  }
  throw new Error('expected an ERR_CONFIG');
}

describe('options', () => {
  it('reads every ETCD_* variable', () => {
    expect(
      optionsFromEnv({
        ETCD_ENDPOINTS: 'a:2379, https://b:2380',
        ETCD_DISCOVERY_PREFIX: '/disco/',
        ETCD_USERNAME: 'svc',
        ETCD_PASSWORD: 'pw',
        ETCD_CACERT: '/ca.pem',
        ETCD_CERT: '/c.pem',
        ETCD_KEY: '/k.pem',
      }),
    ).toEqual({ endpoints: ['a:2379', 'https://b:2380'], prefix: '/disco/', username: 'svc', password: 'pw', tls: { ca: '/ca.pem', cert: '/c.pem', key: '/k.pem' } });
    expect(optionsFromEnv({})).toEqual({});
  });

  it('normalises endpoints and applies defaults', () => {
    const r = resolveOptions({ endpoints: '10.0.0.1:2379,localhost' });
    expect(r.hosts).toEqual(['http://10.0.0.1:2379', 'http://localhost:2379']);
    expect(r.prefix).toBe('/services/');
    expect(r.ttlSeconds).toBe(15);
    expect(r.layout).toBe('disco');
    expect(resolveOptions({}).hosts).toEqual(['http://localhost:2379']);
    expect(resolveOptions({ ttl: '2500ms' }).ttlSeconds).toBe(3);
  });

  it('names the variable and the value that is wrong', () => {
    expect(configError(() => resolveOptions({ endpoints: ['ftp://x:1'] })).message).toContain('"ftp://x:1"');
    expect(configError(() => resolveOptions({ endpoints: 'a:1,https://b:2' })).variable).toBe('ETCD_ENDPOINTS');
    expect(configError(() => resolveOptions({ endpoints: [] })).variable).toBe('ETCD_ENDPOINTS');
    expect(configError(() => resolveOptions({ password: 'x' })).variable).toBe('ETCD_USERNAME');
    expect(configError(() => resolveOptions({ username: 'u' })).variable).toBe('ETCD_PASSWORD');
    expect(configError(() => resolveOptions({ tls: { ca: '/nonexistent/ca.pem' } })).message).toMatch(/ETCD_CACERT.*cannot be read \(ENOENT\)/);
    expect(configError(() => resolveOptions({ tls: { ca: Buffer.from('x'), cert: Buffer.from('y') } })).variable).toBe('ETCD_KEY');
    expect(configError(() => resolveOptions({ tls: { cert: Buffer.from('y'), key: Buffer.from('z') } })).variable).toBe('ETCD_CACERT');
    expect(configError(() => resolveOptions({ ttl: '500ms' })).message).toMatch(/at least 1s/);
    expect(configError(() => resolveOptions({ ttl: 'soon' })).message).toContain('"soon"');
    expect(configError(() => resolveOptions({ layout: 'zk' as 'disco' })).message).toContain('"zk"');
  });

  it('makes endpoints https when TLS is configured', () => {
    const r = resolveOptions({ endpoints: '127.0.0.1:2379', tls: { ca: Buffer.from('pem') } });
    expect(r.hosts).toEqual(['https://127.0.0.1:2379']);
    expect(r.credentials?.rootCertificate.toString()).toBe('pem');
  });

  it('a password never shows up in a configuration error', () => {
    const secret = 'hunter2-secret';
    const error = configError(() => resolveOptions({ username: '', password: secret }));
    expect(error.message).not.toContain(secret);
  });

  it('createProvider lets options given as an object win over the environment', async () => {
    const provider = createProvider({ prefix: '/mine/', endpoints: undefined }, { env: { ETCD_DISCOVERY_PREFIX: '/env/', ETCD_ENDPOINTS: '127.0.0.1:1' }, logger: silentLogger });
    expect(provider.prefix).toBe('/mine/');
    await provider.close();
    const fromEnv = createProvider({}, { env: { ETCD_DISCOVERY_PREFIX: '/env/' }, logger: silentLogger });
    expect(fromEnv.prefix).toBe('/env/');
    await fromEnv.close();
    expect(() => createProvider('nope', { env: {}, logger: silentLogger })).toThrow(/must be an object/);
  });

  it('etcdProvider declares what it can do', async () => {
    const provider = etcdProvider({ endpoints: '127.0.0.1:1' });
    expect(provider.name).toBe('etcd');
    expect(provider.capabilities).toEqual({ register: true, watch: true, serverHealthChecks: false });
    await provider.close();
    await expect(provider.discover('x')).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    await expect(provider.register({ id: 'a', name: 'x', address: '127.0.0.1', port: 1 })).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    await expect(provider.deregister('a')).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    expect(() => provider.watch('x', () => {})).toThrow(/closed/);
  });
});

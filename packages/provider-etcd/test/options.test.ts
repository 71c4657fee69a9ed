import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDiscoveryError, silentLogger } from '@disco/core';
import { makeTempDir, makeTestCertificates, removeDir, type TestCertificates } from '@disco/testing';
import { createProvider, etcdProvider, optionsFromEnv, optionVariables } from '../src/index.ts';
import { mergeWithEnv, resolveOptions } from '../src/options.ts';

let certs: TestCertificates;
let dir: string;
beforeAll(async () => {
  certs = await makeTestCertificates();
  dir = makeTempDir('etcd-options');
});
afterAll(() => {
  certs?.remove();
  if (dir) removeDir(dir);
});

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
    const pem = readFileSync(certs.ca);
    const r = resolveOptions({ endpoints: '127.0.0.1:2379', tls: { ca: pem } });
    expect(r.hosts).toEqual(['https://127.0.0.1:2379']);
    expect(r.credentials?.rootCertificate.equals(pem)).toBe(true);
  });

  it('a TLS string is PEM text when it holds "-----BEGIN", else a file path (the same in every provider)', () => {
    const ca = readFileSync(certs.ca, 'utf8');
    expect(resolveOptions({ tls: { ca } }).credentials?.rootCertificate.toString()).toBe(ca);
    expect(resolveOptions({ tls: { ca: certs.ca } }).credentials?.rootCertificate.toString()).toBe(ca);
    const both = resolveOptions({ tls: { ca, cert: readFileSync(certs.clientCert, 'utf8'), key: certs.clientKey } }).credentials!;
    expect(both.certChain?.toString()).toContain('-----BEGIN CERTIFICATE');
    expect(both.privateKey?.toString()).toContain('PRIVATE KEY');
  });

  it('a TLS file that is not PEM is ERR_CONFIG naming its variable, not a raw OpenSSL error', () => {
    const notPem = join(dir, 'not-pem.txt');
    writeFileSync(notPem, 'hello, I am not a certificate\n');
    const garbled = join(dir, 'garbled.pem');
    writeFileSync(garbled, '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n');
    for (const [variable, env] of [
      ['ETCD_CACERT', { ETCD_CACERT: notPem }],
      ['ETCD_CACERT', { ETCD_CACERT: garbled }],
      ['ETCD_CERT', { ETCD_CACERT: certs.ca, ETCD_CERT: notPem, ETCD_KEY: certs.clientKey }],
      ['ETCD_KEY', { ETCD_CACERT: certs.ca, ETCD_CERT: certs.clientCert, ETCD_KEY: garbled }],
      ['ETCD_KEY', { ETCD_CACERT: certs.ca, ETCD_CERT: certs.clientCert, ETCD_KEY: certs.clientCert }],
    ] as const) {
      const error = configError(() => etcdProvider({ endpoints: '127.0.0.1:1' }, { env }));
      expect(error.variable).toBe(variable);
      expect(error.message).toContain(variable);
    }
    expect(configError(() => resolveOptions({ tls: { ca: Buffer.from('x') } })).variable).toBe('ETCD_CACERT');
  });

  it('insecureSkipVerify: false is accepted; true is refused, since the etcd3 client cannot skip verification', () => {
    expect(resolveOptions({ tls: { ca: certs.ca, insecureSkipVerify: false } }).credentials).toBeDefined();
    expect(configError(() => etcdProvider({}, { env: { ETCD_INSECURE_SKIP_TLS_VERIFY: 'true' } })).variable).toBe('ETCD_INSECURE_SKIP_TLS_VERIFY');
    expect(configError(() => optionsFromEnv({ ETCD_INSECURE_SKIP_TLS_VERIFY: 'maybe' })).message).toContain('"maybe"');
  });

  it('a password never shows up in a configuration error', () => {
    const secret = 'hunter2-secret';
    const error = configError(() => resolveOptions({ username: '', password: secret }));
    expect(error.message).not.toContain(secret);
  });

  it('every option that is not an object has a variable, read by optionsFromEnv', () => {
    const env: Record<string, string> = {
      ETCD_ENDPOINTS: 'a:1',
      ETCD_DISCOVERY_PREFIX: '/p/',
      ETCD_USERNAME: 'u',
      ETCD_PASSWORD: 'p',
      ETCD_CACERT: '/ca',
      ETCD_CERT: '/c',
      ETCD_KEY: '/k',
      ETCD_INSECURE_SKIP_TLS_VERIFY: 'false',
      ETCD_LEASE_TTL: '7s',
      ETCD_LAYOUT: 'go-grpc',
      ETCD_RESYNC_INTERVAL: '1m',
      ETCD_REQUEST_TIMEOUT: '2s',
      ETCD_BACKOFF_INITIAL: '50ms',
      ETCD_BACKOFF_MAX: '3s',
      ETCD_BACKOFF_FACTOR: '3',
      ETCD_PREFIX_MODE: 'always',
      ETCD_PREFIX_MODE_THRESHOLD: '20',
      ETCD_REQUIRE_LEADER: 'false',
      ETCD_MEMBER_CHECK_INTERVAL: '500ms',
    };
    expect(Object.values(optionVariables).sort()).toEqual(Object.keys(env).sort());
    const read = optionsFromEnv(env) as Record<string, unknown>;
    for (const option of Object.keys(optionVariables)) {
      const value = option.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], read);
      expect(value, option).toBeDefined();
    }
    expect(read).toMatchObject({ ttl: '7s', layout: 'go-grpc', resyncInterval: '1m', requestTimeout: '2s', backoff: { initial: '50ms', max: '3s', factor: 3 } });
    const resolved = resolveOptions(optionsFromEnv({ ETCD_LEASE_TTL: '7s', ETCD_LAYOUT: 'go-grpc', ETCD_RESYNC_INTERVAL: '0', ETCD_REQUEST_TIMEOUT: '2s', ETCD_BACKOFF_MAX: '3s' }));
    expect(resolved).toMatchObject({ ttlSeconds: 7, layout: 'go-grpc', resyncMs: 0, requestTimeoutMs: 2_000, backoff: { initial: 100, max: 3_000 } });
    expect(resolveOptions(optionsFromEnv({ ETCD_PREFIX_MODE: 'always', ETCD_PREFIX_MODE_THRESHOLD: '20', ETCD_REQUIRE_LEADER: 'false', ETCD_MEMBER_CHECK_INTERVAL: '500ms' }))).toMatchObject({ prefixMode: 'always', prefixModeThreshold: 20, requireLeader: false, memberCheckMs: 500 });
    expect(resolveOptions({})).toMatchObject({ prefixMode: 'auto', prefixModeThreshold: 50, requireLeader: true, memberCheckMs: 1_000 });
  });

  it('the README documents every variable', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    for (const variable of Object.values(optionVariables)) expect(readme, variable).toContain(`\`${variable}\``);
  });

  it('a wrong variable is ERR_CONFIG naming the variable and the value', () => {
    for (const [variable, value] of [
      ['ETCD_LEASE_TTL', 'soon'],
      ['ETCD_LEASE_TTL', '500ms'],
      ['ETCD_LAYOUT', 'zk'],
      ['ETCD_RESYNC_INTERVAL', '-1s'],
      ['ETCD_REQUEST_TIMEOUT', '1000h'],
      ['ETCD_BACKOFF_MAX', 'x'],
      ['ETCD_BACKOFF_FACTOR', '0.5'],
      ['ETCD_PREFIX_MODE', 'sometimes'],
      ['ETCD_PREFIX_MODE_THRESHOLD', '0'],
      ['ETCD_PREFIX_MODE_THRESHOLD', '2.5'],
      ['ETCD_REQUIRE_LEADER', 'perhaps'],
      ['ETCD_MEMBER_CHECK_INTERVAL', 'often'],
    ] as const) {
      const error = configError(() => etcdProvider({}, { env: { [variable]: value } }));
      expect(error.variable, `${variable}=${value}`).toBe(variable);
      expect(error.message, `${variable}=${value}`).toContain(JSON.stringify(value));
    }
  });

  it('etcdProvider() reads ETCD_* from process.env, like createProvider (it used to connect to localhost:2379)', async () => {
    const saved = { ...process.env };
    process.env.ETCD_ENDPOINTS = '10.9.8.7:2400';
    process.env.ETCD_DISCOVERY_PREFIX = '/from-env/';
    process.env.ETCD_LEASE_TTL = '9s';
    try {
      const merged = mergeWithEnv({}, process.env);
      expect(resolveOptions(merged)).toMatchObject({ hosts: ['http://10.9.8.7:2400'], ttlSeconds: 9 });
      const provider = etcdProvider();
      expect(provider.prefix).toBe('/from-env/');
      await provider.close();
    } finally {
      for (const key of ['ETCD_ENDPOINTS', 'ETCD_DISCOVERY_PREFIX', 'ETCD_LEASE_TTL']) {
        if (saved[key] === undefined) delete process.env[key];
        else process.env[key] = saved[key];
      }
    }
  });

  it('a defined option overrides its variable; an explicit undefined does not hide it (tls and backoff field by field)', () => {
    const env = { ETCD_DISCOVERY_PREFIX: '/env/', ETCD_LEASE_TTL: '9s', ETCD_CACERT: certs.ca, ETCD_BACKOFF_MAX: '3s' };
    expect(mergeWithEnv({ prefix: undefined, ttl: '4s', tls: { ca: undefined }, backoff: { initial: 5 } }, env)).toMatchObject({
      prefix: '/env/',
      ttl: '4s',
      tls: { ca: certs.ca },
      backoff: { initial: 5, max: '3s' },
    });
  });

  it('an unknown option key is ERR_CONFIG naming it and the nearest known key (it used to fall back to localhost)', () => {
    const error = configError(() => etcdProvider({ endpoint: ['10.0.0.1:2379'] } as never, { env: {} }));
    expect(error.variable).toBe('etcd.endpoint');
    expect(error.message).toContain('did you mean "endpoints"?');
    expect(configError(() => createProvider({ ttll: 1 }, { env: {}, logger: silentLogger })).message).toContain('did you mean "ttl"?');
    expect(configError(() => etcdProvider({ tls: { cacert: 'x' } } as never, { env: {} })).variable).toBe('etcd.tls.cacert');
    expect(configError(() => etcdProvider({ backoff: { maximum: 1 } } as never, { env: {} })).message).toContain('did you mean "max"?');
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

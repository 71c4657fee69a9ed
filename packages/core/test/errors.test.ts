import {
  AbortedError, ClosedError, ConfigError, createDiscovery, DiscoveryError, InvalidRecordError, InvalidServiceError, isDiscoveryError,
  NoInstancesError, ProviderNotInstalledError, ProviderUnavailableError, staticProvider, TimeoutError, UnsupportedError, type DiscoveryErrorCode, type Provider,
} from '@disco/core';
import { describe, expect, expectTypeOf, it, vi } from 'vitest';

const cases: [DiscoveryErrorCode, DiscoveryError][] = [
  ['ERR_INVALID_SERVICE', new InvalidServiceError(['port must be an integer from 1 to 65535; got 0'])],
  ['ERR_INVALID_RECORD', new InvalidRecordError('/services/users/u1', 'not JSON')],
  ['ERR_CONFIG', new ConfigError('DNS_PORT="x" is not valid', 'DNS_PORT')],
  ['ERR_NO_INSTANCES', new NoInstancesError('users')],
  ['ERR_PROVIDER_UNAVAILABLE', new ProviderUnavailableError('etcd', 'connection refused')],
  ['ERR_PROVIDER_NOT_INSTALLED', new ProviderNotInstalledError('provider "etcd"', '@disco/provider-etcd', ['etcd3'])],
  ['ERR_UNSUPPORTED', new UnsupportedError('DNS cannot register services')],
  ['ERR_CLOSED', new ClosedError()],
  ['ERR_TIMEOUT', new TimeoutError('deregister', 5000)],
  ['ERR_ABORTED', new AbortedError('discover')],
];

describe('error classes', () => {
  it.each(cases)('%s: one class, one literal code, a DiscoveryError and an Error', (code, error) => {
    expect(error.code).toBe(code);
    expect(error).toBeInstanceOf(DiscoveryError);
    expect(error).toBeInstanceOf(Error);
    expect(isDiscoveryError(error, code)).toBe(true);
    expect(error.message.length).toBeGreaterThan(10);
    expect(error.name).not.toBe('Error');
  });

  it('isDiscoveryError recognises errors from another copy of the package and rejects look-alikes', () => {
    const foreign = Object.assign(new Error('x'), { code: 'ERR_CLOSED', [Symbol.for('disco.DiscoveryError')]: true });
    expect(isDiscoveryError(foreign, 'ERR_CLOSED')).toBe(true);
    expect(isDiscoveryError(Object.assign(new Error('x'), { code: 'ERR_CLOSED' }))).toBe(false);
    expect(isDiscoveryError(new ClosedError(), 'ERR_TIMEOUT')).toBe(false);
  });

  it('codes narrow the type', () => {
    const error: unknown = new NoInstancesError('users');
    if (isDiscoveryError(error, 'ERR_NO_INSTANCES')) expectTypeOf(error.code).toEqualTypeOf<'ERR_NO_INSTANCES'>();
    expectTypeOf(new InvalidServiceError([]).problems).toEqualTypeOf<readonly string[]>();
  });
});

describe('errors the API produces', () => {
  it('ERR_TIMEOUT: close() gives up deregistering after closeTimeout and says so', async () => {
    const inner = staticProvider();
    const hanging: Provider = { ...bind(inner), deregister: () => new Promise(() => {}) };
    const d = createDiscovery({ provider: hanging, closeTimeout: 50 });
    const codes: string[] = [];
    d.on('error', (e) => codes.push(e.error.code));
    await d.register({ id: 'a', name: 'api', address: '127.0.0.1', port: 80 });
    const started = performance.now();
    await d.close();
    expect(performance.now() - started).toBeLessThan(1000);
    expect(codes).toEqual(['ERR_TIMEOUT']);
  });

  it('ERR_UNSUPPORTED from a read-only provider reaches the caller unchanged', async () => {
    const inner = staticProvider();
    const readOnly: Provider = { ...bind(inner), capabilities: { register: false, watch: true, serverHealthChecks: false }, register: () => Promise.reject(new UnsupportedError('this backend cannot register: use its own tooling')) };
    const d = createDiscovery({ provider: readOnly });
    await expect(d.register({ id: 'a', name: 'api', address: '127.0.0.1', port: 80 })).rejects.toBeInstanceOf(UnsupportedError);
    await d.close();
  });

  it('ERR_ABORTED: an aborted discover, watch or register', async () => {
    const d = createDiscovery();
    const signal = AbortSignal.abort();
    await expect(d.discover('api', { signal })).rejects.toMatchObject({ code: 'ERR_ABORTED' });
    await expect(d.register({ id: 'a', name: 'api', address: '127.0.0.1', port: 80 }, { signal })).rejects.toMatchObject({ code: 'ERR_ABORTED' });
    expect(() => d.watch('api', () => {}, { signal })).toThrow(expect.objectContaining({ code: 'ERR_ABORTED' }));
    await d.close();
  });
});

function bind(p: Provider): Provider {
  return {
    name: p.name, capabilities: p.capabilities, register: p.register.bind(p), deregister: p.deregister.bind(p),
    discover: p.discover.bind(p), watch: p.watch.bind(p), close: p.close.bind(p),
  };
}

describe('one error model', () => {
  it('says whether retrying can help: transient failures yes, mistakes no, and a provider may say otherwise', () => {
    const retryable = cases.filter(([, e]) => e.retryable).map(([code]) => code);
    expect(retryable).toEqual(['ERR_NO_INSTANCES', 'ERR_PROVIDER_UNAVAILABLE', 'ERR_TIMEOUT']);
    expect(new ConfigError('400 Bad Request: bad wait', 'consul.wait').retryable).toBe(false);
    expect(new ProviderUnavailableError('consul', 'a 400 the server will repeat', { retryable: false }).retryable).toBe(false);
  });

  it('instanceof holds across two installed copies of @disco/core, class by class', async () => {
    // A second copy: the same file evaluated again as another module (what two node_modules copies are).
    vi.resetModules();
    const copy = await import('../src/errors.js');
    expect(copy.DiscoveryError).not.toBe(DiscoveryError);
    const theirs = new copy.NoInstancesError('users');
    expect(theirs).toBeInstanceOf(DiscoveryError);
    expect(theirs).toBeInstanceOf(NoInstancesError);
    expect(theirs).not.toBeInstanceOf(ConfigError);
    expect(new ClosedError()).toBeInstanceOf(copy.DiscoveryError);
    expect(new ClosedError()).toBeInstanceOf(copy.ClosedError);
    expect(new ClosedError()).not.toBeInstanceOf(copy.TimeoutError);
    expect(new Error('plain')).not.toBeInstanceOf(copy.DiscoveryError);
    expect(theirs.retryable).toBe(true);
  });
});

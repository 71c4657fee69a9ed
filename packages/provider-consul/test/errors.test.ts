// One classification of Consul's answers (errors.ts), the same for one-shot calls and watches:
// 401/403 → ERR_CONFIG naming CONSUL_HTTP_TOKEN and the permission; 400 → ERR_CONFIG;
// 429/5xx/network → ERR_PROVIDER_UNAVAILABLE, retryable; timeouts → ERR_TIMEOUT.
import { ConfigError, isDiscoveryError } from '@disco/core';
import { waitFor } from '@disco/testing';
import { describe, expect, it } from 'vitest';
import { Recorder, consulFixture } from './helpers.js';

const consul = consulFixture({ provider: { wait: '2s', retries: 2, backoff: { initial: '20ms', max: '50ms' } } });
const token = 'feedface-0000-4000-8000-00000000cafe';

describe('authentication and permission failures are ERR_CONFIG naming CONSUL_HTTP_TOKEN', () => {
  it('a refused read says which permission it needed, and is not retried', async () => {
    const { double, provider } = await consul.start({ double: { acl: { tokens: { [token]: 'read' } } }, provider: { token: 'unknown-token-1234' } });
    const error = await provider.discover('web').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect(error).toMatchObject({ code: 'ERR_CONFIG', variable: 'CONSUL_HTTP_TOKEN', retryable: false });
    expect((error as Error).message).toMatch(/403 ACL not found.*lacks service:read on "web".*CONSUL_HTTP_TOKEN/);
    expect(double.requestsTo('/v1/health/service/web')).toHaveLength(1);
  });

  it('a refused registration names service:write; 401 is treated as 403', async () => {
    const { double, provider } = await consul.start();
    double.faults.add({ path: '/v1/agent/service/register', status: 403, body: 'Permission denied', times: 1 });
    await expect(provider.register({ id: 'w1', name: 'web', address: '127.0.0.1', port: 1 })).rejects.toMatchObject({
      code: 'ERR_CONFIG',
      variable: 'CONSUL_HTTP_TOKEN',
      message: expect.stringMatching(/lacks service:write on "web"/),
    });
    double.faults.add({ path: '/v1/health/', status: 401, body: 'unauthorized', times: 1 });
    await expect(provider.discover('web')).rejects.toMatchObject({ code: 'ERR_CONFIG', variable: 'CONSUL_HTTP_TOKEN' });
    expect(double.requestsTo('/v1/agent/service/register')).toHaveLength(1);
  });

  it('a watch refused by the ACL system reports ERR_CONFIG once, and recovers when the token is fixed on the agent side', async () => {
    const { double, provider } = await consul.start();
    const remove = double.faults.add({ path: '/v1/health/service/web', status: 403, body: 'Permission denied' });
    const recorder = new Recorder();
    provider.watch('web', recorder.listener);
    await recorder.untilError('the refusal');
    const [event] = recorder.errors() as { error: unknown }[];
    expect(isDiscoveryError(event!.error, 'ERR_CONFIG')).toBe(true);
    expect((event!.error as ConfigError).variable).toBe('CONSUL_HTTP_TOKEN');
    const before = double.requestsTo('/v1/health/service/web').length;
    await waitFor(() => double.requestsTo('/v1/health/service/web').length >= before + 3, { what: 'three refused retries (the engine\'s backoff)' });
    expect(recorder.errors()).toHaveLength(1);
    remove();
    await recorder.until((s) => s.length === 0, 'the snapshot once allowed');
  });
});

describe('other answers', () => {
  it('400 is ERR_CONFIG (a malformed request does not get better by retrying), except a registration, which is ERR_INVALID_SERVICE', async () => {
    const { double, provider } = await consul.start();
    double.faults.add({ path: '/v1/health/', status: 400, body: 'Invalid wait time', times: 1 });
    await expect(provider.discover('web')).rejects.toMatchObject({ code: 'ERR_CONFIG', retryable: false, message: expect.stringMatching(/400 Invalid wait time/) });
    expect(double.requestsTo('/v1/health/service/web')).toHaveLength(1);
    double.faults.add({ path: '/v1/agent/service/register', status: 400, body: 'Invalid service address', times: 1 });
    await expect(provider.register({ id: 'w1', name: 'web', address: '127.0.0.1', port: 1 })).rejects.toMatchObject({ code: 'ERR_INVALID_SERVICE' });
  });

  it('429 and 5xx are retryable ERR_PROVIDER_UNAVAILABLE, retried by the one-shot calls; 404 is not retried', async () => {
    const { double, provider } = await consul.start();
    double.faults.add({ path: '/v1/health/', status: 429, body: 'Your IP is issuing too many concurrent connections', times: 2 });
    await expect(provider.discover('web')).resolves.toEqual([]);
    expect(double.requestsTo('/v1/health/service/web')).toHaveLength(3);
    double.faults.add({ path: '/v1/health/', status: 502 });
    await expect(provider.discover('web')).rejects.toMatchObject({ code: 'ERR_PROVIDER_UNAVAILABLE', retryable: true });
    double.faults.clear();
    double.faults.add({ path: '/v1/health/', status: 404, body: 'no such thing' });
    const before = double.requestsTo('/v1/health/service/web').length;
    await expect(provider.discover('web')).rejects.toMatchObject({ code: 'ERR_PROVIDER_UNAVAILABLE', retryable: false });
    expect(double.requestsTo('/v1/health/service/web').length).toBe(before + 1);
  });

  it('an agent that cannot be reached is retryable ERR_PROVIDER_UNAVAILABLE naming the address', async () => {
    const { double, provider } = await consul.start({ provider: { retries: 0 } });
    await double.stop();
    await expect(provider.discover('web')).rejects.toMatchObject({
      code: 'ERR_PROVIDER_UNAVAILABLE',
      retryable: true,
      message: expect.stringContaining(`cannot reach the Consul agent at http://${double.address}`),
    });
    await double.restart();
  });
});

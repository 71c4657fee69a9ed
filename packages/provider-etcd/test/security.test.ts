import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { isDiscoveryError, type ConfigError, type DiscoveryError, type WatchEvent } from '@disco/core';
import { EtcdCluster, makeTestCertificates, waitFor, type TestCertificates } from '@disco/testing';
import { etcdProvider, type EtcdProvider } from '../src/index.ts';
import { eventLog, Recorder, unique } from './helpers.ts';

const providers: EtcdProvider[] = [];
const open = (options: Parameters<typeof etcdProvider>[0]) => {
  const provider = etcdProvider({ ttl: '2s', requestTimeout: '2s', ...options });
  providers.push(provider);
  return provider;
};
afterAll(async () => {
  await Promise.all(providers.map((p) => p.close()));
});

describe('etcd with user and password', () => {
  let etcd: EtcdCluster;
  const password = 'S3cret-pa55word';
  beforeAll(async () => {
    etcd = await EtcdCluster.start();
    await etcd.etcdctl(['user', 'add', `root:${password}`]);
    await etcd.etcdctl(['user', 'add', 'svc:svc-password-77']);
    await etcd.etcdctl(['role', 'add', 'discovery']);
    await etcd.etcdctl(['role', 'grant-permission', 'discovery', '--prefix=true', 'readwrite', '/services/']);
    await etcd.etcdctl(['user', 'grant-role', 'svc', 'discovery']);
    await etcd.etcdctl(['auth', 'enable']);
  });
  afterAll(async () => {
    await etcd?.stop();
  });

  it('registers, discovers and watches as a user restricted to the prefix', async () => {
    const provider = open({ endpoints: etcd.endpoints, username: 'svc', password: 'svc-password-77' });
    const svc = unique('svc');
    const recorder = new Recorder();
    provider.watch(svc, recorder.listener);
    await provider.register({ id: 'a', name: svc, address: '127.0.0.1', port: 1 });
    await recorder.until((s) => s.length === 1, 'the registration through auth');
    expect(await provider.discover(svc)).toHaveLength(1);
    const stored = await etcd.etcdctl(['get', `/services/${svc}/a`, '--print-value-only'], { user: `root:${password}` });
    expect(JSON.parse(stored)).toMatchObject({ id: 'a', name: svc });
  });

  it('a wrong password is a clear ERR_CONFIG that never contains the password', async () => {
    const wrong = 'not-the-Password-42';
    const provider = open({ endpoints: etcd.endpoints, username: 'svc', password: wrong });
    const log = eventLog();
    provider.onEvent(log.listener);
    const error = await provider.discover('anything').catch((e: unknown) => e);
    expect(isDiscoveryError(error, 'ERR_CONFIG')).toBe(true);
    expect((error as DiscoveryError).retryable).toBe(false); // the same code and flag in every provider
    expect((error as ConfigError).variable).toBe('ETCD_PASSWORD');
    const text = `${(error as Error).message} ${JSON.stringify(error)} ${String((error as Error).stack)}`;
    expect((error as Error).message).toMatch(/rejected the credentials of user "svc".*ETCD_PASSWORD/);
    expect(text).not.toContain(wrong);
    for (let i = 0; i + 8 <= wrong.length; i++) expect(text).not.toContain(wrong.slice(i, i + 8)); // not even in pieces
    const registered = await provider.register({ id: 'b', name: 'x', address: '127.0.0.1', port: 1 }).catch((e: unknown) => e);
    expect(isDiscoveryError(registered, 'ERR_CONFIG')).toBe(true);
    expect(String((registered as Error).message)).not.toContain(wrong);
    // A watch reports it as an error event, without the password either.
    const events: WatchEvent[] = [];
    provider.watch('anything', (e) => events.push(e));
    await waitFor(() => events.length > 0, { what: 'the watch error' });
    expect('error' in events[0]! && events[0].error.code).toBe('ERR_CONFIG');
    expect(JSON.stringify(events.map((e) => ('error' in e ? e.error.message : '')))).not.toContain(wrong);
    expect(JSON.stringify(log.events.map((e) => e.message))).not.toContain(wrong);
  });

  it('a user without rights on another prefix gets a clear error', async () => {
    const provider = open({ endpoints: etcd.endpoints, username: 'svc', password: 'svc-password-77', prefix: '/other/' });
    const error = await provider.discover('x').catch((e: unknown) => e);
    expect(isDiscoveryError(error, 'ERR_CONFIG')).toBe(true);
    expect((error as Error).message).toMatch(/may not .*grant its role/);
    expect(error).toMatchObject({ variable: 'ETCD_USERNAME', retryable: false });
  });
});

describe('etcd over TLS with a client certificate', () => {
  let etcd: EtcdCluster;
  let certs: TestCertificates;
  beforeAll(async () => {
    certs = await makeTestCertificates();
    etcd = await EtcdCluster.start({
      tls: { ca: certs.ca, cert: certs.serverCert, key: certs.serverKey, clientCertAuth: true, clientCert: certs.clientCert, clientKey: certs.clientKey },
    });
  });
  afterAll(async () => {
    await etcd?.stop();
    certs?.remove();
  });

  it('works with the CA and client certificate given as files (ETCD_CACERT, ETCD_CERT, ETCD_KEY)', async () => {
    const endpoint = etcd.endpoints[0]!.replace('https://', ''); // no scheme: TLS options make it https
    const provider = open({ endpoints: endpoint, tls: { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey } });
    const svc = unique('svc');
    const recorder = new Recorder();
    provider.watch(svc, recorder.listener);
    await provider.register({ id: 'a', name: svc, address: '127.0.0.1', port: 1 });
    await recorder.until((s) => s.length === 1, 'the registration over TLS');
  });

  it('works with PEM contents given as buffers', async () => {
    const provider = open({ endpoints: etcd.endpoints, tls: { ca: readFileSync(certs.ca), cert: readFileSync(certs.clientCert), key: readFileSync(certs.clientKey) } });
    expect(await provider.discover(unique('svc'))).toEqual([]);
  });

  it('works with the PEM text given as strings, through the ETCD_* variables', async () => {
    const env = { ETCD_ENDPOINTS: etcd.endpoints.join(','), ETCD_CACERT: readFileSync(certs.ca, 'utf8'), ETCD_CERT: readFileSync(certs.clientCert, 'utf8'), ETCD_KEY: certs.clientKey };
    const provider = etcdProvider({ ttl: '2s' }, { env });
    providers.push(provider);
    expect(await provider.discover(unique('svc'))).toEqual([]);
  });

  it('without the client certificate the server refuses, and the error says etcd is unavailable', async () => {
    const provider = open({ endpoints: etcd.endpoints, tls: { ca: certs.ca } });
    const error = await provider.discover('x').catch((e: unknown) => e);
    expect(isDiscoveryError(error)).toBe(true);
    console.log(`without a client certificate: ${(error as Error).message}`);
    expect((error as { code: string }).code).toBe('ERR_PROVIDER_UNAVAILABLE');
  });
});

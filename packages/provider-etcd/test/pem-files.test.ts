// Issue 13, item 6: ETCD_CACERT / ETCD_CERT / ETCD_KEY naming a file that is not PEM is an
// ERR_CONFIG naming the variable, raised before the etcd3 client is constructed (whose
// constructor threw a bare ERR_OSSL_PEM_NO_START_LINE).
import { isDiscoveryError, silentLogger } from '@disco/core';
import { makeTestCertificates, type TestCertificates } from '@disco/testing';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProvider } from '../src/index.ts';
import { resolveOptions } from '../src/options.ts';

let certs: TestCertificates;
beforeAll(async () => {
  certs = await makeTestCertificates();
});
afterAll(() => certs?.remove());

function configError(fn: () => unknown): Error & { variable?: string } {
  try {
    fn();
  } catch (error) {
    if (!isDiscoveryError(error, 'ERR_CONFIG')) throw error;
    return error as Error & { variable?: string };
  }
  throw new Error('expected an ERR_CONFIG');
}

describe('TLS files that are not PEM', () => {
  const garbage = (name: string, content: string) => {
    const file = join(certs.dir, name);
    writeFileSync(file, content);
    return file;
  };

  it('real certificates and keys (SEC1 EC keys included) pass', () => {
    const r = resolveOptions({ tls: { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey } });
    expect(r.credentials?.privateKey?.equals(readFileSync(certs.clientKey))).toBe(true);
    // A bundle of several certificates is a CA file too.
    const bundle = garbage('bundle.pem', `${readFileSync(certs.ca, 'utf8')}\n${readFileSync(certs.serverCert, 'utf8')}`);
    expect(resolveOptions({ tls: { ca: bundle } }).credentials?.rootCertificate).toBeDefined();
  });

  it.each([
    ['ETCD_CACERT', 'ca'],
    ['ETCD_CERT', 'cert'],
    ['ETCD_KEY', 'key'],
  ] as const)('%s naming a non-PEM file is ERR_CONFIG naming the variable, from the environment, before any client exists', (variable, field) => {
    const env = { ETCD_ENDPOINTS: '127.0.0.1:1', ETCD_CACERT: certs.ca, ETCD_CERT: certs.clientCert, ETCD_KEY: certs.clientKey };
    const secret = 'not-a-pem-SECRET-material-7f3a';
    for (const content of [secret, '', '\u0000\u0001binary', '-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n', '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n']) {
      const file = garbage(`${field}.bad`, content);
      const error = configError(() => createProvider({}, { env: { ...env, [variable]: file }, logger: silentLogger }));
      expect(error.variable).toBe(variable);
      expect(error.message).toContain(variable);
      expect(error.message).not.toContain(secret);
      expect(error.message).not.toContain('AAAA');
    }
  });

  it('a certificate where the key belongs, and a key where a certificate belongs, are caught too', () => {
    expect(configError(() => resolveOptions({ tls: { ca: certs.ca, cert: certs.clientCert, key: certs.clientCert } })).variable).toBe('ETCD_KEY');
    expect(configError(() => resolveOptions({ tls: { ca: certs.caKey } })).variable).toBe('ETCD_CACERT');
    expect(configError(() => resolveOptions({ tls: { ca: certs.ca, cert: certs.clientKey, key: certs.clientKey } })).variable).toBe('ETCD_CERT');
  });
});

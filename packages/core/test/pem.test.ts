// readPem: every provider's tls.ca / tls.cert / tls.key is PEM text or the path of a PEM file.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readPem } from '@disco/core/provider';
import { makeTestCertificates, type TestCertificates } from '@disco/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';

let certs: TestCertificates;
beforeAll(async () => {
  certs = await makeTestCertificates();
});
afterAll(() => certs?.remove());

it('takes PEM text, a path to a PEM file, or PEM bytes, and gives the same bytes', () => {
  const text = readFileSync(certs.ca, 'utf8');
  expect(readPem(text, 'certificate', 'tls.ca', 'X_CACERT').toString()).toBe(text);
  expect(readPem(certs.ca, 'certificate', 'tls.ca', 'X_CACERT').toString()).toBe(text);
  expect(readPem(Buffer.from(text), 'certificate', 'tls.ca', 'X_CACERT').toString()).toBe(text);
  expect(readPem(certs.clientKey, 'key', 'tls.key', 'X_KEY').length).toBeGreaterThan(0);
});

it('a missing file, a file without PEM, a key given as a certificate: ERR_CONFIG naming the option and its variable, never the contents', () => {
  const notPem = join(certs.dir, 'not-pem.txt');
  writeFileSync(notPem, 'secret-but-not-pem');
  const cases: [string, 'certificate' | 'key', RegExp][] = [
    [join(certs.dir, 'missing.pem'), 'certificate', /tls\.ca \(X_CACERT\) names the file ".*missing\.pem", which cannot be read \(ENOENT\)/],
    [notPem, 'certificate', /holds no PEM/],
    [certs.clientKey, 'certificate', /is not a readable PEM certificate/],
    [certs.ca, 'key', /is not a readable PEM private key/],
  ];
  for (const [source, kind, message] of cases) {
    let error: unknown;
    try {
      readPem(source, kind, 'tls.ca', 'X_CACERT');
    } catch (caught) {
      error = caught;
    }
    expect(error, source).toMatchObject({ code: 'ERR_CONFIG', variable: 'X_CACERT', message: expect.stringMatching(message) });
    expect((error as Error).message).not.toContain('secret-but-not-pem');
  }
});

// Configuration: environment variables, address forms, TLS (against a real TLS front of the double), loading by name.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type Server } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { createDiscovery, silentLogger } from '@disco/core';
import { ConsulDouble, makeTestCertificates, waitFor, type TestCertificates } from '@disco/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsulProvider, consulProvider, createProvider, optionsFromEnv } from '../src/index.js';
import { parseAddress } from '../src/options.js';

describe('environment and addresses', () => {
  it('reads Consul\'s variables', () => {
    expect(
      optionsFromEnv({
        CONSUL_HTTP_ADDR: 'consul:8501',
        CONSUL_HTTP_TOKEN: 'tok',
        CONSUL_DATACENTER: 'dc2',
        CONSUL_NAMESPACE: 'team',
        CONSUL_HTTP_SSL: 'true',
        CONSUL_CACERT: '/ca.pem',
        CONSUL_CLIENT_CERT: '/c.pem',
        CONSUL_CLIENT_KEY: '/k.pem',
        CONSUL_HTTP_SSL_VERIFY: 'false',
        CONSUL_TLS_SERVER_NAME: 'consul.internal',
        CONSUL_WAIT: '30s',
        CONSUL_CONSISTENCY: 'stale',
        CONSUL_PASSING_ONLY: 'true',
        CONSUL_REQUEST_TIMEOUT: '2s',
        CONSUL_RETRIES: '4',
        CONSUL_BACKOFF_INITIAL: '50ms',
        CONSUL_BACKOFF_MAX: '5s',
        CONSUL_MAINTENANCE_REASON: 'draining',
        CONSUL_DEREGISTER_ON_CLOSE: 'false',
      }),
    ).toEqual({
      address: 'consul:8501',
      token: 'tok',
      datacenter: 'dc2',
      namespace: 'team',
      tls: { enabled: true, insecureSkipVerify: true, ca: '/ca.pem', cert: '/c.pem', key: '/k.pem', serverName: 'consul.internal' },
      wait: '30s',
      consistency: 'stale',
      passingOnly: true,
      requestTimeout: '2s',
      retries: 4,
      backoff: { initial: '50ms', max: '5s' },
      maintenanceReason: 'draining',
      deregisterOnClose: false,
    });
    expect(optionsFromEnv({})).toEqual({});
  });

  it('takes CONSUL_HTTP_ADDR with or without a scheme', () => {
    expect(parseAddress('localhost:8500', false)).toMatchObject({ origin: 'http://localhost:8500', https: false });
    expect(parseAddress('10.0.0.1', false)).toMatchObject({ origin: 'http://10.0.0.1:8500' });
    expect(parseAddress('10.0.0.1:8501', true)).toMatchObject({ origin: 'https://10.0.0.1:8501', https: true });
    expect(parseAddress('https://consul.example', false)).toMatchObject({ origin: 'https://consul.example:443', https: true });
    expect(parseAddress('http://[::1]:8500', false)).toMatchObject({ origin: 'http://[::1]:8500' });
    expect(parseAddress('unix:///var/run/consul.sock', false)).toMatchObject({ socketPath: '/var/run/consul.sock' });
    for (const bad of ['ftp://x:1', 'http://x:1/v1', 'unix://relative', 'http://']) {
      expect(() => parseAddress(bad, false), bad).toThrow(expect.objectContaining({ code: 'ERR_CONFIG', variable: 'CONSUL_HTTP_ADDR' }));
    }
  });

  it('bad values are ERR_CONFIG naming the variable, never echoing a secret', () => {
    expect(() => new ConsulProvider({}, { env: { CONSUL_HTTP_SSL: 'maybe' } })).toThrow(expect.objectContaining({ code: 'ERR_CONFIG', variable: 'CONSUL_HTTP_SSL' }));
    expect(() => new ConsulProvider({ tls: { enabled: true, ca: '/nope/ca.pem' } }, { env: {} })).toThrow(
      expect.objectContaining({ code: 'ERR_CONFIG', variable: 'CONSUL_CACERT', message: expect.stringMatching(/tls\.ca \(CONSUL_CACERT\) names the file "\/nope\/ca.pem", which cannot be read/) }),
    );
    expect(() => new ConsulProvider({ wait: '20m' }, { env: {} })).toThrow(expect.objectContaining({ variable: 'consul.wait', message: expect.stringMatching(/from 1s to 10m/) }));
    expect(() => new ConsulProvider({}, { env: { CONSUL_WAIT: '20m' } })).toThrow(expect.objectContaining({ variable: 'CONSUL_WAIT' }));
    expect(() => new ConsulProvider({}, { env: { CONSUL_RETRIES: 'many' } })).toThrow(expect.objectContaining({ variable: 'CONSUL_RETRIES' }));
    expect(() => new ConsulProvider({}, { env: { CONSUL_REQUEST_TIMEOUT: 'soon' } })).toThrow(expect.objectContaining({ variable: 'CONSUL_REQUEST_TIMEOUT' }));
    expect(() => new ConsulProvider({ consistency: 'eventual' as never }, { env: {} })).toThrow(/default, stale, consistent/);
  });

  it('options by object win over the environment', async () => {
    const double = await ConsulDouble.start();
    try {
      const provider = createProvider({ address: double.address }, { env: { CONSUL_HTTP_ADDR: '127.0.0.1:1', CONSUL_DATACENTER: 'dc1' }, logger: silentLogger });
      await provider.discover('x');
      expect(double.requestsTo('/v1/health/service/x')[0]!.query.get('dc')).toBe('dc1');
      await provider.close();
    } finally {
      await double.close();
    }
  });

  it('createDiscovery({ provider: "consul" }) loads this package', async () => {
    const double = await ConsulDouble.start();
    try {
      const discovery = createDiscovery({ provider: 'consul', consul: { address: double.address }, env: {} });
      await discovery.register({ id: 'by-name-1', name: 'by-name', address: '127.0.0.1', port: 1 });
      expect((await discovery.discover('by-name')).map((i) => i.id)).toEqual(['by-name-1']);
      expect((await discovery.provider()).name).toBe('consul');
      await discovery.close();
    } finally {
      await double.close();
    }
  });
});

describe('one provider shape (issue 11, item 9)', () => {
  it('an unknown key is ERR_CONFIG naming it and the nearest known key, at every level', () => {
    const cases: [object, string, string][] = [
      [{ adress: 'x:1' }, 'consul.adress', 'address'],
      [{ rateLimit: { perSecond: 1 } }, 'consul.rateLimit', 'wait'],
      [{ tls: { caFile: '/ca.pem' } }, 'consul.tls.caFile', 'ca'],
      [{ tls: { verify: false } }, 'consul.tls.verify', 'cert'],
      [{ backoff: { initail: '1s' } }, 'consul.backoff.initail', 'initial'],
    ];
    for (const [options, variable, nearest] of cases) {
      expect(() => consulProvider(options as never, { env: {} }), variable).toThrow(
        expect.objectContaining({ code: 'ERR_CONFIG', variable, message: expect.stringContaining(`did you mean "${nearest}"?`) }),
      );
    }
  });

  it('reads the environment of the context, else process.env; a defined option wins; an undefined one leaves the variable in force', async () => {
    const double = await ConsulDouble.start();
    const saved = { addr: process.env.CONSUL_HTTP_ADDR, consistency: process.env.CONSUL_CONSISTENCY };
    const lastQuery = () => double.requestsTo('/v1/health/service/x').at(-1)!.query;
    try {
      const fromContext = consulProvider({ address: undefined, consistency: undefined }, { env: { CONSUL_HTTP_ADDR: double.address, CONSUL_CONSISTENCY: 'stale' } });
      await fromContext.discover('x');
      expect(lastQuery().has('stale')).toBe(true);
      await fromContext.close();
      process.env.CONSUL_HTTP_ADDR = double.address;
      process.env.CONSUL_CONSISTENCY = 'consistent';
      const fromProcess = consulProvider();
      await fromProcess.discover('x');
      expect(lastQuery().has('consistent')).toBe(true);
      await fromProcess.close();
      const overridden = consulProvider({ consistency: 'default' }, { env: { CONSUL_HTTP_ADDR: double.address, CONSUL_CONSISTENCY: 'stale' } });
      await overridden.discover('x');
      expect(lastQuery().has('stale') || lastQuery().has('consistent')).toBe(false);
      await overridden.close();
    } finally {
      for (const [name, value] of [['CONSUL_HTTP_ADDR', saved.addr], ['CONSUL_CONSISTENCY', saved.consistency]] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      await double.close();
    }
  });

  it('the logger comes from the options, else from the context', async () => {
    const lines: string[] = [];
    const logger = { debug: () => {}, info: () => {}, warn: (...args: unknown[]) => void lines.push(String(args.at(-1))), error: () => {} };
    const double = await ConsulDouble.start();
    try {
      double.faults.add({ path: '/v1/health/', status: 500, body: 'boom' });
      const provider = consulProvider({ address: double.address, backoff: { initial: '10ms', max: '20ms' } }, { env: {}, logger });
      const stop = provider.watch('x', () => {});
      await waitFor(() => lines.some((l) => l.includes('boom')), { what: 'the context logger to hear of the failure' });
      stop();
      await provider.close();
    } finally {
      await double.close();
    }
  });
});

describe('TLS (CONSUL_HTTP_SSL, CONSUL_CACERT, CONSUL_CLIENT_CERT, CONSUL_CLIENT_KEY)', () => {
  let certs: TestCertificates;
  let double: ConsulDouble;
  let front: Server;
  let address = '';
  beforeAll(async () => {
    certs = await makeTestCertificates();
    double = await ConsulDouble.start();
    // A TLS front that demands a client certificate, relaying to the double (as Consul's HTTPS port with verify_incoming).
    front = createTlsServer(
      { key: readFileSync(certs.serverKey), cert: readFileSync(certs.serverCert), ca: readFileSync(certs.ca), requestCert: true, rejectUnauthorized: true },
      (socket) => {
        const upstream = connect(double.port, '127.0.0.1');
        socket.pipe(upstream).pipe(socket);
        socket.on('error', () => upstream.destroy());
        upstream.on('error', () => socket.destroy());
      },
    );
    front.on('tlsClientError', () => {});
    await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
    address = `127.0.0.1:${(front.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => front?.close(r));
    await double?.close();
    certs?.remove();
  });

  it('talks HTTPS with the CA and client certificate from the environment', async () => {
    const env = { CONSUL_HTTP_ADDR: address, CONSUL_HTTP_SSL: 'true', CONSUL_CACERT: certs.ca, CONSUL_CLIENT_CERT: certs.clientCert, CONSUL_CLIENT_KEY: certs.clientKey };
    const provider = createProvider({}, { env, logger: silentLogger });
    await provider.register({ id: 'tls-1', name: 'tls', address: '127.0.0.1', port: 1 });
    expect((await provider.discover('tls')).map((i) => i.id)).toEqual(['tls-1']);
    await provider.close();
  });

  it('fails clearly without the CA, and without a client certificate', async () => {
    const noCa = createProvider({ retries: 0 }, { env: { CONSUL_HTTP_ADDR: `https://${address}` }, logger: silentLogger });
    await expect(noCa.discover('tls')).rejects.toMatchObject({ code: 'ERR_PROVIDER_UNAVAILABLE', message: expect.stringMatching(/cannot reach the Consul agent at https:.*certificate/i) });
    await noCa.close();
    const noClientCert = createProvider({ retries: 0 }, { env: { CONSUL_HTTP_ADDR: `https://${address}`, CONSUL_CACERT: certs.ca }, logger: silentLogger });
    await expect(noClientCert.discover('tls')).rejects.toMatchObject({ code: 'ERR_PROVIDER_UNAVAILABLE' });
    await noClientCert.close();
    expect(() => createProvider({}, { env: { CONSUL_HTTP_ADDR: `https://${address}`, CONSUL_CLIENT_CERT: certs.clientCert }, logger: silentLogger })).toThrow(/CONSUL_CLIENT_KEY/);
  });

  it('tls.ca, tls.cert and tls.key take PEM text as well as a file path', async () => {
    const pem = (path: string) => readFileSync(path, 'utf8');
    const provider = consulProvider({ address: `https://${address}`, tls: { ca: pem(certs.ca), cert: pem(certs.clientCert), key: certs.clientKey } }, { env: {} });
    expect(await provider.discover('tls')).toEqual([]);
    await provider.close();
  });

  it('insecureSkipVerify (CONSUL_HTTP_SSL_VERIFY=false) talks to an agent whose CA it does not have', async () => {
    const env = { CONSUL_HTTP_ADDR: `https://${address}`, CONSUL_HTTP_SSL_VERIFY: 'false', CONSUL_CLIENT_CERT: certs.clientCert, CONSUL_CLIENT_KEY: certs.clientKey };
    const provider = consulProvider({}, { env });
    expect(await provider.discover('tls')).toEqual([]);
    await provider.close();
  });

  it('a file that is not PEM, or a key where a certificate belongs, is ERR_CONFIG naming the variable or option', () => {
    const notPem = join(certs.dir, 'not-a-cert.txt');
    writeFileSync(notPem, 'hello');
    expect(() => consulProvider({}, { env: { CONSUL_HTTP_ADDR: `https://${address}`, CONSUL_CACERT: notPem } })).toThrow(
      expect.objectContaining({ code: 'ERR_CONFIG', variable: 'CONSUL_CACERT', message: expect.stringMatching(/holds no PEM/) }),
    );
    expect(() => consulProvider({ address: `https://${address}`, tls: { cert: certs.clientKey, key: certs.clientKey } }, { env: {} })).toThrow(
      expect.objectContaining({ code: 'ERR_CONFIG', variable: 'CONSUL_CLIENT_CERT', message: expect.stringMatching(/consul\.tls\.cert \(CONSUL_CLIENT_CERT\) is not a readable PEM certificate/) }),
    );
  });
});

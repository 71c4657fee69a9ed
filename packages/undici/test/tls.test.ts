import { createDiscovery, staticProvider } from '@disco/core';
import { makeTestCertificates } from '@disco/testing';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { fetch } from 'undici';
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { discoveryDispatcher, type DiscoveryDispatcherOptions } from '../src/index.ts';

let ca: string;
let server: Server;
let port: number;
/** The TLS server name each request came in with. */
const servernames: (string | false | null)[] = [];

beforeAll(async () => {
  const certs = await makeTestCertificates();
  ca = readFileSync(certs.ca, 'utf8');
  // The test certificate names localhost and 127.0.0.1.
  server = createServer({ key: readFileSync(certs.serverKey), cert: readFileSync(certs.serverCert) }, (req, res) => {
    servernames.push((req.socket as TLSSocket).servername);
    res.end('secure');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as { port: number }).port;
  return async () => {
    server.closeAllConnections();
    server.close();
    certs.remove();
  };
});

async function dispatcherFor(service: string, metadata: Record<string, string> | undefined, options: DiscoveryDispatcherOptions) {
  const discovery = createDiscovery({ provider: staticProvider() });
  await discovery.register({ id: `${service}-1`, name: service, address: '127.0.0.1', port, metadata });
  const dispatcher = discoveryDispatcher(discovery, options);
  onTestFinished(async () => {
    await dispatcher.close();
    await discovery.close();
  });
  return dispatcher;
}

describe('TLS to instances', () => {
  it('an https:// URL is TLS, with the service’s host name as SNI, verified against it', async () => {
    const dispatcher = await dispatcherFor('localhost', undefined, { route: { hosts: ['localhost'] }, pool: { connect: { ca } } });
    expect(await (await fetch('https://localhost/', { dispatcher })).text()).toBe('secure');
    expect(servernames.at(-1)).toBe('localhost');
  });

  it('an instance whose metadata says scheme=https is called over TLS even from an http:// URL', async () => {
    const dispatcher = await dispatcherFor('secure', { scheme: 'https' }, { pool: { connect: { ca, servername: 'localhost' } } });
    expect(await (await fetch('http://secure/', { dispatcher })).text()).toBe('secure');
    // The configured server name wins over the service's host name.
    expect(servernames.at(-1)).toBe('localhost');
  });

  it('a certificate that does not name the service fails the request', async () => {
    const dispatcher = await dispatcherFor('secure', { scheme: 'https' }, { pool: { connect: { ca } }, retry: false });
    const error = await fetch('http://secure/', { dispatcher }).catch((e: Error) => e);
    expect((error as Error).cause).toMatchObject({ code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
  });
});

import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { Connections } from '../connections.js';
import { tlsMaterial, type TlsMaterial } from './tls.js';

export type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => void | Promise<void>;

/** Connections as the server saw them: for tests that count what a client holds. */
export interface ConnectionStats {
  /** TLS connections accepted since start (or since `resetConnectionStats`). */
  readonly accepted: number;
  /** Open right now. */
  readonly open: number;
  /** The most that were open at once. */
  readonly peak: number;
}

/**
 * The double's HTTPS listener on loopback: tracks its sockets so `stop()` cuts every
 * connection (as a crashed API server would), reuses its port on `start()` again, and counts
 * connections.
 */
export class HttpsDouble {
  readonly #handler: Handler;
  #server: Server | undefined;
  readonly #sockets = new Set<TLSSocket>();
  /** Raw connections, from accept until they close (the TLS handshake included): what an outage cuts. */
  readonly #raw = new Connections();
  #port: number;
  #tls: TlsMaterial | undefined;
  #accepted = 0;
  #peak = 0;

  constructor(handler: Handler, options: { port?: number } = {}) {
    this.#handler = handler;
    this.#port = options.port ?? 0;
  }

  get url(): string {
    if (this.#port === 0) throw new Error('the Kubernetes API double has no URL before start()');
    return `https://127.0.0.1:${this.#port}`;
  }

  get port(): number {
    return this.#port;
  }

  get running(): boolean {
    return this.#server !== undefined;
  }

  /** The CA (PEM) the server's certificate is signed by; available after `start()`. */
  get ca(): string {
    if (!this.#tls) throw new Error('the Kubernetes API double has no CA before start()');
    return this.#tls.ca;
  }

  get connections(): ConnectionStats {
    return { accepted: this.#accepted, open: this.#sockets.size, peak: this.#peak };
  }

  resetConnectionStats(): void {
    this.#accepted = 0;
    this.#peak = this.#sockets.size;
  }

  async start(): Promise<void> {
    if (this.#server) return;
    this.#tls ??= await tlsMaterial();
    const server = createServer({ cert: this.#tls.cert, key: this.#tls.key, ALPNProtocols: ['http/1.1'] }, (req, res) => {
      const url = new URL(req.url ?? '/', `https://${req.headers.host ?? 'localhost'}`);
      Promise.resolve(this.#handler(req, res, url)).catch((error: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(String(error));
      });
    });
    // A watch may stay quiet for its whole timeoutSeconds: no idle cut-off on our side.
    server.keepAliveTimeout = 5_000;
    server.requestTimeout = 0;
    server.headersTimeout = 60_000;
    server.on('secureConnection', (socket: TLSSocket) => {
      this.#accepted++;
      this.#sockets.add(socket);
      this.#peak = Math.max(this.#peak, this.#sockets.size);
      socket.once('close', () => this.#sockets.delete(socket));
    });
    // A connection still in its TLS handshake is not a TLSSocket yet: keep it too, so that an
    // outage (stop, dropConnections) cuts it like the rest instead of letting it complete.
    server.on('connection', (socket: Socket) => this.#raw.add(socket));
    server.on('tlsClientError', () => {
      // A client that does not trust the CA hangs up during the handshake: its own failure.
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // A deep accept queue: a thousand clients connecting at once is what some tests measure.
      server.listen({ port: this.#port, host: '127.0.0.1', backlog: 4096 }, () => resolve());
    });
    this.#port = (server.address() as { port: number }).port;
    this.#server = server;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    this.#dropTls();
    await this.#raw.close(server);
  }

  dropConnections(): void {
    this.#dropTls();
    this.#raw.drop();
  }

  #dropTls(): void {
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
  }
}

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Connections } from './connections.js';

export type RequestHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => void | Promise<void>;

/**
 * A real HTTP server on loopback for API doubles. It tracks its sockets so `stop()` can cut
 * every connection (as a crashed server would), and `start()` again reuses the same port so
 * clients see the server come back.
 */
export class HttpDouble {
  readonly #handler: RequestHandler;
  readonly #host: string;
  #server: Server | undefined;
  readonly #connections = new Connections();
  #port = 0;

  readonly #accept: ((socket: Socket) => boolean) | undefined;

  /**
   * `accept`, when given, sees every new connection first; one it returns false for was answered
   * by it (e.g. a server's connection limit) and gets no requests served.
   */
  constructor(handler: RequestHandler, options: { host?: string; port?: number; accept?: (socket: Socket) => boolean } = {}) {
    this.#handler = handler;
    this.#accept = options.accept;
    this.#host = options.host ?? '127.0.0.1';
    this.#port = options.port ?? 0;
  }

  get port(): number {
    return this.#port;
  }

  get host(): string {
    return this.#host;
  }

  /** `http://127.0.0.1:<port>` */
  get url(): string {
    return `http://${this.#host}:${this.#port}`;
  }

  get running(): boolean {
    return this.#server !== undefined;
  }

  async start(): Promise<this> {
    if (this.#server) return this;
    const refused = new WeakSet<Socket>();
    const server = createServer((req, res) => {
      if (refused.has(req.socket)) return;
      const url = new URL(req.url ?? '/', `http://${req.headers.host ?? 'localhost'}`);
      Promise.resolve(this.#handler(req, res, url)).catch((error: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(String(error));
      });
    });
    server.on('connection', (socket: Socket) => {
      if (this.#accept && !this.#accept(socket)) {
        refused.add(socket);
        return;
      }
      this.#connections.add(socket);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#port, this.#host, () => resolve());
    });
    this.#port = (server.address() as { port: number }).port;
    this.#server = server;
    return this;
  }

  /** Closes the listener and destroys every open connection at once. */
  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    await this.#connections.close(server);
  }

  /** Destroys open connections but keeps listening (a network blip). */
  dropConnections(): void {
    this.#connections.drop();
  }
}

/** Reads a request body as text (bounded). */
export async function readBody(req: IncomingMessage, limit = 1 << 20): Promise<string> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new Error('request body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

/** What a test server does with a request; the default answers 200 with the server's name. */
export type Behaviour = (req: IncomingMessage, res: ServerResponse, server: TestServer) => void;

/** A node:http server on a free loopback port that counts what reaches it. */
export class TestServer {
  readonly name: string;
  readonly server: Server;
  port = 0;
  /** Requests received (counted when they arrive, whatever happens to them). */
  requests = 0;
  /** Request bodies received, in order. */
  readonly bodies: string[] = [];
  /** Host headers received, in order. */
  readonly hosts: string[] = [];
  behaviour: Behaviour;

  constructor(name: string, behaviour?: Behaviour) {
    this.name = name;
    this.behaviour = behaviour ?? ((_req, res) => res.end(name));
    this.server = createServer((req, res) => {
      this.requests++;
      this.hosts.push(req.headers.host ?? '');
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        this.bodies.push(Buffer.concat(chunks).toString());
        this.behaviour(req, res, this);
      });
    });
  }

  async start(): Promise<this> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  /** Open TCP connections right now. */
  connections(): Promise<number> {
    return new Promise((resolve, reject) => this.server.getConnections((error, count) => (error ? reject(error) : resolve(count))));
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export async function startServers(...names: string[]): Promise<TestServer[]> {
  return Promise.all(names.map((name) => new TestServer(name).start()));
}

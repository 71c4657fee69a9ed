import type { Server, Socket } from 'node:net';

/**
 * The open connections of a server a test double runs, so that an outage cuts every one at
 * once, as a crashed server would (`server.close()` alone waits for them to end).
 */
export class Connections {
  readonly #sockets = new Set<Socket>();

  get size(): number {
    return this.#sockets.size;
  }

  add(socket: Socket): void {
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
  }

  /** Destroys every open connection (a network blip). */
  drop(): void {
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
  }

  /** Stops `server` listening and destroys every open connection; resolves once it is closed. */
  async close(server: Server): Promise<void> {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    this.drop();
    await closed;
  }
}

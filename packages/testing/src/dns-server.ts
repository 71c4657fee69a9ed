import type { Socket } from 'node:net';
import { Packet, TCPServer, UDPServer, type DnsHandler, type Resource } from 'dns2';
import { freePort } from './ports.js';

/** A record the server holds, in dns2's shape (`address` for A/AAAA; `priority`, `weight`, `port`, `target` for SRV). */
export type DnsRecord = Partial<Resource> & { name: string; type: number };

export const dnsRecord = {
  a: (name: string, address: string, ttl = 30): DnsRecord => ({ name, type: Packet.TYPE.A, class: Packet.CLASS.IN, ttl, address }),
  aaaa: (name: string, address: string, ttl = 30): DnsRecord => ({ name, type: Packet.TYPE.AAAA, class: Packet.CLASS.IN, ttl, address }),
  srv: (name: string, target: string, port: number, { priority = 0, weight = 0, ttl = 30 } = {}): DnsRecord => ({
    name,
    type: Packet.TYPE.SRV,
    class: Packet.CLASS.IN,
    ttl,
    priority,
    weight,
    port,
    target,
  }),
};

/** What a scripted answer may be: a reply built from records, raw bytes (garbage), or no answer at all. */
export type DnsScriptReply =
  | { rcode?: number; answers?: readonly DnsRecord[]; additionals?: readonly DnsRecord[]; authorities?: readonly DnsRecord[] }
  | Buffer
  | 'drop';

export interface DnsQuery {
  readonly name: string;
  readonly type: string;
  readonly transport: 'udp' | 'tcp';
}

/** Decides one answer; `undefined` falls back to the zone. */
export type DnsScript = (query: DnsQuery, request: Packet) => DnsScriptReply | undefined;

/**
 * A DNS server on 127.0.0.1 (UDP and TCP on one port, dns2's servers) for the cases a real
 * server will not produce on demand: SERVFAIL, silence, garbage, truncation. It answers from
 * `zone` (NXDOMAIN for unknown names, additional A/AAAA records for SRV targets it knows) unless
 * `script` says otherwise. UDP answers above 512 bytes are truncated (TC bit) by dns2, so a
 * large zone entry exercises the TCP retry for real. Every query is logged in `queries`.
 */
export class ScriptableDnsServer {
  readonly host = '127.0.0.1';
  readonly port: number;
  zone: DnsRecord[] = [];
  script: DnsScript | undefined;
  readonly queries: DnsQuery[] = [];
  #udp: UDPServer | undefined;
  #tcp: TCPServer | undefined;
  readonly #connections = new Set<Socket>();

  private constructor(port: number) {
    this.port = port;
  }

  static async start(zone: DnsRecord[] = [], script?: DnsScript): Promise<ScriptableDnsServer> {
    const server = new ScriptableDnsServer(await freePort());
    server.zone = zone;
    server.script = script;
    await server.restart();
    return server;
  }

  /** `127.0.0.1:<port>`, the form `DNS_SERVER` takes. */
  get address(): string {
    return `${this.host}:${this.port}`;
  }

  get running(): boolean {
    return this.#udp !== undefined;
  }

  /** Listens again (after {@link stop}) on the same port. */
  async restart(): Promise<void> {
    if (this.#udp) return;
    const handle = (transport: 'udp' | 'tcp'): DnsHandler => (request, send) => void this.#answer(transport, request, send);
    const udp = new UDPServer(handle('udp'));
    const tcp = new TCPServer(handle('tcp'));
    tcp.on('connection', (socket: Socket) => {
      this.#connections.add(socket);
      socket.on('close', () => this.#connections.delete(socket));
    });
    await udp.listen(this.port, this.host);
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(this.port, this.host, () => resolve());
    });
    this.#udp = udp;
    this.#tcp = tcp;
  }

  /** Stops answering: both sockets closed, open TCP connections cut. */
  async stop(): Promise<void> {
    const udp = this.#udp;
    const tcp = this.#tcp;
    this.#udp = undefined;
    this.#tcp = undefined;
    for (const socket of this.#connections) socket.destroy();
    await Promise.all([
      udp && new Promise<void>((resolve) => udp.close(() => resolve())),
      tcp && new Promise<void>((resolve) => tcp.close(() => resolve())),
    ]);
  }

  /** Queries received for `name` (any case), optionally of one transport. */
  queriesFor(name: string, transport?: 'udp' | 'tcp'): DnsQuery[] {
    return this.queries.filter((q) => q.name.toLowerCase() === name.toLowerCase() && (transport === undefined || q.transport === transport));
  }

  async #answer(transport: 'udp' | 'tcp', request: Packet, send: (response: Packet | Buffer) => Promise<Buffer>): Promise<void> {
    const question = request.questions[0];
    if (!question) return;
    const query: DnsQuery = { name: question.name, type: Packet.typeName(question.type), transport };
    this.queries.push(query);
    const reply = this.script?.(query, request) ?? this.#fromZone(question.name, question.type);
    if (reply === 'drop') return;
    try {
      if (Buffer.isBuffer(reply)) {
        await send(reply);
        return;
      }
      const response = Packet.createResponseFromRequest(request);
      response.header.rcode = reply.rcode ?? Packet.RCODE.NOERROR;
      response.header.aa = 1;
      response.answers.push(...(reply.answers ?? []).map(toResource));
      response.authorities.push(...(reply.authorities ?? []).map(toResource));
      response.additionals.push(...(reply.additionals ?? []).map(toResource));
      await send(response);
    } catch {
      // The client went away (stopped server, cut connection): nothing to answer.
    }
  }

  #fromZone(name: string, type: number): DnsScriptReply {
    const same = (a: string, b: string) => a.toLowerCase().replace(/\.$/, '') === b.toLowerCase().replace(/\.$/, '');
    const named = this.zone.filter((r) => same(r.name, name));
    if (named.length === 0) return { rcode: Packet.RCODE.NXDOMAIN };
    const answers = named.filter((r) => r.type === type);
    const targets = answers.filter((r) => r.type === Packet.TYPE.SRV).map((r) => r.target ?? '');
    const additionals = this.zone.filter((r) => (r.type === Packet.TYPE.A || r.type === Packet.TYPE.AAAA) && targets.some((t) => same(t, r.name)));
    return { answers, additionals };
  }
}

function toResource(record: DnsRecord): Resource {
  return { class: Packet.CLASS.IN, ttl: 30, ...record } as Resource;
}

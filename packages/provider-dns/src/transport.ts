import { createSocket } from 'node:dgram';
import { connect, isIP } from 'node:net';
import { Packet, type Question } from 'dns2';

/** One name server: an IP address (or host name) and a port. */
export interface NameServer {
  readonly host: string;
  readonly port: number;
}

export interface QueryOptions {
  readonly timeoutMs: number;
  readonly signal: AbortSignal;
}

/** A query that failed for a reason worth trying the next server for. */
export class QueryError extends Error {
  override name = 'QueryError';
  readonly kind: 'timeout' | 'garbage' | 'network' | 'aborted';
  constructor(kind: QueryError['kind'], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.kind = kind;
  }
}

export function serverLabel(server: NameServer): string {
  return isIP(server.host) === 6 ? `[${server.host}]:${server.port}` : `${server.host}:${server.port}`;
}

/**
 * The UDP payload size advertised in every query's EDNS0 OPT record (RFC 6891): DNS Flag Day
 * 2020's 1232 bytes, which fits an IPv6 packet on a 1280-byte MTU without fragmentation.
 * Without EDNS0 a server cuts UDP answers at 512 bytes and every larger answer costs a TCP
 * connection as well.
 */
export const ednsUdpPayloadSize = 1232;

function buildQuery(name: string, type: keyof typeof Packet.TYPE, edns: boolean): Packet {
  const query = new Packet();
  query.header.id = Packet.uuid();
  query.header.rd = 1;
  query.questions.push({ name, type: Packet.TYPE[type], class: Packet.CLASS.IN } as Question);
  if (edns) query.additionals.push(Packet.Resource.EDNS([], { udpPayloadSize: ednsUdpPayloadSize }));
  return query;
}

/** RFC 6891 §7: a server that answers FORMERR without an OPT record does not speak EDNS0; ask it again without. */
function rejectsEdns(answer: Packet): boolean {
  return answer.header.rcode === Packet.RCODE.FORMERR && !answer.additionals.some((r) => r.type === Packet.TYPE.EDNS);
}

/** Decodes an answer and checks it answers this query; a mismatch is garbage, not an answer. */
function decode(data: Buffer, query: Packet, checkId: boolean): Packet {
  let answer: Packet;
  try {
    answer = Packet.parse(data);
  } catch (error) {
    throw new QueryError('garbage', `undecodable answer (${(error as Error).message})`, { cause: error });
  }
  const asked = query.questions[0]!;
  const echoed = answer.questions[0];
  if (answer.header.qr !== 1) throw new QueryError('garbage', 'answer is not a response (QR bit clear)');
  if (checkId && answer.header.id !== query.header.id) throw new QueryError('garbage', 'answer id does not match the query');
  if (!echoed || echoed.name.toLowerCase() !== asked.name.toLowerCase() || echoed.type !== asked.type) {
    throw new QueryError('garbage', 'answer is for a different question');
  }
  const fatal = answer.errors.find((e) => !e.recovered);
  if (fatal) throw new QueryError('garbage', `malformed answer: ${fatal.message}`, { cause: fatal });
  return answer;
}

/**
 * Runs `start` with a deadline and the abort signal; `start` gets `finish` to settle once
 * and returns its cleanup, which always runs (so no socket or timer outlives a query).
 */
function withDeadline<T>(
  what: string,
  { timeoutMs, signal }: QueryOptions,
  start: (finish: (error: Error | undefined, value?: T) => void, note: (dropped: string) => void) => () => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (signal.aborted) return reject(new QueryError('aborted', `${what} was aborted`));
    let done = false;
    let cleanup = () => {};
    let dropped = '';
    const finish = (error: Error | undefined, value?: T) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      try {
        cleanup();
      } catch {
        // A socket that is already closed: nothing is left to release, and this runs in a socket or timer callback.
      }
      if (error) reject(error);
      else resolve(value as T);
    };
    const onAbort = () => finish(new QueryError('aborted', `${what} was aborted`));
    const timer = setTimeout(() => finish(new QueryError('timeout', `${what} timed out after ${timeoutMs} ms${dropped}`)), timeoutMs);
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const release = start(finish, (text) => (dropped = ` (ignored ${text})`));
      // Settled while starting (a synchronous failure): release at once, nothing will later.
      if (done) release();
      else cleanup = release;
    } catch (error) {
      finish(new QueryError('network', (error as Error).message, { cause: error }));
    }
  });
}

function queryUdp(server: NameServer, query: Packet, options: QueryOptions): Promise<Packet> {
  return withDeadline(`UDP query to ${serverLabel(server)}`, options, (finish, note) => {
    const socket = createSocket(isIP(server.host) === 6 ? 'udp6' : 'udp4');
    socket.on('error', (error) => finish(new QueryError('network', error.message, { cause: error })));
    socket.on('message', (data, from) => {
      // A datagram from elsewhere, or a late answer to an earlier query, is not ours: keep waiting.
      if (from.port !== server.port || (isIP(server.host) !== 0 && from.address !== server.host)) return note(`a packet from ${from.address}:${from.port}`);
      if (data.length < 12 || data.readUInt16BE(0) !== query.header.id) return note('a packet that answers no query of ours');
      try {
        finish(undefined, decode(data, query, true));
      } catch (error) {
        finish(error as Error);
      }
    });
    socket.send(query.toBuffer(), server.port, server.host, (error) => {
      if (error) finish(new QueryError('network', error.message, { cause: error }));
    });
    return () => socket.close();
  });
}

function queryTcp(server: NameServer, query: Packet, options: QueryOptions): Promise<Packet> {
  return withDeadline(`TCP query to ${serverLabel(server)}`, options, (finish) => {
    const socket = connect({ host: server.host, port: server.port });
    let buffered = Buffer.alloc(0);
    socket.on('error', (error) => finish(new QueryError('network', error.message, { cause: error })));
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length < 2) return;
      const length = buffered.readUInt16BE(0);
      if (buffered.length < 2 + length) return;
      try {
        finish(undefined, decode(buffered.subarray(2, 2 + length), query, true));
      } catch (error) {
        finish(error as Error);
      }
    });
    socket.on('end', () => finish(new QueryError('network', 'connection closed before a full answer arrived')));
    const message = query.toBuffer();
    const length = Buffer.alloc(2);
    length.writeUInt16BE(message.length);
    socket.write(Buffer.concat([length, message]));
    return () => socket.destroy();
  });
}

/**
 * Asks one server one question: over UDP with EDNS0 (a {@link ednsUdpPayloadSize}-byte
 * payload; again without EDNS0 if the server answers FORMERR without an OPT record), and
 * again over TCP when the UDP answer was still truncated (RFC 1035 4.2.1, RFC 7766). Rejects
 * with a {@link QueryError}.
 *
 * dns2's UDPClient/TCPClient are not used for the exchange itself because neither takes an
 * AbortSignal and the TCP client has no timeout: closing the provider must leave no socket.
 * dns2's Packet does all encoding and decoding.
 */
export async function query(server: NameServer, name: string, type: 'SRV' | 'A' | 'AAAA', options: QueryOptions): Promise<Packet> {
  let edns = true;
  let udp = await queryUdp(server, buildQuery(name, type, edns), options);
  if (rejectsEdns(udp)) {
    edns = false;
    udp = await queryUdp(server, buildQuery(name, type, edns), options);
  }
  if (!udp.header.tc) return udp;
  return queryTcp(server, buildQuery(name, type, edns), options);
}

import { Packet } from 'dns2';
import { lookupFailed, stopped, type ServerFailure } from './errors.js';
import { query, QueryError, serverLabel, type NameServer } from './transport.js';

const rcodeNames = new Map<number, string>(Object.entries(Packet.RCODE).map(([name, code]) => [code, name]));

/**
 * Asks a list of name servers in turn: the one that answered last goes first, and the next
 * one is tried when a server times out, sends garbage, or answers anything but NOERROR or
 * NXDOMAIN (SERVFAIL, REFUSED, ...). NXDOMAIN is an answer, not a failure. When every server
 * fails, rejects with the classification of errors.ts.
 */
export class Resolver {
  readonly servers: readonly NameServer[];
  readonly #timeoutMs: number;
  readonly #closing: AbortSignal;
  #preferred = 0;

  constructor(servers: readonly NameServer[], timeoutMs: number, closing: AbortSignal) {
    this.servers = servers;
    this.#timeoutMs = timeoutMs;
    this.#closing = closing;
  }

  async resolve(name: string, type: 'SRV' | 'A' | 'AAAA', signal?: AbortSignal): Promise<Packet> {
    const combined = signal ? AbortSignal.any([this.#closing, signal]) : this.#closing;
    const failures: ServerFailure[] = [];
    for (let i = 0; i < this.servers.length; i++) {
      const index = (this.#preferred + i) % this.servers.length;
      const server = this.servers[index]!;
      try {
        const answer = await query(server, name, type, { timeoutMs: this.#timeoutMs, signal: combined });
        const rcode = answer.header.rcode;
        if (rcode === Packet.RCODE.NOERROR || rcode === Packet.RCODE.NXDOMAIN) {
          this.#preferred = index;
          return answer;
        }
        failures.push({
          kind: rcode === Packet.RCODE.REFUSED ? 'refused' : 'rcode',
          text: `${serverLabel(server)} answered ${rcodeNames.get(rcode) ?? `rcode ${rcode}`}`,
        });
      } catch (error) {
        if (error instanceof QueryError && error.kind === 'aborted') throw stopped(this.#closing, `DNS ${type} lookup of ${name}`, signal?.reason);
        const kind = error instanceof QueryError ? error.kind : 'network';
        failures.push({ kind: kind === 'aborted' ? 'network' : kind, text: `${serverLabel(server)}: ${(error as Error).message}` });
      }
    }
    throw lookupFailed(`${type} lookup of ${name}`, failures, this.#timeoutMs);
  }
}

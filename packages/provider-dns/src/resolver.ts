import { AbortedError, ClosedError, ProviderUnavailableError } from '@disco/core';
import { Packet } from 'dns2';
import { query, QueryError, serverLabel, type NameServer } from './transport.js';

const rcodeNames = new Map<number, string>(Object.entries(Packet.RCODE).map(([name, code]) => [code, name]));

/**
 * Asks a list of name servers in turn: the one that answered last goes first, and the next
 * one is tried when a server times out, sends garbage, or answers anything but NOERROR or
 * NXDOMAIN (SERVFAIL, REFUSED, ...). NXDOMAIN is an answer, not a failure.
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
    const failures: string[] = [];
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
        failures.push(`${serverLabel(server)} answered ${rcodeNames.get(rcode) ?? `rcode ${rcode}`}`);
      } catch (error) {
        if (error instanceof QueryError && error.kind === 'aborted') {
          if (this.#closing.aborted) throw new ClosedError('dns provider');
          throw new AbortedError(`DNS ${type} lookup of ${name}`, { cause: signal?.reason });
        }
        failures.push(`${serverLabel(server)}: ${(error as Error).message}`);
      }
    }
    throw new ProviderUnavailableError('dns', `${type} lookup of ${name} failed on every DNS server (${failures.join('; ')})`);
  }
}

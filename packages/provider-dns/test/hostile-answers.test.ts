// Issue 13: every DNS answer, however mangled, gives a valid result or a typed error; none
// crashes the process or hands out a malformed instance. Fixed seeds, so a failure repeats.
import { isDiscoveryError } from '@disco/core';
import { instanceProblem } from '@disco/core/provider';
import { dnsRecord, ScriptableDnsServer } from '@disco/testing';
import { Packet } from 'dns2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DnsProvider } from '../src/index.js';
import { seeded } from './seeded.js';

const { srv, a, aaaa } = dnsRecord;

/** A well-formed answer to `request`: three SRV records (one priority 0 and two priority 1), their addresses. */
function goodAnswer(request: Packet, type: string): Buffer {
  const response = Packet.createResponseFromRequest(request);
  const name = request.questions[0]!.name;
  const records =
    type === 'SRV'
      ? [srv(name, 'a.disco.test', 8080), srv(name, 'b.disco.test', 8081, { priority: 1, weight: 5 }), srv(name, 'c.other.test', 8082, { priority: 1 })]
      : type === 'A'
        ? [a(name, '10.0.0.3')]
        : [aaaa(name, 'fd00::3')];
  response.answers.push(...(records as Packet['answers']));
  if (type === 'SRV') response.additionals.push(...([a('a.disco.test', '10.0.0.1'), aaaa('b.disco.test', 'fd00::2')] as Packet['additionals']));
  return response.toBuffer();
}

/** One of several manglings, keeping the query id (bytes 0–1) so the answer is not simply ignored. */
function mangle(answer: Buffer, random: () => number): Buffer {
  const bytes = Buffer.from(answer);
  const at = () => 2 + Math.floor(random() * (bytes.length - 2));
  switch (Math.floor(random() * 5)) {
    case 0: // flip a few bits anywhere after the id
      for (let i = 0, n = 1 + Math.floor(random() * 4); i < n; i++) bytes[at()]! ^= 1 << Math.floor(random() * 8);
      return bytes;
    case 1: // cut short
      return bytes.subarray(0, 2 + Math.floor(random() * (bytes.length - 2)));
    case 2: // random bytes after a valid header
      return Buffer.concat([bytes.subarray(0, 12), Buffer.from(Array.from({ length: Math.floor(random() * 64) }, () => Math.floor(random() * 256)))]);
    case 3: // overwrite a run with random values (lengths, counts, pointers)
      for (let i = at(), end = Math.min(bytes.length, i + 1 + Math.floor(random() * 6)); i < end; i++) bytes[i] = Math.floor(random() * 256);
      return bytes;
    default: // trailing junk
      return Buffer.concat([bytes, Buffer.from(Array.from({ length: 1 + Math.floor(random() * 16) }, () => Math.floor(random() * 256)))]);
  }
}

describe('hostile DNS answers (issue 13)', () => {
  let server: ScriptableDnsServer;
  beforeAll(async () => {
    server = await ScriptableDnsServer.start();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('a mangled answer gives well-formed instances or a retryable DiscoveryError, never anything else', async () => {
    const runs = 400;
    const provider = new DnsProvider({ servers: server.address, domain: 'disco.test', srvName: 'rfc2782', timeout: 60, priorities: 'all' }, { env: {} });
    const outcomes = { instances: 0, errors: 0 };
    try {
      for (let seed = 1; seed <= runs; seed++) {
        const random = seeded(seed);
        server.script = (query, request) => mangle(goodAnswer(request, query.type), random);
        let result: unknown;
        try {
          result = await provider.discover('web');
        } catch (error) {
          result = error;
        }
        if (Array.isArray(result)) {
          outcomes.instances++;
          for (const instance of result) expect([seed, instanceProblem(instance)]).toEqual([seed, undefined]);
        } else {
          outcomes.errors++;
          expect([seed, isDiscoveryError(result)]).toEqual([seed, true]);
          expect([seed, (result as { code: string }).code]).toEqual([seed, expect.stringMatching(/^ERR_(PROVIDER_UNAVAILABLE|TIMEOUT)$/)]);
          expect([seed, (result as { retryable: boolean }).retryable]).toEqual([seed, true]);
        }
      }
    } finally {
      server.script = undefined;
      await provider.close();
    }
    // Both kinds were exercised: the manglings are neither all fatal nor all harmless.
    expect(outcomes.instances).toBeGreaterThan(runs / 20);
    expect(outcomes.errors).toBeGreaterThan(runs / 20);
  });
});

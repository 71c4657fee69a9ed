// Properties (fast-check, fixed seeds) of everything Consul hands the provider (issue 13): any row
// becomes a well-formed Instance or one ERR_INVALID_RECORD; any answer (status, X-Consul-Index,
// body) becomes a list/follow result or a typed DiscoveryError — never another error, never a
// non-string where the type says string, never an index below 1 sent back to the agent.
import { InvalidRecordError, isDiscoveryError, silentLogger, type Instance } from '@disco/core';
import { createRedactor, instanceProblem, type FollowSink } from '@disco/core/provider';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ChangeFeed } from '../src/consul-feed.js';
import { splitBudget, type ConsulHttp, type ConsulResponse } from '../src/consul-http.js';
import { ConsulSource, type SourceHost } from '../src/consul-source.js';
import { excerpt, statusError } from '../src/errors.js';
import { toInstance } from '../src/mapping.js';
import { resolveOptions } from '../src/options.js';

const runs = { numRuns: 2_000, seed: 0x5eed };

/** Near-valid rows: each field either right, missing, or of any JSON type. */
const maybe = <T>(right: fc.Arbitrary<T>) => fc.oneof(right, fc.constant(undefined), fc.jsonValue());
const rowArbitrary = fc.oneof(
  fc.record(
    {
      Node: maybe(fc.record({ Address: maybe(fc.constantFrom('10.0.0.1', '::1', 'node.local', '')), Datacenter: maybe(fc.string()) })),
      Service: maybe(
        fc.record({
          ID: maybe(fc.string()),
          Service: maybe(fc.string()),
          Address: maybe(fc.constantFrom('', '127.0.0.1', 'host', '[::1]', 'not an address')),
          Port: maybe(fc.integer({ min: -5, max: 70_000 })),
          Tags: maybe(fc.array(fc.oneof(fc.string(), fc.jsonValue()), { maxLength: 3 })),
          Meta: maybe(fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.jsonValue()), { maxKeys: 3 })),
          Weights: maybe(fc.record({ Passing: maybe(fc.double()), Warning: maybe(fc.double()) })),
        }),
      ),
      Checks: maybe(fc.array(fc.record({ Status: maybe(fc.constantFrom('passing', 'warning', 'critical', 'maintenance')) }), { maxLength: 3 })),
    },
    { requiredKeys: [] },
  ),
  fc.anything(),
);

const isStringList = (value: unknown) => Array.isArray(value) && value.every((v) => typeof v === 'string');

function checkInstance(instance: Instance): void {
  expect(instanceProblem(instance)).toBeUndefined();
  expect(isStringList(instance.tags)).toBe(true);
  for (const value of Object.values(instance.metadata)) expect(typeof value).toBe('string');
  expect(instance.port).toBeGreaterThanOrEqual(1);
}

describe('rows of /v1/health/service', () => {
  it('any row is a well-formed Instance or an InvalidRecordError', () => {
    fc.assert(
      fc.property(rowArbitrary, (row) => {
        let instance: Instance;
        try {
          instance = toInstance(row);
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidRecordError);
          return;
        }
        checkInstance(instance);
      }),
      runs,
    );
  });
});

/** A source on a canned answer, no network: what readHealth makes of it. */
function sourceAnswering(answer: ConsulResponse): { source: ConsulSource; sent: number[] } {
  const options = resolveOptions({ wait: '1s' }, {});
  const sent: number[] = [];
  const redact = createRedactor(['secret-token-value']);
  const http = {
    redact,
    lanes: splitBudget(options.maxConnections),
    request: async (_method: string, _path: string, request: { query?: Record<string, unknown> }) => {
      if (request.query?.index !== undefined) sent.push(Number(request.query.index));
      return answer;
    },
    fail: (response: ConsulResponse, what: string, need?: string) => statusError(response.status, excerpt(response.body, redact), what, need),
  } as unknown as ConsulHttp;
  const host: SourceHost = { http, options, logger: silentLogger, feed: new ChangeFeed(http, options), emit: () => {} };
  return { source: new ConsulSource(host, 'svc'), sent };
}

const answerArbitrary = fc.record({
  status: fc.constantFrom(200, 200, 200, 400, 401, 403, 404, 429, 500, 503),
  index: fc.oneof(
    fc.constant(undefined),
    fc.nat({ max: 1_000 }).map(String),
    fc.constantFrom('0', '-1', 'abc', '1e400', '99999999999999999999', '', ' 5', '5.5'),
    fc.string(),
  ),
  body: fc.oneof(
    fc.array(rowArbitrary, { maxLength: 4 }).map((rows) => JSON.stringify(rows)),
    fc.jsonValue().map((value) => JSON.stringify(value)),
    fc.string(),
  ),
});

describe('answers of the agent', () => {
  it('a list is instances, skipped records and a position that is 0 or at least 1 — or a typed error', async () => {
    await fc.assert(
      fc.asyncProperty(answerArbitrary, async ({ status, index, body }) => {
        const { source } = sourceAnswering({ status, headers: index === undefined ? {} : { 'x-consul-index': index }, body });
        let result;
        try {
          result = await source.list(new AbortController().signal);
        } catch (error) {
          expect(isDiscoveryError(error)).toBe(true);
          expect((error as Error).message).not.toContain('secret-token-value');
          return;
        }
        expect(status).toBe(200);
        for (const instance of result.instances) checkInstance(instance);
        for (const error of result.invalid ?? []) expect(error).toBeInstanceOf(InvalidRecordError);
        const position = result.position!;
        expect(Number.isSafeInteger(position)).toBe(true);
        expect(position === 0 || position >= 1).toBe(true);
      }),
      { ...runs, numRuns: 1_000 },
    );
  });

  it('a follow sends the index it was given, ends in "ended" or "relist" (a 429 only marks it stale), and hands on only well-formed state', async () => {
    await fc.assert(
      fc.asyncProperty(answerArbitrary, fc.integer({ min: 0, max: 2_000 }), async ({ status, index, body }, from) => {
        const { source, sent } = sourceAnswering({ status, headers: index === undefined ? {} : { 'x-consul-index': index }, body });
        const replaced: { instances: Instance[]; position: number | undefined }[] = [];
        const controller = new AbortController();
        const sink: FollowSink<number> = {
          replace: (instances, position) => void replaced.push({ instances: [...instances], position }),
          resync: () => expect.unreachable('a long-poll replaces'),
          upsert: () => expect.unreachable('a long-poll replaces'),
          remove: () => expect.unreachable('a long-poll replaces'),
          advance: () => expect.unreachable('a long-poll replaces'),
          invalid: (error) => expect(error).toBeInstanceOf(InvalidRecordError),
          // Only a 429 keeps the follow going (stale once, backing off); anything else that fails rejects.
          stale: (error) => {
            expect([status, isDiscoveryError(error)]).toEqual([429, true]);
            controller.abort();
          },
        };
        let end;
        try {
          end = await source.follow(from, sink, controller.signal);
        } catch (error) {
          expect(isDiscoveryError(error)).toBe(true);
          return;
        }
        expect(sent).toEqual(from > 0 ? [from] : []);
        expect(['ended', 'relist']).toContain(end);
        if (end === 'relist') expect(replaced).toEqual([]);
        for (const { instances, position } of replaced) {
          for (const instance of instances) checkInstance(instance);
          expect(position === 0 || position! >= 1).toBe(true);
        }
      }),
      { ...runs, numRuns: 1_000 },
    );
  });
});

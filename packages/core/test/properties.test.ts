// Property-based tests of everything core takes from outside (issue 13): whatever the input,
// the result is valid or a typed DiscoveryError with the right code naming the field or the
// variable — never another error type, never a non-string where the type says string.
// Fixed seeds, so a run is reproducible; numRuns is written next to each property.
import {
  configFromEnv,
  createDiscovery,
  instanceFromService,
  isDiscoveryError,
  parseCompactInstances,
  parseDuration,
  providerNames,
  staticProvider,
  tryParseDuration,
  validateService,
  type Instance,
  type Service,
} from '@disco/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { maxDurationMs } from '../src/duration.ts';
import { parseStaticFile } from '../src/static/static-file.ts';

/** Throws unless `i` is a frozen Instance whose every field has its declared type. */
function assertInstance(i: Instance, name?: string): void {
  const bad = (why: string) => {
    throw new Error(`not a valid Instance (${why}): ${JSON.stringify(i, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))}`);
  };
  if (!Object.isFrozen(i) || !Object.isFrozen(i.tags) || !Object.isFrozen(i.metadata)) bad('not frozen');
  for (const field of ['id', 'name', 'address'] as const) if (typeof i[field] !== 'string' || i[field].trim() === '') bad(field);
  if (name !== undefined && i.name !== name) bad('name');
  if (!Number.isInteger(i.port) || i.port < 1 || i.port > 65535) bad('port');
  if (!Array.isArray(i.tags) || Object.keys(i.tags).length !== i.tags.length || !i.tags.every((t) => typeof t === 'string')) bad('tags');
  if (typeof i.metadata !== 'object' || Object.values(i.metadata).some((v) => typeof v !== 'string')) bad('metadata');
  if (typeof i.healthy !== 'boolean') bad('healthy');
  if (typeof i.weight !== 'number' || !Number.isFinite(i.weight) || i.weight <= 0) bad('weight');
  if (i.version !== undefined && typeof i.version !== 'string') bad('version');
  if (i.zone !== undefined && typeof i.zone !== 'string') bad('zone');
}

/** Calls `fn`; a throw must be a DiscoveryError with `code`, which is returned. */
function typedError<T>(fn: () => T, code: string): { value: T } | { error: Error & { code: string; variable?: string; problems?: readonly string[] } } {
  try {
    return { value: fn() };
  } catch (error) {
    if (!isDiscoveryError(error, code as never)) throw new Error(`expected ${code} or a result, got ${String((error as Error)?.stack ?? error)}`, { cause: error });
    return { error: error as never };
  }
}

// Values JSON.stringify, String() or a template literal choke on, and shapes validators forget.
const circular: Record<string, unknown> = { a: 1 };
circular.self = circular;
const throwing = new Proxy({}, {
  // Every read throws, except fast-check's own, so a counterexample can still be printed.
  has: (_target, key) => key === fc.toStringMethod,
  get: (_target, key) => {
    if (key === fc.toStringMethod) return () => 'throwingProxy';
    throw new Error('trap');
  },
  ownKeys: () => {
    throw new Error('trap');
  },
});
const nasty = fc.constantFrom<unknown>(
  Symbol('s'), () => 1, circular, throwing, new Array(1e6), [, 'x'], Object.create(null), { toString: 1 }, { toJSON: () => { throw new Error('x'); } }, // eslint-disable-line no-sparse-arrays
  Number.NaN, Infinity, -Infinity, -0, 10n, '', ' ', '9'.repeat(400), new String('x'), new Date(0), new Map(), '__proto__',
);
const hostile: fc.Arbitrary<unknown> = fc.oneof(
  nasty,
  fc.anything({ maxDepth: 2, withBigInt: true, withNullPrototype: true, withSparseArray: true, withBoxedValues: true, withDate: true, withMap: true, withSet: true, withTypedArray: true }),
  fc.string(),
  fc.integer(),
  fc.double(),
  fc.sparseArray(fc.oneof(fc.string(), fc.integer())),
);

const nonBlank = fc.string({ minLength: 1 }).filter((s) => s.trim() !== '');
const durationText = fc.tuple(fc.integer({ min: 1, max: 596 }), fc.constantFrom('ms', 's', 'm', 'h')).map(([n, unit]) => `${n}${unit}`);
const goodDuration = fc.oneof(fc.integer({ min: 1, max: maxDurationMs }), durationText);
const hostPort = fc.tuple(fc.oneof(fc.ipV4(), fc.domain()), fc.integer({ min: 1, max: 65535 })).map(([h, p]) => `${h}:${p}`);
const health = fc.oneof(
  fc.record({ http: fc.webUrl({ validSchemes: ['http', 'https'] }), interval: goodDuration, timeout: goodDuration }, { requiredKeys: ['http'] }),
  fc.record({ tcp: hostPort, interval: goodDuration, failuresBeforeCritical: fc.integer({ min: 1, max: 10 }) }, { requiredKeys: ['tcp'] }),
  fc.record({ grpc: hostPort, deregisterAfter: goodDuration, successBeforePassing: fc.integer({ min: 1, max: 10 }) }, { requiredKeys: ['grpc'] }),
  fc.record({ ttl: goodDuration }),
);
const service: fc.Arbitrary<Service> = fc.record(
  {
    id: nonBlank,
    name: nonBlank.filter((s) => !s.includes('/')),
    address: fc.oneof(fc.ipV4(), fc.ipV6(), fc.ipV6().map((a) => `[${a}]`), fc.domain()),
    port: fc.integer({ min: 1, max: 65535 }),
    version: fc.string(),
    tags: fc.array(fc.string(), { maxLength: 5 }),
    metadata: fc.dictionary(fc.string(), fc.string(), { maxKeys: 5 }),
    weight: fc.double({ min: 0.001, max: 1e6, noNaN: true }),
    zone: fc.string(),
    health,
  },
  { requiredKeys: ['id', 'name', 'address', 'port'] },
);
const fields = ['id', 'name', 'version', 'address', 'port', 'tags', 'metadata', 'weight', 'zone', 'health'] as const;
const removed = Symbol('removed');

describe('Service validation', () => {
  it('a valid service validates to a frozen copy that makes a valid Instance (numRuns 500)', () => {
    fc.assert(
      fc.property(service, (s) => {
        const valid = validateService(s);
        expect(Object.isFrozen(valid)).toBe(true);
        assertInstance(instanceFromService(valid), s.name);
      }),
      { seed: 1301, numRuns: 500 },
    );
  });

  it('one mutated field: a valid service, or ERR_INVALID_SERVICE whose every problem names that field (numRuns 3000)', () => {
    fc.assert(
      fc.property(service, fc.constantFrom(...fields), fc.oneof(hostile, fc.constant(removed)), (s, field, value) => {
        const mutated: Record<string, unknown> = { ...s };
        if (value === removed) delete mutated[field];
        else mutated[field] = value;
        const result = typedError(() => validateService(mutated), 'ERR_INVALID_SERVICE');
        if ('value' in result) assertInstance(instanceFromService(result.value), mutated.name as string);
        else if (!result.error.problems!.every((p) => p.startsWith(field) || p.startsWith('service could not be read'))) {
          throw new Error(`a problem does not name ${field}: ${result.error.message}`);
        }
      }),
      { seed: 1302, numRuns: 3000 },
    );
  });

  it('any value at all, with or without a default name: a valid service or ERR_INVALID_SERVICE (numRuns 1000)', () => {
    fc.assert(
      fc.property(fc.oneof(hostile, service.map((s) => ({ ...s, name: undefined }))), fc.option(fc.constant('dflt'), { nil: undefined }), (value, name) => {
        const result = typedError(() => validateService(value, { name }), 'ERR_INVALID_SERVICE');
        if ('value' in result) assertInstance(instanceFromService(result.value));
        else expect(result.error.message.length).toBeGreaterThan(0);
      }),
      { seed: 1303, numRuns: 1000 },
    );
  });

  it('Discovery.register with any value: registers, or rejects with ERR_INVALID_SERVICE (numRuns 300)', async () => {
    const d = createDiscovery({ serviceName: 'dflt', healthCheck: false });
    await fc.assert(
      fc.asyncProperty(fc.oneof(hostile, service), async (value) => {
        try {
          await d.register(value as Service);
        } catch (error) {
          if (!isDiscoveryError(error, 'ERR_INVALID_SERVICE')) throw error;
        }
      }),
      { seed: 1304, numRuns: 300 },
    );
    await d.close();
  });
});

describe('durations', () => {
  const junk = fc.stringMatching(/^\s?[0-9.]{0,25}(ms|s|m|h|x)?([0-9.]{0,6}(ms|s|m|h))*\s?$/);

  it('tryParseDuration is undefined or a finite ms count; parseDuration is that count up to 2^31-1, or ERR_CONFIG naming the field (numRuns 3000)', () => {
    fc.assert(
      fc.property(fc.oneof(junk, hostile, fc.double(), fc.bigInt(), fc.integer({ min: maxDurationMs - 5, max: maxDurationMs + 5 })), (value) => {
        const ms = tryParseDuration(value);
        if (ms !== undefined && !(Number.isFinite(ms) && ms >= 0)) throw new Error(`tryParseDuration gave ${ms}`);
        const result = typedError(() => parseDuration(value as never, 'health.interval'), 'ERR_CONFIG');
        if ('value' in result) {
          expect(result.value).toBe(ms);
          expect(result.value).toBeLessThanOrEqual(maxDurationMs);
        } else {
          expect(result.error.variable).toBe('health.interval');
          expect(result.error.message).toMatch(/^health\.interval must be /);
          if (ms !== undefined) expect(result.error.message).toContain('at most 2147483647 ms');
        }
      }),
      { seed: 1305, numRuns: 3000 },
    );
  });

  it('a composite duration parses to the sum of its parts (numRuns 1000)', () => {
    const units = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 100 }), fc.constantFrom('ms', 's', 'm', 'h') as fc.Arbitrary<keyof typeof units>), { minLength: 1, maxLength: 4 }), (parts) => {
        const text = parts.map(([n, u]) => `${n}${u}`).join('');
        expect(tryParseDuration(text)).toBe(parts.reduce((sum, [n, u]) => sum + n * units[u], 0));
      }),
      { seed: 1306, numRuns: 1000 },
    );
  });
});

describe('configFromEnv', () => {
  const variables = {
    DISCOVERY_PROVIDER: fc.oneof(fc.constantFrom(...providerNames, 'zookeeper', 'STATIC', ''), fc.string()),
    DISCOVERY_SERVICE_NAME: fc.oneof(fc.string(), fc.constantFrom('users', 'a/b', '__proto__', ' ')),
    DISCOVERY_BALANCER: fc.oneof(fc.stringMatching(/^[a-zA-Z_ ][a-z0-9_ -]{0,12}$/), fc.string()),
    DISCOVERY_CACHE_TTL: fc.oneof(durationText, fc.stringMatching(/^[0-9.]{0,14}(ms|s|m|h|d)?$/), fc.string()),
    DISCOVERY_MAX_STALE: fc.oneof(durationText, fc.stringMatching(/^[0-9.]{0,14}(ms|s|m|h|d)?$/), fc.constantFrom('1000h', '9'.repeat(400), '-1s'), fc.string()),
    DISCOVERY_HEALTH_CHECK: fc.oneof(fc.constantFrom('true', 'FALSE', 'yes', 'off', '1', 'maybe'), fc.string()),
    DISCOVERY_STATIC_INSTANCES: fc.oneof(fc.stringMatching(/^[a-z_/]{0,5}=[0-9.:[\]a-f,]{0,30}(;[a-z_]{0,4}=[0-9.:,]{0,20})?$/), fc.string()),
    DISCOVERY_STATIC_FILE: fc.oneof(fc.constantFrom('/etc/disco.json', '/nonexistent/dir/s.json', '/etc', 'package.json', 'x\0y', '.'), fc.string()),
  } as const;

  /** What a config that configFromEnv accepted must be good for. */
  function usable(config: ReturnType<typeof configFromEnv>): void {
    expect(providerNames).toContain(config.provider);
    expect(parseDuration(config.cacheTtl!, 'cacheTtl')).toBeLessThanOrEqual(maxDurationMs);
    if (config.maxStale !== undefined) expect(parseDuration(config.maxStale, 'maxStale')).toBeLessThanOrEqual(maxDurationMs);
    expect(typeof config.healthCheck).toBe('boolean');
    if (config.static?.instances !== undefined) void staticProvider({ instances: config.static.instances }).close();
    void createDiscovery(config).close();
  }

  for (const [variable, values] of Object.entries(variables)) {
    it(`${variable}: a usable config, or ERR_CONFIG naming ${variable} (numRuns 300)`, () => {
      fc.assert(
        fc.property(values, (value) => {
          const env = { DISCOVERY_PROVIDER: 'static', [variable]: value };
          const result = typedError(() => configFromEnv(env), 'ERR_CONFIG');
          if ('value' in result) usable(result.value);
          else {
            expect(result.error.variable).toBe(variable);
            expect(result.error.message).toContain(variable);
          }
        }),
        { seed: 1307, numRuns: 300 },
      );
    });
  }

  it('all variables at once: the error names one of the variables that was set (numRuns 500)', () => {
    const env = fc.record(variables, { requiredKeys: [] });
    fc.assert(
      fc.property(env, (env) => {
        const result = typedError(() => configFromEnv(env), 'ERR_CONFIG');
        if ('value' in result) usable(result.value);
        else expect(Object.keys(env)).toContain(result.error.variable);
      }),
      { seed: 1308, numRuns: 500 },
    );
  });
});

describe('the compact static format (DISCOVERY_STATIC_INSTANCES)', () => {
  const alphabet = fc.constantFrom(...'ab_-=;,:[]./ 0123456789fd'.split(''));
  const name = fc.oneof(fc.stringMatching(/^[a-z][a-z0-9_-]{0,8}$/), fc.constantFrom('__proto__', 'constructor', 'toString', 'valueOf'));
  const endpoint = fc.oneof(
    fc.tuple(fc.ipV4(), fc.integer({ min: 1, max: 65535 })).map(([a, p]) => ({ address: a, port: p, text: `${a}:${p}` })),
    fc.tuple(fc.ipV6(), fc.integer({ min: 1, max: 65535 })).map(([a, p]) => ({ address: a, port: p, text: `[${a}]:${p}` })),
  );

  it('any text: services that make a working static provider, or ERR_CONFIG naming the variable (numRuns 2000)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ unit: alphabet, maxLength: 40 }), fc.string()), async (text) => {
        const result = typedError(() => parseCompactInstances(text), 'ERR_CONFIG');
        if ('error' in result) {
          expect(result.error.variable).toBe('DISCOVERY_STATIC_INSTANCES');
          return;
        }
        const p = staticProvider({ instances: text });
        for (const [name, list] of Object.entries(result.value)) {
          const found = await p.discover(name);
          found.forEach((i) => assertInstance(i, name));
          expect(found.length).toBe(new Set(list.map((e) => `${e.address}:${e.port}`)).size);
        }
        await p.close();
      }),
      { seed: 1309, numRuns: 2000 },
    );
  });

  it('what is written is what is served, names like __proto__ included (numRuns 500)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(name, fc.array(endpoint, { minLength: 1, maxLength: 3 })), { minLength: 1, maxLength: 4 }), async (groups) => {
        const text = groups.map(([n, eps]) => `${n}=${eps.map((e) => e.text).join(',')}`).join(';');
        const p = staticProvider({ instances: text });
        for (const n of new Set(groups.map(([n]) => n))) {
          const expected = new Set(groups.filter(([g]) => g === n).flatMap(([, eps]) => eps.map((e) => `${e.address}|${e.port}`)));
          const found = await p.discover(n);
          found.forEach((i) => assertInstance(i, n));
          expect(new Set(found.map((i) => `${i.address}|${i.port}`))).toEqual(expected);
        }
        await p.close();
      }),
      { seed: 1310, numRuns: 500 },
    );
  });
});

describe('the static file', () => {
  const path = '/srv/disco/services.json';
  const instance = fc.record({ address: fc.ipV4(), port: fc.integer({ min: 1, max: 65535 }), tags: fc.array(fc.string(), { maxLength: 2 }) }, { requiredKeys: ['address', 'port'] });
  const document = fc.dictionary(fc.oneof(fc.string(), fc.constantFrom('__proto__', 'constructor', 'services')), fc.array(instance, { maxLength: 3 }), { maxKeys: 4 });
  /** A good document with one value somewhere replaced by arbitrary JSON. */
  const mutated = fc.tuple(document, fc.jsonValue(), fc.nat(), fc.nat(), fc.constantFrom('address', 'port', 'tags', 'metadata', 'weight', 'healthy', 'id', 'zone', 'extra')).map(([doc, value, i, j, field]) => {
    const names = Object.keys(doc);
    if (names.length === 0) return JSON.stringify({ services: value });
    const list = doc[names[i % names.length]!]!;
    if (list.length === 0 || j % 4 === 0) (doc as Record<string, unknown>)[names[i % names.length]!] = value;
    else (list[j % list.length] as Record<string, unknown>)[field] = value;
    return JSON.stringify({ services: doc });
  });

  it('any text: one invalid-edit error naming the file, or instances that are all valid and problems naming the file (numRuns 2000)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.json(), mutated, document.map((d) => JSON.stringify({ services: d })), fc.string()), (text) => {
        const content = parseStaticFile(text, path);
        if (isDiscoveryError(content)) {
          expect(content.code).toBe('ERR_INVALID_RECORD');
          expect(content.key).toBe(path);
          return;
        }
        for (const [name, list] of content.byName) list.forEach((i) => assertInstance(i, name));
        for (const problem of content.problems) {
          expect(problem.code).toBe('ERR_INVALID_RECORD');
          expect(problem.key.startsWith(`${path}: `)).toBe(true);
        }
        for (const name of content.unreadable) expect(content.byName.has(name)).toBe(false);
      }),
      { seed: 1311, numRuns: 2000 },
    );
  });

  it('a good document is served exactly, under any service names (numRuns 500)', () => {
    fc.assert(
      fc.property(document.filter((d) => Object.keys(d).every((n) => n.trim() !== '' && !n.includes('/'))), (doc) => {
        const content = parseStaticFile(JSON.stringify({ services: doc }), path);
        if (isDiscoveryError(content)) throw content;
        expect(content.problems).toEqual([]);
        expect([...content.byName.keys()].sort()).toEqual(Object.keys(doc).sort());
        for (const [name, list] of content.byName) expect(list.map((i) => [i.address, i.port])).toEqual(doc[name]!.map((e) => [e.address, e.port]));
      }),
      { seed: 1312, numRuns: 500 },
    );
  });
});

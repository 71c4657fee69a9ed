// Issue 13, core items 1–5: each input here once made core throw a TypeError, accept garbage,
// overflow Node's timers or drop the last good static content.
import { assertHealthStatus, configFromEnv, createDiscovery, isDiscoveryError, onShutdown, parseCompactInstances, parseDuration, serviceProblems, staticProvider, tryParseDuration, validateService, type Instance, type ProviderEvent, type Service, type WatchEvent } from '@disco/core';
import { HealthAgent } from '../src/health/health-agent.js';
import { waitFor } from '@disco/testing';
import fc from 'fast-check';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { describeValue } from '../src/describe-value.ts';
import { maxDurationMs } from '../src/duration.ts';

const good = { id: 'a', name: 'users', address: '10.0.0.1', port: 8080 };

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
function tempFile(content: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'disco-hostile-'));
  dirs.push(dir);
  const file = join(dir, 'services.json');
  writeFileSync(file, content);
  return file;
}

describe('1. register(null) and other non-objects', () => {
  it.each([[null], [undefined], [42], ['users'], [10n], [[good]], [Symbol('s')]])('validateService(%s) is ERR_INVALID_SERVICE saying what it got', (value) => {
    const error = thrown(() => validateService(value));
    expect(error).toMatchObject({ code: 'ERR_INVALID_SERVICE', problems: [expect.stringMatching(/^service must be an object; got /)] });
  });

  it('validateService(raw, { name }) fills a missing name and still rejects null without a TypeError', () => {
    expect(validateService({ id: 'a', address: '10.0.0.1', port: 1 }, { name: 'x' }).name).toBe('x');
    expect(validateService({ ...good, name: 'own' }, { name: 'x' }).name).toBe('own');
    expect(thrown(() => validateService(null, { name: 'x' }))).toMatchObject({ code: 'ERR_INVALID_SERVICE' });
  });

  it('createDiscovery({ serviceName }).register(null) rejects with ERR_INVALID_SERVICE, not a TypeError', async () => {
    const d = createDiscovery({ serviceName: 'x' });
    for (const value of [null, undefined, 42, 'x']) {
      await expect(d.register(value as never)).rejects.toMatchObject({ code: 'ERR_INVALID_SERVICE', message: expect.stringContaining('service must be an object') });
    }
    await d.close();
  });

  it('the returned service is a frozen copy: later changes to the caller object do not reach it', () => {
    const tags = ['a'];
    const input: Service = { ...good, tags, metadata: { k: 'v' }, health: { tcp: '10.0.0.1:1', interval: '1s' } };
    const valid = validateService(input);
    tags.push('b');
    expect(valid.tags).toEqual(['a']);
    expect(Object.isFrozen(valid) && Object.isFrozen(valid.tags) && Object.isFrozen(valid.metadata) && Object.isFrozen(valid.health)).toBe(true);
  });

  it('an object whose getters throw is ERR_INVALID_SERVICE', () => {
    const hostile = { ...good, get port(): number { throw new Error('boom'); } };
    expect(thrown(() => validateService(hostile))).toMatchObject({ code: 'ERR_INVALID_SERVICE', message: expect.stringContaining('could not be read') });
  });
});

describe('2. values JSON.stringify cannot print never break an error message', () => {
  const circular: Record<string, unknown> = { a: 1 };
  circular.self = circular;

  it.each([
    ['port: 10n', { port: 10n }, 'port must be an integer from 1 to 65535; got 10n'],
    ['weight: 1n', { weight: 1n }, 'weight must be a positive finite number; got 1n'],
    ['address: circular', { address: circular }, 'address must be a hostname, an IPv4 or an IPv6 address; got {"a":1,"self":{"a":1,"self":{…}}}'],
    ['address: Symbol', { address: Symbol('x') }, 'address must be a hostname, an IPv4 or an IPv6 address; got Symbol(x)'],
    ['health.http: 5n', { health: { http: 5n } }, 'health.http must be an http:// or https:// URL; got 5n'],
    ['health.interval: 10n', { health: { tcp: 'h:1', interval: 10n } }, 'health.interval must be a positive duration such as 250ms, 10s, 5m or 1h; got 10n'],
    ['weight: NaN', { weight: Number.NaN }, 'weight must be a positive finite number; got NaN'],
  ])('%s', (_label, change, problem) => {
    const error = thrown(() => validateService({ ...good, ...change }));
    expect(error).toMatchObject({ code: 'ERR_INVALID_SERVICE' });
    expect((error as { problems: string[] }).problems).toContain(problem);
  });

  it('parseDuration(10n), parseDuration(circular) and assertHealthStatus(10n) are ERR_CONFIG', () => {
    expect(thrown(() => parseDuration(10n as never, 'health.interval'))).toMatchObject({ code: 'ERR_CONFIG', message: expect.stringContaining('got 10n') });
    expect(thrown(() => parseDuration(circular as never, 'x'))).toMatchObject({ code: 'ERR_CONFIG' });
    expect(thrown(() => assertHealthStatus(10n, 'heartbeat'))).toMatchObject({ code: 'ERR_CONFIG', message: expect.stringContaining('got 10n') });
  });

  it('describeValue is short, bounded and never throws', () => {
    const hostile = new Proxy({}, { ownKeys: () => { throw new Error('no'); } });
    const huge = new Array(1e9);
    huge[5] = 'x';
    const started = performance.now();
    expect(describeValue(huge)).toBe('[<empty>,<empty>,<empty>,<empty>,<empty>,… 999999995 more]');
    expect(performance.now() - started).toBeLessThan(100);
    expect(describeValue(hostile)).toBe('[unprintable value]');
    expect(describeValue(undefined)).toBe('undefined');
    expect(describeValue(-0)).toBe('-0');
    expect(describeValue(Object.create(null))).toBe('{}');
    expect(describeValue(new Date(0))).toBe('Date {}');
    expect(describeValue('x'.repeat(1000)).length).toBeLessThanOrEqual(80);
    expect(describeValue('https://user:hunter22@host/x')).toBe('"https://[redacted]@host/x"');
    expect(describeValue({ toJSON: () => { throw new Error('no'); } })).toBe('{"toJSON":[function]}');
  });
});

describe('3. sparse arrays and non-string tags', () => {
  it.each([
    ['a hole', [, 'x']], // eslint-disable-line no-sparse-arrays
    ['only holes', new Array(3)],
    ['a billion holes', new Array(1e9)],
    ['a number', ['x', 5]],
    ['undefined', ['x', undefined]],
    ['null', [null]],
    ['a String object', [new String('x')]],
  ])('tags with %s are ERR_INVALID_SERVICE', (_label, tags) => {
    const started = performance.now();
    expect(serviceProblems({ ...good, tags })).toEqual([expect.stringMatching(/^tags must be an array of strings/)]);
    expect(performance.now() - started).toBeLessThan(100);
  });

  it('a sparse tag list never comes back from discover()', async () => {
    const d = createDiscovery();
    await expect(d.register({ ...good, tags: [, 'x'] as string[] })).rejects.toMatchObject({ code: 'ERR_INVALID_SERVICE' }); // eslint-disable-line no-sparse-arrays
    expect(await d.discover('users')).toEqual([]);
    await d.close();
  });

  it('static configuration with a hole is ERR_CONFIG, never an instance with undefined in it', () => {
    expect(thrown(() => staticProvider({ services: { users: [{ address: '10.0.0.1', port: 80, tags: [, 'x'] as string[] }] } }))).toMatchObject({ code: 'ERR_CONFIG' }); // eslint-disable-line no-sparse-arrays
    expect(thrown(() => staticProvider({ services: { users: [, { address: '10.0.0.1', port: 80 }] as never } }))).toMatchObject({ code: 'ERR_CONFIG', message: expect.stringContaining('users[0]') }); // eslint-disable-line no-sparse-arrays
  });
});

describe('4. durations: finite, and at most 2^31-1 ms', () => {
  it("'9'.repeat(400) is not a duration", () => {
    expect(tryParseDuration('9'.repeat(400))).toBeUndefined();
    expect(tryParseDuration(`${'9'.repeat(400)}h`)).toBeUndefined();
    expect(thrown(() => parseDuration('9'.repeat(400), 'cacheTtl'))).toMatchObject({ code: 'ERR_CONFIG', variable: 'cacheTtl' });
  });

  it('anything above 2^31-1 ms is ERR_CONFIG saying the limit; the limit itself is fine', () => {
    expect(parseDuration(maxDurationMs)).toBe(maxDurationMs);
    expect(parseDuration(`${maxDurationMs}ms`)).toBe(maxDurationMs);
    for (const value of ['1000h', '600h', maxDurationMs + 1, `${maxDurationMs + 1}`]) {
      expect(thrown(() => parseDuration(value, 'health.interval'))).toMatchObject({ code: 'ERR_CONFIG', variable: 'health.interval', message: expect.stringMatching(/at most 2147483647 ms \(about 24\.8 days/) });
    }
    // Infinity stays expressible where it means "never" (maxStale).
    expect(parseDuration(Infinity, 'maxStale', { unlimited: true })).toBe(Infinity);
    expect(thrown(() => parseDuration(Infinity, 'maxStale'))).toMatchObject({ code: 'ERR_CONFIG' });
  });

  it.each(['DISCOVERY_MAX_STALE', 'DISCOVERY_CACHE_TTL'])('%s=1000h is ERR_CONFIG naming the variable and the limit', (variable) => {
    expect(thrown(() => configFromEnv({ [variable]: '1000h' }))).toMatchObject({ code: 'ERR_CONFIG', variable, message: expect.stringMatching(new RegExp(`^${variable}="1000h" is not valid: expected at most 2147483647 ms`)) });
    expect(thrown(() => configFromEnv({ [variable]: '9'.repeat(400) }))).toMatchObject({ code: 'ERR_CONFIG', variable });
  });

  it('maxStale, closeTimeout, health durations and shutdown durations above the limit never reach a timer', async () => {
    expect(thrown(() => createDiscovery({ maxStale: '1000h' }))).toMatchObject({ code: 'ERR_CONFIG', variable: 'maxStale' });
    const d = createDiscovery();
    await expect(d.register({ ...good, health: { tcp: '127.0.0.1:1', interval: '1000h' } })).rejects.toMatchObject({ code: 'ERR_INVALID_SERVICE', message: expect.stringContaining('health.interval must be at most 2147483647 ms') });
    await expect(d.register({ ...good, health: { ttl: '1000h' } })).rejects.toMatchObject({ code: 'ERR_INVALID_SERVICE' });
    await expect(d.register({ ...good, health: { tcp: '127.0.0.1:1', deregisterAfter: '600h' } })).rejects.toMatchObject({ code: 'ERR_INVALID_SERVICE' });
    expect(thrown(() => onShutdown(d, { drain: '1000h', signals: [] }))).toMatchObject({ code: 'ERR_CONFIG', variable: 'drain' });
    await d.close();
    const hooks = { setHealthy: async () => {}, remove: async () => {}, observe: () => {}, fail: () => {} };
    expect(thrown(() => new HealthAgent({ tcp: 'h:1', interval: '1000h' }, undefined, hooks))).toMatchObject({ code: 'ERR_CONFIG', variable: 'health.interval' });
  });

  it('a health interval at the limit waits, instead of overflowing to 1 ms', async () => {
    let probes = 0;
    const agent = new HealthAgent({ tcp: 'h:1', interval: maxDurationMs }, { kind: 'tcp', target: 'h:1', run: async () => (probes++, 'passing') }, {
      setHealthy: async () => {}, remove: async () => {}, observe: () => {}, fail: () => {},
    });
    agent.start();
    await new Promise((r) => setTimeout(r, 100));
    await agent.stop();
    expect(probes).toBe(0);
  });
});

describe('5. static provider', () => {
  it('DISCOVERY_STATIC_INSTANCES=a/b=1.2.3.4:80 fails in configFromEnv, naming the variable', () => {
    expect(thrown(() => configFromEnv({ DISCOVERY_STATIC_INSTANCES: 'a/b=1.2.3.4:80' }))).toMatchObject({ code: 'ERR_CONFIG', variable: 'DISCOVERY_STATIC_INSTANCES', message: expect.stringContaining('DISCOVERY_STATIC_INSTANCES') });
    expect(thrown(() => staticProvider({ instances: 'a/b=1.2.3.4:80' }))).toMatchObject({ code: 'ERR_CONFIG', variable: 'DISCOVERY_STATIC_INSTANCES' });
  });

  it('DISCOVERY_STATIC_FILE: a missing directory, a directory, or a file with bad content fails in configFromEnv, naming the variable', () => {
    const variable = 'DISCOVERY_STATIC_FILE';
    const dir = mkdtempSync(join(tmpdir(), 'disco-hostile-'));
    dirs.push(dir);
    for (const value of [join(dir, 'nope', 'services.json'), dir, tempFile('[]'), tempFile('{"services":5}'), tempFile('{ "users": [ {'), tempFile('{"users":[{"address":"h","port":0}]}')]) {
      expect(thrown(() => configFromEnv({ [variable]: value }))).toMatchObject({ code: 'ERR_CONFIG', variable, message: expect.stringContaining(variable) });
    }
    // A file that does not exist yet is fine (it is watched); so is a good one.
    expect(configFromEnv({ [variable]: join(dir, 'later.json') }).static).toEqual({ file: join(dir, 'later.json') });
    expect(configFromEnv({ [variable]: tempFile('{"users":[{"address":"h","port":1}]}') }).static?.file).toBeDefined();
  });

  it.each(['__proto__', 'constructor', 'toString', 'hasOwnProperty'])('a service named %s is served from every source', async (name) => {
    const file = tempFile(`{"services":{${JSON.stringify(name)}:[{"address":"127.0.0.1","port":3}]}}`);
    const p = staticProvider({ instances: `${name}=127.0.0.1:1`, file });
    await p.register({ id: 'r', name, address: '127.0.0.1', port: 2 });
    expect((await p.discover(name)).map((i) => i.port).sort()).toEqual([1, 2, 3]);
    expect(await p.discover('other')).toEqual([]);
    expect(Object.keys(parseCompactInstances(`${name}=127.0.0.1:1`))).toEqual([name]);
    await p.close();
    const d = createDiscovery(configFromEnv({ DISCOVERY_STATIC_INSTANCES: `${name}=127.0.0.1:1` }));
    expect((await d.discover(name)).map((i) => i.port)).toEqual([1]);
    await d.close();
  });

  it('unknown option keys and mistyped options are ERR_CONFIG', () => {
    expect(thrown(() => staticProvider({ service: {} } as never))).toMatchObject({ code: 'ERR_CONFIG', variable: 'static.service' });
    expect(thrown(() => staticProvider({ instances: 5 } as never))).toMatchObject({ code: 'ERR_CONFIG', variable: 'DISCOVERY_STATIC_INSTANCES' });
    expect(thrown(() => staticProvider({ file: '' }))).toMatchObject({ code: 'ERR_CONFIG', variable: 'DISCOVERY_STATIC_FILE' });
    expect(thrown(() => staticProvider({ services: { users: [{ adress: '10.0.0.1', port: 80 }] } as never }))).toMatchObject({ code: 'ERR_CONFIG', message: expect.stringContaining('unknown field "adress"') });
  });

  it('a watched file whose JSON has the wrong shape is an invalid edit: 40 bad writes never empty a watcher, and the next good one is delivered', async () => {
    const first = '{"services":{"users":[{"address":"127.0.0.1","port":8001}]}}';
    const file = tempFile(first);
    const d = createDiscovery({ static: { file } });
    const seen: (readonly Instance[])[] = [];
    const errors: unknown[] = [];
    const invalid: ProviderEvent[] = [];
    d.on('provider', (e) => invalid.push(e));
    d.watch('users', (e) => ('instances' in e ? seen.push(e.instances) : errors.push(e.error)));
    await waitFor(() => seen.length === 1);
    // Fixed-seed garbage: the shapes of the issue, and any JSON that is not an object of lists.
    const shapes = fc.sample(
      fc.oneof(
        fc.constantFrom('[]', '42', '{"services":5}', '{"services":[]}', '{"services":null}', 'null', '"users"', '', '{'),
        fc.jsonValue().filter((v) => typeof v !== 'object' || v === null || Array.isArray(v)).map((v) => JSON.stringify(v)),
      ),
      { numRuns: 40, seed: 13 },
    );
    for (const [i, text] of shapes.entries()) {
      writeFileSync(file, text);
      await waitFor(() => invalid.length > i || text === '', { timeoutMs: 2000, what: `invalid edit ${i}` });
      await new Promise((r) => setTimeout(r, 40)); // past the 30 ms debounce
    }
    expect(seen).toHaveLength(1);
    expect(seen.every((s) => s.length === 1)).toBe(true);
    expect((await d.discover('users')).map((i) => i.port)).toEqual([8001]);
    expect(invalid.length).toBeGreaterThanOrEqual(30);
    expect(invalid.every((e) => e.type === 'invalid-record' && e.error?.code === 'ERR_INVALID_RECORD' && e.message.includes(file))).toBe(true);
    expect(errors.length).toBe(1); // one error per bad stretch, not per bad write
    // Writing the same good content back is a recovery: watchers hear it even though nothing changed.
    writeFileSync(file, first);
    await waitFor(() => seen.length === 2, { timeoutMs: 2000, what: 'the recovery' });
    expect(seen[1]!.map((i) => i.port)).toEqual([8001]);
    await d.close();
  });

  it('a service whose value is not a list keeps its last good instances; a bad entry is skipped', async () => {
    const file = tempFile('{"users":[{"address":"127.0.0.1","port":1}],"orders":[{"address":"127.0.0.1","port":2}]}');
    const p = staticProvider({ file });
    const events: WatchEvent[] = [];
    const reported: ProviderEvent[] = [];
    p.onEvent((e) => reported.push(e));
    p.watch('orders', (e) => events.push(e));
    await waitFor(() => events.length === 1);
    writeFileSync(file, '{"users":5,"orders":[{"address":"127.0.0.1","port":3}]}');
    await waitFor(() => events.length === 2, { timeoutMs: 2000 });
    expect((await p.discover('users')).map((i) => i.port)).toEqual([1]);
    expect(reported.at(-1)).toMatchObject({ type: 'invalid-record', error: { code: 'ERR_INVALID_RECORD', key: `${file}: users` } });
    await p.close();
  });

  it('a file in a directory that does not exist is ERR_CONFIG for discover and an error event for watchers, not an unhandled rejection', async () => {
    const p = staticProvider({ file: join(tmpdir(), 'disco-no-such-dir', String(process.pid), 's.json') });
    await expect(p.discover('users')).rejects.toMatchObject({ code: 'ERR_CONFIG', variable: 'DISCOVERY_STATIC_FILE' });
    const events: WatchEvent[] = [];
    p.watch('users', (e) => events.push(e));
    await waitFor(() => events.length === 1);
    expect(isDiscoveryError((events[0] as { error: unknown }).error, 'ERR_CONFIG')).toBe(true);
    await p.close();
  });
});

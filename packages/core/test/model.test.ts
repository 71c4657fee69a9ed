import { createInstance, endpoint, parseDuration, roundRobin, serviceProblems, tryParseDuration, validateService } from '@disco/core';
import { Backoff, jitter, reconcile, sameSnapshot } from '@disco/core/provider';
import { describe, expect, it } from 'vitest';

describe('durations', () => {
  it.each([[250, 250], ['250ms', 250], ['10s', 10_000], ['5m', 300_000], ['1h', 3_600_000], ['1m30s', 90_000], ['1.5s', 1500], ['42', 42]])('%j → %d ms', (input, ms) => {
    expect(parseDuration(input)).toBe(ms);
  });
  it.each([['10 parsecs'], [''], ['-5s'], [-1], [Number.NaN], ['5x'], ['s']])('%j is not a duration', (input) => {
    expect(tryParseDuration(input)).toBeUndefined();
    expect(() => parseDuration(input as string, 'health.interval')).toThrow(expect.objectContaining({ code: 'ERR_CONFIG', message: expect.stringContaining('health.interval') }));
  });
});

describe('instances', () => {
  it('are frozen with defaults', () => {
    const i = createInstance({ id: 'a', name: 's', address: '10.0.0.1', port: 80 });
    expect(i).toEqual({ id: 'a', name: 's', address: '10.0.0.1', port: 80, tags: [], metadata: {}, healthy: true, weight: 1 });
    expect(Object.isFrozen(i) && Object.isFrozen(i.tags) && Object.isFrozen(i.metadata)).toBe(true);
  });
  it('endpoint() brackets IPv6', () => {
    expect(endpoint({ address: '10.0.0.1', port: 8080 })).toBe('10.0.0.1:8080');
    expect(endpoint({ address: 'fd00::1', port: 8080 })).toBe('[fd00::1]:8080');
    expect(endpoint({ address: 'users.internal', port: 1 })).toBe('users.internal:1');
  });
});

describe('validation', () => {
  const good = { id: 'a', name: 'users', address: '10.0.0.1', port: 8080 };
  it('accepts hostnames, IPv4 and IPv6', () => {
    for (const address of ['users.internal', 'localhost', '10.0.0.1', 'fd00::1', '[fd00::1]']) expect(serviceProblems({ ...good, address })).toEqual([]);
  });
  it('lists every problem at once', () => {
    const problems = serviceProblems({
      id: '', name: ' ', address: 'bad host', port: 1.5, metadata: { a: 1 }, weight: Infinity, tags: 'x',
      health: { http: 'ftp://x', tcp: 'h:1', interval: 'often', failuresBeforeCritical: 0 },
    });
    expect(problems).toEqual([
      'id must be a non-empty string',
      'name must be a non-empty string',
      'address must be a hostname, an IPv4 or an IPv6 address; got "bad host"',
      'port must be an integer from 1 to 65535; got 1.5',
      'tags must be an array of strings',
      'metadata.a must be a string; got number',
      'weight must be a positive finite number; got Infinity',
      'health check names 2 probes (http, tcp): give exactly one',
      'health.http must be an http:// or https:// URL; got "ftp://x"',
      'health.interval must be a positive duration such as 250ms, 10s, 5m or 1h; got "often"',
      'health.failuresBeforeCritical must be a whole number of at least 1; got 0',
    ]);
  });
  it('a health check with no probe is a problem', () => {
    expect(serviceProblems({ ...good, health: { interval: '1s' } })).toEqual(['health check names no probe: give one of http, tcp, grpc or ttl']);
  });
  it('validateService throws ERR_INVALID_SERVICE with the problems', () => {
    expect(() => validateService({ ...good, port: 0 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_SERVICE', problems: ['port must be an integer from 1 to 65535; got 0'] }));
  });
});

describe('snapshots', () => {
  const a = createInstance({ id: 'a', name: 's', address: '10.0.0.1', port: 1 });
  const b = createInstance({ id: 'b', name: 's', address: '10.0.0.2', port: 1 });
  it('sorts and reuses unchanged (frozen) instances in an unfrozen array', () => {
    const first = reconcile(undefined, [b, a]);
    expect(first.map((i) => i.id)).toEqual(['a', 'b']);
    // Instances are frozen; the array is not, since V8 indexes frozen arrays several times slower.
    expect(first.every((i) => Object.isFrozen(i))).toBe(true);
    expect(Object.isFrozen(first)).toBe(false);
    const copyOfA = createInstance({ ...a });
    const second = reconcile(first, [copyOfA, b]);
    expect(second).toBe(first);
    const changedB = createInstance({ ...b, weight: 2 });
    const third = reconcile(first, [copyOfA, changedB]);
    expect(third).not.toBe(first);
    expect(third[0]).toBe(a);
    expect(third[1]).toBe(changedB);
    expect(sameSnapshot(first, second)).toBe(true);
    // An instance inserted at the front shifts every position: the others are still reused.
    const zero = createInstance({ id: '0', name: 's', address: '10.0.0.3', port: 1 });
    const shifted = reconcile(first, [createInstance({ ...b }), zero, createInstance({ ...a })]);
    expect(shifted.map((i) => i.id)).toEqual(['0', 'a', 'b']);
    expect(shifted[1]).toBe(a);
    expect(shifted[2]).toBe(b);
    expect(sameSnapshot(first, third)).toBe(false);
  });
});

describe('backoff', () => {
  it('grows exponentially with full jitter, capped, and resets', () => {
    const b = new Backoff({ initial: 100, max: 1000, random: () => 0.999999 });
    expect([b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([100, 200, 400, 800, 1000]);
    b.reset();
    expect(b.next()).toBe(100);
    const low = new Backoff({ initial: 100, random: () => 0 });
    expect(low.next()).toBe(0);
    expect(jitter(1000, 0.1, () => 0)).toBe(900);
    expect(jitter(1000, 0.1, () => 1)).toBe(1100);
  });
});

describe('round_robin', () => {
  it('takes each instance in turn and survives snapshot changes', () => {
    const list = [0, 1, 2].map((n) => createInstance({ id: `i${n}`, name: 's', address: '10.0.0.1', port: n + 1 }));
    const rr = roundRobin();
    expect([1, 2, 3, 4, 5, 6].map(() => rr.pick(list)?.id)).toEqual(['i0', 'i1', 'i2', 'i0', 'i1', 'i2']);
    expect(rr.pick([])).toBeUndefined();
    expect(rr.pick(list.slice(0, 2))?.id).toBe('i1');
  });
});

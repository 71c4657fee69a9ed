import { configFromEnv, createDiscovery, parseCompactInstances, staticProvider, type Instance, type ProviderEvent, type WatchEvent } from '@disco/core';
import { waitFor } from '@disco/testing';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
function tempFile(content: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'disco-static-'));
  dirs.push(dir);
  const file = join(dir, 'services.json');
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

describe('configured services', () => {
  it('serves instances from options with defaults filled in', async () => {
    const p = staticProvider({ services: { users: [{ address: '10.0.0.1', port: 8080 }, { id: 'u2', address: 'fd00::1', port: 8080, weight: 2, tags: ['a'] }] } });
    const found = await p.discover('users');
    expect(found.map((i) => [i.id, i.weight, i.healthy])).toEqual([['10.0.0.1:8080', 1, true], ['u2', 2, true]]);
    await p.close();
  });

  it('rejects invalid configured instances with ERR_CONFIG naming each problem', () => {
    expect(() => staticProvider({ services: { users: [{ address: '10.0.0.1', port: 0 }, { address: '', port: 80 }] } })).toThrow(/users\[0\].*port.*users\[1\].*address/s);
  });
});

describe('DISCOVERY_STATIC_INSTANCES compact form', () => {
  it('parses names, endpoints and IPv6', () => {
    expect(parseCompactInstances('users=10.0.0.1:8080, 10.0.0.2:8080; orders=[fd00::1]:9000')).toEqual({
      users: [{ address: '10.0.0.1', port: 8080 }, { address: '10.0.0.2', port: 8080 }],
      orders: [{ address: 'fd00::1', port: 9000 }],
    });
  });

  it.each([['users'], ['users='], ['users=10.0.0.1'], ['users=10.0.0.1:99999'], ['=1.2.3.4:80']])('rejects %j with ERR_CONFIG naming the variable', (text) => {
    expect(() => parseCompactInstances(text)).toThrow(expect.objectContaining({ code: 'ERR_CONFIG', variable: 'DISCOVERY_STATIC_INSTANCES', message: expect.stringContaining('DISCOVERY_STATIC_INSTANCES') }));
  });

  it('feeds a Discovery configured from the environment', async () => {
    const d = createDiscovery(configFromEnv({ DISCOVERY_STATIC_INSTANCES: 'users=127.0.0.1:8001,127.0.0.1:8002' }));
    expect((await d.discover('users')).map((i) => i.port)).toEqual([8001, 8002]);
    await d.close();
  });
});

describe('DISCOVERY_STATIC_FILE', () => {
  it('reads the file, and an edit reaches watchers within a second', async () => {
    const file = tempFile({ services: { users: [{ address: '127.0.0.1', port: 8001 }] } });
    const d = createDiscovery(configFromEnv({ DISCOVERY_STATIC_FILE: file }));
    const seen: (readonly Instance[])[] = [];
    d.watch('users', (e) => 'instances' in e && seen.push(e.instances));
    await waitFor(() => seen.length === 1);
    const started = performance.now();
    writeFileSync(file, JSON.stringify({ services: { users: [{ address: '127.0.0.1', port: 8001 }, { address: '127.0.0.1', port: 8002 }] } }));
    await waitFor(() => seen.length === 2, { timeoutMs: 1000, what: 'the edit' });
    expect(performance.now() - started).toBeLessThan(1000);
    // Editors that write a new file and rename it over the old one are seen too.
    const tmp = `${file}.tmp`;
    writeFileSync(tmp, JSON.stringify({ users: [{ address: '127.0.0.1', port: 8003 }] }));
    renameSync(tmp, file);
    await waitFor(() => seen.at(-1)?.map((i) => i.port).join() === '8003', { timeoutMs: 1000, what: 'the rename' });
    await d.close();
  });

  it('an invalid edit is an error event and the last good content stays', async () => {
    const file = tempFile({ users: [{ address: '127.0.0.1', port: 8001 }] });
    const p = staticProvider({ file });
    const events: WatchEvent[] = [];
    const providerEvents: ProviderEvent[] = [];
    p.onEvent((e) => providerEvents.push(e));
    p.watch('users', (e) => events.push(e));
    await waitFor(() => events.length === 1);
    writeFileSync(file, '{ "users": [ { "address": ');
    await waitFor(() => events.length === 2, { timeoutMs: 1000 });
    expect(events[1]).toMatchObject({ error: { code: 'ERR_INVALID_RECORD', message: expect.stringContaining('not valid JSON') } });
    expect((await p.discover('users')).map((i) => i.port)).toEqual([8001]);
    // One bad entry is skipped and reported; the good ones are served.
    writeFileSync(file, JSON.stringify({ users: [{ address: '127.0.0.1', port: 8002 }, { address: '127.0.0.1', port: 'eighty' }] }));
    await waitFor(() => events.some((e) => 'instances' in e && e.instances[0]?.port === 8002), { timeoutMs: 1000 });
    expect(providerEvents.filter((e) => e.type === 'invalid-record').at(-1)).toMatchObject({ error: { code: 'ERR_INVALID_RECORD', key: `${file}: users[1]` } });
    await p.close();
  });
});

describe('in-process registration', () => {
  it('registration wins over configuration, moves between names, and is idempotent', async () => {
    const p = staticProvider({ services: { users: [{ id: 'u1', address: '10.0.0.1', port: 80 }] } });
    await p.register({ id: 'u1', name: 'users', address: '10.0.0.9', port: 81 });
    expect((await p.discover('users')).map((i) => i.address)).toEqual(['10.0.0.9']);
    await p.register({ id: 'u1', name: 'admins', address: '10.0.0.9', port: 81 });
    expect((await p.discover('users')).map((i) => i.address)).toEqual(['10.0.0.1']);
    expect((await p.discover('admins')).map((i) => i.id)).toEqual(['u1']);
    await p.close();
  });
});

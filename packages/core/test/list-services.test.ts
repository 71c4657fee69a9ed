import { createDiscovery, staticProvider, type Provider } from '@disco/core';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ScriptedProvider } from './helpers.js';

class ListingProvider extends ScriptedProvider implements Provider {
  names: string[] = [];
  signals: (AbortSignal | undefined)[] = [];
  async listServices(options: { signal?: AbortSignal | undefined } = {}): Promise<string[]> {
    this.signals.push(options.signal);
    return this.names;
  }
}

describe('Discovery.listServices', () => {
  it('returns the provider’s names sorted and each once, passing the signal on', async () => {
    const provider = new ListingProvider();
    provider.names = ['users', 'billing', 'users', 'auth'];
    const d = createDiscovery({ provider });
    const signal = new AbortController().signal;
    expect(await d.listServices({ signal })).toEqual(['auth', 'billing', 'users']);
    expect(provider.signals).toEqual([signal]);
    await d.close();
  });

  it('is ERR_UNSUPPORTED naming the provider when it cannot list', async () => {
    const d = createDiscovery({ provider: new ScriptedProvider() });
    await expect(d.listServices()).rejects.toMatchObject({ code: 'ERR_UNSUPPORTED', message: expect.stringContaining('scripted provider cannot list services') });
    await d.close();
  });

  it('rejects an aborted signal and a closed Discovery', async () => {
    const d = createDiscovery({ provider: new ListingProvider() });
    await expect(d.listServices({ signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'ERR_ABORTED' });
    await d.close();
    await expect(d.listServices()).rejects.toMatchObject({ code: 'ERR_CLOSED' });
  });
});

describe('static provider listServices', () => {
  it('lists the services of the configuration, the file and in-process registrations, each once, and drops one left empty', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'disco-list-'));
    try {
      const file = join(dir, 'services.json');
      writeFileSync(file, JSON.stringify({ services: { billing: [{ address: '127.0.0.1', port: 7001 }], users: [{ address: '127.0.0.1', port: 7002 }] } }));
      const d = createDiscovery({ provider: staticProvider({ instances: 'users=127.0.0.1:8001;orders=127.0.0.1:8002', file }) });
      await d.register({ id: 'auth-1', name: 'auth', address: '127.0.0.1', port: 9001 });
      await d.register({ id: 'temp-1', name: 'temp', address: '127.0.0.1', port: 9002 });
      await d.deregister('temp-1');
      expect(await d.listServices()).toEqual(['auth', 'billing', 'orders', 'users']);
      await d.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

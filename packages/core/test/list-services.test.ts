import { createDiscovery, type Provider } from '@disco/core';
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

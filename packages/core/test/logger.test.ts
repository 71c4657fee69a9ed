import { createDiscovery, type Logger } from '@disco/core';
import { createRedactor } from '@disco/core/provider';
import { describe, expect, it } from 'vitest';
import { waitFor } from '@disco/testing';
import { ScriptedProvider } from './helpers.js';

function capture(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const at = (level: string) => (obj: unknown, msg?: string) => lines.push(`${level} ${msg ?? ''} ${JSON.stringify(obj)}`);
  return { logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }, lines };
}

describe('logging', () => {
  it('is silent by default and pino-shaped when given a logger', async () => {
    const silent = createDiscovery();
    await silent.register({ id: 'a', name: 'api', address: '127.0.0.1', port: 80 });
    await silent.close();

    const { logger, lines } = capture();
    const d = createDiscovery({ logger });
    await d.register({ id: 'a', name: 'api', address: '127.0.0.1', port: 80 });
    await d.deregister('a');
    await d.close();
    expect(lines).toEqual([
      'info disco: registered {"service":"api","id":"a","endpoint":"127.0.0.1:80"}',
      'info disco: deregistered {"id":"a"}',
    ]);
  });

  it('backend failures nobody listens for are logged as warnings; with a listener they are events only', async () => {
    const { logger, lines } = capture();
    const provider = new ScriptedProvider();
    provider.failing = new Error('connection refused');
    const d = createDiscovery({ provider, logger, cacheTtl: 1 });
    await d.discover('svc').catch(() => {});
    expect(lines).toEqual(['warn disco: scripted: connection refused {"service":"svc","code":"ERR_PROVIDER_UNAVAILABLE"}']);
    const events: string[] = [];
    d.on('error', (e) => events.push(e.error.code));
    // The same outage is reported once; a new one (after a recovery) is an event again.
    await d.discover('svc').catch(() => {});
    expect(events).toEqual([]);
    provider.failing = undefined;
    await d.discover('svc');
    provider.failing = new Error('connection refused');
    await new Promise((r) => setTimeout(r, 5));
    await d.discover('svc').catch(() => {});
    await waitFor(() => events.length === 1);
    expect(events).toEqual(['ERR_PROVIDER_UNAVAILABLE']);
    expect(lines.filter((l) => l.startsWith('warn'))).toHaveLength(1);
    await d.close();
  });

  it('createRedactor scrubs every secret from foreign error text', () => {
    const redact = createRedactor(['s3cr3t-token', undefined, 'pw']);
    expect(redact('auth failed for token s3cr3t-token (s3cr3t-token)')).toBe('auth failed for token [redacted] ([redacted])');
    // Secrets shorter than 3 characters are not scrubbed (they would shred ordinary text).
    expect(redact('pwd')).toBe('pwd');
  });
});

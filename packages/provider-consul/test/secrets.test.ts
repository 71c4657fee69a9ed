// The token goes only in X-Consul-Token: never in a URL, an error, an event or a log line.
import { createDiscovery, type Logger } from '@disco/core';
import { ConsulDouble } from '@disco/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ConsulProvider } from '../src/index.js';
import { Recorder } from './helpers.js';

const token = 'c0ffee00-5ec7-e7a1-b00b-5ec7e7c0ffee';
const wrongToken = 'badbad00-0000-4444-8888-5ec7e7000000';
let double: ConsulDouble;
beforeAll(async () => {
  double = await ConsulDouble.start({ acl: { tokens: { [token]: 'write' } } });
});
afterAll(async () => {
  await double?.close();
});

/** Everything an object can carry as text: messages, stacks, causes, own properties. */
function dump(value: unknown, seen = new Set<unknown>()): string {
  if (value === null || typeof value !== 'object') return String(value);
  if (seen.has(value)) return '';
  seen.add(value);
  const parts: string[] = [];
  if (value instanceof Error) parts.push(value.name, value.message, value.stack ?? '', dump(value.cause, seen));
  for (const key of Object.getOwnPropertyNames(value)) parts.push(key, dump((value as Record<string, unknown>)[key], seen));
  return parts.join(' ');
}

it('no log line, event, watch event or error of a troubled run contains the token', async () => {
  const captured: string[] = [];
  const logger: Logger = {
    debug: (...args: unknown[]) => void captured.push(dump(args)),
    info: (...args: unknown[]) => void captured.push(dump(args)),
    warn: (...args: unknown[]) => void captured.push(dump(args)),
    error: (...args: unknown[]) => void captured.push(dump(args)),
  };
  const keep = (error: unknown) => void captured.push(dump(error));

  const provider = new ConsulProvider({ address: double.address, token, wait: '2s', logger, backoff: { initial: '20ms', max: '100ms' } }, { env: {} });
  provider.onEvent((event) => void captured.push(dump(event)));
  const discovery = createDiscovery({ provider, logger });
  discovery.on('error', (event) => void captured.push(dump(event)));
  discovery.on('provider', (event) => void captured.push(dump(event)));
  const recorder = new Recorder();
  provider.watch('secret-svc', (event) => {
    recorder.listener(event);
    captured.push(dump(event));
  });

  await discovery.register({ id: 's1', name: 'secret-svc', address: '127.0.0.1', port: 1, health: { ttl: '300ms' } });
  await recorder.until((s) => s.length === 1, 'the registration');
  // A proxy in front of Consul that echoes the request (token included) in its error page.
  const echo = double.faults.add({ path: '/v1/health/', status: 502, body: `bad gateway for X-Consul-Token: ${token}` });
  double.dropConnections();
  await recorder.untilError('the 502');
  await provider.discover('secret-svc').catch(keep);
  echo();
  await double.stop();
  await provider.discover('secret-svc').catch(keep);
  await new Promise((r) => setTimeout(r, 400)); // heartbeats fail meanwhile
  await double.restart();
  await recorder.until((s) => s.length === 1, 'recovery');

  // The same calls with a token Consul does not know.
  const wrong = new ConsulProvider({ address: double.address, token: wrongToken, retries: 0, logger }, { env: {} });
  await wrong.register({ id: 's2', name: 'secret-svc', address: '127.0.0.1', port: 2 }).catch(keep);
  await wrong.discover('secret-svc').catch(keep);
  const wrongWatch = new Recorder();
  wrong.watch('secret-svc', (event) => {
    wrongWatch.listener(event);
    captured.push(dump(event));
  });
  await wrongWatch.untilError('the 403 in the watch');
  await wrong.close();
  await discovery.close();

  const text = captured.join('\n');
  expect(text).toMatch(/ACL not found/); // the run did meet the failures it is meant to
  expect(text).toMatch(/\[redacted\]/); // and the echo was scrubbed, not lost
  expect(text).not.toContain(token);
  expect(text).not.toContain(wrongToken);
  // On the wire: only in the header, never in a URL.
  const sent = double.requests.filter((r) => r.headers['x-consul-token'] === token);
  expect(sent.length).toBeGreaterThan(5);
  for (const request of double.requests) {
    expect(request.query.has('token')).toBe(false);
    expect(request.path).not.toContain(token);
  }
});

it('a token straddling the 300-character cut of a quoted answer leaves no piece of 8 characters or more (issue 11, defect 4)', async () => {
  const provider = new ConsulProvider({ address: double.address, token, retries: 0 }, { env: {} });
  try {
    // Every piece of 8 or more characters contains one of exactly 8, so checking those covers them all.
    const pieces = Array.from({ length: token.length - 7 }, (_, i) => token.slice(i, i + 8));
    for (let before = 1; before < token.length; before++) {
      // The token starts `before` characters ahead of the cut, so the cut falls inside it.
      const body = `${'x'.repeat(300 - before)}${token} and more text after it`;
      const remove = double.faults.add({ path: '/v1/health/service/cut', status: 500, body });
      const error = await provider.discover('cut').catch((e: unknown) => e);
      remove();
      expect(error, `cut ${before} characters into the token`).toMatchObject({ code: 'ERR_PROVIDER_UNAVAILABLE' });
      const text = dump(error);
      expect(text).toMatch(/x{20}/); // the excerpt is there
      for (const piece of pieces) expect(text, `cut ${before} characters into the token`).not.toContain(piece);
    }
  } finally {
    await provider.close();
  }
});

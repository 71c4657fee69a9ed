// The request-rate bound (issue 13): whatever an agent answers — garbage bodies, absurd or
// backwards X-Consul-Index headers, errors, instant answers to blocking queries — a watched
// service costs at most the engine's 5 lists/follows per second (burst 10), and the watch
// survives it and recovers once the answers are sane again.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createDiscovery, type ProviderEvent } from '@disco/core';
import { waitFor } from '@disco/testing';
import { afterEach, expect, it } from 'vitest';
import { ConsulProvider } from '../src/index.js';
import { Recorder } from './helpers.js';

/** mulberry32: a fixed seed, so a failure can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const row = (id: string, extra: Record<string, unknown> = {}) => ({ Node: { Address: '127.0.0.1', Datacenter: 'dc1' }, Service: { ID: id, Service: 'g', Address: '', Port: 8000, Tags: [], Meta: {}, ...extra }, Checks: [] });

/** A Consul impostor: every answer at once, most of them wrong in some way. */
class GarbageAgent {
  readonly times: number[] = [];
  sane = false;
  #server: Server | undefined;
  readonly #random: () => number;
  #index = 100;

  constructor(seed: number) {
    this.#random = prng(seed);
  }

  async start(): Promise<string> {
    this.#server = createServer((req, res) => this.#answer(req, res));
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    return `127.0.0.1:${(this.#server!.address() as { port: number }).port}`;
  }

  async close(): Promise<void> {
    this.#server?.closeAllConnections();
    await new Promise((resolve) => this.#server?.close(resolve));
  }

  /** The most requests seen in any one-second window. */
  peakPerSecond(): number {
    let peak = 0;
    for (let i = 0, j = 0; i < this.times.length; i++) {
      while (this.times[i]! - this.times[j]! > 1_000) j++;
      peak = Math.max(peak, i - j + 1);
    }
    return peak;
  }

  #pick<T>(choices: readonly T[]): T {
    return choices[Math.floor(this.#random() * choices.length)]!;
  }

  #answer(req: IncomingMessage, res: ServerResponse): void {
    if (!req.url?.startsWith('/v1/health/service/g')) return void res.writeHead(404).end();
    this.times.push(performance.now());
    if (this.sane) {
      // A well-behaved agent that blocks: an answer with the index, then a held query.
      const blocking = new URL(req.url, 'http://x').searchParams.has('index');
      const send = () => res.writeHead(200, { 'x-consul-index': '500' }).end(JSON.stringify([row('ok-1')]));
      if (blocking) setTimeout(send, 2_000).unref();
      else send();
      return;
    }
    const status = this.#pick([200, 200, 200, 200, 200, 500, 429, 403, 400, 404, 503]);
    const index = this.#pick([
      undefined,
      '0',
      '-1',
      'abc',
      '1e400',
      '99999999999999999999',
      String((this.#index = Math.max(1, this.#index - 7))),
      String((this.#index += 13)),
      String(this.#index),
    ]);
    const body = this.#pick([
      '',
      'null',
      '{}',
      '[',
      '"text"',
      '[1, "two", null]',
      JSON.stringify([{ Service: { ID: 5 } }]),
      JSON.stringify([row('a-1', { Port: 99999 }), row('a-2', { Tags: 'x' }), row('a-3')]),
      JSON.stringify([row(`churn-${Math.floor(this.#random() * 1000)}`)]),
      JSON.stringify([row('a-4', { Meta: 'nope', Address: { toString: 1 } })]),
      'x'.repeat(10_000),
    ]);
    const headers: Record<string, string> = {};
    if (index !== undefined) headers['x-consul-index'] = index;
    res.writeHead(status, headers).end(body);
  }
}

const agents: GarbageAgent[] = [];
afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => a.close()));
});

async function garbage(seed: number) {
  const agent = new GarbageAgent(seed);
  agents.push(agent);
  return { agent, address: await agent.start() };
}

// The engine's default bound: a burst of 10, then 5 per second.
const bound = (seconds: number) => 10 + 5 * seconds + 1;

it('provider.watch: 3 s of garbage from the agent stay within 5 requests/s (burst 10), and the watch recovers', async () => {
  const { agent, address } = await garbage(0xc0ffee);
  const provider = new ConsulProvider({ address, wait: '2s', backoff: { initial: '1ms', max: '5ms' } }, { env: {} });
  const events: ProviderEvent[] = [];
  provider.onEvent((event) => void events.push(event));
  const recorder = new Recorder();
  const started = performance.now();
  const stop = provider.watch('g', recorder.listener);
  try {
    await waitFor(() => performance.now() - started >= 3_000, { what: 'three seconds of garbage', intervalMs: 100 });
    const seconds = (performance.now() - started) / 1000;
    expect(agent.times.length).toBeLessThanOrEqual(bound(seconds));
    expect(agent.times.length).toBeGreaterThanOrEqual(10); // it kept trying, at its bound
    expect(agent.peakPerSecond()).toBeLessThanOrEqual(10 + 5 + 1);
    expect(events.some((e) => e.type === 'invalid-record')).toBe(true);
    agent.sane = true;
    await recorder.until((s) => s.length === 1 && s[0]!.id === 'ok-1', 'the sane answer', 10_000);
    console.log(`consul garbage run (provider.watch): ${agent.times.length} requests in ${seconds.toFixed(1)} s, peak ${agent.peakPerSecond()}/s`);
  } finally {
    stop();
    await provider.close();
  }
});

it('discovery.watch and a service handle on the same name: one source, the same bound', async () => {
  const { agent, address } = await garbage(0xbadf00d);
  const discovery = createDiscovery({ provider: new ConsulProvider({ address, wait: '2s' }, { env: {} }) });
  discovery.on('error', () => {});
  const started = performance.now();
  const stop = discovery.watch('g', () => {});
  const handle = discovery.service('g');
  handle.ready.catch(() => {});
  try {
    await waitFor(() => performance.now() - started >= 3_000, { what: 'three seconds of garbage', intervalMs: 100 });
    const seconds = (performance.now() - started) / 1000;
    expect(agent.times.length).toBeLessThanOrEqual(bound(seconds));
    agent.sane = true;
    await waitFor(() => handle.pick()?.id === 'ok-1', { what: 'the handle to route once the agent is sane', timeoutMs: 40_000 });
    console.log(`consul garbage run (discovery.watch + service()): ${agent.times.length} requests in ${seconds.toFixed(1)} s, peak ${agent.peakPerSecond()}/s`);
  } finally {
    stop();
    await discovery.close();
  }
}, 60_000);

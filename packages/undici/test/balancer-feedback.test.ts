import type { Balancer, CallOutcome, Instance } from '@disco/core';
import '@disco/balancers';
import { fetch } from 'undici';
import { describe, expect, it } from 'vitest';
import { runConcurrently, serviceFixture, tally } from './fixture.ts';
import type { Behaviour } from './http-servers.ts';

const after = (ms: number): Behaviour => (_req, res, server) => setTimeout(() => res.end(server.name), ms);

/** Picks the first instance and records every call's start and outcome. */
function recordingBalancer(): Balancer & { started: string[]; ended: CallOutcome[] } {
  const started: string[] = [];
  const ended: CallOutcome[] = [];
  return {
    name: 'recording',
    started,
    ended,
    pick: (instances: readonly Instance[]) => instances[0],
    onStart: (instance) => started.push(instance.id),
    onEnd: (_instance, outcome) => ended.push(outcome),
  };
}

describe('balancers learn from the calls', () => {
  it('peak_ewma moves traffic off a server made 10× slower', async () => {
    const { servers, get } = await serviceFixture(['a', 'b', 'c'], { balancer: 'peak_ewma' }, after(10));
    await runConcurrently(150, 6, () => get());
    const even = tally(servers);
    servers[2]!.behaviour = after(100);
    for (const s of servers) s.requests = 0;
    await runConcurrently(600, 6, () => get());
    const skewed = tally(servers);
    const share = skewed.c! / 600;
    console.log(`peak_ewma: equal servers ${JSON.stringify(even)}; c 10× slower ${JSON.stringify(skewed)} (c's share ${(100 * share).toFixed(1)} %)`);
    // Round robin would keep sending it a third. peak_ewma sends it a small share: not none, because
    // the fast servers' latency has peaks of its own here (clients and servers share one event loop).
    expect(even.c! / 150).toBeGreaterThan(0.2);
    expect(share).toBeLessThan(0.2);
    expect(share).toBeLessThan(0.6 * (even.c! / 150));
  });

  it('each call is released with its outcome: 5xx and connect errors as failures, latency measured', async () => {
    const balancer = recordingBalancer();
    const { servers, get } = await serviceFixture(['a'], { balancer: () => balancer, retry: false }, after(20));
    await get();
    servers[0]!.behaviour = (_req, res) => res.writeHead(500).end();
    await get();
    servers[0]!.behaviour = (_req, res) => res.writeHead(404).end();
    await get();
    expect(balancer.started).toEqual(['a', 'a', 'a']);
    expect(balancer.ended.map((o) => o.ok)).toEqual([true, false, true]);
    expect(balancer.ended[0]!.latencyMs).toBeGreaterThanOrEqual(19);
  });

  it('a custom isFailure decides what counts', async () => {
    const balancer = recordingBalancer();
    const { servers, get } = await serviceFixture(['a'], { balancer: () => balancer, isFailure: ({ statusCode, error }) => error !== undefined || statusCode === 429 });
    servers[0]!.behaviour = (_req, res) => res.writeHead(429).end();
    await get();
    servers[0]!.behaviour = (_req, res) => res.writeHead(500).end();
    await get();
    expect(balancer.ended.map((o) => o.ok)).toEqual([false, true]);
  });

  it('outlier_detection ejects an instance that keeps answering 500, from real traffic', async () => {
    const { servers, get } = await serviceFixture(['a', 'b', 'c'], { balancer: 'outlier_detection', balancerOptions: { consecutiveFailures: 3 }, retry: false });
    servers[0]!.behaviour = (_req, res) => res.writeHead(500).end();
    for (let i = 0; i < 60; i++) await get();
    expect(servers[0]!.requests).toBe(3);
    expect(servers[1]!.requests + servers[2]!.requests).toBe(57);
  });
});

describe('an aborted request releases its lease', () => {
  it('on the caller’s abort, as no fault of the instance', async () => {
    const balancer = recordingBalancer();
    let arrived!: () => void;
    const received = new Promise<void>((resolve) => (arrived = resolve));
    const { dispatcher } = await serviceFixture(['a'], { balancer: () => balancer }, () => arrived());
    const controller = new AbortController();
    const call = fetch('http://svc/', { dispatcher, signal: controller.signal });
    await received;
    expect(balancer.ended).toEqual([]);
    controller.abort();
    await expect(call).rejects.toMatchObject({ name: 'AbortError' });
    await expect.poll(() => balancer.ended.length).toBe(1);
    expect(balancer.started).toEqual(['a']);
    expect(balancer.ended[0]!.ok).toBe(true);
  });

  it('on the caller’s timeout, as a failure (the instance was too slow)', async () => {
    const balancer = recordingBalancer();
    const { servers, dispatcher } = await serviceFixture(['a', 'b'], { balancer: () => balancer }, () => {});
    const call = fetch('http://svc/', { dispatcher, signal: AbortSignal.timeout(100) });
    await expect(call).rejects.toMatchObject({ name: 'TimeoutError' });
    await expect.poll(() => balancer.ended.length).toBe(1);
    expect(balancer.ended[0]!.ok).toBe(false);
    // Not retried: the caller gave up.
    expect(servers[0]!.requests + servers[1]!.requests).toBe(1);
  });

  it('while waiting for a Retry-After, at once', async () => {
    const balancer = recordingBalancer();
    const { dispatcher } = await serviceFixture(['a', 'b'], { balancer: 'round_robin', retry: { maxRetryAfter: '10s' } }, (_req, res) => res.writeHead(503, { 'retry-after': '5' }).end());
    const controller = new AbortController();
    const started = performance.now();
    const call = fetch('http://svc/', { dispatcher, signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    await expect(call).rejects.toMatchObject({ name: 'AbortError' });
    expect(performance.now() - started).toBeLessThan(1000);
    expect(balancer.ended).toEqual([]);
  });
});

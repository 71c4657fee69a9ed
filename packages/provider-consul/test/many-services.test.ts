// Thousands of watched services within the agent's connection limit (issue 14): the double
// enforces Consul's limits.http_max_conns_per_client (200, 429 and close), the provider holds at
// most its budget (maxConnections, 32), TTL heartbeats and registrations keep landing, no 429
// comes back, and every health flip, added and removed instance reaches its watcher.
import { createDiscovery, type Discovery, type Instance } from '@disco/core';
import { ConsulDouble, waitFor } from '@disco/testing';
import { Pool } from 'undici';
import { afterEach, expect, it } from 'vitest';
import { ConsulProvider } from '../src/index.js';

interface Scenario {
  double: ConsulDouble;
  discovery: Discovery;
  provider: ConsulProvider;
  /** The test's own client: 8 connections, so its traffic stays inside the agent's limit too. */
  put: (path: string, body?: unknown) => Promise<number>;
  latest: Map<string, readonly Instance[]>;
  close: () => Promise<void>;
}

const open: Scenario[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

/** `count` services `svc-<i>`, one instance each with a passing TTL check, all watched through a Discovery. */
async function scenario(count: number): Promise<Scenario> {
  const double = await ConsulDouble.start({ httpMaxConnsPerClient: 200 });
  const dispatcher = new Pool(double.url, { connections: 8 });
  const put = async (path: string, body?: unknown) => {
    const response = await dispatcher.request({ path, method: 'PUT', body: body === undefined ? undefined : JSON.stringify(body) });
    await response.body.text();
    return response.statusCode;
  };
  const names = Array.from({ length: count }, (_, i) => `svc-${i}`);
  for (let i = 0; i < count; i += 64) {
    await Promise.all(names.slice(i, i + 64).map((name) => put('/v1/agent/service/register', { ID: `${name}-a`, Name: name, Address: '127.0.0.1', Port: 1000, Check: { TTL: '10m', Status: 'passing' } })));
  }
  const provider = new ConsulProvider({ address: double.address, wait: '10s' }, { env: {} });
  const discovery = createDiscovery({ provider });
  const latest = new Map<string, readonly Instance[]>();
  for (const name of names) discovery.watch(name, (event) => 'instances' in event && latest.set(name, event.instances));
  const s: Scenario = {
    double,
    discovery,
    provider,
    put,
    latest,
    close: async () => {
      await discovery.close();
      await dispatcher.close();
      await double.close();
    },
  };
  open.push(s);
  await waitFor(() => latest.size === count && [...latest.values()].every((i) => i.length === 1), { what: `the first snapshot of all ${count} services`, timeoutMs: 120_000, intervalMs: 100 });
  return s;
}

type Kind = 'health flip' | 'instance added' | 'instance removed';

/** Makes `perKind` changes of each kind, 20 ms apart, and measures each from its request to its watcher. */
async function changes(s: Scenario, count: number, perKind: number): Promise<Record<Kind, number[]>> {
  const out: Record<Kind, number[]> = { 'health flip': [], 'instance added': [], 'instance removed': [] };
  const pending: Promise<void>[] = [];
  const measure = (kind: Kind, name: string, test: (instances: readonly Instance[]) => boolean, act: () => Promise<number>) => {
    const started = performance.now();
    pending.push(
      (async () => {
        expect(await act()).toBe(200);
        await waitFor(() => test(s.latest.get(name) ?? []), { what: `${kind} of ${name}`, timeoutMs: 30_000, intervalMs: 5 });
        out[kind].push(performance.now() - started);
      })(),
    );
  };
  const step = Math.floor(count / (perKind * 3));
  for (let k = 0; k < perKind; k++) {
    const flip = `svc-${(k * 3) * step}`;
    const add = `svc-${(k * 3 + 1) * step}`;
    const remove = `svc-${(k * 3 + 2) * step}`;
    // A flip to critical takes the only instance out of the healthy view the watcher holds.
    measure('health flip', flip, (i) => i.length === 0, () => s.put(`/v1/agent/check/fail/service:${flip}-a`));
    measure('instance added', add, (i) => i.length === 2, () => s.put('/v1/agent/service/register', { ID: `${add}-b`, Name: add, Address: '127.0.0.1', Port: 1001, Check: { TTL: '10m', Status: 'passing' } }));
    measure('instance removed', remove, (i) => i.length === 0, () => s.put(`/v1/agent/service/deregister/${remove}-a`));
    await new Promise((r) => setTimeout(r, 20));
  }
  await Promise.all(pending);
  return out;
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
};

/** A registration of this test's own with a TTL check the provider feeds: it must stay passing throughout. */
async function heartbeating(s: Scenario, ttl: string) {
  const failures: string[] = [];
  s.discovery.on('provider', (event) => {
    if (event.type === 'heartbeat-failed') failures.push(event.message);
  });
  await s.discovery.register({ id: 'beating-1', name: 'beating', address: '127.0.0.1', port: 9, health: { ttl } });
  const status = () => s.double.registry.check('default', 'service:beating-1')?.status;
  // The check goes critical if no heartbeat lands within its TTL: sample it all along.
  const seen = new Set<string | undefined>();
  const sampler = setInterval(() => seen.add(status()), 50);
  return {
    failures,
    seen,
    stop: () => clearInterval(sampler),
    /** Heartbeats that reached the double since `since` (performance.now()). */
    beats: (since: number) => s.double.requestsTo('/v1/agent/check/pass/service%3Abeating-1').filter((r) => r.at >= since).length,
  };
}

/** Registrations and heartbeats land, no 429, the budget held; returns the latency line. */
async function holds(s: Scenario, beat: Awaited<ReturnType<typeof heartbeating>>, measured: Record<Kind, number[]>, perKind: number, label: string): Promise<void> {
  // Registrations keep landing while the changes flow.
  await s.discovery.register({ id: 'late-1', name: 'late', address: '127.0.0.1', port: 10 });
  expect(s.double.registry.hasService('default', 'late-1')).toBe(true);
  const since = performance.now();
  await waitFor(() => beat.beats(since) >= 2, { what: 'two more TTL heartbeats', timeoutMs: 5_000 });
  beat.stop();
  expect([...beat.seen]).toEqual(['passing']);
  expect(beat.failures).toEqual([]);
  const { peak, refused } = s.double.connections;
  // The provider's 32 at most, and the test's own 8.
  expect(peak).toBeLessThanOrEqual(32 + 8);
  expect(refused).toBe(0);
  for (const [kind, values] of Object.entries(measured)) expect(values.length, kind).toBe(perKind);
  console.log(
    `${label} watched: peak ${peak} connections (provider + test), 429s ${refused}; ` +
      Object.entries(measured)
        .map(([kind, v]) => `${kind} p50 ${percentile(v, 50).toFixed(1)} ms p99 ${percentile(v, 99).toFixed(1)} ms`)
        .join('; '),
  );
}

it('1,000 watched services at the default limit of 200: at most 32 connections, no 429, heartbeats land, every change within 1 s p99', async () => {
  const s = await scenario(1_000);
  const beat = await heartbeating(s, '1500ms');
  s.double.resetConnectionStats();
  const measured = await changes(s, 1_000, 30);
  await holds(s, beat, measured, 30, '1,000');
  for (const [kind, values] of Object.entries(measured)) expect(percentile(values, 99), `${kind} p99`).toBeLessThan(1_000);
}, 120_000);

it('10,000 watched services: no 429, the budget held, heartbeats land, every change arrives', async () => {
  const s = await scenario(10_000);
  // The double, the provider and this test share one event loop; a 4 MB feed answer stalls it for a while.
  const beat = await heartbeating(s, '3s');
  s.double.resetConnectionStats();
  const measured = await changes(s, 10_000, 10);
  await holds(s, beat, measured, 10, '10,000');
}, 180_000);

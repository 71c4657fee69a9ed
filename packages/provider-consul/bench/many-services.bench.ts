// Many watched services within the agent's connection limit (issue 14): connections held, idle
// requests per second, and change latency p50/p99 per kind of change, through Discovery.watch,
// against the Consul double at Consul's default limits.http_max_conns_per_client (200).
// Two designs in the same run: the change feed (the default above 16 watched services) and
// per-service blocking queries taking turns on the bounded blocking-query lane (the feed turned
// off with a huge feedThreshold) — the rotation the feed was measured against.
// Run with `pnpm bench` (uses the built dist of this package, core and testing).
import { createDiscovery, type Instance } from '@disco/core';
import { ConsulProvider } from '@disco/provider-consul';
import { ConsulDouble } from '@disco/testing';
import { Pool } from 'undici';

const feedServices = Number(process.env.BENCH_SERVICES ?? 1_000);
const perKind = Number(process.env.BENCH_CHANGES ?? 20);

type Kind = 'health flip' | 'instance added' | 'instance removed' | 'tag change' | 'meta change (same tags)' | 'instance without a check added';
const kinds: Kind[] = ['health flip', 'instance added', 'instance removed', 'tag change', 'meta change (same tags)', 'instance without a check added'];

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
};

async function until(test: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!test()) {
    if (performance.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 2));
  }
  return true;
}

async function run(label: string, count: number, provider: (address: string) => ConsulProvider, changes: number, timeoutMs: number) {
  const double = await ConsulDouble.start({ httpMaxConnsPerClient: 200 });
  let client = new Pool(double.url, { connections: 4 });
  const put = async (path: string, body?: unknown) => {
    const response = await client.request({ path, method: 'PUT', body: body === undefined ? undefined : JSON.stringify(body) });
    await response.body.text();
    if (response.statusCode !== 200) throw new Error(`${path}: ${response.statusCode}`);
  };
  const service = (name: string, id: string, extra: Record<string, unknown> = {}) => ({ ID: id, Name: name, Address: '127.0.0.1', Port: 1000, Tags: ['t'], Check: { TTL: '10m', Status: 'passing' }, ...extra });
  const names = Array.from({ length: count }, (_, i) => `svc-${i}`);
  for (let i = 0; i < count; i += 32) await Promise.all(names.slice(i, i + 32).map((name) => put('/v1/agent/service/register', service(name, `${name}-a`))));
  await client.close();
  const discovery = createDiscovery({ provider: provider(double.address) });
  const latest = new Map<string, readonly Instance[]>();
  for (const name of names) discovery.watch(name, (event) => void ('instances' in event && latest.set(name, event.instances)), { healthyOnly: false });
  const started = performance.now();
  await until(() => latest.size === count, 600_000);
  const ready = performance.now() - started;
  await new Promise((r) => setTimeout(r, 2_000));
  // Idle: nothing changes for 5 s.
  double.resetConnectionStats();
  const total = () => Object.values(double.requestCounts).reduce((a, b) => a + b, 0);
  const idleFrom = total();
  await new Promise((r) => setTimeout(r, 5_000));
  const idleRequests = total() - idleFrom;
  const held = double.connections.open;
  client = new Pool(double.url, { connections: 4 });
  const latency = new Map<Kind, number[]>(kinds.map((k) => [k, []]));
  const reads = new Map<Kind, number[]>(kinds.map((k) => [k, []]));
  const gets = () => double.requestCounts.GET ?? 0;
  /** Waits until no read has reached the double for 150 ms (a sweep's reads included); rotating queries never are, so at most 3 s. */
  const quiet = async () => {
    const deadline = performance.now() + 3_000;
    for (let last = gets(); performance.now() < deadline; ) {
      await new Promise((r) => setTimeout(r, 150));
      if (gets() === last) return;
      last = gets();
    }
  };
  const missed = new Map<Kind, number>(kinds.map((k) => [k, 0]));
  let next = 0;
  const pick = () => names[(next += 7) % count]!;
  for (let k = 0; k < changes; k++) {
    for (const kind of kinds) {
      const name = pick();
      const before = latest.get(name)!;
      const healthyIn = (i: readonly Instance[]) => i.filter((x) => x.healthy).length;
      let act: () => Promise<void>;
      let test: (i: readonly Instance[]) => boolean;
      const id = `${name}-a`;
      const current = before.find((i) => i.id === id);
      switch (kind) {
        case 'health flip':
          act = () => put(`/v1/agent/check/${current?.healthy ? 'fail' : 'pass'}/service:${id}`);
          test = (i) => healthyIn(i) !== healthyIn(before);
          break;
        case 'instance added':
          act = () => put('/v1/agent/service/register', service(name, `${name}-add-${k}`));
          test = (i) => i.some((x) => x.id === `${name}-add-${k}`);
          break;
        case 'instance removed': {
          const victim = before[0]?.id ?? id;
          act = () => put(`/v1/agent/service/deregister/${victim}`);
          test = (i) => !i.some((x) => x.id === victim);
          break;
        }
        case 'tag change':
          act = () => put('/v1/agent/service/register', service(name, `${name}-tags-${k}`, { Tags: [`t${k}`] }));
          test = (i) => i.some((x) => x.id === `${name}-tags-${k}`);
          break;
        case 'meta change (same tags)': {
          const target = before[0]?.id ?? id;
          act = () => put('/v1/agent/service/register', service(name, target, { Meta: { round: String(k) } }));
          test = (i) => i.some((x) => x.id === target && x.metadata.round === String(k));
          break;
        }
        case 'instance without a check added':
          act = () => put('/v1/agent/service/register', { ID: `${name}-bare-${k}`, Name: name, Address: '127.0.0.1', Port: 1000, Tags: ['t'] });
          test = (i) => i.some((x) => x.id === `${name}-bare-${k}`);
          break;
      }
      await quiet();
      const readsBefore = gets();
      const t0 = performance.now();
      await act();
      if (await until(() => test(latest.get(name) ?? []), timeoutMs)) latency.get(kind)!.push(performance.now() - t0);
      else missed.set(kind, missed.get(kind)! + 1);
      await quiet();
      reads.get(kind)!.push(gets() - readsBefore);
    }
  }
  const { peak, refused } = double.connections;
  const sizes = await Promise.all(['/v1/catalog/services', '/v1/health/state/any'].map(async (path) => (await (await fetch(`${double.url}${path}`)).arrayBuffer()).byteLength));
  await discovery.close();
  await client.close();
  await double.close();
  console.log(`\n${label}: ${count} watched services, Consul double at limits.http_max_conns_per_client = 200`);
  console.log(`  all first snapshots in ${(ready / 1000).toFixed(1)} s; connections held idle ${held}, peak ${peak} (4 of them this bench's own client); 429s ${refused}`);
  console.log(`  idle: ${(idleRequests / 5).toFixed(2)} requests/s (${idleRequests} in 5 s)`);
  console.log(`  an answer of /v1/catalog/services: ${(sizes[0]! / 1024).toFixed(0)} KiB, of /v1/health/state/any: ${(sizes[1]! / 1024).toFixed(0)} KiB`);
  console.log(`  ${changes} changes of each kind, one at a time; latency from the request to the watcher, and the GETs each cost (until quiet)`);
  for (const kind of kinds) {
    const values = latency.get(kind)!;
    const lost = missed.get(kind)!;
    const cost = reads.get(kind)!;
    const costText = idleRequests > 0 ? '' : `  GETs p50 ${percentile(cost, 50)}`;
    console.log(`  ${kind.padEnd(32)} p50 ${percentile(values, 50).toFixed(1).padStart(8)} ms  p99 ${percentile(values, 99).toFixed(1).padStart(8)} ms${costText}${lost ? `  (${lost} not seen within ${timeoutMs / 1000} s)` : ''}`);
  }
}

await run('change feed (default: feedThreshold 16)', feedServices, (address) => new ConsulProvider({ address }, { env: {} }), perKind, 30_000);
// The alternative: every service its own blocking query, taking turns on the 20-connection
// blocking lane (undici's queue is the rotation); wait 2s so each turn is short.
if (process.env.BENCH_ROTATION !== '0') await run('per-service blocking queries in rotation (feedThreshold 1000000, wait 2s)', 200, (address) => new ConsulProvider({ address, feedThreshold: 1_000_000, wait: '2s' }, { env: {} }), 8, 60_000);

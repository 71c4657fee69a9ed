// register → listener latency: disco's Consul watch (through Discovery) next to a hand-written
// blocking-query loop over plain fetch, against the same Consul double, in the same run.
// Run with `pnpm bench` (uses the built dist of this package, core and testing).
import { createDiscovery, type Instance } from '@disco/core';
import { ConsulProvider } from '@disco/provider-consul';
import { ConsulDouble } from '@disco/testing';

const rounds = Number(process.env.BENCH_ROUNDS ?? 100);
// Changes 250 ms apart (4/s): below the watch engine's bound (5 lists/follows per second per service),
// so this measures latency, not throttling.
const spacingMs = 250;
const double = await ConsulDouble.start();

const register = (name: string, id: string, port: number) =>
  fetch(`${double.url}/v1/agent/service/register`, { method: 'PUT', body: JSON.stringify({ ID: id, Name: name, Address: '127.0.0.1', Port: port }) }).then((r) => r.text());

/** Resolves when `seen(id)` fires for the id, measured from just before the register. */
function waiter() {
  const waiting = new Map<string, () => void>();
  return {
    seen(ids: Iterable<string>) {
      for (const id of ids) {
        const done = waiting.get(id);
        if (done) {
          waiting.delete(id);
          done();
        }
      }
    },
    async measure(name: string, id: string, port: number): Promise<number> {
      const arrived = new Promise<void>((resolve) => waiting.set(id, resolve));
      const started = performance.now();
      await register(name, id, port);
      await arrived;
      return performance.now() - started;
    },
  };
}

// The baseline: what one would write by hand with fetch and X-Consul-Index.
const baseline = waiter();
let stopBaseline = false;
const baselineLoop = (async () => {
  let index = 0;
  while (!stopBaseline) {
    const query = index > 0 ? `?index=${index}&wait=60s` : '';
    const response = await fetch(`${double.url}/v1/health/service/bench-fetch${query}`).catch(() => undefined);
    if (!response) continue;
    index = Math.max(1, Number(response.headers.get('x-consul-index')));
    const rows = (await response.json()) as { Service: { ID: string } }[];
    baseline.seen(rows.map((r) => r.Service.ID));
  }
})();

// disco: one Discovery watch.
const provider = new ConsulProvider({ address: double.address, wait: '60s' }, { env: {} });
const discovery = createDiscovery({ provider });
const disco = waiter();
discovery.watch('bench-disco', (event) => {
  if ('instances' in event) disco.seen((event.instances as readonly Instance[]).map((i) => i.id));
});

const fetchTimes: number[] = [];
const discoTimes: number[] = [];
await new Promise((r) => setTimeout(r, 100)); // both loops are blocking now
for (let i = 0; i < rounds; i++) {
  // Alternate, so drift in the machine's load hits both alike.
  fetchTimes.push(await baseline.measure('bench-fetch', `f-${i}`, 10_000 + i));
  await new Promise((r) => setTimeout(r, spacingMs / 2));
  discoTimes.push(await disco.measure('bench-disco', `d-${i}`, 10_000 + i));
  await new Promise((r) => setTimeout(r, spacingMs / 2));
}

const stats = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { median: at(0.5), p95: at(0.95) };
};
const f = stats(fetchTimes.slice(10)); // first rounds warm up both
const d = stats(discoTimes.slice(10));
console.log(`register → listener latency, ${rounds} rounds each, one change every ${spacingMs} ms, Consul double on loopback`);
console.log(`  hand-written fetch blocking loop: median ${f.median.toFixed(2)} ms  p95 ${f.p95.toFixed(2)} ms`);
console.log(`  disco Discovery.watch (consul):   median ${d.median.toFixed(2)} ms  p95 ${d.p95.toFixed(2)} ms`);
console.log(`  ratio disco / baseline:           median ${(d.median / f.median).toFixed(2)}x  p95 ${(d.p95 / f.p95).toFixed(2)}x`);

stopBaseline = true;
await discovery.close();
await double.close(); // cuts the baseline's pending query
await baselineLoop;

// `pnpm bench` runs this file; the many-services benchmark (connections, idle rate, latency per
// kind of change, issue 14) follows it. BENCH_MANY=0 skips it.
if (process.env.BENCH_MANY !== '0') await import('./many-services.bench.ts');

// Picks per second of every strategy at 3, 100 and 10,000 instances, next to the bare loop
// `arr[i++ % n]` measured in the same run. Each strategy runs in its own worker thread with its
// own bare-loop baseline, so no strategy is measured through call sites that an earlier one made
// megamorphic. "× bare" is how many bare-loop iterations one pick costs.
// Runs on the built package: `pnpm build && pnpm bench`.
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { createInstance, roundRobin, type Balancer, type Instance, type PickContext } from '@disco/core';
import {
  leastConnections, maglev, outlierDetection, p2c, peakEwma, random, ringHash, seededRandom, slowStart, weightedRoundRobin, zoneAware,
} from '@disco/balancers';
import { printTable } from './table.ts';

const sizes = [3, 100, 10_000];
const trials = 5;
const picksPerTrial = 300_000;

const strategies: Record<string, { make: () => Balancer; keyed?: boolean }> = {
  round_robin: { make: roundRobin },
  random: { make: () => random({ random: seededRandom(1) }) },
  weighted_round_robin: { make: () => weightedRoundRobin() },
  least_connections: { make: () => leastConnections({ random: seededRandom(1) }) },
  p2c: { make: () => p2c({ random: seededRandom(1) }) },
  peak_ewma: { make: () => peakEwma({ random: seededRandom(1) }) },
  'ring_hash (by key)': { make: () => ringHash(), keyed: true },
  'maglev (by key)': { make: () => maglev(), keyed: true },
  'zoneAware(round_robin)': { make: () => zoneAware(roundRobin(), { zone: 'z1' }) },
  'slowStart(round_robin)': { make: () => slowStart(roundRobin(), { random: seededRandom(1) }) },
  'outlierDetection(round_robin)': { make: () => outlierDetection(roundRobin()) },
};

interface Result {
  bare: number[];
  picks: number[];
  buildMs: number;
}

function fleet(n: number): Instance[] {
  return Array.from({ length: n }, (_, i) =>
    createInstance({ id: `i${i}`, name: 'svc', address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, port: 80, weight: 1 + (i % 3), zone: `z${i % 3}` }),
  );
}

/** Best of `trials` runs, in picks per second. */
function rate(run: () => number): number {
  let best = 0;
  for (let t = 0; t < trials; t++) {
    const start = process.hrtime.bigint();
    if (run() === 0.5) console.log('unreachable');
    best = Math.max(best, picksPerTrial / (Number(process.hrtime.bigint() - start) / 1e9));
  }
  return best;
}

function measure(name: string): Result {
  const { make, keyed = false } = strategies[name]!;
  const keys: PickContext[] = Array.from({ length: 1024 }, (_, i) => ({ key: `user-${i}` }));
  const result: Result = { bare: [], picks: [], buildMs: 0 };
  for (const n of sizes) {
    const instances = fleet(n);
    result.bare.push(
      rate(() => {
        let sink = 0;
        let i = 0;
        for (let k = 0; k < picksPerTrial; k++) sink ^= instances[i++ % n]!.port;
        return sink;
      }),
    );
    const balancer = make();
    const start = process.hrtime.bigint();
    balancer.pick(instances, keys[0]); // builds the per-snapshot tables
    if (n === 10_000) result.buildMs = Number(process.hrtime.bigint() - start) / 1e6;
    // Realistic state: calls in flight with latencies, as through acquire()/release().
    for (let k = 0; k < Math.min(n, 64); k++) {
      balancer.onStart?.(instances[k]!);
      if (k % 2 === 0) balancer.onEnd?.(instances[k]!, { ok: true, latencyMs: 5 + (k % 7) });
    }
    result.picks.push(
      rate(() => {
        let sink = 0;
        if (keyed) for (let k = 0; k < picksPerTrial; k++) sink ^= balancer.pick(instances, keys[k & 1023])!.port;
        else for (let k = 0; k < picksPerTrial; k++) sink ^= balancer.pick(instances)!.port;
        return sink;
      }),
    );
  }
  return result;
}

function inWorker(name: string): Promise<Result> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: name });
    worker.once('message', resolve);
    worker.once('error', reject);
  });
}

const format = (perSecond: number) => (perSecond >= 1e6 ? `${(perSecond / 1e6).toFixed(1)}M/s` : `${(perSecond / 1e3).toFixed(0)}k/s`);

if (isMainThread) {
  const rows: string[][] = [];
  const builds: string[] = [];
  for (const name of Object.keys(strategies)) {
    const result = await inWorker(name);
    rows.push([name, ...result.picks.flatMap((perSecond, s) => [format(perSecond), `${(result.bare[s]! / perSecond).toFixed(1)}×`, format(result.bare[s]!)])]);
    builds.push(`  ${name.padEnd(30)} ${result.buildMs.toFixed(1)} ms`);
  }
  console.log(`picks per second, best of ${trials} × ${picksPerTrial.toLocaleString('en')}; "× bare" = one pick in bare-loop iterations (arr[i++ % n], same worker, same run)\n`);
  printTable(['strategy', ...sizes.flatMap((n) => [`n=${n.toLocaleString('en')}`, '× bare', 'bare loop'])], rows);
  console.log('\nfirst pick after a snapshot change at 10,000 instances (builds per-snapshot tables):');
  for (const line of builds) console.log(line);
} else {
  parentPort!.postMessage(measure(workerData as string));
}

// Requests/s through the discovery dispatcher next to the honest floor: one undici Pool per
// instance, chosen by a bare counter. Same three servers (in a process of their own), same run,
// short rounds interleaved so a neighbour's load hits every contender alike; prints the ratios.
// Two ways of calling: undici.request (the leanest client, so the dispatcher's cost shows most)
// and fetch (what applications call).
// Run: pnpm bench (on the built packages).
import { createDiscovery, staticProvider } from '@disco/core';
import '@disco/balancers';
import { startScript, waitFor } from '@disco/testing';
import { discoveryDispatcher } from '@disco/undici';
import { fileURLToPath } from 'node:url';
import { fetch, Pool, type Dispatcher } from 'undici';

const roundMs = Number(process.env.BENCH_ROUND_MS ?? 400);
const rounds = Number(process.env.BENCH_ROUNDS ?? 15);
const concurrency = 32;

interface Sample {
  /** Wall-clock requests per second. */
  wall: number;
  /** Requests per second of this process's CPU time: steadier than wall time on a shared machine. */
  cpu: number;
}

async function measure(send: () => Promise<unknown>, ms: number): Promise<Sample> {
  let requests = 0;
  const end = performance.now() + ms;
  const worker = async () => {
    while (performance.now() < end) {
      await send();
      requests++;
    }
  };
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const cpu = process.cpuUsage(cpuStart);
  return { wall: requests / ((performance.now() - started) / 1000), cpu: requests / ((cpu.user + cpu.system) / 1e6) };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const servers = startScript(fileURLToPath(new URL('./servers.ts', import.meta.url)), { timeoutMs: 10 * 60_000 });
await waitFor(() => servers.stdout.includes('\n'), { what: 'the bench servers' });
const { pid, ports } = JSON.parse(servers.stdout) as { pid: number; ports: number[] };

const pools = ports.map((port) => new Pool(`http://127.0.0.1:${port}`));
const urls = ports.map((port) => `http://127.0.0.1:${port}/`);
let next = 0;
const requestViaPools = async () => {
  const { body } = await pools[next++ % pools.length]!.request({ path: '/', method: 'GET' });
  await body.text();
};
const fetchViaPools = async () => {
  const i = next++ % pools.length;
  await (await fetch(urls[i]!, { dispatcher: pools[i]! })).text();
};

const discovery = createDiscovery({ provider: staticProvider() });
for (const [i, port] of ports.entries()) await discovery.register({ id: `svc-${i}`, name: 'svc', address: '127.0.0.1', port });
const request = (dispatcher: Dispatcher) => async () => {
  const { body } = await dispatcher.request({ origin: 'http://svc', path: '/', method: 'GET' });
  await body.text();
};
const fetchThrough = (dispatcher: Dispatcher) => async () => (await fetch('http://svc/', { dispatcher })).text();
const roundRobin = discoveryDispatcher(discovery);
const peakEwma = discoveryDispatcher(discovery, { balancer: 'peak_ewma' });

interface Contender {
  label: string;
  send: () => Promise<unknown>;
  results: Sample[];
}
const groups: { title: string; contenders: Contender[] }[] = [
  {
    title: 'undici.request',
    contenders: [
      { label: 'undici Pool per instance, bare counter', send: requestViaPools, results: [] },
      { label: 'discoveryDispatcher, round_robin', send: request(roundRobin), results: [] },
      { label: 'discoveryDispatcher, peak_ewma', send: request(peakEwma), results: [] },
    ],
  },
  {
    title: 'fetch',
    contenders: [
      { label: 'undici Pool per instance, bare counter', send: fetchViaPools, results: [] },
      { label: 'discoveryDispatcher, round_robin', send: fetchThrough(roundRobin), results: [] },
      { label: 'discoveryDispatcher, peak_ewma', send: fetchThrough(peakEwma), results: [] },
    ],
  },
];
const contenders = groups.flatMap((g) => g.contenders);

for (const { send } of contenders) await measure(send, 300); // connect and warm up
for (let round = 0; round < rounds; round++) {
  // Rotate the order too, so no contender always runs first (after the others' garbage).
  for (let i = 0; i < contenders.length; i++) {
    const contender = contenders[(round + i) % contenders.length]!;
    contender.results.push(await measure(contender.send, roundMs));
  }
}

console.log(`GETs, ${concurrency} in flight, 3 servers in another process, ${rounds} interleaved rounds of ${roundMs} ms`);
console.log('figures: median over rounds; ratio: median of each round against the baseline in the same round (goal ≥ 0.95)');
for (const { title, contenders: group } of groups) {
  const base = group[0]!.results;
  console.log(`\n${title}`);
  for (const { label, results } of group) {
    const wall = median(results.map((r) => r.wall));
    const cpu = median(results.map((r) => r.cpu));
    const wallRatio = median(results.map((r, i) => r.wall / base[i]!.wall));
    const cpuRatio = median(results.map((r, i) => r.cpu / base[i]!.cpu));
    console.log(`  ${label.padEnd(40)} ${wall.toFixed(0).padStart(6)} req/s (ratio ${wallRatio.toFixed(2)})  ${cpu.toFixed(0).padStart(6)} req per CPU-second (ratio ${cpuRatio.toFixed(2)})`);
  }
}

await Promise.all([...pools.map((p) => p.close()), roundRobin.close(), peakEwma.close()]);
await discovery.close();
process.kill(pid, 'SIGTERM');
await servers.exited;

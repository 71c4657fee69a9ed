// Calls/s through discovery:/// + the disco policy next to grpc-js's own round_robin over a
// static address list: same three servers, same process, rounds interleaved; prints the ratio.
// Run: pnpm bench (on the built packages).
import { createDiscovery, staticProvider } from '@disco/core';
import { discoServiceConfig, registerDiscoveryResolver } from '@disco/grpc-resolver';
import type * as grpc from '@grpc/grpc-js';
import { callWho, clientFor, startServers } from '../test/grpc-fixtures.ts';

const roundMs = Number(process.env.BENCH_ROUND_MS ?? 400);
const rounds = Number(process.env.BENCH_ROUNDS ?? 15);
const concurrency = 32;

interface Sample {
  /** Wall-clock calls per second. */
  wall: number;
  /** Calls per second of this process's CPU time: steadier than wall time on a shared machine. */
  cpu: number;
}

async function measure(client: grpc.Client, ms: number): Promise<Sample> {
  let calls = 0;
  const end = performance.now() + ms;
  const worker = async () => {
    while (performance.now() < end) {
      await callWho(client);
      calls++;
    }
  };
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const cpu = process.cpuUsage(cpuStart);
  return { wall: calls / ((performance.now() - started) / 1000), cpu: calls / ((cpu.user + cpu.system) / 1e6) };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const servers = await startServers('a', 'b', 'c');
const discovery = createDiscovery({ provider: staticProvider() });
for (const s of servers) await discovery.register({ id: s.id, name: 'svc', address: '127.0.0.1', port: s.port });
const unregister = registerDiscoveryResolver(discovery);

const contenders: { label: string; client: grpc.Client; results: Sample[] }[] = [
  { label: 'grpc-js round_robin, ipv4: list', client: clientFor(`ipv4:${servers.map((s) => s.address).join(',')}`, { loadBalancingConfig: [{ round_robin: {} }] }), results: [] },
  { label: 'discovery:/// + disco round_robin', client: clientFor('discovery:///svc', discoServiceConfig({ balancer: 'round_robin' })), results: [] },
  { label: 'discovery:/// + disco p2c', client: clientFor('discovery:///svc', discoServiceConfig({ balancer: 'p2c' })), results: [] },
];

for (const { client } of contenders) await measure(client, 300); // connect and warm up
// Interleaved short rounds, so a neighbour's load hits every contender alike; each round's
// ratio is taken against the baseline's sample of the same round.
for (let round = 0; round < rounds; round++) {
  // Rotate the order too, so no contender always runs first (after the others' garbage).
  for (let i = 0; i < contenders.length; i++) {
    const contender = contenders[(round + i) % contenders.length]!;
    contender.results.push(await measure(contender.client, roundMs));
  }
}

const base = contenders[0]!.results;
console.log(`unary calls, ${concurrency} in flight, 3 servers, ${rounds} interleaved rounds of ${roundMs} ms`);
console.log('figures: median over rounds; ratio: median of each round against the baseline in the same round');
for (const { label, results } of contenders) {
  const wall = median(results.map((r) => r.wall));
  const cpu = median(results.map((r) => r.cpu));
  const wallRatio = median(results.map((r, i) => r.wall / base[i]!.wall));
  const cpuRatio = median(results.map((r, i) => r.cpu / base[i]!.cpu));
  console.log(
    `${label.padEnd(36)} ${wall.toFixed(0).padStart(6)} calls/s (ratio ${wallRatio.toFixed(2)})  ${cpu.toFixed(0).padStart(6)} calls per CPU-second (ratio ${cpuRatio.toFixed(2)})`,
  );
}

for (const { client } of contenders) client.close();
unregister();
await discovery.close();
await Promise.all(servers.map((s) => s.stop()));

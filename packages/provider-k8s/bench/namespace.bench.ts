// pnpm bench: many services, few connections. 1,000 Services in one namespace (one
// EndpointSlice of 3 endpoints each), all watched through `discovery.watch` (the path users
// take), once with one watch per service (namespaceWatch: 'never', the baseline: what the
// provider did before) and once with the default (auto: one shared namespace watch past 20
// services). For each: connections the API server saw (held after sync, most at once, accepted
// in all), watches open, time to sync every service, change latency (write → the listener of
// that service, p50/p99 of 200 changes), heap per endpoint, and connections left after close().
// Then the cost of sharing when the namespace holds many services nobody watches: 25 watched
// out of 1,000, while 1,000 changes hit the others.
// The API double runs in a process of its own (bench/double-process.ts), so heap and CPU here are
// the client's; a change is timed from the message that asks the double to write it.
// Run with --expose-gc. Needs dist/ of this package and of @disco/core and @disco/testing.
import { fork } from 'node:child_process';
import { createDiscovery, type Instance } from '@disco/core';
import type { KubeConnectionStats } from '@disco/testing';
import { kubernetesProvider, type KubernetesProviderOptions } from '@disco/provider-k8s';

const serviceCount = Number(process.env.BENCH_SERVICES ?? 1000);
const perService = 3;
const changes = 200;
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))]!;
const fmt = (ms: number) => `${ms.toFixed(2)} ms`;
const heap = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(test: () => boolean, what: string, timeoutMs = 180_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!test()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

const child = fork(new URL('./double-process.ts', import.meta.url), [String(serviceCount), String(perService)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
const replies = new Map<number, (reply: { connections: KubeConnectionStats; watches: number }) => void>();
let kubeconfig = '';
await new Promise<void>((resolve) =>
  child.on('message', (message: { kubeconfig?: string; id?: number; connections?: KubeConnectionStats; watches?: number }) => {
    if (message.kubeconfig) {
      kubeconfig = message.kubeconfig;
      resolve();
    } else replies.get(message.id!)?.(message as { connections: KubeConnectionStats; watches: number });
  }),
);
let nextId = 0;
const stats = () =>
  new Promise<{ connections: KubeConnectionStats; watches: number }>((resolve) => {
    const id = nextId++;
    replies.set(id, resolve);
    child.send({ op: 'stats', id });
  });
const name = (i: number) => `svc-${String(i).padStart(4, '0')}`;
const write = (i: number, unready = -1, generation = 0) => child.send({ op: 'write', writes: [[i, unready, generation]] });
const writeMany = (writes: [number, number, number][]) => child.send({ op: 'write', writes });

interface Result {
  readonly label: string;
  readonly syncMs: number;
  readonly held: number;
  readonly peak: number;
  readonly accepted: number;
  readonly watches: number;
  readonly p50: number;
  readonly p99: number;
  readonly bytesPerEndpoint: number;
  readonly openAfterClose: number;
}

async function measure(label: string, options: KubernetesProviderOptions): Promise<Result> {
  child.send({ op: 'reset' });
  const discovery = createDiscovery({ provider: kubernetesProvider({ kubeconfig, ...options }, { env: {} }) });
  const latest = new Map<string, readonly Instance[]>();
  const waiting = new Map<string, (instances: readonly Instance[]) => void>();
  const started = performance.now();
  const stops = Array.from({ length: serviceCount }, (_, i) =>
    discovery.watch(name(i), (event) => {
      if (!('instances' in event)) return;
      latest.set(name(i), event.instances);
      waiting.get(name(i))?.(event.instances);
    }),
  );
  await until(() => latest.size === serviceCount && [...latest.values()].every((s) => s.length === perService), 'every service in sync');
  const syncMs = performance.now() - started;
  // Every service has its snapshot; let the last watches connect and the lists' connections close.
  let synced = await stats();
  for (let tries = 0; tries < 100; tries++) {
    await sleep(200);
    const now = await stats();
    const settled = now.watches === synced.watches && now.connections.open === synced.connections.open;
    synced = now;
    if (settled && now.connections.open === now.watches) break;
  }
  const { open: held, peak, accepted } = synced.connections;
  const { watches } = synced;
  const during = heap();

  const latencies: number[] = [];
  const flipped = new Set<number>();
  for (let c = 0; c < changes; c++) {
    const i = (c * 37) % serviceCount;
    // Each change flips one endpoint of that service between ready and not ready.
    const unready = flipped.has(i) ? -1 : 1;
    if (unready === 1) flipped.add(i);
    else flipped.delete(i);
    const seen = new Promise<number>((resolve) => {
      const t = performance.now();
      waiting.set(name(i), (instances) => {
        // discovery.watch hands out healthy instances: an unready endpoint leaves the snapshot.
        if (instances.length === (unready === 1 ? perService - 1 : perService)) resolve(performance.now() - t);
      });
      write(i, unready);
    });
    latencies.push(await seen);
    waiting.delete(name(i));
    await sleep(2);
  }
  for (const i of flipped) write(i);
  for (const stop of stops) stop();
  await discovery.close();
  let openAfterClose = -1;
  for (let tries = 0; tries < 100 && openAfterClose !== 0; tries++) {
    await sleep(50);
    openAfterClose = (await stats()).connections.open;
  }
  // What the running watches hold: the heap while they run less the heap once they are closed.
  const bytesPerEndpoint = (during - heap()) / (serviceCount * perService);
  return { label, syncMs, held, peak, accepted, watches, p50: percentile(latencies, 50), p99: percentile(latencies, 99), bytesPerEndpoint, openAfterClose };
}

let markers = 0;

/** 25 services watched out of 1,000 while the 975 others change `churn` times; then one change to a watched one. */
async function unwatchedCost(label: string, options: KubernetesProviderOptions, churn: number) {
  const watched = 25;
  const discovery = createDiscovery({ provider: kubernetesProvider({ kubeconfig, ...options }, { env: {} }) });
  const latest = new Map<string, readonly Instance[]>();
  const stops = Array.from({ length: watched }, (_, i) => discovery.watch(name(i), (event) => 'instances' in event && latest.set(name(i), event.instances)));
  await until(() => latest.size === watched, 'the watched services in sync');
  await sleep(300);
  const during = heap();
  const cpu = process.cpuUsage();
  const t = performance.now();
  writeMany(Array.from({ length: churn }, (_, c) => [watched + (c % (serviceCount - watched)), -1, 1 + (c % 2)] as [number, number, number]));
  const marker = latest.get(name(0));
  write(0, -1, 3 + markers++);

  await until(() => latest.get(name(0)) !== marker, 'the marker change');
  const elapsed = performance.now() - t;
  const used = process.cpuUsage(cpu);
  const { watches } = await stats();
  for (const stop of stops) stop();
  await discovery.close();
  await sleep(300);
  return { label, watches, heldBytes: during - heap(), elapsed, cpuMs: (used.user + used.system) / 1000 };
}

try {
  const perServiceMode = await measure('one watch per service', { namespaceWatch: 'never' });
  const namespaceMode = await measure('namespace watch (auto)', {});
  const rows = [perServiceMode, namespaceMode];
  console.log(`\n${serviceCount} services × ${perService} endpoints in one namespace, all watched through discovery.watch`);
  console.log(`  ${''.padEnd(24)} ${'held'.padStart(6)} ${'peak'.padStart(6)} ${'accepted'.padStart(9)} ${'watches'.padStart(8)} ${'sync'.padStart(12)} ${'change p50'.padStart(11)} ${'p99'.padStart(10)} ${'heap/endpoint'.padStart(14)} ${'open after close'.padStart(17)}`);
  for (const r of rows) {
    console.log(
      `  ${r.label.padEnd(24)} ${String(r.held).padStart(6)} ${String(r.peak).padStart(6)} ${String(r.accepted).padStart(9)} ${String(r.watches).padStart(8)} ${fmt(r.syncMs).padStart(12)} ${fmt(r.p50).padStart(11)} ${fmt(r.p99).padStart(10)} ${`${Math.round(r.bytesPerEndpoint)} B`.padStart(14)} ${String(r.openAfterClose).padStart(17)}`,
    );
  }
  console.log(`  namespace / per-service: connections held ${(namespaceMode.held / perServiceMode.held).toFixed(3)}×, accepted ${(namespaceMode.accepted / perServiceMode.accepted).toFixed(3)}×, sync ${(namespaceMode.syncMs / perServiceMode.syncMs).toFixed(2)}×, change p50 ${(namespaceMode.p50 / perServiceMode.p50).toFixed(2)}×, p99 ${(namespaceMode.p99 / perServiceMode.p99).toFixed(2)}×, heap per endpoint ${(namespaceMode.bytesPerEndpoint / perServiceMode.bytesPerEndpoint).toFixed(2)}×`);

  const churn = 1000;
  const a = await unwatchedCost('one watch per service', { namespaceWatch: 'never' }, churn);
  const b = await unwatchedCost('namespace watch', { namespaceWatch: 'always' }, churn);
  console.log(`\nthe cost of sharing: 25 of ${serviceCount} services watched while ${churn} changes hit the ${serviceCount - 25} others`);
  for (const r of [a, b]) {
    console.log(`  ${r.label.padEnd(24)} watches ${String(r.watches).padStart(3)}   heap held ${`${(r.heldBytes / 1024).toFixed(0)} KiB`.padStart(10)}   process CPU for the churn ${fmt(r.cpuMs).padStart(11)}   churn → a watched change delivered ${fmt(r.elapsed).padStart(11)}`);
  }
  console.log(`  namespace / per-service: heap ${(b.heldBytes / Math.max(1, a.heldBytes)).toFixed(1)}×, client CPU ${(b.cpuMs / a.cpuMs).toFixed(2)}×, churn → delivered ${(b.elapsed / a.elapsed).toFixed(2)}×`);
} finally {
  child.send({ op: 'stop' });
}

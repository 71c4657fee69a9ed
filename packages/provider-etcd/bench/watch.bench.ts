// put → listener latency through the disco etcd provider next to a raw etcd3 watch, on the same
// etcd server in the same run; then one change at 10,000 instances through `discovery.watch`
// (a Discovery on this provider: core's watch engine) next to a bare etcd3 watcher, and the
// memory of that service.
// Run: pnpm bench (builds nothing: run `pnpm build` first so dist/ is current).
import { EtcdCluster } from '@disco/testing';
import { createDiscovery, type Instance } from '@disco/core';
import { Etcd3 } from 'etcd3';
import { etcdProvider } from '@disco/provider-etcd';

const rounds = 10;
const perRound = 100;
const prefix = '/bench/';

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
const fmt = (ms: number) => `${ms.toFixed(3)} ms`;
const record = (name: string, id: string, port: number) => JSON.stringify({ v: 1, id, name, address: '127.0.0.1', port, healthy: true });

const etcd = await EtcdCluster.start();
const writer = new Etcd3({ hosts: etcd.endpoints });
try {
  // --- 1. latency: alternate blocks of puts seen by a raw etcd3 watcher and by disco ---------
  const name = 'latency';
  for (let i = 0; i < 10; i++) await writer.put(`${prefix}${name}/i${i}`).value(record(name, `i${i}`, 1)).exec();
  const raw: number[] = [];
  const disco: number[] = [];
  let port = 1000;

  const rawClient = new Etcd3({ hosts: etcd.endpoints });
  const provider = etcdProvider({ endpoints: etcd.endpoints, prefix, resyncInterval: 0 }, { env: {} });

  async function measure(subscribe: (onPort: (port: number) => void) => Promise<() => Promise<void> | void>, into: number[]): Promise<void> {
    let waiting: { port: number; resolve: () => void } | undefined;
    const stop = await subscribe((seen) => {
      if (waiting && seen === waiting.port) waiting.resolve();
    });
    // One unmeasured put first: the watch stream is surely connected afterwards.
    for (let i = -1; i < perRound; i++) {
      const p = ++port;
      const seen = new Promise<void>((resolve) => (waiting = { port: p, resolve }));
      const start = performance.now();
      const id = `i${(i + 10) % 10}`;
      await writer.put(`${prefix}${name}/${id}`).value(record(name, id, p)).exec();
      await seen;
      if (i >= 0) into.push(performance.now() - start);
    }
    await stop();
  }

  const viaRaw = (onPort: (port: number) => void) => {
    return rawClient
      .watch()
      .prefix(`${prefix}${name}/`)
      .create()
      .then((watcher) => {
        watcher.on('put', (kv) => onPort((JSON.parse(kv.value.toString()) as { port: number }).port));
        return () => watcher.cancel();
      });
  };
  const viaDisco = async (onPort: (port: number) => void) => {
    let ready!: () => void;
    const first = new Promise<void>((r) => (ready = r));
    let previous: readonly Instance[] = [];
    const stop = provider.watch(name, (event) => {
      if (!('instances' in event)) return;
      ready();
      // Report the port of the instance that changed.
      for (const instance of event.instances) if (!previous.includes(instance)) onPort(instance.port);
      previous = event.instances;
    });
    await first;
    return stop;
  };

  // Warm-up, then alternate so that drift of the machine hits both the same.
  await measure(viaRaw, []);
  await measure(viaDisco, []);
  for (let r = 0; r < rounds; r++) {
    await measure(viaRaw, raw);
    await measure(viaDisco, disco);
  }
  raw.sort((a, b) => a - b);
  disco.sort((a, b) => a - b);
  const [r50, r99, d50, d99] = [percentile(raw, 50), percentile(raw, 99), percentile(disco, 50), percentile(disco, 99)];
  console.log(`put → listener, ${raw.length} puts each, same etcd, same run:`);
  console.log(`  raw etcd3 watch   p50 ${fmt(r50)}  p99 ${fmt(r99)}`);
  console.log(`  disco provider    p50 ${fmt(d50)}  p99 ${fmt(d99)}`);
  console.log(`  ratio disco/raw   p50 ${(d50 / r50).toFixed(2)}x  p99 ${(d99 / r99).toFixed(2)}x   added at p99: ${fmt(d99 - r99)}`);
  await provider.close();
  rawClient.close();

  // --- 2. one service with 10,000 instances, through discovery.watch -----------------------
  const big = 'big';
  const count = 10_000;
  for (let i = 0; i < count; i += 250) {
    await Promise.all(
      Array.from({ length: Math.min(250, count - i) }, (_, j) => {
        const id = `n${String(i + j).padStart(5, '0')}`;
        return writer.put(`${prefix}${big}/${id}`).value(record(big, id, 20_000 + ((i + j) % 10_000))).exec();
      }),
    );
  }
  const gc = (globalThis as { gc?: () => void }).gc;
  const heap = () => {
    gc?.();
    gc?.();
    return process.memoryUsage().heapUsed;
  };

  // Baseline: the same range held as the raw etcd3 response.
  const rangeClient = new Etcd3({ hosts: etcd.endpoints });
  await rangeClient.getAll().prefix('/warm').exec();
  let before = heap();
  let held: unknown = await rangeClient.getAll().prefix(`${prefix}${big}/`).exec();
  const rawBytes = (heap() - before) / count;
  held = undefined;
  void held;

  // What an application uses: a Discovery on the provider (core's watch engine runs its source).
  const discovery = createDiscovery({ provider: etcdProvider({ endpoints: etcd.endpoints, prefix, resyncInterval: 0 }, { env: {} }) });
  await discovery.discover('warm-up');
  const ids = Array.from({ length: count }, (_, i) => `n${String(i).padStart(5, '0')}`);
  let changes = 0;
  /** One change: a put of instance `i` with a new port, timed from the put to `seen()`. */
  const change = async (seen: (i: number, port: number) => Promise<void>): Promise<number> => {
    const i = (changes * 37) % count; // spread over the snapshot, not only its head
    const p = 40_000 + (changes++ % 20_000);
    const start = performance.now();
    const done = seen(i, p);
    await writer.put(`${prefix}${big}/${ids[i]}`).value(record(big, ids[i]!, p)).exec();
    await done;
    return performance.now() - start;
  };

  /** A block of changes seen through `discovery.watch` (subscribed for the block only). */
  async function throughDiscovery(n: number, into: number[]): Promise<void> {
    let want: { i: number; port: number; resolve: () => void } | undefined;
    let loaded!: () => void;
    const ready = new Promise<void>((r) => (loaded = r));
    const stop = discovery.watch(big, (event) => {
      if (!('instances' in event)) return;
      if (event.instances.length === count) loaded();
      // The snapshot is sorted by id: the changed instance is at its index (no scan in the listener).
      if (want && event.instances[want.i]?.port === want.port) want.resolve();
    });
    await ready;
    // One unmeasured change first: the engine's watch is surely created afterwards (the list came first).
    for (let k = -1; k < n; k++) (k < 0 ? [] : into).push(await change((i, port) => new Promise<void>((resolve) => (want = { i, port, resolve }))));
    stop();
  }

  /** The same block through a bare etcd3 watcher on the prefix (subscribed for the block only). */
  async function throughRaw(n: number, into: number[]): Promise<void> {
    const watcher = await rangeClient.watch().prefix(`${prefix}${big}/`).create();
    let want: { key: string; resolve: () => void } | undefined;
    watcher.on('put', (kv) => {
      if (want && kv.key.toString() === want.key) want.resolve();
    });
    for (let k = -1; k < n; k++) (k < 0 ? [] : into).push(await change((i) => new Promise<void>((resolve) => (want = { key: `${prefix}${big}/${ids[i]}`, resolve }))));
    await watcher.cancel();
  }

  before = heap();
  const holder: unknown[] = [];
  const stopHold = discovery.watch(big, (event) => {
    if ('instances' in event) holder[0] = event.instances;
  });
  while ((holder[0] as unknown[] | undefined)?.length !== count) await new Promise((r) => setTimeout(r, 10));
  const discoBytes = (heap() - before) / count;
  stopHold();

  const applyDisco: number[] = [];
  const applyRaw: number[] = [];
  await throughRaw(20, []); // warm-up, unmeasured
  await throughDiscovery(20, []);
  for (let r = 0; r < 8; r++) {
    // Alternate blocks, so that drift of the machine hits both the same.
    await throughRaw(50, applyRaw);
    await throughDiscovery(50, applyDisco);
  }
  applyDisco.sort((a, b) => a - b);
  applyRaw.sort((a, b) => a - b);
  const [a50, a99, w50, w99] = [percentile(applyDisco, 50), percentile(applyDisco, 99), percentile(applyRaw, 50), percentile(applyRaw, 99)];
  console.log(`one service with ${count} instances (${applyDisco.length} changes each way, same etcd, same run):`);
  console.log(`  memory per instance: disco ${(discoBytes / 1024).toFixed(2)} KiB, raw etcd3 range response ${(rawBytes / 1024).toFixed(2)} KiB (ratio ${(discoBytes / rawBytes).toFixed(2)}x)${gc ? '' : '  [run with --expose-gc for stable numbers]'}`);
  console.log(`  one change put → listener: discovery.watch p50 ${fmt(a50)} p99 ${fmt(a99)}; raw etcd3 watcher p50 ${fmt(w50)} p99 ${fmt(w99)}`);
  console.log(`  ratio discovery.watch/raw   p50 ${(a50 / w50).toFixed(2)}x (goal ≤ 1.20x)  p99 ${(a99 / w99).toFixed(2)}x   added at p50: ${fmt(a50 - w50)}`);
  await discovery.close();
  rangeClient.close();
} finally {
  writer.close();
  await etcd.stop();
}

// Prefix mode against per-service mode (its own etcd): 1,000 services, 10,000 instances.
await import('./prefix.bench.ts');

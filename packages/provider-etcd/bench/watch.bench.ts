// put → listener latency through the disco etcd provider next to a raw etcd3 watch, on the same
// etcd server in the same run, and the cost of one service with 10,000 instances.
// Run: pnpm bench (builds nothing: run `pnpm build` first so dist/ is current).
import { EtcdCluster } from '@disco/testing';
import type { Instance } from '@disco/core';
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
  const provider = etcdProvider({ endpoints: etcd.endpoints, prefix, resyncInterval: 0 });

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

  // --- 2. one service with 10,000 instances --------------------------------------------------
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

  const bigProvider = etcdProvider({ endpoints: etcd.endpoints, prefix, resyncInterval: 0 });
  await bigProvider.discover('warm-up');
  before = heap();
  let latest: readonly Instance[] = [];
  let onChange: ((instances: readonly Instance[]) => void) | undefined;
  let ready!: () => void;
  const loaded = new Promise<void>((r) => (ready = r));
  const stop = bigProvider.watch(big, (event) => {
    if (!('instances' in event)) return;
    latest = event.instances;
    if (latest.length === count) ready();
    onChange?.(latest);
  });
  await loaded;
  const discoBytes = (heap() - before) / count;

  // Time to apply one change at 10,000 instances, next to a raw watcher on the same prefix.
  const rawWatcher = await rangeClient.watch().prefix(`${prefix}${big}/`).create();
  const applyDisco: number[] = [];
  const applyRaw: number[] = [];
  for (let i = 0; i < 200; i++) {
    const id = `n${String(i).padStart(5, '0')}`;
    const p = 40_000 + i;
    const start = performance.now();
    const viaDisco = new Promise<void>((resolve) => {
      onChange = (instances) => {
        if (instances.some((x) => x.id === id && x.port === p)) resolve();
      };
    });
    const viaRawWatch = new Promise<void>((resolve) => rawWatcher.once('put', () => resolve()));
    await writer.put(`${prefix}${big}/${id}`).value(record(big, id, p)).exec();
    await Promise.all([viaRawWatch.then(() => applyRaw.push(performance.now() - start)), viaDisco.then(() => applyDisco.push(performance.now() - start))]);
  }
  applyDisco.sort((a, b) => a - b);
  applyRaw.sort((a, b) => a - b);
  console.log(`one service with ${count} instances:`);
  console.log(`  memory per instance: disco ${(discoBytes / 1024).toFixed(2)} KiB, raw etcd3 range response ${(rawBytes / 1024).toFixed(2)} KiB (ratio ${(discoBytes / rawBytes).toFixed(2)}x)${gc ? '' : '  [run with --expose-gc for stable numbers]'}`);
  console.log(`  one change put → snapshot: disco p50 ${fmt(percentile(applyDisco, 50))} p99 ${fmt(percentile(applyDisco, 99))}; raw watch event p50 ${fmt(percentile(applyRaw, 50))} p99 ${fmt(percentile(applyRaw, 99))}`);
  console.log(`  added by disco to apply one change: p50 ${fmt(percentile(applyDisco, 50) - percentile(applyRaw, 50))}`);
  stop();
  await rawWatcher.cancel();
  await bigProvider.close();
  rangeClient.close();
} finally {
  writer.close();
  await etcd.stop();
}

// Prefix mode against per-service mode, in one run on one etcd: 1,000 services × 10 instances
// watched through `discovery.watch` (what applications use), next to the honest floor — one
// range over the whole prefix with every value parsed into a Map. Then what prefix mode costs
// when the prefix holds services nobody watches. Ratios, not absolute times.
// Run: pnpm bench (after `pnpm build`: the provider is imported from dist/).
import { EtcdCluster } from '@disco/testing';
import { createDiscovery, type Discovery, type Instance } from '@disco/core';
import { Etcd3 } from 'etcd3';
import { etcdProvider, type EtcdPrefixMode } from '@disco/provider-etcd';
import type * as RecordModule from '../src/record.js';
import { serverCounters } from '../test/helpers.ts';

// The provider's own record reader (not public API): what any client must do to turn a value into
// an Instance. Taken from the build at run time (the bench runs on dist), typed from the source.
const { codecFor, readEntry } = (await import(new URL('../dist/record.js', import.meta.url).href)) as typeof RecordModule;
const codec = codecFor('disco');

const services = 1_000;
const each = 10;
const prefix = '/bench-prefix/';
const names = Array.from({ length: services }, (_, i) => `svc${String(i).padStart(4, '0')}`);
const gc = (globalThis as { gc?: () => void }).gc;
const heap = () => {
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
};
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const record = (name: string, id: string, port: number) => JSON.stringify({ v: 1, id, name, address: '10.0.0.1', port, healthy: true, tags: ['http'], metadata: { zone: 'a' } });

const etcd = await EtcdCluster.start();
const writer = new Etcd3({ hosts: etcd.endpoints });

const atServer = () => serverCounters(etcd.member(0).clientUrl);

async function populate(prefixOf: string, list: readonly string[]): Promise<void> {
  const puts = list.flatMap((name) => Array.from({ length: each }, (_, i) => () => writer.put(`${prefixOf}${name}/i${i}`).value(record(name, `i${i}`, 20_000 + i)).exec()));
  for (let i = 0; i < puts.length; i += 250) await Promise.all(puts.slice(i, i + 250).map((put) => put()));
}

/**
 * The floor: one range over the prefix with the raw client, every value parsed into a Map
 * (key → record). `instances`: parsed by the provider's reader into `Instance`s (JSON, the
 * record's validation, a frozen Instance); otherwise `JSON.parse` alone.
 */
async function baseline(client: Etcd3, over: string, instances: boolean): Promise<{ ms: number; map: Map<string, unknown> }> {
  const start = performance.now();
  const response = await client.getAll().prefix(over).exec();
  const map = new Map<string, unknown>();
  for (const kv of response.kvs) {
    const key = kv.key.toString();
    if (!instances) {
      map.set(key, JSON.parse(kv.value.toString()));
      continue;
    }
    const name = key.slice(over.length, key.indexOf('/', over.length));
    map.set(key, readEntry(codec, `${over}${name}/`, name, key, kv.value));
  }
  return { ms: performance.now() - start, map };
}

/** Lets closed clients and engines let go, then collects. */
async function settledHeap(): Promise<number> {
  await new Promise((r) => setTimeout(r, 500));
  return heap();
}

interface Watched {
  discovery: Discovery;
  ms: number;
  holder: Array<readonly Instance[]>;
  ranges: number;
  watchers: number;
}

/** A Discovery on a fresh provider, its client connected. */
async function open(mode: EtcdPrefixMode, over = prefix): Promise<Discovery> {
  const discovery = createDiscovery({ provider: etcdProvider({ endpoints: etcd.endpoints, prefix: over, prefixMode: mode, resyncInterval: 0 }, { env: {} }) });
  await discovery.discover('warm-up');
  return discovery;
}

/** `discovery` (or a fresh one) watching `list`: time until every service has its snapshot. */
async function watchAll(mode: EtcdPrefixMode, list: readonly string[], given?: Discovery, want = each): Promise<Watched> {
  const discovery = given ?? (await open(mode));
  const before = await atServer();
  const holder: Array<readonly Instance[]> = new Array(list.length);
  let loaded = 0;
  let done!: () => void;
  const all = new Promise<void>((resolve) => (done = resolve));
  const start = performance.now();
  list.forEach((name, i) => {
    discovery.watch(name, (event) => {
      if (!('instances' in event)) return;
      if (holder[i] === undefined && event.instances.length === want && ++loaded === list.length) done();
      holder[i] = event.instances;
    });
  });
  await all;
  const ms = performance.now() - start;
  // Let the watches be created (per-service mode creates a thousand, one after another): until the count holds still.
  let after = await atServer();
  for (let i = 0; i < 50; i++) {
    await new Promise((r) => setTimeout(r, 200));
    const now = await atServer();
    if (now.watchers === after.watchers && now.ranges === after.ranges) break;
    after = now;
  }
  return { discovery, ms, holder, ranges: after.ranges - before.ranges, watchers: after.watchers - before.watchers };
}

try {
  await populate(prefix, names);
  const client = new Etcd3({ hosts: etcd.endpoints });
  await client.get('warm-up').exec();

  // --- heap per instance, first, in a quiet process ------------------------------------------
  // One pass of everything measured first: the code V8 compiles for a path is a cost per
  // process, not per instance, and would otherwise land on whichever run came first.
  await baseline(client, prefix, true);
  await baseline(client, prefix, false);
  for (const mode of ['auto', 'never'] as const) await (await watchAll(mode, names)).discovery.close();
  await (await watchAll('auto', names, await open('auto', '/bench-empty/'), 0)).discovery.close();
  const instances = services * each;
  const mapOf = async (parsed: boolean) => {
    const start = await settledHeap();
    const held = (await baseline(client, prefix, parsed)).map;
    const bytes = ((await settledHeap()) - start) / instances;
    if (held.size !== instances) throw new Error('the baseline map is incomplete');
    return bytes;
  };
  const heapOf = async (mode: EtcdPrefixMode) => {
    const discovery = await open(mode);
    const start = await settledHeap();
    const watched = await watchAll(mode, names, discovery);
    const bytes = ((await settledHeap()) - start) / instances;
    if (watched.holder.length !== services) throw new Error('not every service was watched');
    await watched.discovery.close();
    return bytes;
  };
  // What a watched service costs with no instance at all (core's engine, the source, the feed's entry).
  const emptyDiscovery = await open('auto', '/bench-empty/');
  const emptyStart = await settledHeap();
  const empty = await watchAll('auto', names, emptyDiscovery, 0);
  const serviceBytes = ((await settledHeap()) - emptyStart) / services;
  await empty.discovery.close();
  const jsonBytes = await mapOf(false);
  const mapBytes = await mapOf(true);
  const prefixBytes = await heapOf('auto');
  const perServiceBytes = await heapOf('never');

  // --- requests and cold start: alternate rounds so that drift hits all three the same ---------
  const floor: number[] = [];
  const floorJson: number[] = [];
  const prefixed: number[] = [];
  const perService: number[] = [];
  let counts = { prefix: { ranges: 0, watchers: 0 }, perService: { ranges: 0, watchers: 0 } };
  for (let round = -1; round < 5; round++) {
    const j = await baseline(client, prefix, false);
    const b = await baseline(client, prefix, true);
    const p = await watchAll('auto', names);
    await p.discovery.close();
    const s = await watchAll('never', names);
    await s.discovery.close();
    if (round < 0) continue; // warm-up
    floorJson.push(j.ms);
    floor.push(b.ms);
    prefixed.push(p.ms);
    perService.push(s.ms);
    counts = { prefix: { ranges: p.ranges, watchers: p.watchers }, perService: { ranges: s.ranges, watchers: s.watchers } };
  }
  console.log(`${services} services × ${each} instances watched through discovery.watch (prefix mode: the default 'auto', threshold 50), same etcd, same run (medians of 5):`);
  console.log(`  requests at the server: prefix mode ${counts.prefix.ranges} Range + ${counts.prefix.watchers} watcher; per-service ${counts.perService.ranges} Range + ${counts.perService.watchers} watchers`);
  console.log(
    `  cold start (first watch → every service has its snapshot): one prefix range + the provider's reader into a Map ${median(floor).toFixed(1)} ms ` +
      `(+ JSON.parse only: ${median(floorJson).toFixed(1)} ms); prefix mode ${median(prefixed).toFixed(1)} ms; per-service ${median(perService).toFixed(1)} ms`,
  );
  console.log(
    `  ratio to the floor: prefix mode ${(median(prefixed) / median(floor)).toFixed(2)}x (goal ≤ 1.20x; ${(median(prefixed) / median(floorJson)).toFixed(2)}x of the JSON-only floor); ` +
      `per-service ${(median(perService) / median(floor)).toFixed(2)}x`,
  );
  console.log(
    `  heap per instance: parsed-record map ${mapBytes.toFixed(0)} B (JSON.parse records: ${jsonBytes.toFixed(0)} B); prefix mode ${prefixBytes.toFixed(0)} B ` +
      `(${(prefixBytes / mapBytes).toFixed(2)}x); per-service ${perServiceBytes.toFixed(0)} B (${(perServiceBytes / mapBytes).toFixed(2)}x)${gc ? '' : '  [run with --expose-gc]'}`,
  );
  const marginal = prefixBytes - (serviceBytes * services) / instances;
  console.log(
    `    of which a watched service with no instance costs ${(serviceBytes / 1024).toFixed(1)} KiB (engine, source, feed entry); ` +
      `each instance beyond that ${marginal.toFixed(0)} B = ${(marginal / mapBytes).toFixed(2)}x the parsed-record map (goal ≤ 1.30x)`,
  );

  // --- services nobody watches ---------------------------------------------------------------
  // The same prefix, but only 100 of its 1,000 services watched (prefix mode forced on).
  const few = names.filter((_, i) => i % 10 === 0);
  const fewFloor: number[] = [];
  const fewPrefix: number[] = [];
  const fewPerService: number[] = [];
  for (let round = -1; round < 5; round++) {
    const b = await baseline(client, prefix, true);
    const p = await watchAll('always', few);
    await p.discovery.close();
    const s = await watchAll('never', few);
    await s.discovery.close();
    if (round < 0) continue;
    fewFloor.push(b.ms);
    fewPrefix.push(p.ms);
    fewPerService.push(s.ms);
  }
  const fewHeap = async (mode: EtcdPrefixMode) => {
    const discovery = await open(mode);
    const start = await settledHeap();
    const watched = await watchAll(mode, few, discovery);
    const bytes = (await settledHeap()) - start;
    return { watched, bytes };
  };
  const hp = await fewHeap('always');
  await hp.watched.discovery.close();
  const hs = await fewHeap('never');
  await hs.watched.discovery.close();
  // Changes to services nobody watches: the prefix watch carries them; measure the watcher's CPU per change.
  const cpuPerUnwatchedChange = async (mode: EtcdPrefixMode) => {
    const watched = await watchAll(mode, few);
    const unwatched = names.filter((_, i) => i % 10 !== 0);
    const changes = 2_000;
    const start = process.cpuUsage();
    for (let i = 0; i < changes; i += 200) {
      await Promise.all(Array.from({ length: 200 }, (_, j) => {
        const name = unwatched[(i + j) % unwatched.length]!;
        return writer.put(`${prefix}${name}/i0`).value(record(name, 'i0', 30_000 + ((i + j) % 1000))).exec();
      }));
    }
    await new Promise((r) => setTimeout(r, 300));
    const used = process.cpuUsage(start);
    await watched.discovery.close();
    return (used.user + used.system) / changes;
  };
  const cpuPrefix = await cpuPerUnwatchedChange('always');
  const cpuPerService = await cpuPerUnwatchedChange('never');
  console.log(`only ${few.length} of the ${services} services under the prefix watched (prefix mode forced on with prefixMode: 'always'):`);
  console.log(`  cold start: prefix mode ${median(fewPrefix).toFixed(1)} ms (it ranges over all ${services * each} keys; floor ${median(fewFloor).toFixed(1)} ms); per-service ${median(fewPerService).toFixed(1)} ms (${few.length} ranges)`);
  console.log(`  heap held: prefix mode ${(hp.bytes / 1024).toFixed(0)} KiB; per-service ${(hs.bytes / 1024).toFixed(0)} KiB (keys of unwatched services are never parsed or kept)`);
  console.log(`  process CPU per change to an unwatched service (writer included in both): prefix mode ${cpuPrefix.toFixed(0)} µs; per-service ${cpuPerService.toFixed(0)} µs (extra ${(cpuPrefix - cpuPerService).toFixed(0)} µs: the event crosses the wire and is dropped by its name)`);
  client.close();
} finally {
  writer.close();
  await etcd.stop();
}

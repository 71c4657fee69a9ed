// The dispatcher's own cost per request, without sockets: the same instant-answer pools called
// by a bare counter and through discoveryDispatcher (handle acquire/release, routing, retry
// bookkeeping, the handler in between). Prints nanoseconds per request and what the dispatcher
// adds; compare with the 25–40 µs of CPU a loopback request costs (dispatcher.bench.ts).
import { createDiscovery, staticProvider } from '@disco/core';
import { discoveryDispatcher } from '@disco/undici';
import { Dispatcher } from 'undici';

const chunk = Buffer.from('ok');
const controller: Dispatcher.DispatchController = { aborted: false, paused: false, reason: null, abort() {}, pause() {}, resume() {} };

/** A pool stand-in that answers 200 "ok" at once, inside dispatch(). */
class InstantPool extends Dispatcher {
  override dispatch(_opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    handler.onRequestStart?.(controller, {});
    handler.onResponseStart?.(controller, 200, {}, 'OK');
    handler.onResponseData?.(controller, chunk);
    handler.onResponseEnd?.(controller, {});
    return true;
  }
  override close(): Promise<void> {
    return Promise.resolve();
  }
  override destroy(): Promise<void> {
    return Promise.resolve();
  }
}

const pools = [new InstantPool(), new InstantPool(), new InstantPool()];
const discovery = createDiscovery({ provider: staticProvider() });
for (let i = 0; i < pools.length; i++) await discovery.register({ id: `svc-${i}`, name: 'svc', address: '127.0.0.1', port: 1000 + i });
let made = 0;
const dispatcher = discoveryDispatcher(discovery, { poolFactory: () => pools[made++ % pools.length]! });
const handler: Dispatcher.DispatchHandler = {
  onResponseError: (_c, error) => {
    throw error;
  },
};
const opts: Dispatcher.DispatchOptions = { origin: 'http://svc', path: '/', method: 'GET' };
// The first request waits for the service's first snapshot; after that every one is synchronous.
await new Promise<void>((resolve, reject) => dispatcher.dispatch(opts, { onResponseEnd: () => resolve(), onResponseError: (_c, e) => reject(e) }));

let next = 0;
const contenders = [
  { name: 'Pool per instance, bare counter', run: () => pools[next++ % pools.length]!.dispatch(opts, handler), samples: [] as number[] },
  { name: 'discoveryDispatcher, round_robin', run: () => dispatcher.dispatch(opts, handler), samples: [] as number[] },
];
/** CPU nanoseconds per request over `count` requests: CPU time, not wall time, so a busy machine's other jobs do not count. */
function cpuNsPerRequest(run: () => unknown, count: number): number {
  const start = process.cpuUsage();
  for (let i = 0; i < count; i++) run();
  const used = process.cpuUsage(start);
  return ((used.user + used.system) * 1000) / count;
}
for (const c of contenders) cpuNsPerRequest(c.run, 100_000); // warm up
for (let round = 0; round < 15; round++) for (const c of contenders) c.samples.push(cpuNsPerRequest(c.run, 100_000));
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const [bare, through] = contenders.map((c) => median(c.samples)) as [number, number];
console.log('one GET through instant-answer pools (no sockets): the dispatcher layer alone, median of 15 rounds of 100,000');
console.log(`  ${contenders[0]!.name.padEnd(34)} ${bare.toFixed(0).padStart(6)} ns of CPU per request`);
console.log(`  ${contenders[1]!.name.padEnd(34)} ${through.toFixed(0).padStart(6)} ns of CPU per request`);
console.log(`  the dispatcher adds ${(through - bare).toFixed(0)} ns per request`);
await dispatcher.close();
await discovery.close();

// pnpm bench: what core holds for each followed service, in one run, against the honest floor
// — a Map from name to an array of its parsed instances, which any cache must hold at least.
// Sources are in memory and make their instances as a backend's parse would, so only core is
// measured: an attached source (one stream shared by every service, as etcd's prefix mode), and
// a `follow` with a stream of its own per service.
// Run with --expose-gc (the bench script does).
import { createDiscovery, createInstance, type Instance, type Provider } from '@disco/core';
import type { AttachedSink, ServiceSource } from '@disco/core/provider';

const services = 2_000;
const each = 10;
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
const names = Array.from({ length: services }, (_, i) => `svc${i}`);
/** A service's instances, made afresh (as a backend's answer is parsed). */
const parse = (name: string): Instance[] => Array.from({ length: each }, (_, i) => createInstance({ id: `i${i}`, name, address: `10.0.${i}.1`, port: 20_000 + i, tags: ['http'], metadata: { zone: 'a' } }));

async function heap(): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, 100));
  gc!();
  gc!();
  return process.memoryUsage().heapUsed;
}

/** A provider whose sources list from memory and either attach to one shared stream or follow one each. */
function provider(mode: 'attach' | 'follow'): Provider & { readonly followed: number } {
  const hooked = new Set<AttachedSink<number>>();
  const unhook = (sink: AttachedSink<number>) => void hooked.delete(sink);
  let following = 0;
  const p: Provider & { readonly followed: number } = {
    name: `memory-${mode}`,
    capabilities: { watch: true, register: false, serverHealthChecks: false },
    get followed() {
      return mode === 'attach' ? hooked.size : following;
    },
    discover: async (name: string) => parse(name),
    watch: () => () => {},
    register: async () => {},
    deregister: async () => {},
    close: async () => {},
    source(name: string): ServiceSource<number> {
      const list = async () => ({ instances: parse(name), position: 1 });
      if (mode === 'attach') {
        return {
          list,
          attach: (_position, sink) => {
            hooked.add(sink);
            return unhook;
          },
        };
      }
      return {
        list,
        follow: (_position, _sink, signal) =>
          new Promise((resolve) => {
            following++;
            signal.addEventListener('abort', () => (following--, resolve('ended')), { once: true });
          }),
      };
    },
  };
  return p;
}

// The floor, built by hand: name → its parsed instances.
const floorStart = await heap();
const floor = new Map<string, readonly Instance[]>(names.map((name) => [name, parse(name)]));
const floorBytes = ((await heap()) - floorStart) / services;

async function followed(mode: 'attach' | 'follow'): Promise<number> {
  const p = provider(mode);
  const discovery = createDiscovery({ provider: p });
  await discovery.discover('warm-up');
  const held: Array<readonly Instance[]> = new Array(services);
  const start = await heap();
  names.forEach((name, i) => discovery.watch(name, (event) => void ('instances' in event && (held[i] = event.instances))));
  while (p.followed < services) await new Promise((resolve) => setTimeout(resolve, 10));
  const bytes = ((await heap()) - start) / services;
  if (held.some((snapshot) => snapshot?.length !== each)) throw new Error('a service did not get its snapshot');
  await discovery.close();
  return bytes;
}

await followed('attach'); // compile the paths once: code is a cost per process, not per service
await followed('follow');
const attached = await followed('attach');
const own = await followed('follow');
console.log(`heap held per followed service (${services} services × ${each} instances, sources in memory, one run):`);
console.log(`  floor, a Map name → its ${each} parsed instances: ${floorBytes.toFixed(0)} B`);
console.log(`  attached to one shared stream: ${(attached - floorBytes).toFixed(0)} B more (${(attached / floorBytes).toFixed(2)}x the floor)`);
console.log(`  a follow with a stream of its own: ${(own - floorBytes).toFixed(0)} B more (${(own / floorBytes).toFixed(2)}x; its promise, AbortController and listener are the difference)`);
void floor.size;

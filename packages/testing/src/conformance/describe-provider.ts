import { createDiscovery, isDiscoveryError, type Instance, type Provider, type Service, type WatchEvent } from '@disco/core';
import type { AttachedSink, ServiceSource } from '@disco/core/provider';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../ports.js';
import { WatchRecorder } from '../watch-recorder.js';

/** How a read-only backend (Kubernetes, DNS) gains and loses instances in the suite. */
export interface ConformanceBackend {
  add(service: Service): Promise<void>;
  remove(name: string, id: string): Promise<void>;
  setHealthy(name: string, id: string, healthy: boolean): Promise<void>;
}

export type RoundTripField = 'tags' | 'metadata' | 'weight' | 'version' | 'zone';

export interface ConformanceOptions {
  /** For providers that cannot register; default: the provider's own register/deregister. */
  backend?: ConformanceBackend;
  /** How long a change may take to reach a watcher. Default 5s. */
  settleTimeoutMs?: number;
  /** What an unhealthy instance looks like: still listed with `healthy: false` (default), or gone. */
  unhealthy?: 'flag' | 'remove';
  /** Instance fields the backend carries; default all. */
  fields?: readonly RoundTripField[];
  /** Address to register instances under (default 127.0.0.1). */
  address?: string;
  /** Check that close() leaves no socket or timer behind (default true). */
  leakCheck?: boolean;
  /**
   * Makes the backend fail and recover, for the watch engine's outage rules (one error per
   * outage, recovery always delivered, late subscribers told, handles started during an
   * outage recover). Without it those cases are reported as not run, with `noOutage` as why.
   */
  outage?: { begin(): Promise<void>; end(): Promise<void> };
  /** Why this backend cannot be made to fail in a test (printed when `outage` is absent). */
  noOutage?: string;
}

let counter = 0;
const unique = (what: string) => `conf-${what}-${process.pid}-${Date.now().toString(36)}-${counter++}`;

const ids = (instances: readonly Instance[]) => instances.map((i) => i.id).sort();
const describe_ = (events: readonly WatchEvent[]) => events.map((e) => ('instances' in e ? `snap:${ids(e.instances).join('+')}` : 'error'));

/**
 * Wraps a provider to count what a Discovery asks of its backend: source runs (or `watch`
 * calls, for a provider without sources) and the lists/follows still in flight. Its close
 * leaves the real provider open.
 */
function counting(provider: Provider) {
  const counts = { watches: 0, unwatches: 0, active: 0 };
  const track = <T>(work: Promise<T>): Promise<T> => {
    counts.active++;
    return work.finally(() => counts.active--);
  };
  const proxy: Provider = {
    name: provider.name,
    capabilities: provider.capabilities,
    register: (s, o) => provider.register(s, o),
    deregister: (id, o) => provider.deregister(id, o),
    discover: (n, o) => provider.discover(n, o),
    watch: (n, l, o) => {
      counts.watches++;
      const stop = provider.watch(n, l, o);
      return () => {
        counts.unwatches++;
        stop();
      };
    },
    close: async () => {},
  };
  if (provider.listServices) proxy.listServices = (o) => provider.listServices!(o);
  if (provider.source) {
    proxy.source = (name) => {
      counts.watches++;
      const source = provider.source!(name);
      // Read through, not spread: a source may be a class whose methods and getters live on its prototype.
      const wrapped: ServiceSource = {
        list: (signal) => track(source.list(signal)),
        get pollMs() {
          return source.pollMs;
        },
        get resyncMs() {
          return source.resyncMs;
        },
        get backoff() {
          return source.backoff;
        },
        get rate() {
          return source.rate;
        },
      };
      if (source.follow) wrapped.follow = (position, sink, signal) => track(source.follow!(position, sink, signal));
      if (source.attach) {
        wrapped.attach = (position, sink) => {
          // Active from the attach until the stream ends it or the engine unhooks it, whichever is first.
          counts.active++;
          let done = false;
          const leave = () => {
            if (!done) counts.active--;
            done = true;
          };
          const counted: AttachedSink = {
            service: sink.service,
            replace: (instances, at) => sink.replace(instances, at),
            resync: (instances, at) => sink.resync(instances, at),
            upsert: (instance) => sink.upsert(instance),
            remove: (id) => sink.remove(id),
            advance: (at) => sink.advance(at),
            invalid: (error) => sink.invalid(error),
            stale: (error) => sink.stale(error),
            end: (result) => {
              leave();
              sink.end(result);
            },
          };
          const unhook = source.attach!(position, counted);
          return () => {
            leave();
            return unhook(counted);
          };
        };
      }
      return wrapped;
    };
  }
  return { proxy, counts };
}

/**
 * The provider conformance suite: every provider package runs it against its own backend.
 * `makeProvider` is called once for the shared provider and once more for the close test.
 */
export function describeProvider(name: string, makeProvider: () => Provider | Promise<Provider>, options: ConformanceOptions = {}): void {
  const settle = options.settleTimeoutMs ?? 5_000;
  const fields = new Set(options.fields ?? ['tags', 'metadata', 'weight', 'version', 'zone']);
  const address = options.address ?? '127.0.0.1';

  describe(`provider conformance: ${name}`, () => {
    let provider: Provider;
    const services = new Map<string, Service>();
    let backend: ConformanceBackend;
    let port = 20_000;

    beforeAll(async () => {
      provider = await makeProvider();
      backend = options.backend ?? {
        add: async (service) => {
          services.set(service.id, service);
          await provider.register(service);
        },
        remove: async (_name, id) => provider.deregister(id),
        setHealthy: async (_name, id, healthy) => provider.register(services.get(id)!, { healthy }),
      };
    });
    afterAll(async () => {
      await provider?.close();
    });

    const service = (svcName: string, extra: Partial<Service> = {}): Service => ({
      id: unique('id'),
      name: svcName,
      address,
      port: port++,
      ...extra,
    });

    it('discover returns what was added, with its fields', async () => {
      const svc = unique('svc');
      const full = service(svc, { tags: ['blue', 'v2'], metadata: { team: 'core', build: '42' }, weight: 3, version: '2.1.0', zone: 'zone-a' });
      await backend.add(full);
      let found: Instance | undefined;
      await waitFor(async () => (found = (await provider.discover(svc)).find((i) => i.id === full.id)) !== undefined, { timeoutMs: settle, what: 'the instance to be discoverable' });
      expect(found).toMatchObject({ name: svc, address: full.address, port: full.port, healthy: true });
      expect(Object.isFrozen(found)).toBe(true);
      if (fields.has('tags')) expect([...found!.tags].sort()).toEqual(['blue', 'v2']);
      if (fields.has('metadata')) expect(found!.metadata).toMatchObject({ team: 'core', build: '42' });
      if (fields.has('weight')) expect(found!.weight).toBe(3);
      if (fields.has('version')) expect(found!.version).toBe('2.1.0');
      if (fields.has('zone')) expect(found!.zone).toBe('zone-a');
      await backend.remove(svc, full.id);
    });

    it('discover of a service nobody registered is empty', async () => {
      expect(await provider.discover(unique('nobody'))).toEqual([]);
    });

    it('watch sends the current state first, then the add, then the removal', async () => {
      const svc = unique('svc');
      const first = service(svc);
      await backend.add(first);
      await waitFor(async () => (await provider.discover(svc)).length === 1, { timeoutMs: settle, what: 'first instance' });
      const recorder = new WatchRecorder();
      const stop = provider.watch(svc, recorder.listener);
      try {
        expect(ids(await recorder.until((s) => s.length === 1, 'the current state', settle))).toEqual([first.id]);
        const second = service(svc);
        await backend.add(second);
        expect(ids(await recorder.until((s) => s.length === 2, 'the add', settle))).toEqual([first.id, second.id].sort());
        await backend.remove(svc, first.id);
        expect(ids(await recorder.until((s) => s.length === 1, 'the removal', settle))).toEqual([second.id]);
        await backend.remove(svc, second.id);
        await recorder.until((s) => s.length === 0, 'the last removal', settle);
      } finally {
        stop();
      }
    });

    it('a health flip reaches watchers', async () => {
      const svc = unique('svc');
      const one = service(svc);
      await backend.add(one);
      const recorder = new WatchRecorder();
      const stop = provider.watch(svc, recorder.listener);
      try {
        await recorder.until((s) => s.some((i) => i.id === one.id && i.healthy), 'the healthy instance', settle);
        await backend.setHealthy(svc, one.id, false);
        if (options.unhealthy === 'remove') await recorder.until((s) => !s.some((i) => i.id === one.id), 'the unhealthy instance to leave', settle);
        else await recorder.until((s) => s.some((i) => i.id === one.id && !i.healthy), 'the instance marked unhealthy', settle);
        await backend.setHealthy(svc, one.id, true);
        await recorder.until((s) => s.some((i) => i.id === one.id && i.healthy), 'the instance healthy again', settle);
      } finally {
        stop();
        await backend.remove(svc, one.id);
      }
    });

    it('many subscribers share one backend watch, and never see two equal snapshots in a row', async () => {
      const svc = unique('svc');
      const { proxy, counts } = counting(provider);
      const discovery = createDiscovery({ provider: proxy });
      const recorders = Array.from({ length: 20 }, () => new WatchRecorder());
      const stops = recorders.map((r) => discovery.watch(svc, r.listener, { healthyOnly: false }));
      const one = service(svc);
      try {
        await backend.add(one);
        for (const r of recorders) await r.until((s) => s.length === 1, 'each subscriber to see the add', settle);
        expect(counts.watches).toBe(1);
        await backend.setHealthy(svc, one.id, true); // a write that changes nothing
        await backend.add(one); // an idempotent re-add
        const other = service(svc);
        await backend.add(other);
        for (const r of recorders) await r.until((s) => s.length === 2, 'each subscriber to see the second add', settle);
        for (const r of recorders) {
          const snaps = r.snapshots();
          for (let i = 1; i < snaps.length; i++) expect(ids(snaps[i]!)).not.toEqual(ids(snaps[i - 1]!));
        }
        await backend.remove(svc, other.id);
      } finally {
        for (const stop of stops) stop();
        // The last subscriber gone, the backend watch is released: nothing of it is left in flight.
        if (proxy.source) await waitFor(() => counts.active === 0, { timeoutMs: settle, what: 'the backend watch to be released' });
        else expect(counts.unwatches).toBe(1);
        await discovery.close();
        await backend.remove(svc, one.id);
      }
    });

    it('honours abort signals', async () => {
      const aborted = AbortSignal.abort();
      await expect(provider.discover(unique('svc'), { signal: aborted })).rejects.toMatchObject({ code: 'ERR_ABORTED' });
      if (provider.capabilities.register) {
        await expect(provider.register(service(unique('svc')), { signal: aborted })).rejects.toMatchObject({ code: 'ERR_ABORTED' });
      }
      const svc = unique('svc');
      const controller = new AbortController();
      const recorder = new WatchRecorder();
      provider.watch(svc, recorder.listener, { signal: controller.signal });
      await recorder.until(() => true, 'the first snapshot', settle);
      controller.abort();
      const seen = recorder.events.length;
      const late = service(svc);
      await backend.add(late);
      await waitFor(async () => (await provider.discover(svc)).length === 1, { timeoutMs: settle, what: 'the add' });
      await new Promise((r) => setTimeout(r, 100));
      expect(recorder.events.length).toBe(seen);
      await backend.remove(svc, late.id);
    });

    it('rejects bad input with typed errors', async () => {
      await expect(provider.discover('')).rejects.toMatchObject({ code: 'ERR_INVALID_SERVICE' });
      if (provider.capabilities.register) {
        const error = await provider.register({ id: '', name: 'x', address: 'not an address!', port: 70_000 }).catch((e: unknown) => e);
        expect(isDiscoveryError(error, 'ERR_INVALID_SERVICE')).toBe(true);
        expect((error as Error).message).toMatch(/id/);
        expect((error as Error).message).toMatch(/port/);
        await expect(provider.deregister(unique('never-registered'))).resolves.toBeUndefined();
      } else {
        await expect(provider.register(service(unique('svc')))).rejects.toMatchObject({ code: 'ERR_UNSUPPORTED' });
        await expect(provider.deregister('x')).rejects.toMatchObject({ code: 'ERR_UNSUPPORTED' });
      }
    });

    const outage = options.outage;
    if (!outage) {
      console.log(`provider conformance: ${name}: the outage rules did not run — ${options.noOutage ?? 'no outage control was given'}`);
    } else {
      describe('the watch engine under an outage', () => {
        it('one error per subscriber per outage, the last snapshot kept, and a fresh snapshot on recovery; late joiners are told', async () => {
          const svc = unique('svc');
          const one = service(svc);
          await backend.add(one);
          const discovery = createDiscovery({ provider: counting(provider).proxy }); // its close must leave the shared provider open
          const early = new WatchRecorder();
          const stops = [discovery.watch(svc, early.listener)];
          try {
            await early.until((s) => s.length === 1, 'the instance', settle);
            await outage.begin();
            await waitFor(() => early.errors().length >= 1, { timeoutMs: settle * 3, what: 'the outage to be reported' });
            // A subscriber joining during the outage gets what the others hold, and the error.
            const late = new WatchRecorder();
            stops.push(discovery.watch(svc, late.listener));
            await waitFor(() => late.events.length >= 2, { timeoutMs: settle, what: 'the late subscriber to be told' });
            expect(describe_(late.events.slice(0, 2))).toEqual([`snap:${one.id}`, 'error']);
            expect((await discovery.discover(svc)).map((i) => i.id)).toEqual([one.id]);
            await new Promise((r) => setTimeout(r, 1_500)); // several retries fail meanwhile
            expect(early.errors()).toHaveLength(1);
            await outage.end();
            await waitFor(() => describe_(early.events).at(-1) === `snap:${one.id}` && early.events.length >= 3, { timeoutMs: settle * 6, what: 'the recovery to be delivered' });
            expect(describe_(early.events)).toEqual([`snap:${one.id}`, 'error', `snap:${one.id}`]);
            await waitFor(() => late.events.length >= 3, { timeoutMs: settle, what: 'the recovery to reach the late subscriber' });
            expect(describe_(late.events)).toEqual([`snap:${one.id}`, 'error', `snap:${one.id}`]);
          } finally {
            for (const stop of stops) stop();
            await discovery.close();
            await backend.remove(svc, one.id).catch(() => {});
          }
        });

        it('a handle created while the backend is down routes once it is back', async () => {
          const svc = unique('svc');
          const one = service(svc);
          await backend.add(one);
          const discovery = createDiscovery({ provider: counting(provider).proxy });
          try {
            await outage.begin();
            const handle = discovery.service(svc);
            await expect(handle.ready).rejects.toMatchObject({ code: expect.stringMatching(/^ERR_(PROVIDER_UNAVAILABLE|TIMEOUT)$/) });
            expect(handle.pick()).toBeUndefined();
            await outage.end();
            await waitFor(() => handle.pick()?.id === one.id, { timeoutMs: settle * 6, what: 'the handle to route' });
            expect(handle.acquire().instance.id).toBe(one.id);
          } finally {
            await outage.end();
            await discovery.close();
            await backend.remove(svc, one.id).catch(() => {});
          }
        });
      });
    }

    it('listServices names each service with an instance once and drops one left without — or is ERR_UNSUPPORTED saying why', async () => {
      const discovery = createDiscovery({ provider: counting(provider).proxy });
      try {
        const answer = await (provider.listServices ? provider.listServices() : discovery.listServices()).then(
          (names) => ({ names }),
          (error: unknown) => ({ error }),
        );
        if ('error' in answer) {
          // Not every backend can enumerate (DNS cannot): then it says so, and why, naming itself.
          expect(isDiscoveryError(answer.error, 'ERR_UNSUPPORTED'), `listServices failed with ${String(answer.error)}`).toBe(true);
          const { message, retryable } = answer.error as Error & { retryable: boolean };
          expect(retryable).toBe(false);
          expect(message).toContain(provider.name);
          expect(message.length, `"${message}" does not say why`).toBeGreaterThan(60);
          await expect(discovery.listServices()).rejects.toMatchObject({ code: 'ERR_UNSUPPORTED' });
          return;
        }
        const [a, b] = [unique('list-a'), unique('list-b')];
        const a1 = service(a);
        const a2 = service(a);
        const b1 = service(b);
        for (const one of [a1, a2, b1]) await backend.add(one);
        try {
          let names: string[] = [];
          await waitFor(async () => (names = await provider.listServices!()).includes(a) && names.includes(b), { timeoutMs: settle, what: 'both services to be listed' });
          expect(names.filter((n) => n === a)).toEqual([a]);
          const sorted = await discovery.listServices();
          expect(sorted).toEqual([...sorted].sort());
          expect(sorted.filter((n) => n === a || n === b)).toEqual([a, b].sort());
          await backend.remove(a, a1.id);
          await backend.remove(a, a2.id);
          await waitFor(async () => !(await provider.listServices!()).includes(a), { timeoutMs: settle, what: 'the service without instances to leave the list' });
          expect(await provider.listServices!()).toContain(b);
          await expect(provider.listServices!({ signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'ERR_ABORTED' });
        } finally {
          await backend.remove(b, b1.id);
        }
      } finally {
        await discovery.close();
      }
    });

    it('close releases everything and later calls reject with ERR_CLOSED', async () => {
      const baseline = resources();
      const own = await makeProvider();
      const svc = unique('svc');
      const recorder = new WatchRecorder();
      const stop = own.watch(svc, recorder.listener);
      await recorder.until(() => true, 'the first snapshot', settle);
      if (own.capabilities.register) await own.register(service(svc));
      await own.discover(svc);
      stop();
      await own.close();
      await expect(own.discover(svc)).rejects.toMatchObject({ code: 'ERR_CLOSED' });
      if (options.leakCheck !== false) {
        await waitFor(() => leaked(baseline).length === 0, { timeoutMs: 5_000, what: `no resources left after close (left: ${leaked(baseline).join(', ')})` }).catch(() => {
          throw new Error(`close() left resources behind: ${leaked(baseline).join(', ')}`);
        });
      }
    });
  });
}

const watched = ['TCPSocketWrap', 'TCPWRAP', 'Timeout', 'FSEventWrap', 'UDPWRAP', 'PipeWrap'];

function resources(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const type of process.getActiveResourcesInfo()) if (watched.includes(type)) counts.set(type, (counts.get(type) ?? 0) + 1);
  return counts;
}

function leaked(baseline: Map<string, number>): string[] {
  const now = resources();
  return [...now].filter(([type, n]) => n > (baseline.get(type) ?? 0)).map(([type, n]) => `${n - (baseline.get(type) ?? 0)} ${type}`);
}

import { createDiscovery, createInstance, type Balancer, type DiscoveryError, type Instance, type ProviderEvent, type WatchEvent } from '@disco/core';
import { InstanceSet, instanceProblem, RateLimiter, WatchEngine, type AttachedSink, type Unhook, type EngineOptions, type FollowEnd, type FollowSink, type ServiceSource } from '@disco/core/provider';
import { waitFor } from '@disco/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { healthyFilter } from '../src/instance-filter.js';
import { ProviderUnavailableError } from '../src/errors.js';
import { inst, tick } from './helpers.js';

/**
 * A backend the test drives: lists answer with `state` (or fail), each follow is handed to
 * the test as a pending "stream" it can push into, end cleanly, end with relist, or fail.
 */
class ScriptedSource implements ServiceSource<number> {
  state: Instance[] = [];
  failing: Error | undefined;
  lists = 0;
  follows = 0;
  resyncMs = 0;
  /** How each follow behaves when started (default: stays open until the test acts). */
  onFollow: ((stream: Stream) => void) | undefined;
  readonly streams: Stream[] = [];
  readonly startedAt: number[] = [];

  async list(): Promise<{ instances: Instance[]; position: number }> {
    this.lists++;
    this.startedAt.push(performance.now());
    await tick();
    if (this.failing) throw this.failing;
    return { instances: [...this.state], position: this.lists };
  }

  follow(position: number, sink: FollowSink<number>, signal: AbortSignal): Promise<FollowEnd> {
    this.follows++;
    this.startedAt.push(performance.now());
    return new Promise<FollowEnd>((resolve, reject) => {
      const stream: Stream = { position, sink, end: resolve, fail: reject, open: true };
      const close = () => (stream.open = false);
      signal.addEventListener('abort', () => {
        close();
        resolve('ended');
      });
      this.streams.push(stream);
      this.onFollow?.(stream);
    });
  }

  get open(): Stream {
    const stream = this.streams.at(-1);
    if (!stream?.open) throw new Error('no open follow');
    return stream;
  }
}

/**
 * The same backend as a stream shared by many services: the engine attaches its sink (no
 * promise, no signal); ending or failing the stream ends the attachment through `sink.end`.
 */
class AttachedScriptedSource extends ScriptedSource {
  unhooks = 0;

  attach(position: number, sink: AttachedSink<number>): Unhook<number> {
    this.follows++;
    this.startedAt.push(performance.now());
    const stream: Stream = {
      position,
      sink,
      open: true,
      end: (value) => {
        if (!stream.open) return;
        stream.open = false;
        sink.end(value);
      },
      fail: (error) => {
        if (!stream.open) return;
        stream.open = false;
        sink.end(error as DiscoveryError);
      },
    };
    this.streams.push(stream);
    this.onFollow?.(stream);
    return () => {
      this.unhooks++;
      stream.open = false;
    };
  }
}

interface Stream {
  position: number;
  sink: FollowSink<number>;
  end(value: FollowEnd): void;
  fail(error: unknown): void;
  open: boolean;
}

const engines: WatchEngine[] = [];
afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.close()));
});

function engineFor(source: ServiceSource<number>, extra: Partial<EngineOptions> = {}) {
  const errors: DiscoveryError[] = [];
  const events: ProviderEvent[] = [];
  const engine = new WatchEngine('svc', {
    provider: 'scripted',
    source: () => source,
    hooks: { error: (e) => errors.push(e), event: (e) => events.push(e), listenerError: (e) => errors.push(e as DiscoveryError) },
    backoff: { initial: 20, max: 200 },
    ...extra,
  });
  engines.push(engine);
  return { engine, errors, events };
}

function recorder() {
  const events: WatchEvent[] = [];
  const listener = (event: WatchEvent) => void events.push(event);
  const described = () => events.map((e) => ('instances' in e ? `snap:${e.instances.map((i) => i.id).join('+')}` : `error:${e.error.code}`));
  return { events, listener, described };
}

describe.each([
  ['a follow with its own stream', ScriptedSource],
  ['an attachment to a shared stream', AttachedScriptedSource],
])('the watch engine, for %s', (_, Source) => {
  it('rule 1: one source run however many subscribers; stopped with the last', async () => {
    const source = new Source();
    source.state = [inst('a1')];
    const { engine } = engineFor(source);
    const stops = Array.from({ length: 30 }, () => engine.subscribe(healthyFilter, () => {}));
    await waitFor(() => source.follows === 1);
    expect(source.lists).toBe(1);
    stops.slice(1).forEach((s) => s());
    expect(engine.following).toBe(true);
    stops[0]!();
    expect(engine.following).toBe(false);
    expect(source.streams.map((s) => s.open)).toEqual([false]);
  });

  it('rule 2: a late subscriber gets the current state at once, and the error while the source fails', async () => {
    const source = new Source();
    source.state = [inst('a1')];
    const { engine } = engineFor(source);
    const first = recorder();
    engine.subscribe(healthyFilter, first.listener);
    await waitFor(() => source.follows === 1);
    source.failing = new Error('connection refused');
    source.open.fail(new Error('stream reset'));
    await waitFor(() => first.events.length === 2);
    const late = recorder();
    engine.subscribe(healthyFilter, late.listener);
    await tick();
    expect(late.described()).toEqual(['snap:a1', 'error:ERR_PROVIDER_UNAVAILABLE']);
  });

  it('rule 3: one error per outage however many retries; recovery delivers the snapshot even if unchanged', async () => {
    const source = new Source();
    source.state = [inst('a1')];
    const { engine, errors, events } = engineFor(source);
    const r = recorder();
    engine.subscribe(healthyFilter, r.listener);
    await waitFor(() => source.follows === 1);
    source.failing = new Error('connection refused');
    source.open.fail(new Error('stream reset'));
    await waitFor(() => source.lists >= 5, { timeoutMs: 5_000 });
    expect(r.described()).toEqual(['snap:a1', 'error:ERR_PROVIDER_UNAVAILABLE']);
    expect(errors).toHaveLength(1);
    source.failing = undefined;
    await waitFor(() => r.events.length === 3, { timeoutMs: 5_000 });
    expect(r.described()).toEqual(['snap:a1', 'error:ERR_PROVIDER_UNAVAILABLE', 'snap:a1']);
    expect(events.map((e) => e.type)).toContain('reconnected');
  });

  it('rule 4: the backoff grows across failed follows and resets only after one stayed up a second', async () => {
    const source = new Source();
    const { engine } = engineFor(source, { backoff: { initial: 50, max: 10_000 }, random: () => 1, rate: { perSecond: 1000, burst: 1000 } });
    // Every follow delivers garbage and then fails at once: garbage must not look like health.
    source.onFollow = (stream) =>
      queueMicrotask(() => {
        stream.sink.invalid(new (class extends Error {})() as never);
        stream.fail(new Error('reset'));
      });
    engine.subscribe(healthyFilter, () => {});
    await waitFor(() => source.lists >= 4, { timeoutMs: 5_000 });
    const lists = source.startedAt.filter((_, i) => i % 2 === 0);
    const gaps = lists.slice(1).map((t, i) => t - lists[i]!);
    // Full jitter with random = 1 waits the whole ceiling: 50, 100, 200 ms …
    expect(gaps[0]).toBeGreaterThanOrEqual(45);
    expect(gaps[1]).toBeGreaterThanOrEqual(95);
    expect(gaps[2]).toBeGreaterThanOrEqual(190);
  });

  it('rule 5: a clean end is resumed at once from the last position; a clean end at once with nothing is a failure that backs off', async () => {
    const source = new Source();
    source.state = [inst('a1')];
    const { engine, errors } = engineFor(source, { backoff: { initial: 300, max: 300 }, random: () => 1 });
    const r = recorder();
    engine.subscribe(healthyFilter, r.listener);
    await waitFor(() => source.follows === 1);
    // Something arrives, then the server ends the watch: resumed at once, from the new position, no list.
    source.open.sink.advance(42);
    source.open.end('ended');
    await waitFor(() => source.follows === 2);
    expect(source.open.position).toBe(42);
    expect(source.lists).toBe(1);
    // Nothing arrives and the watch ends at once: the next follow waits the backoff, and nobody hears of an outage.
    const endedAt = performance.now();
    source.open.end('ended');
    await waitFor(() => source.follows === 3);
    expect(performance.now() - endedAt).toBeGreaterThanOrEqual(280);
    expect(source.lists).toBe(1);
    expect(errors).toEqual([]);
    expect(r.described()).toEqual(['snap:a1']);
  });

  it('rule 5: requests stay within the rate bound whatever the server answers', async () => {
    const source = new Source();
    const { engine } = engineFor(source, { rate: { perSecond: 5, burst: 5 } });
    // A server that "delivers" something and ends every watch at once would otherwise be hammered.
    source.onFollow = (stream) =>
      queueMicrotask(() => {
        stream.sink.advance(stream.position + 1);
        stream.end('ended');
      });
    engine.subscribe(healthyFilter, () => {});
    await tick(1_000);
    // 5 at once (the burst), then 5 a second.
    expect(source.lists + source.follows).toBeLessThanOrEqual(11);
    expect(source.follows).toBeGreaterThanOrEqual(5);
  });

  it('rule 5: relist on a gone position lists again, and repeated quick relists back off', async () => {
    const source = new Source();
    source.state = [inst('a1')];
    const { engine, events } = engineFor(source, { backoff: { initial: 100, max: 100 }, random: () => 1 });
    engine.subscribe(healthyFilter, () => {});
    source.onFollow = (stream) => queueMicrotask(() => stream.end('relist'));
    await waitFor(() => source.lists >= 4, { timeoutMs: 5_000 });
    const lists = source.startedAt.filter((_, i) => i % 2 === 0);
    for (let i = 1; i < lists.length; i++) expect(lists[i]! - lists[i - 1]!).toBeGreaterThanOrEqual(90);
    expect(events.some((e) => e.type === 'resync')).toBe(true);
  });

  it('rule 6: a periodic re-list catches what a silent stream missed, and reports it', async () => {
    const source = new Source();
    source.state = [inst('a1')];
    source.resyncMs = 100;
    const { engine, events } = engineFor(source);
    const r = recorder();
    engine.subscribe(healthyFilter, r.listener);
    await waitFor(() => source.follows === 1);
    source.state = [inst('a1'), inst('b2')]; // changed behind a stream that says nothing
    await waitFor(() => r.events.length === 2, { timeoutMs: 2_000 });
    expect(r.described()).toEqual(['snap:a1', 'snap:a1+b2']);
    expect(events.map((e) => e.type)).toContain('resync');
  });

  it('rule 6: snapshots keep unchanged objects, batch one turn of changes, and are never equal twice in a row', async () => {
    const source = new Source();
    source.state = [inst('a1'), inst('b2')];
    const { engine } = engineFor(source);
    const r = recorder();
    engine.subscribe({ healthyOnly: false }, r.listener);
    await waitFor(() => source.follows === 1);
    const { sink } = source.open;
    sink.upsert(inst('c3'));
    sink.upsert(inst('d4'));
    sink.remove('a1');
    await tick();
    sink.upsert(inst('c3')); // the same again
    sink.remove('nobody');
    sink.replace([inst('b2'), inst('c3'), inst('d4')]);
    await tick();
    expect(r.described()).toEqual(['snap:a1+b2', 'snap:b2+c3+d4']);
    const [first, second] = r.events.map((e) => ('instances' in e ? e.instances : []));
    expect(second![0]).toBe(first![1]);
    expect(Object.isFrozen(second)).toBe(false);
  });

  it('rule 7: reads without a watch are stale-while-revalidate; only a cold read waits', async () => {
    const source = new Source();
    source.state = [inst('a1')];
    let now = 0;
    const { engine } = engineFor(source, { ttlMs: 1_000, now: () => now });
    expect((await engine.read(healthyFilter)).map((i) => i.id)).toEqual(['a1']);
    source.state = [inst('b2')];
    now = 60_000;
    expect((await engine.read(healthyFilter)).map((i) => i.id)).toEqual(['a1']);
    await waitFor(async () => (await engine.read(healthyFilter))[0]?.id === 'b2');
    expect(source.lists).toBe(2);
  });

  it('rule 8: a subscriber that joined during an outage recovers when the source does', async () => {
    const source = new Source();
    source.failing = new Error('connection refused');
    const { engine } = engineFor(source);
    const r = recorder();
    engine.subscribe(healthyFilter, r.listener);
    await waitFor(() => r.events.length === 1);
    source.failing = undefined;
    source.state = [inst('a1')];
    await waitFor(() => r.events.length === 2, { timeoutMs: 5_000 });
    expect(r.described()).toEqual(['error:ERR_PROVIDER_UNAVAILABLE', 'snap:a1']);
  });

  it('a follow that reconnects by itself marks the snapshot stale once; its next full state ends the outage', async () => {
    const source = new Source();
    source.state = [inst('a1')];
    const { engine, errors } = engineFor(source);
    const r = recorder();
    engine.subscribe(healthyFilter, r.listener);
    await waitFor(() => source.follows === 1);
    const down = new ProviderUnavailableError('scripted', 'reconnecting');
    source.open.sink.stale(down);
    source.open.sink.stale(down);
    source.open.sink.replace([inst('a1')]);
    expect(r.described()).toEqual(['snap:a1', 'error:ERR_PROVIDER_UNAVAILABLE', 'snap:a1']);
    expect(errors).toHaveLength(1);
  });

  it('drops and reports malformed instances instead of handing them out', async () => {
    const source = new Source();
    const bad = { ...inst('b2'), id: 123 } as unknown as Instance;
    source.state = [inst('a1'), bad];
    const { engine, events } = engineFor(source);
    const r = recorder();
    engine.subscribe(healthyFilter, r.listener);
    await waitFor(() => r.events.length === 1);
    expect(r.described()).toEqual(['snap:a1']);
    expect(events.filter((e) => e.type === 'invalid-record')).toHaveLength(1);
    expect(instanceProblem({ ...inst('x1'), metadata: { k: 5 } })).toMatch(/metadata/);
    expect(instanceProblem({ ...inst('x1'), tags: [undefined] })).toMatch(/tags/);
  });

  it('close waits for every source run to let go', async () => {
    const source = new Source();
    const { engine } = engineFor(source);
    engine.subscribe(healthyFilter, () => {});
    await waitFor(() => source.follows === 1);
    const stream = source.open;
    await engine.close();
    expect(stream.open).toBe(false);
  });
});

describe('an attachment to a shared stream', () => {
  it('the last subscriber leaving unhooks it once; what the stream sends after that is ignored', async () => {
    const source = new AttachedScriptedSource();
    source.state = [inst('a1')];
    const { engine } = engineFor(source);
    const r = recorder();
    const stop = engine.subscribe(healthyFilter, r.listener);
    await waitFor(() => source.follows === 1);
    const { sink } = source.streams[0]!;
    stop();
    expect(source.unhooks).toBe(1);
    sink.upsert(inst('b2'));
    (sink as AttachedSink<number>).end('ended');
    await tick(50);
    expect(r.described()).toEqual(['snap:a1']);
    expect([source.lists, source.follows, source.unhooks]).toEqual([1, 1, 1]);
  });

  it('one that ends inside attach (nothing to follow from there) lists again after a backoff and is never unhooked', async () => {
    const source = new AttachedScriptedSource();
    source.state = [inst('a1')];
    let relists = 1;
    source.onFollow = (stream) => {
      if (relists-- > 0) stream.end('relist');
    };
    const { engine, events } = engineFor(source, { backoff: { initial: 100, max: 100 }, random: () => 1 });
    engine.subscribe(healthyFilter, () => {});
    await waitFor(() => source.follows === 2);
    const [firstList, firstAttach, secondList] = source.startedAt;
    expect(secondList! - firstAttach!).toBeGreaterThanOrEqual(90);
    expect(firstAttach! - firstList!).toBeGreaterThanOrEqual(0);
    expect(source.unhooks).toBe(0);
    expect(events.filter((e) => e.type === 'resync')).toHaveLength(1);
  });

  it('close waits for an unhook that takes a while (a stream being cancelled)', async () => {
    const source = new AttachedScriptedSource();
    let released = false;
    const attach = source.attach.bind(source);
    source.attach = (position, sink) => {
      const unhook = attach(position, sink);
      return () => {
        void unhook(sink);
        return new Promise<void>((resolve) => setTimeout(() => ((released = true), resolve()), 50));
      };
    };
    const { engine } = engineFor(source);
    engine.subscribe(healthyFilter, () => {});
    await waitFor(() => source.follows === 1);
    await engine.close();
    expect(released).toBe(true);
  });

  it('close() called twice while an unhook is still letting go settles both', async () => {
    const source = new AttachedScriptedSource();
    const attach = source.attach.bind(source);
    source.attach = (position, sink) => {
      const unhook = attach(position, sink);
      return () => {
        void unhook(sink);
        return new Promise<void>((resolve) => setTimeout(resolve, 30));
      };
    };
    const { engine } = engineFor(source);
    engine.subscribe(healthyFilter, () => {});
    await waitFor(() => source.follows === 1);
    let settled = 0;
    await Promise.all([engine.close().then(() => settled++), engine.close().then(() => settled++)]);
    expect(settled).toBe(2);
  });

  it('an attach that throws is a failed follow: one error, and the engine lists and attaches again', async () => {
    const source = new AttachedScriptedSource();
    source.state = [inst('a1')];
    const attach = source.attach.bind(source);
    let throwing = true;
    source.attach = (position, sink) => {
      if (throwing) {
        throwing = false;
        throw new Error('the shared stream is gone');
      }
      return attach(position, sink);
    };
    const { engine, errors } = engineFor(source);
    const r = recorder();
    engine.subscribe(healthyFilter, r.listener);
    await waitFor(() => source.follows === 1, { timeoutMs: 2_000 });
    expect(source.lists).toBe(2);
    expect(errors.map((e) => e.code)).toEqual(['ERR_PROVIDER_UNAVAILABLE']);
    expect(r.described()).toEqual(['snap:a1', 'error:ERR_PROVIDER_UNAVAILABLE', 'snap:a1']);
  });

  it('one let go of while attaching (its only subscriber left on the state attach handed it) is unhooked', async () => {
    const source = new AttachedScriptedSource();
    source.state = [inst('a1')];
    // The stream hands the engine a newer state as it attaches, as a feed does when changes came after the list.
    source.onFollow = (stream) => stream.sink.replace([inst('a1'), inst('b2')]);
    const { engine } = engineFor(source);
    let stop = () => {};
    stop = engine.subscribe(healthyFilter, (event) => {
      if ('instances' in event && event.instances.length === 2) stop();
    });
    await waitFor(() => source.follows === 1);
    expect(engine.following).toBe(false);
    expect(source.unhooks).toBe(1);
    expect(source.streams[0]!.open).toBe(false);
  });

  it('a source with both attach and follow is attached', async () => {
    const source = new AttachedScriptedSource();
    const follow = source.follow.bind(source);
    let followed = 0;
    source.follow = (...args) => ((followed++), follow(...args));
    const { engine } = engineFor(source);
    engine.subscribe(healthyFilter, () => {});
    await waitFor(() => source.follows === 1);
    expect(followed).toBe(0);
    expect(source.streams[0]!.sink).toHaveProperty('end');
  });
});

describe('InstanceSet', () => {
  it('changes one instance in O(log n) + one copy, keeping the rest and the order', () => {
    const set = new InstanceSet();
    set.replace(Array.from({ length: 10_000 }, (_, i) => inst(`i${String(i).padStart(5, '0')}`)));
    const before = set.snapshot();
    expect(set.upsert(inst('i00042'))).toBe(false);
    expect(set.snapshot()).toBe(before);
    expect(set.upsert(createInstance({ ...inst('i00042'), healthy: false }))).toBe(true);
    const after = set.snapshot();
    expect(after).not.toBe(before);
    expect(after[41]).toBe(before[41]);
    expect(after[42]!.healthy).toBe(false);
    expect(set.unhealthy).toBe(1);
    expect(set.remove('i00042')).toBe(true);
    expect(set.unhealthy).toBe(0);
    expect(set.upsert(inst('h'))).toBe(true);
    expect(set.snapshot()[0]!.id).toBe('h');
  });

  it('a published snapshot never changes afterwards (copy-on-write), and a replace with the same instances is no change', () => {
    const set = new InstanceSet();
    expect(set.replace([inst('b'), inst('a')])).toBe(true);
    const first = set.snapshot();
    expect(first.map((i) => i.id)).toEqual(['a', 'b']);
    set.upsert(inst('c'));
    set.remove('a');
    expect(first.map((i) => i.id)).toEqual(['a', 'b']);
    const second = set.snapshot();
    expect(second.map((i) => i.id)).toEqual(['b', 'c']);
    expect(set.replace([inst('c'), inst('b')])).toBe(false);
    expect(set.snapshot()).toBe(second);
    set.replace([]);
    set.upsert(inst('z'));
    expect(second.map((i) => i.id)).toEqual(['b', 'c']);
    expect(set.snapshot().map((i) => i.id)).toEqual(['z']);
  });
});

describe('Discovery on the engine (defects of the provider-kit issue)', () => {
  it('a handle whose first event is an error still routes once the backend answers', async () => {
    const source = new ScriptedSource();
    source.failing = new Error('connection refused');
    const provider = fakeProvider(source);
    const d = createDiscovery({ provider });
    const handle = d.service('svc');
    await expect(handle.ready).rejects.toMatchObject({ code: 'ERR_PROVIDER_UNAVAILABLE' });
    source.failing = undefined;
    source.state = [inst('a1')];
    await waitFor(() => handle.pick()?.id === 'a1', { timeoutMs: 5_000 });
    expect(handle.acquire().instance.id).toBe('a1');
    await d.close();
  });

  it('resolve() refuses a balancer that needs call outcomes; acquire() reports them', async () => {
    const source = new ScriptedSource();
    source.state = [inst('a1')];
    const calls: string[] = [];
    const counting: Balancer = { name: 'counting', pick: (i) => i[0], onStart: (i) => calls.push(`start:${i.id}`), onEnd: (i, o) => calls.push(`end:${i.id}:${o.ok}`) };
    const d = createDiscovery({ provider: fakeProvider(source), balancer: () => counting });
    await expect(d.resolve('svc')).rejects.toMatchObject({ code: 'ERR_CONFIG', message: expect.stringMatching(/acquire/) });
    const lease = await d.acquire('svc');
    lease.release({ ok: false });
    expect(calls).toEqual(['start:a1', 'end:a1:false']);
    await d.close();
  });

  it('resolve() answers a watched service from memory in one promise hop', async () => {
    const source = new ScriptedSource();
    source.state = [inst('a1')];
    const d = createDiscovery({ provider: fakeProvider(source) });
    await d.resolve('svc');
    let settled = false;
    void d.resolve('svc').then(() => (settled = true));
    await Promise.resolve();
    await Promise.resolve();
    expect(settled).toBe(true);
    expect(source.lists).toBe(1);
    await d.close();
  });
});

function fakeProvider(source: ScriptedSource) {
  return {
    name: 'scripted',
    capabilities: { register: false, watch: true, serverHealthChecks: true },
    register: async () => {},
    deregister: async () => {},
    discover: async () => (await source.list()).instances,
    watch: () => () => {},
    source: () => source,
    close: async () => {},
  };
}

describe("a source's own tuning", () => {
  it('its backoff and rate bound apply wherever it runs (a Discovery included)', async () => {
    const source = new ScriptedSource();
    source.failing = new Error('down');
    Object.assign(source, { backoff: { initial: 400, max: 400 }, rate: { perSecond: 100, burst: 100 } });
    const { engine } = engineFor(source, { random: () => 1 });
    engine.subscribe(healthyFilter, () => {});
    await waitFor(() => source.lists >= 2, { timeoutMs: 3_000 });
    expect(source.startedAt[1]! - source.startedAt[0]!).toBeGreaterThanOrEqual(390);
  });
});

describe('never two equal snapshots in a row', () => {
  it('a healthy-only subscriber is not told again when its filtered view becomes the whole snapshot unchanged', async () => {
    const source = new ScriptedSource();
    source.state = [inst('a1'), createInstance({ ...inst('b2'), healthy: false })];
    const { engine } = engineFor(source);
    const r = recorder();
    engine.subscribe(healthyFilter, r.listener);
    await waitFor(() => source.follows === 1);
    source.open.sink.remove('b2'); // the healthy view was [a1] and stays [a1]
    await tick();
    source.open.sink.upsert(inst('c3'));
    await tick();
    expect(r.described()).toEqual(['snap:a1', 'snap:a1+c3']);
  });
});

describe('stopping', () => {
  it('a subscriber that leaves while the first list is delivered leaves no follow behind, and close() settles', async () => {
    const source = new ScriptedSource();
    source.state = [inst('a1')];
    const { engine } = engineFor(source);
    const stop = engine.subscribe(healthyFilter, (event) => {
      if ('instances' in event) stop();
    });
    await waitFor(() => !engine.following);
    await tick(20);
    expect(source.follows).toBe(0);
    await engine.close();
  });
});

describe('RateLimiter', () => {
  it('lets a burst through at once, then spaces requests at the rate; an idle spell refills it', async () => {
    let now = 0;
    const limiter = new RateLimiter(10, 3, () => now);
    const settled = async (take: Promise<void> | undefined) => {
      if (take === undefined) return true; // a free token is taken at once
      let done = false;
      void take.then(() => (done = true));
      await tick();
      return done;
    };
    expect([await settled(limiter.take()), await settled(limiter.take()), await settled(limiter.take())]).toEqual([true, true, true]);
    const started = performance.now();
    const fourth = limiter.take();
    expect(fourth).toBeInstanceOf(Promise);
    expect(await settled(fourth)).toBe(false);
    await fourth;
    expect(performance.now() - started).toBeGreaterThanOrEqual(95);
    now = 10_000;
    expect([await settled(limiter.take()), await settled(limiter.take()), await settled(limiter.take())]).toEqual([true, true, true]);
    const aborted = new AbortController();
    const waiting = limiter.take(aborted.signal);
    expect(waiting).toBeInstanceOf(Promise);
    aborted.abort();
    await expect(waiting).rejects.toMatchObject({ code: 'ERR_ABORTED' });
    // The aborted wait took nothing: the next request is due after one interval, not two.
    const next = performance.now();
    await limiter.take();
    expect(performance.now() - next).toBeLessThan(190);
  });
});

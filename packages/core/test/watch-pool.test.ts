import { WatchPool, type WatchEvent, type WatchListener } from '@disco/core';
import { describe, expect, it } from 'vitest';

/** A fake backend watch that records its listeners and whether it was stopped. */
class FakeWatch {
  readonly listeners = new Set<WatchListener>();
  readonly name: string;
  stopped = 0;
  constructor(name: string) {
    this.name = name;
  }
  emit(event: WatchEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}

function pool(stop: (watch: FakeWatch) => void | Promise<void> = () => {}) {
  const created: FakeWatch[] = [];
  const watches = new WatchPool<FakeWatch>({
    create: (name) => {
      const watch = new FakeWatch(name);
      created.push(watch);
      return watch;
    },
    subscribe: (watch, listener) => {
      watch.listeners.add(listener);
      return () => watch.listeners.delete(listener);
    },
    stop: (watch) => {
      watch.stopped++;
      return stop(watch);
    },
  });
  return { watches, created };
}

describe('WatchPool', () => {
  it('shares one backend watch per name and stops it with its last listener', () => {
    const { watches, created } = pool();
    const seen: string[] = [];
    const offA = watches.watch('api', () => seen.push('a'));
    const offB = watches.watch('api', () => seen.push('b'));
    const offC = watches.watch('web', () => seen.push('c'));
    expect(created.map((w) => w.name)).toEqual(['api', 'web']);
    expect(watches.get('api')).toBe(created[0]);
    created[0]!.emit({ instances: [] });
    expect(seen).toEqual(['a', 'b']);

    offA();
    offA(); // a second call is a no-op: the count must not drop twice
    expect(created[0]!.stopped).toBe(0);
    offB();
    expect(created[0]!.stopped).toBe(1);
    expect(created[0]!.listeners.size).toBe(0);
    expect(watches.get('api')).toBeUndefined();
    expect(created[1]!.stopped).toBe(0);
    offC();
    expect(created[1]!.stopped).toBe(1);
  });

  it('creates a fresh watch for a listener arriving after the last one left', () => {
    const { watches, created } = pool();
    watches.watch('api', () => {})();
    const off = watches.watch('api', () => {});
    expect(created).toHaveLength(2);
    expect(created[0]!.stopped).toBe(1);
    expect(created[1]!.stopped).toBe(0);
    expect(watches.get('api')).toBe(created[1]);
    off();
    expect(created[1]!.stopped).toBe(1);
  });

  it('unsubscribes when the signal aborts, and detaches from the signal on unsubscribe', () => {
    const { watches, created } = pool();
    const controller = new AbortController();
    watches.watch('api', () => {}, controller.signal);
    const off = watches.watch('api', () => {});
    controller.abort();
    expect(created[0]!.listeners.size).toBe(1);
    expect(created[0]!.stopped).toBe(0);
    off();
    expect(created[0]!.stopped).toBe(1);

    const kept = new AbortController();
    const offKept = watches.watch('web', () => {}, kept.signal);
    offKept();
    kept.abort(); // already unsubscribed: nothing more happens
    expect(created[1]!.stopped).toBe(1);
  });

  it('close stops every watch, waits for async stops (also those begun before), and later unsubscribes stop nothing again', async () => {
    const pending: Array<() => void> = [];
    const { watches, created } = pool(() => new Promise<void>((resolve) => pending.push(resolve)));
    watches.watch('early', () => {})();
    const offApi = watches.watch('api', () => {});
    watches.watch('web', () => {});
    let closed = false;
    const closing = watches.close().then(() => (closed = true));
    expect(created.map((w) => w.stopped)).toEqual([1, 1, 1]);
    expect(watches.get('api')).toBeUndefined();
    expect(pending).toHaveLength(3);
    pending[1]!();
    pending[2]!();
    await new Promise((resolve) => setImmediate(resolve));
    expect(closed).toBe(false); // still waiting for the stop begun before close
    pending[0]!();
    await closing;
    expect(closed).toBe(true);
    offApi();
    expect(created[1]!.stopped).toBe(1);
  });

  it('close settles even when a stop rejects', async () => {
    const { watches, created } = pool(async () => {
      throw new Error('stop failed');
    });
    watches.watch('api', () => {});
    await expect(watches.close()).resolves.toBeUndefined();
    expect(created[0]!.stopped).toBe(1);
  });
});

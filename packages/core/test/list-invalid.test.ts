// ListResult.invalid: records a list skipped (a DNS target without an address, an undecodable
// record) are reported as invalid-record events, once while they stay bad, by the engine's list
// path and by WatchHub.discover.
import { createInstance, InvalidRecordError, silentLogger, type Instance, type ProviderEvent, type WatchEvent } from '@disco/core';
import { WatchEngine, WatchHub, type ListResult, type ServiceSource } from '@disco/core/provider';
import { waitFor } from '@disco/testing';
import { afterEach, describe, expect, it } from 'vitest';

/** A polled source (no follow) answering with `instances` and the records it skipped. */
class PolledSource implements ServiceSource {
  instances: Instance[] = [createInstance({ id: 'a', name: 'svc', address: '10.0.0.1', port: 80 })];
  skipped: string[] = [];
  lists = 0;
  readonly pollMs = 5;

  async list(): Promise<ListResult> {
    this.lists++;
    return { instances: [...this.instances], invalid: this.skipped.map((key) => new InvalidRecordError(key, 'target has no address')), refreshMs: 5 };
  }
}

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(stops.splice(0).map((stop) => stop()));
});

describe('ListResult.invalid', () => {
  it('the engine reports a list skipped record once while it stays bad, and again when it goes bad again', async () => {
    const source = new PolledSource();
    const events: ProviderEvent[] = [];
    const engine = new WatchEngine('svc', {
      provider: 'polled',
      source: () => source,
      hooks: { error: () => {}, event: (e) => events.push(e), listenerError: () => {} },
    });
    stops.push(() => engine.close());
    const seen: WatchEvent[] = [];
    engine.subscribe({ healthyOnly: false }, (e) => seen.push(e));
    source.skipped = ['ghost'];
    await waitFor(() => source.lists >= 4, { what: 'several lists with the bad record' });
    const invalid = () => events.filter((e) => e.type === 'invalid-record');
    expect(invalid()).toHaveLength(1);
    expect(invalid()[0]).toMatchObject({ service: 'svc', error: { code: 'ERR_INVALID_RECORD', key: 'ghost' } });
    expect(seen).toEqual([{ instances: [expect.objectContaining({ id: 'a' })] }]);

    source.skipped = [];
    const fixed = source.lists;
    await waitFor(() => source.lists >= fixed + 2, { what: 'lists without it' });
    source.skipped = ['ghost'];
    await waitFor(() => invalid().length === 2, { what: 'the record to be reported again' });
  });

  it('a read without a watch reports them too', async () => {
    const source = new PolledSource();
    source.skipped = ['ghost', 'phantom'];
    const events: ProviderEvent[] = [];
    const engine = new WatchEngine('svc', { provider: 'polled', source: () => source, ttlMs: 0, hooks: { error: () => {}, event: (e) => events.push(e), listenerError: () => {} } });
    stops.push(() => engine.close());
    expect(await engine.read({ healthyOnly: false })).toHaveLength(1);
    expect(events.map((e) => e.type === 'invalid-record' && e.error.key)).toEqual(['ghost', 'phantom']);
  });

  it('WatchHub.discover reports them once while they stay bad', async () => {
    const source = new PolledSource();
    source.skipped = ['ghost'];
    const events: ProviderEvent[] = [];
    const hub = new WatchHub({ provider: 'polled', source: () => source, emit: (e) => events.push(e), logger: silentLogger });
    stops.push(() => hub.close());
    expect((await hub.discover('svc')).map((i) => i.id)).toEqual(['a']);
    await hub.discover('svc');
    expect(events).toEqual([expect.objectContaining({ type: 'invalid-record', service: 'svc', error: expect.objectContaining({ key: 'ghost' }) })]);
    source.skipped = [];
    await hub.discover('svc');
    source.skipped = ['ghost'];
    await hub.discover('svc');
    expect(events).toHaveLength(2);
  });
});

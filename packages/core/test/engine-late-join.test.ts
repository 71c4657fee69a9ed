// A subscriber that joins while the source fails gets the last snapshot, then the error, and —
// like every subscriber told of the outage — the recovery, even when the state did not change.
import { type DiscoveryError, type WatchEvent } from '@disco/core';
import { WatchEngine, type FollowEnd, type ServiceSource } from '@disco/core/provider';
import { waitFor } from '@disco/testing';
import { afterEach, expect, it } from 'vitest';
import { healthyFilter } from '../src/instance-filter.js';
import { inst } from './helpers.js';

const engines: WatchEngine[] = [];
afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.close()));
});

const described = (events: readonly WatchEvent[]) => events.map((e) => ('instances' in e ? `snap:${e.instances.map((i) => i.id).join('+')}` : `error:${e.error.code}`));

it('a late joiner during an outage is delivered the recovery snapshot, unchanged as it is', async () => {
  let failing = false;
  let lists = 0;
  let fail: ((error: Error) => void) | undefined;
  const source: ServiceSource<number> = {
    async list() {
      lists++;
      if (failing) throw new Error('connection refused');
      return { instances: [inst('a1')], position: lists };
    },
    follow: (_position, _sink, signal) =>
      new Promise<FollowEnd>((resolve, reject) => {
        fail = reject;
        signal.addEventListener('abort', () => resolve('ended'));
      }),
  };
  const errors: DiscoveryError[] = [];
  const engine = new WatchEngine('svc', { provider: 'scripted', source: () => source, backoff: { initial: 10, max: 40 }, hooks: { error: (e) => errors.push(e), event: () => {}, listenerError: (e) => errors.push(e as DiscoveryError) } });
  engines.push(engine);
  const early: WatchEvent[] = [];
  engine.subscribe(healthyFilter, (e) => void early.push(e));
  await waitFor(() => fail !== undefined, { what: 'the follow' });
  failing = true;
  fail!(new Error('stream reset'));
  await waitFor(() => early.length === 2, { what: 'the outage reported' });
  const late: WatchEvent[] = [];
  engine.subscribe(healthyFilter, (e) => void late.push(e));
  await waitFor(() => late.length === 2, { what: 'the late joiner told' });
  const before = lists;
  await waitFor(() => lists >= before + 2, { what: 'two more failed lists' });
  failing = false;
  await waitFor(() => early.length === 3 && late.length === 3, { what: 'the recovery delivered to both', timeoutMs: 5_000 });
  expect(described(early)).toEqual(['snap:a1', 'error:ERR_PROVIDER_UNAVAILABLE', 'snap:a1']);
  expect(described(late)).toEqual(['snap:a1', 'error:ERR_PROVIDER_UNAVAILABLE', 'snap:a1']);
  expect(errors).toHaveLength(1);
});

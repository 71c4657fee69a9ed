import type { Instance, ProviderEvent } from '@disco/core';

let counter = 0;
/** A name no other test uses (tests share one etcd). */
export const unique = (what: string) => `${what}-${process.pid}-${Date.now().toString(36)}-${counter++}`;

export { WatchRecorder as Recorder } from '@disco/testing';

/** Collects provider events. */
export function eventLog(): { events: ProviderEvent[]; listener: (e: ProviderEvent) => void; of: (type: string) => ProviderEvent[] } {
  const events: ProviderEvent[] = [];
  return { events, listener: (e) => void events.push(e), of: (type) => events.filter((e) => e.type === type) };
}

export const ids = (instances: readonly Instance[]) => instances.map((i) => i.id);

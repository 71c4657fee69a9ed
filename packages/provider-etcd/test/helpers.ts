import { waitFor } from '@disco/testing';
import type { Instance, ProviderEvent, WatchEvent } from '@disco/core';

let counter = 0;
/** A name no other test uses (tests share one etcd). */
export const unique = (what: string) => `${what}-${process.pid}-${Date.now().toString(36)}-${counter++}`;

/** Records watch events and waits for the snapshot a test expects. */
export class Recorder {
  readonly events: WatchEvent[] = [];
  readonly listener = (event: WatchEvent) => void this.events.push(event);
  last(): readonly Instance[] | undefined {
    for (let i = this.events.length - 1; i >= 0; i--) {
      const e = this.events[i]!;
      if ('instances' in e) return e.instances;
    }
    return undefined;
  }
  errors(): WatchEvent[] {
    return this.events.filter((e) => 'error' in e);
  }
  async until(test: (instances: readonly Instance[]) => boolean, what: string, timeoutMs = 5_000): Promise<readonly Instance[]> {
    await waitFor(() => {
      const last = this.last();
      return last !== undefined && test(last);
    }, { timeoutMs, what });
    return this.last()!;
  }
}

/** Collects provider events. */
export function eventLog(): { events: ProviderEvent[]; listener: (e: ProviderEvent) => void; of: (type: string) => ProviderEvent[] } {
  const events: ProviderEvent[] = [];
  return { events, listener: (e) => void events.push(e), of: (type) => events.filter((e) => e.type === type) };
}

export const ids = (instances: readonly Instance[]) => instances.map((i) => i.id);
